/** What every command file needs: the client for the chosen server, option collectors, help examples. */
import { Client } from "./client.js";
import { resolveConfig } from "./config.js";
import { UsageError } from "./errors.js";

/** @typedef {import("commander").Command} Command */

/** The API client for the server the global options and environment name. @param {Command} cmd */
export function clientOf(cmd) {
  const o = cmd.optsWithGlobals();
  return new Client(resolveConfig({ profile: o.profile }));
}

/** Commander collector for repeatable options (`--shost a --shost b`). @param {string} value @param {string[]} [prev] */
export const collect = (value, prev = []) => [...prev, value];

/** A positive integer option. @param {string} name @returns {(v: string) => number} */
export const intOption = (name) => (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} '${v}': expected a whole number`);
  return n;
};

/** Adds an "Examples:" section to a command's --help. @param {Command} cmd @param {string[]} lines */
export function examples(cmd, lines) {
  return cmd.addHelpText("after", `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`);
}

/** Options of the list commands' output. @param {Command} cmd */
export function formatOptions(cmd) {
  return cmd
    .option("--format <format>", "table, json, ndjson, csv, or a template like '{id} {name}' (default: table on a terminal, ndjson in a pipe)")
    .option("--csv", "same as --format csv");
}
