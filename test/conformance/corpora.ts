/**
 * Locates the shared, read-only test corpora (../shared/corpora next to the repository, or
 * $PORCHLIGHT_CORPORA) for the conformance suites, and lets a suite skip with a plain message when they
 * are absent. Nothing from the corpora is ever copied into the repository.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root: this file lives at <root>/test/conformance/corpora.ts. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Absolute path of the corpora directory, whether or not it exists. */
export const CORPORA_DIR = process.env.PORCHLIGHT_CORPORA
  ? path.resolve(process.env.PORCHLIGHT_CORPORA)
  : path.resolve(REPO_ROOT, "../shared/corpora");

/** Absolute path of a file or folder inside the corpora, e.g. corpusPath("loghub", "OpenSSH"). */
export function corpusPath(...parts: string[]): string {
  return path.join(CORPORA_DIR, ...parts);
}

/**
 * True when the corpus file/folder exists. When it does not, prints one line saying what was skipped and
 * why, so a green run without corpora is never mistaken for a conformance pass.
 */
export function haveCorpus(...parts: string[]): boolean {
  const p = corpusPath(...parts);
  if (existsSync(p)) return true;
  console.log(`[conformance] SKIPPED: ${p} not found (set PORCHLIGHT_CORPORA or place the corpora at ../shared/corpora)`);
  return false;
}

/** Reads and parses a JSON file of the corpora. */
export function readCorpusJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(corpusPath(...parts), "utf8")) as T;
}

/** Reads a text file of the corpora (UTF-8). */
export function readCorpusText(...parts: string[]): string {
  return readFileSync(corpusPath(...parts), "utf8");
}
