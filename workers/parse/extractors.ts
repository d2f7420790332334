/**
 * User extractors (siemstress "helpers"): named regexes whose named groups become `labels.<name>` on
 * events, scoped by program and/or host. `compileExtractor` is the gate for `POST/PUT /v1/extractors`:
 * it refuses patterns that do not compile, capture nothing, or could stall ingest (catastrophic
 * backtracking), with a message the API returns as a 400. `applyExtractors` runs them in `normalize`.
 *
 * Why both a static check and a timed probe: the star-height check (as safe-regex does) catches the
 * classic `(a+)+` shapes cheaply and deterministically; the probe catches what it cannot see, such as
 * overlapping alternations under one quantifier (`(a|a)*`) or quadratic scans, on adversarial inputs.
 */
import type { CompiledExtractor } from "./types.ts";

export interface ExtractorSpec {
  /** Stored id; defaults to the name (tests, /v1/parse previews). */
  id?: string;
  name: string;
  pattern: string;
  program?: string | null;
  host?: string | null;
}

export type CompileResult = { ok: true; extractor: CompiledExtractor } | { ok: false; error: string };

/** Longest pattern accepted, characters. */
export const EXTRACTOR_MAX_PATTERN = 2000;
/**
 * Extractors see at most this many leading characters of a message, so a merely quadratic pattern
 * (`(?<u>\\S+) from`, common and fine on real lines) stays bounded on a hostile 64 KB line.
 */
export const EXTRACTOR_MAX_INPUT = 1024; // RFC 3164's whole-packet limit; longer messages are rare
/** Most CPU one probe run (one adversarial line of up to EXTRACTOR_MAX_INPUT chars) may take, ms. */
export const EXTRACTOR_PROBE_BUDGET_MS = 25;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const GROUP_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function compileExtractor(spec: ExtractorSpec): CompileResult {
  const { name, pattern } = spec;
  if (typeof name !== "string" || !NAME_RE.test(name)) {
    return fail("name must be 1-64 characters: a letter or _, then letters, digits, _ . -");
  }
  if (typeof pattern !== "string" || pattern.length === 0) return fail("pattern is empty");
  if (pattern.length > EXTRACTOR_MAX_PATTERN) return fail(`pattern is longer than ${EXTRACTOR_MAX_PATTERN} characters`);
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (e) {
    return fail(`pattern does not compile: ${(e as Error).message}`);
  }
  const groups = namedGroups(pattern);
  if (groups.length === 0) return fail("pattern has no named groups: use (?<name>...) for each value to extract");
  for (const g of groups) if (!GROUP_NAME_RE.test(g)) return fail(`group name "${g}" must be letters, digits and _`);
  const height = starHeight(pattern);
  if (height > 1) {
    return fail("pattern is dangerously slow: a repeated group contains another repetition (nested quantifiers such as (a+)+ backtrack catastrophically)");
  }
  const slow = probe(regex, pattern);
  if (slow) return fail(`pattern is dangerously slow: ${slow}`);
  const extractor: CompiledExtractor = { id: spec.id ?? name, name, regex };
  if (spec.program) extractor.program = spec.program;
  if (spec.host) extractor.host = spec.host;
  return { ok: true, extractor };
}

const fail = (error: string): CompileResult => ({ ok: false, error });

/** Names of the named groups, read from the engine itself (an empty alternative always matches ""). */
function namedGroups(pattern: string): string[] {
  const m = new RegExp(`(?:${pattern})|`).exec("");
  return m?.groups ? Object.keys(m.groups) : [];
}

/**
 * Star height of the pattern: the deepest nesting of unbounded quantifiers (`*`, `+`, `{n,}`, and
 * `{n,m}` with m > 1 count as repetition). Escapes, classes and lookarounds are skipped correctly
 * enough for this purpose; a repetition applied to a group whose body contains a repetition gives 2.
 */
export function starHeight(src: string): number {
  // Stack of open groups: the max star height found inside each.
  const stack: number[] = [0];
  let max = 0;
  let lastAtomHeight = 0; // star height of the atom just closed (group) or 0 for a simple atom
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === "\\") {
      i += 2;
      lastAtomHeight = 0;
      continue;
    }
    if (c === "[") {
      i++;
      if (src[i] === "^") i++;
      if (src[i] === "]") i++;
      while (i < n && src[i] !== "]") i += src[i] === "\\" ? 2 : 1;
      i++;
      lastAtomHeight = 0;
      continue;
    }
    if (c === "(") {
      stack.push(0);
      i++;
      if (src[i] === "?") {
        // (?:, (?=, (?!, (?<=, (?<!, (?<name>
        i++;
        if (src[i] === "<" && src[i + 1] !== "=" && src[i + 1] !== "!") {
          const close = src.indexOf(">", i);
          i = close < 0 ? n : close + 1;
        } else i++;
      }
      continue;
    }
    if (c === ")") {
      lastAtomHeight = stack.length > 1 ? stack.pop()! : 0;
      const parent = stack.length - 1;
      stack[parent] = Math.max(stack[parent]!, lastAtomHeight);
      i++;
      continue;
    }
    const q = quantifierAt(src, i);
    if (q) {
      i += q.length;
      if (src[i] === "?" || src[i] === "+") i++; // lazy / (possessive is not JS, harmless)
      const h = q.repeats ? lastAtomHeight + 1 : lastAtomHeight;
      const top = stack.length - 1;
      stack[top] = Math.max(stack[top]!, h);
      if (h > max) max = h;
      lastAtomHeight = 0;
      continue;
    }
    // A plain atom (or | ^ $ .) has height 0.
    lastAtomHeight = 0;
    i++;
  }
  // Groups that closed without a quantifier still carry their inner height outward.
  return Math.max(max, ...stack);
}

function quantifierAt(src: string, i: number): { length: number; repeats: boolean } | null {
  const c = src[i];
  if (c === "*" || c === "+") return { length: 1, repeats: true };
  if (c === "?") return { length: 1, repeats: false };
  if (c === "{") {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 24));
    if (!m) return null;
    const hi = m[2] === undefined ? Number(m[1]) : m[3] === "" ? Infinity : Number(m[3]);
    return { length: m[0].length, repeats: hi > 1 };
  }
  return null;
}

/**
 * Times the regex on adversarial inputs built from the pattern's own literal characters and common log
 * alphabets, each followed by a character that forces failure. Lengths grow slowly at first (an
 * exponential pattern must be caught at 20-odd characters, before one run takes seconds; a regex cannot
 * be interrupted) and then double up to EXTRACTOR_MAX_INPUT, the most an extractor ever sees. Returns
 * a reason when one run exceeds the budget (best of two, to discount GC and a busy core).
 */
function probe(regex: RegExp, pattern: string): string | null {
  const units = new Set<string>(["a", "0", " ", "a."]);
  // Literal characters of the pattern (outside escapes) are what a hostile line would repeat.
  for (let i = 0; i < pattern.length && units.size < 12; i++) {
    const c = pattern[i]!;
    if (c === "\\") { i++; continue; }
    if (/[A-Za-z0-9 :=,._@\/-]/.test(c)) units.add(c);
  }
  for (const unit of units) {
    for (const n of PROBE_LENGTHS) {
      const body = unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
      for (const s of [body + "!", "!" + body + "\u0000"]) {
        if (timeExec(regex, s) > EXTRACTOR_PROBE_BUDGET_MS && timeExec(regex, s) > EXTRACTOR_PROBE_BUDGET_MS) {
          return `matching a ${n}-character adversarial line (${JSON.stringify(unit)} repeated) took over ${EXTRACTOR_PROBE_BUDGET_MS} ms; anchor the pattern or make repeated parts mutually exclusive`;
        }
      }
    }
  }
  return null;
}

const PROBE_LENGTHS = [8, 12, 16, 20, 24, 28, 32, 48, 64, 128, 256, 512, EXTRACTOR_MAX_INPUT];

function timeExec(regex: RegExp, s: string): number {
  const t = performance.now();
  regex.lastIndex = 0;
  regex.exec(s);
  return performance.now() - t;
}

/**
 * Runs the extractors that apply to this event's program and host over `msg`; returns the captures
 * (group name → value) or undefined when none matched. Program scope compares case-sensitively (as
 * syslog APP-NAMEs are), host scope case-insensitively (hostnames are).
 */
export function applyExtractors(
  extractors: readonly CompiledExtractor[],
  msg: string,
  program: string | undefined,
  host: string | undefined,
): Record<string, string> | undefined {
  let labels: Record<string, string> | undefined;
  const input = msg.length > EXTRACTOR_MAX_INPUT ? msg.slice(0, EXTRACTOR_MAX_INPUT) : msg;
  for (const x of extractors) {
    if (x.program && x.program !== program) continue;
    if (x.host && (!host || x.host.toLowerCase() !== host.toLowerCase())) continue;
    x.regex.lastIndex = 0;
    const m = x.regex.exec(input);
    if (!m?.groups) continue;
    for (const k in m.groups) {
      const v = m.groups[k];
      if (v !== undefined) (labels ??= {})[k] = v;
    }
  }
  return labels;
}
