/**
 * `porchlight login` (check a token, then keep it in a profile of the config file), `logout` and
 * `profiles`. The token is read from --token, PORCHLIGHT_TOKEN, or standard input (so it need not
 * appear in the shell's history).
 */
import { createInterface } from "node:readline";
import { Client } from "../client.js";
import { configPath, normalizeUrl, readConfig, writeConfig } from "../config.js";
import { examples, formatOptions } from "../context.js";
import { ApiError, CliError, UsageError } from "../errors.js";
import { formatList, note, out, pickFormat } from "../output.js";

/**
 * The scopes a token has, found by asking: `/v1/tokens` needs admin, `/v1/metrics` read; a 401 means
 * the token is not valid at all. @param {Client} client @returns {Promise<string[]>}
 */
export async function probeScopes(client) {
  /** @param {string} path */
  const allowed = async (path) => {
    try {
      await client.get(path);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) return false;
      throw e;
    }
  };
  if (await allowed("/v1/tokens")) return ["admin"];
  return (await allowed("/v1/metrics")) ? ["read"] : ["ingest"];
}

/** One line of standard input (the token); on a terminal it is typed without echo. @param {string} prompt */
async function readSecretLine(prompt) {
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

/** @param {import("commander").Command} program */
export function registerLogin(program) {
  const login = program
    .command("login")
    .description("Check a token against a server and keep both in a profile of the config file (mode 0600)")
    .option("--url <url>", "the server (default: PORCHLIGHT_URL, or the profile's current url)")
    .option("--token <token>", "the token (default: PORCHLIGHT_TOKEN, else read from standard input)")
    .option("--name <profile>", "profile to write (default: --profile, else 'default')")
    .action(async (opts) => {
      const g = login.optsWithGlobals();
      const path = configPath();
      const config = readConfig(path);
      const name = opts.name ?? g.profile ?? "default";
      const url = opts.url ?? process.env.PORCHLIGHT_URL ?? config.profiles[name]?.url;
      if (!url) throw new UsageError("give the server with --url (or PORCHLIGHT_URL)");
      const token = opts.token ?? process.env.PORCHLIGHT_TOKEN ?? (await readSecretLine("token: "));
      if (!token) throw new UsageError("no token given (--token, PORCHLIGHT_TOKEN, or on standard input)");
      const client = new Client({ url: normalizeUrl(url), token });
      const scopes = await probeScopes(client);
      config.profiles[name] = { url: client.url, token };
      if (!config.default || !config.profiles[config.default]) config.default = name;
      writeConfig(path, config);
      note(`logged in to ${client.url} as profile '${name}' (token scope: ${scopes.join(", ")}); saved in ${path}`);
    });
  examples(login, [
    "porchlight login --url https://porchlight.example.workers.dev   # then paste the token",
    "echo \"$TOKEN\" | porchlight login --url http://127.0.0.1:8787 --name local",
    "porchlight --profile local query --last 1h",
  ]);

  const logout = program
    .command("logout")
    .description("Remove a profile (default: --profile, else the default profile) from the config file")
    .action(async () => {
      const path = configPath();
      const config = readConfig(path);
      const name = logout.optsWithGlobals().profile ?? config.default;
      if (!name || !config.profiles[name]) throw new CliError(`no profile '${name ?? "default"}' in ${path}`, 3);
      delete config.profiles[name];
      if (config.default === name) config.default = Object.keys(config.profiles)[0];
      writeConfig(path, config);
      note(`removed profile '${name}'`);
    });
  examples(logout, ["porchlight --profile local logout"]);

  const profiles = formatOptions(program.command("profiles").description("List the profiles of the config file (tokens are not shown)")).action(async (opts) => {
    const config = readConfig(configPath());
    const rows = Object.entries(config.profiles).map(([name, p]) => ({ name, url: p.url, default: name === config.default }));
    await out(formatList(rows, [{ header: "NAME", path: "name" }, { header: "URL", path: "url" }, { header: "DEFAULT", path: "default", get: (r) => (r.default ? "*" : "") }], pickFormat(opts)));
  });
  examples(profiles, ["porchlight profiles"]);
}
