/**
 * Secrets typed by a person: one line of standard input, read without echo on a terminal (raw mode,
 * nothing written back), so a token or password never shows on screen nor enters the shell's history.
 */
import { createInterface } from "node:readline";
import { CliError } from "./errors.js";

/** One line of standard input (the token); on a terminal it is typed without echo. @param {string} prompt */
export async function readSecretLine(prompt) {
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, terminal: false });
    for await (const line of rl) {
      rl.close();
      return line.trim();
    }
    return "";
  }
  process.stderr.write(prompt);
  process.stdin.setRawMode(true);
  try {
    let text = "";
    for await (const chunk of process.stdin) {
      for (const ch of String(chunk)) {
        if (ch === "\r" || ch === "\n") return text.trim();
        if (ch === "\u0003") throw new CliError("cancelled");
        if (ch === "\u007f" || ch === "\b") text = text.slice(0, -1);
        else text += ch;
      }
    }
    return text.trim();
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stderr.write("\n");
  }
}

/**
 * A secret from `--secret VALUE`, `--secret-file FILE` ("-": standard input; the trailing newline is
 * dropped) or `--ask-secret` (a prompt without echo). At most one of them; undefined when none is given.
 * @param {{ secret?: string, secretFile?: string, askSecret?: boolean }} opts @param {string} what how the prompt names it
 * @param {(file: string) => string} readText
 */
export async function readSecret(opts, what, readText) {
  const given = [opts.secret !== undefined, opts.secretFile !== undefined, Boolean(opts.askSecret)].filter(Boolean).length;
  if (given > 1) throw new CliError("give the secret one way: --secret, --secret-file or --ask-secret", 2);
  if (opts.secret !== undefined) return opts.secret;
  if (opts.secretFile !== undefined) return readText(opts.secretFile).replace(/\r?\n$/, "");
  if (opts.askSecret) return readSecretLine(`${what}: `);
  return undefined;
}
