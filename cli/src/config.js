/**
 * Where the command line finds its server and token: `--profile NAME` (a profile of the config file),
 * else PORCHLIGHT_URL and PORCHLIGHT_TOKEN, else the config file's default profile. The file is
 * `$XDG_CONFIG_HOME/porchlight/config.json` (`~/.config/...` without XDG_CONFIG_HOME, `%APPDATA%` on
 * Windows), written by `porchlight login` with mode 0600 (it holds tokens) in a 0700 directory.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { CliError, UsageError } from "./errors.js";

/**
 * @typedef {{ url: string, token: string }} Profile
 * @typedef {{ default?: string, profiles: Record<string, Profile> }} ConfigFile
 * @typedef {{ url: string, token: string, profile: string | null, source: "profile" | "env" }} Resolved
 */

/** @param {NodeJS.ProcessEnv} env */
export function configPath(env = process.env) {
  if (env.PORCHLIGHT_CONFIG) return env.PORCHLIGHT_CONFIG;
  const base = env.XDG_CONFIG_HOME || (process.platform === "win32" && env.APPDATA) || join(homedir(), ".config");
  return join(base, "porchlight", "config.json");
}

/** @param {string} path @returns {ConfigFile} */
export function readConfig(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (/** @type {NodeJS.ErrnoException} */ (e).code === "ENOENT") return { profiles: Object.create(null) };
    throw new CliError(`cannot read ${path}: ${/** @type {Error} */ (e).message}`);
  }
  try {
    const parsed = JSON.parse(text);
    const profiles = Object.assign(Object.create(null), parsed?.profiles ?? {});
    return { default: typeof parsed?.default === "string" ? parsed.default : undefined, profiles };
  } catch (e) {
    throw new CliError(`${path} is not valid JSON (${/** @type {Error} */ (e).message}); fix or delete it and run \`porchlight login\``);
  }
}

/** Writes the whole file atomically (temp file + rename), mode 0600 in a 0700 directory. @param {string} path @param {ConfigFile} config */
export function writeConfig(path, config) {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ default: config.default, profiles: config.profiles }, null, 2) + "\n", { mode: 0o600 });
  // A file that existed with wider permissions is replaced by the new one, so 0600 holds either way.
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** A server URL without a trailing slash; http(s) only. @param {string} url */
export function normalizeUrl(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`'${url}' is not a URL (expected something like https://porchlight.example.workers.dev)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new UsageError(`'${url}': only http and https URLs are supported`);
  return u.origin + u.pathname.replace(/\/+$/, "");
}

/**
 * Resolves the server and token. Pure apart from reading the config file.
 * @param {{ profile?: string }} opts
 * @param {NodeJS.ProcessEnv} env
 * @returns {Resolved}
 */
export function resolveConfig(opts, env = process.env) {
  const path = configPath(env);
  const wanted = opts.profile ?? env.PORCHLIGHT_PROFILE;
  if (wanted) {
    const p = readConfig(path).profiles[wanted];
    if (!p) throw new UsageError(`no profile '${wanted}' in ${path} (create it with \`porchlight login --profile ${wanted}\`)`);
    return { url: normalizeUrl(p.url), token: p.token, profile: wanted, source: "profile" };
  }
  if (env.PORCHLIGHT_URL || env.PORCHLIGHT_TOKEN) {
    if (!env.PORCHLIGHT_URL) throw new UsageError("PORCHLIGHT_TOKEN is set but PORCHLIGHT_URL is not");
    return { url: normalizeUrl(env.PORCHLIGHT_URL), token: env.PORCHLIGHT_TOKEN ?? "", profile: null, source: "env" };
  }
  const config = readConfig(path);
  const name = config.default ?? (Object.keys(config.profiles).length === 1 ? Object.keys(config.profiles)[0] : undefined);
  const p = name ? config.profiles[name] : undefined;
  if (!name || !p) {
    throw new UsageError("no server configured: set PORCHLIGHT_URL and PORCHLIGHT_TOKEN, or run `porchlight login --url URL`");
  }
  return { url: normalizeUrl(p.url), token: p.token, profile: name, source: "profile" };
}
