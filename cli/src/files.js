/** Reading input files and writing exports, with "not found" as exit code 3. */
import { readFileSync, writeFileSync } from "node:fs";
import { CliError, EXIT, UsageError } from "./errors.js";
import { out } from "./output.js";

/** A file's text ("-" is standard input). @param {string} file */
export function readText(file) {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (e) {
    const err = /** @type {NodeJS.ErrnoException} */ (e);
    if (err.code === "ENOENT") throw new CliError(`${file}: no such file`, EXIT.NOT_FOUND);
    throw new CliError(`${file}: ${err.message}`);
  }
}

/** A JSON file. @param {string} file */
export function readJson(file) {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file} is not JSON: ${/** @type {Error} */ (e).message}`);
  }
}

/** JSON to FILE (or stdout without one). @param {unknown} value @param {string | undefined} file */
export async function writeJson(value, file) {
  const text = JSON.stringify(value, null, 2) + "\n";
  if (file === undefined || file === "-") return out(text);
  writeFileSync(file, text);
}
