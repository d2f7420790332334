/**
 * Time options shared by the commands: `--last 5m` (siemquery's units, plus w), `--range
 * START-FINISH` (siemquery's `YYYYmmddHHMMSS-YYYYmmddHHMMSS` in local time, or RFC 3339 times joined
 * by `..`), and single times (`--from`, `--since`). Pure: the clock and zone come from the caller.
 */
import { UsageError } from "./errors.js";

/** A duration the events API accepts as `last` (digits and one of s m h d w). */
export const LAST_RE = /^\d{1,6}[smhdw]$/;

/** @param {string} text @param {string} [option] */
export function parseLast(text, option = "--last") {
  const t = text.trim();
  if (!LAST_RE.test(t)) throw new UsageError(`${option} '${text}': expected a number and a unit, like 30s, 5m, 24h, 7d or 2w`);
  return t;
}

const UNIT_MS = /** @type {Record<string, number>} */ ({ s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 });

/** A `--last` duration in ms. @param {string} text @param {string} [option] */
export function lastMs(text, option = "--last") {
  const t = parseLast(text, option);
  return Number(t.slice(0, -1)) * (UNIT_MS[t.slice(-1)] ?? 0);
}

/**
 * siemquery's compact time, `YYYYmmdd[HH[MM[SS]]]`, read as local wall time of `zone`-less Date (the
 * machine's zone, as siemstress did), or an RFC 3339 / ISO time. Returns ms since the epoch.
 * @param {string} text @param {string} option
 */
export function parseTime(text, option) {
  const t = text.trim();
  const compact = /^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?$/.exec(t);
  if (compact) {
    const [, y, mo, d, h = "0", mi = "0", s = "0"] = compact.map((v) => v);
    const ms = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)).getTime();
    const back = new Date(ms);
    if (back.getMonth() !== Number(mo) - 1 || back.getDate() !== Number(d)) throw new UsageError(`${option} '${text}': not a real date`);
    return ms;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`${option} '${text}': expected YYYYmmddHHMMSS (local time) or an RFC 3339 time like 2026-11-22T19:00:00Z`);
}

/**
 * `--range START-FINISH`: two siemquery compact times joined by `-`, or any two times joined by `..`
 * (RFC 3339 times contain `-`). Both ends inclusive, like the API's from/to.
 * @param {string} text @returns {{ from: number, to: number }}
 */
export function parseRange(text) {
  const t = text.trim();
  let parts;
  if (t.includes("..")) parts = t.split("..");
  else {
    const m = /^(\d{8,14})-(\d{8,14})$/.exec(t);
    if (m) parts = [m[1], m[2]];
  }
  if (!parts || parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new UsageError(`--range '${text}': expected START-FINISH as YYYYmmddHHMMSS-YYYYmmddHHMMSS, or START..FINISH as RFC 3339 times`);
  }
  const from = parseTime(parts[0], "--range start");
  const to = parseTime(parts[1], "--range finish");
  if (to < from) throw new UsageError(`--range '${text}': the finish is before the start`);
  return { from, to };
}

/** ms as RFC 3339 UTC with milliseconds. @param {number} ms */
export const iso = (ms) => new Date(ms).toISOString();

/** A short "how long ago" for tables: 42s, 5m, 3h, 2d. @param {string | null | undefined} time @param {number} now */
export function ago(time, now) {
  if (!time) return "";
  const ms = now - Date.parse(time);
  if (!Number.isFinite(ms)) return "";
  const s = Math.round(Math.abs(ms) / 1000);
  const text = s < 60 ? `${s}s` : s < 3600 ? `${Math.round(s / 60)}m` : s < 86400 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return ms < 0 ? `in ${text}` : `${text} ago`;
}
