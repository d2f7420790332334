/**
 * Rule durations: strings like "90s", "15m", "26h", "7d" (also "500ms", "1h30m") → milliseconds.
 * One grammar for every duration field of a rule (window, leakspeed, timeout, clear_after, learning).
 */

import { table } from "../table.ts";

const UNIT_MS = table({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 });
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/** Longest duration a rule may use: 366 days (keeps deadlines far from Number's precision limits). */
export const MAX_DURATION_MS = 366 * 86_400_000;

/**
 * Parses a duration into ms. Returns undefined when the text is not a duration (the caller names
 * the field in its error). A bare number is not accepted: "60" is ambiguous (seconds? ms?).
 */
export function parseDuration(text: unknown): number | undefined {
  if (typeof text !== "string" || text.length === 0 || text.length > 32) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  if (!Number.isFinite(total) || total <= 0 || total > MAX_DURATION_MS) return undefined;
  return Math.round(total);
}

/** Like parseDuration but throws (for rules that already passed validateRule). */
export function durationMs(text: unknown, field: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`${field}: not a duration: ${JSON.stringify(text)}`);
  return ms;
}

/** Renders ms as the shortest exact duration string ("90s", "26h"), for alert texts and exports. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
