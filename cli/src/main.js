/**
 * The `porchlight` program: global options, one registration per command file in commands/, and the
 * mapping of every outcome to an exit code (0 ok, 1 error, 2 usage, 3 not found). Errors are one line
 * on stderr; a stack trace only with PORCHLIGHT_DEBUG=1.
 */
import { Command, CommanderError } from "commander";
import { readFileSync } from "node:fs";
import { ApiError, CliError, EXIT } from "./errors.js";
import { registerApi } from "./commands/api.js";
import { registerLogin } from "./commands/login.js";
import { registerQuery } from "./commands/query.js";
import { registerSend } from "./commands/send.js";
import { registerAlerts } from "./commands/alerts.js";
import { registerTail } from "./commands/tail.js";
import { registerRules } from "./commands/rules.js";
import { registerExtractors } from "./commands/extractors.js";
import { registerTokens } from "./commands/tokens.js";
import { registerSources } from "./commands/sources.js";
import { registerHeartbeats } from "./commands/heartbeats.js";
import { registerMetrics } from "./commands/metrics.js";
import { registerCompletion } from "./commands/completion.js";

const VERSION = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version;

/** Commands in the order `--help` lists them; each file registers its own. */
const COMMANDS = [
  registerQuery, registerSend, registerAlerts, registerTail, registerRules, registerExtractors,
  registerHeartbeats, registerSources, registerTokens, registerMetrics, registerLogin, registerApi, registerCompletion,
];

export function buildProgram() {
  const program = new Command("porchlight")
    .description("The Porchlight command line: search events, tail and triage alerts, manage rules and settings over the HTTP API.")
    .version(VERSION, "-V, --version")
    .option("--profile <name>", "use this profile of the config file (see `porchlight login`)")
    .option("--no-color", "no colours (also NO_COLOR=1)")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "porchlight: ")) });
  program.addHelpText(
    "after",
    `
Server and token: PORCHLIGHT_URL and PORCHLIGHT_TOKEN, or a profile written by \`porchlight login\`
(config file: $XDG_CONFIG_HOME/porchlight/config.json, mode 0600). --profile picks a profile.

Exit codes: 0 ok, 1 error (API error, server unreachable, bad token), 2 usage, 3 not found.
Docs: docs/cli.md.`,
  );
  for (const register of COMMANDS) register(program);
  return program;
}

/**
 * Runs the command line and returns the exit code (never throws, never exits the process itself).
 * @param {string[]} argv process.argv
 */
export async function main(argv) {
  // `porchlight query ... | head` closes the pipe early: that is success, not an EPIPE stack trace.
  process.stdout.on("error", (e) => {
    if (/** @type {NodeJS.ErrnoException} */ (e).code === "EPIPE") process.exit(EXIT.OK);
    throw e;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (e) {
    return exitCodeOf(e);
  }
}

/** @param {unknown} e */
function exitCodeOf(e) {
  if (e instanceof CommanderError) {
    // Help and version are successes; every other commander error is a usage mistake (already printed).
    if (e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version") return EXIT.OK;
    return EXIT.USAGE;
  }
  if (e instanceof CliError) {
    process.stderr.write(`porchlight: ${e.message}\n`);
    // A validation error lists every bad field (a rules import names `[index].field`).
    const errors = e instanceof ApiError ? /** @type {any} */ (e.details)?.errors : undefined;
    if (Array.isArray(errors) && errors.length > 1) {
      for (const x of errors.slice(0, 50)) process.stderr.write(`  ${x?.field || "(body)"}: ${x?.message}\n`);
    }
    return e.exitCode;
  }
  const err = /** @type {Error} */ (e);
  process.stderr.write(`porchlight: unexpected error: ${err?.message ?? String(e)}${process.env.PORCHLIGHT_DEBUG ? `\n${err?.stack}` : " (PORCHLIGHT_DEBUG=1 shows where)"}\n`);
  return EXIT.ERROR;
}
