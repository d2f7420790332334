/**
 * User extractors (siemstress "helpers"): named regexes whose named groups become `labels.<name>` on
 * events, scoped by program and/or host. `compileExtractor` is the gate for `POST/PUT /v1/extractors`:
 * it refuses patterns that do not compile, capture nothing, or could stall ingest (catastrophic
 * backtracking), with a message the API returns as a 400. `applyExtractors` runs them in `normalize`.
 *
 * Why a static check only, and no timed probe: inside workerd the clocks do not advance while code runs
 * (a Spectre mitigation), so a probe timed with performance.now() never sees a slow regex there and only
 * burns the request's CPU (5 ms for a typical pattern, 70-300 ms for a quadratic one, against the Free
 * plan's 10 ms). A regex cannot be interrupted or counted in steps either. So `backtrackingRisk` decides
 * from the pattern's syntax tree alone, and refuses these shapes (JS's backtracking engine is exponential
 * or high-degree polynomial on each of them; the input is capped at EXTRACTOR_MAX_INPUT characters):
 *  1. Nested repetition: a repeated group whose body repeats a variable amount, `(a+)+`, `(\w+\s?)*`,
 *     `(a{1,9}){1,9}` (star height 2, as safe-regex). Allowed when both are small and bounded, so the
 *     number of ways to split a text stays ≤ 1000: `(?:\d{1,3}\.){3}`.
 *  2. A repeated alternation whose branches can start with the same character or match nothing:
 *     `(a|a)*`, `(a|ab)*`, `(?:\w|\d)+`, `(a|)*`: each iteration may take either branch.
 *  3. Overlapping unbounded repetitions in sequence, `\S+\S+`, `.*.*`, `\S+:\S+`: the text between
 *     them can be split in O(n) ways at every start position (cubic overall). Separators that the first
 *     one cannot cross end the risk: `(?<k>[^=]+)=(?<v>\S+)` and `(?<a>.*) ip=(?<ip>\S+)` are fine.
 * What stays: one unbounded repetition scanned from every start (`(?<u>\S+) from`) is quadratic at
 * worst, which the 1024-character input cap bounds (~1M steps on a hostile line, none on a real one).
 * Quantifiers with a maximum above LARGE_REPEAT count as unbounded.
 */
import type { CompiledExtractor } from "./types.ts";
import { setOwn, table } from "../table.ts";

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
  const risk = backtrackingRisk(pattern);
  if (risk) return fail(`pattern is dangerously slow: ${risk}`);
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

// ---- Static backtracking analysis (see the module header for what is refused and why)

/** A quantifier whose maximum is above this counts as unbounded (`\S{1,500}` backtracks like `\S+`). */
const LARGE_REPEAT = 32;
/** Most ways a bounded nested repetition or a bounded repeated alternation may split one text. */
const MAX_BOUNDED_WAYS = 1000;

/**
 * Characters an atom can match: ASCII as a 128-bit mask; above 127, the Unicode spaces `\s` matches one
 * bit each (so `\s` and `\S` stay disjoint), and every other code unit as one flag (conservative: a
 * negated set is taken to keep some of them).
 */
interface CharSet { bits: Uint32Array; high: boolean; spaces: number }

/** The code units above 127 that `\s` matches (ECMAScript WhiteSpace and LineTerminator). */
const HIGH_SPACES = [0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff];
const ALL_SPACES = 2 ** HIGH_SPACES.length - 1;

type Node =
  | { k: "char"; set: CharSet }
  | { k: "seq"; items: Node[] }
  | { k: "alt"; branches: Node[] }
  | { k: "group"; body: Node; look: boolean }
  | { k: "repeat"; body: Node; min: number; max: number }
  | { k: "assert" }
  | { k: "backref" };

const emptySet = (): CharSet => ({ bits: new Uint32Array(4), high: false, spaces: 0 });
function addRange(s: CharSet, lo: number, hi: number): void {
  for (let c = lo; c <= Math.min(hi, 127); c++) s.bits[c >>> 5]! |= 1 << (c & 31);
  if (hi <= 127) return;
  const from = Math.max(lo, 128);
  let spacesIn = 0;
  HIGH_SPACES.forEach((c, k) => {
    if (c >= from && c <= hi) {
      s.spaces |= 1 << k;
      spacesIn++;
    }
  });
  if (hi - from + 1 > spacesIn) s.high = true;
}
function complement(s: CharSet): CharSet {
  const out = emptySet();
  for (let k = 0; k < 4; k++) out.bits[k] = ~s.bits[k]!;
  out.high = true; // a negated set always leaves some non-ASCII characters in
  out.spaces = ALL_SPACES & ~s.spaces;
  return out;
}
function union(a: CharSet, b: CharSet): CharSet {
  const out = emptySet();
  for (let k = 0; k < 4; k++) out.bits[k] = a.bits[k]! | b.bits[k]!;
  out.high = a.high || b.high;
  out.spaces = a.spaces | b.spaces;
  return out;
}
function intersect(a: CharSet, b: CharSet): CharSet | null {
  const out = emptySet();
  out.high = a.high && b.high;
  out.spaces = a.spaces & b.spaces;
  let any = out.high || out.spaces !== 0;
  for (let k = 0; k < 4; k++) if ((out.bits[k] = a.bits[k]! & b.bits[k]!)) any = true;
  return any ? out : null;
}
const setOf = (...ranges: [number, number][]): CharSet => {
  const s = emptySet();
  for (const [lo, hi] of ranges) addRange(s, lo, hi);
  return s;
};
const DIGIT = setOf([48, 57]);
const WORD = setOf([48, 57], [65, 90], [95, 95], [97, 122]);
const SPACE = setOf([9, 13], [32, 32], ...HIGH_SPACES.map((c): [number, number] => [c, c])); // \s also matches Unicode spaces
const ANY = setOf([0, 0xffff]);
const DOT = complement(setOf([10, 10], [13, 13]));
const CLASS_ESCAPES = table({ d: DIGIT, D: complement(DIGIT), w: WORD, W: complement(WORD), s: SPACE, S: complement(SPACE) });
const CONTROL_ESCAPES = table({ t: 9, n: 10, v: 11, f: 12, r: 13, "0": 0 });

/** Syntax tree of a pattern that `new RegExp` accepted (no flags: Annex B syntax). */
function parseRegex(src: string): Node {
  let i = 0;
  const n = src.length;
  const alt = (): Node => {
    const branches = [seq()];
    while (src[i] === "|") {
      i++;
      branches.push(seq());
    }
    return branches.length === 1 ? branches[0]! : { k: "alt", branches };
  };
  const seq = (): Node => {
    const items: Node[] = [];
    while (i < n && src[i] !== "|" && src[i] !== ")") {
      let node = atom();
      for (let q = quantifier(); q; q = quantifier()) node = { k: "repeat", body: node, min: q[0], max: q[1] };
      items.push(node);
    }
    return items.length === 1 ? items[0]! : { k: "seq", items };
  };
  const quantifier = (): [number, number] | null => {
    const c = src[i];
    let r: [number, number] | null = null;
    if (c === "*") { r = [0, Infinity]; i++; }
    else if (c === "+") { r = [1, Infinity]; i++; }
    else if (c === "?") { r = [0, 1]; i++; }
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 24));
      if (!m) return null;
      r = [Number(m[1]), m[2] === undefined ? Number(m[1]) : m[3] === "" ? Infinity : Number(m[3])];
      i += m[0].length;
    }
    if (r && src[i] === "?") i++; // lazy: the same search space, explored in another order
    return r;
  };
  const charNode = (code: number): Node => ({ k: "char", set: setOf([code, code]) });
  const atom = (): Node => {
    const c = src[i++]!;
    if (c === "(") {
      let look = false;
      if (src[i] === "?") {
        const d = src[i + 1];
        if (d === "=" || d === "!") { look = true; i += 2; }
        else if (d === "<" && (src[i + 2] === "=" || src[i + 2] === "!")) { look = true; i += 3; }
        else if (d === "<") i = src.indexOf(">", i) + 1;
        else i = src.indexOf(":", i) + 1; // (?: and modifier groups (?i:
      }
      const body = alt();
      i++; // ")"
      return { k: "group", body, look };
    }
    if (c === "[") return { k: "char", set: charClass() };
    if (c === ".") return { k: "char", set: DOT };
    if (c === "^" || c === "$") return { k: "assert" };
    if (c === "\\") {
      const e = src[i++] ?? "\\";
      if (CLASS_ESCAPES[e]) return { k: "char", set: CLASS_ESCAPES[e]! };
      if (e === "b" || e === "B") return { k: "assert" };
      if (e >= "1" && e <= "9") {
        while (src[i]! >= "0" && src[i]! <= "9") i++;
        return { k: "backref" };
      }
      if (e === "k" && src[i] === "<") {
        i = src.indexOf(">", i) + 1;
        return { k: "backref" };
      }
      return charNode(escapedCode(e));
    }
    return charNode(c.charCodeAt(0));
  };
  /** Code of the character an escape `\e` (already consumed) stands for; advances past \x, \u, \c. */
  const escapedCode = (e: string): number => {
    if (e in CONTROL_ESCAPES) return CONTROL_ESCAPES[e]!;
    const hex = e === "x" ? 2 : e === "u" ? 4 : 0;
    if (hex && /^[0-9A-Fa-f]+$/.test(src.slice(i, i + hex)) && src.slice(i, i + hex).length === hex) {
      i += hex;
      return parseInt(src.slice(i - hex, i), 16);
    }
    if (e === "c" && /[A-Za-z]/.test(src[i] ?? "")) return src.charCodeAt(i++) % 32;
    return e.charCodeAt(0);
  };
  const charClass = (): CharSet => {
    const negate = src[i] === "^";
    if (negate) i++;
    let set = emptySet();
    while (i < n && src[i] !== "]") {
      let lo: number;
      if (src[i] === "\\") {
        const e = src[i + 1] ?? "\\";
        i += 2;
        if (CLASS_ESCAPES[e]) { set = union(set, CLASS_ESCAPES[e]!); continue; }
        lo = e === "b" ? 8 : escapedCode(e);
      } else lo = src.charCodeAt(i++);
      let hi = lo;
      if (src[i] === "-" && i + 1 < n && src[i + 1] !== "]") {
        i++;
        if (src[i] === "\\") {
          const e = src[i + 1] ?? "\\";
          i += 2;
          if (CLASS_ESCAPES[e]) { set = union(union(set, CLASS_ESCAPES[e]!), setOf([lo, lo], [45, 45])); continue; }
          hi = e === "b" ? 8 : escapedCode(e);
        } else hi = src.charCodeAt(i++);
      }
      addRange(set, lo, Math.max(lo, hi));
    }
    i++; // "]"
    return negate ? complement(set) : set;
  };
  return alt();
}

// The three properties below are memoized per node: the checks ask them of every node under every
// repetition, which would be cubic in the pattern's size on deeply nested patterns otherwise.
const nullableMemo = new WeakMap<Node, boolean>();
const firstMemo = new WeakMap<Node, CharSet | null>();
const allMemo = new WeakMap<Node, CharSet | null>();
function memo<T>(m: WeakMap<Node, T>, x: Node, f: (x: Node) => T): T {
  if (m.has(x)) return m.get(x)!;
  const v = f(x);
  m.set(x, v);
  return v;
}
const nullable = (x: Node): boolean => memo(nullableMemo, x, nullableOf);
const firstChars = (x: Node): CharSet | null => memo(firstMemo, x, firstOf);
const allChars = (x: Node): CharSet | null => memo(allMemo, x, allOf);

function nullableOf(x: Node): boolean {
  switch (x.k) {
    case "char": return false;
    case "seq": return x.items.every(nullable);
    case "alt": return x.branches.some(nullable);
    case "group": return x.look || nullable(x.body);
    case "repeat": return x.min === 0 || nullable(x.body);
    default: return true;
  }
}

/** Characters that can start a match of `x` (null: none). */
function firstOf(x: Node): CharSet | null {
  switch (x.k) {
    case "char": return x.set;
    case "seq": {
      let out: CharSet | null = null;
      for (const item of x.items) {
        const f = firstChars(item);
        if (f) out = out ? union(out, f) : f;
        if (!nullable(item)) break;
      }
      return out;
    }
    case "alt": return x.branches.map(firstChars).reduce<CharSet | null>((a, b) => (a && b ? union(a, b) : a ?? b), null);
    case "group": return x.look ? null : firstChars(x.body);
    case "repeat": return firstChars(x.body);
    case "backref": return ANY;
    default: return null;
  }
}

/** Every character `x` can consume (null: none). */
function allOf(x: Node): CharSet | null {
  switch (x.k) {
    case "char": return x.set;
    case "seq": return x.items.map(allChars).reduce<CharSet | null>((a, b) => (a && b ? union(a, b) : a ?? b), null);
    case "alt": return x.branches.map(allChars).reduce<CharSet | null>((a, b) => (a && b ? union(a, b) : a ?? b), null);
    case "group": return x.look ? null : allChars(x.body);
    case "repeat": return allChars(x.body);
    case "backref": return ANY;
    default: return null;
  }
}

function children(x: Node): Node[] {
  return x.k === "seq" ? x.items : x.k === "alt" ? x.branches : x.k === "group" || x.k === "repeat" ? [x.body] : [];
}
/** All nodes under `x` (iterative: a 2000-character pattern may nest 1000 groups deep). */
function descendants(x: Node): Node[] {
  const out: Node[] = [];
  const stack = [...children(x)];
  while (stack.length > 0) {
    const c = stack.pop()!;
    out.push(c);
    for (const d of children(c)) stack.push(d);
  }
  return out;
}

/** Items of a sequence with plain groups opened up: `(?<u>\S+)(?<v>\S+)` is `\S+ \S+` for shape 3. */
function flatItems(x: Node, out: Node[], opened: Set<Node>): Node[] {
  if (opens(x)) {
    opened.add(x);
    if (x.k === "seq") for (const item of x.items) flatItems(item, out, opened);
    else if (x.k === "group") flatItems(x.body, out, opened);
  } else out.push(x);
  return out;
}
const opens = (x: Node): boolean => x.k === "seq" || (x.k === "group" && !x.look && x.body.k !== "alt");

const NESTED = "a repeated group contains another repetition (nested quantifiers such as (a+)+ or (\\w+\\s?)* backtrack catastrophically); repeat one thing only, or use a character class";
const ALTERNATION = "a repeated group has alternatives that can start with the same character or match nothing, such as (a|ab)* or (\\w|\\d)+; merge them into one class or make each start differently";
const ADJACENT = "two unbounded repetitions in a row can match the same characters, such as \\S+\\S+, .*.* or \\S+:\\S+; end the first with a class that excludes what follows, e.g. (?<k>[^:]+):(?<v>\\S+)";

/** Why `pattern` (already known to compile) can backtrack catastrophically, or null when it cannot. */
export function backtrackingRisk(pattern: string): string | null {
  const root = parseRegex(pattern);
  const nodes = [root, ...descendants(root)]; // every parent before its children
  const opened = new Set<Node>(); // sequences already checked as part of an enclosing one
  for (const x of nodes) {
    if (x.k === "repeat" && x.max > 1) {
      const outerUnbounded = x.max > LARGE_REPEAT;
      for (const inner of descendants(x.body)) {
        if (inner.k === "repeat" && (inner.min !== inner.max || nullable(inner.body))) {
          if (outerUnbounded || inner.max > LARGE_REPEAT || (inner.max - inner.min + 1) ** x.max > MAX_BOUNDED_WAYS) return NESTED;
        }
        if (inner.k === "alt" && (outerUnbounded || inner.branches.length ** x.max > MAX_BOUNDED_WAYS) && overlappingBranches(inner.branches)) return ALTERNATION;
      }
      if (x.body.k === "alt" && (outerUnbounded || x.body.branches.length ** x.max > MAX_BOUNDED_WAYS) && overlappingBranches(x.body.branches)) return ALTERNATION;
      if (x.body.k === "group" && x.body.body.k === "alt" && (outerUnbounded || x.body.body.branches.length ** x.max > MAX_BOUNDED_WAYS) && overlappingBranches(x.body.body.branches)) return ALTERNATION;
    }
    if (opens(x) && !opened.has(x) && adjacentOverlap(flatItems(x, [], opened))) return ADJACENT;
  }
  return null;
}

function overlappingBranches(branches: Node[]): boolean {
  const firsts: CharSet[] = [];
  for (const b of branches) {
    const f = firstChars(b);
    if (!f || nullable(b)) return true;
    if (firsts.some((g) => intersect(f, g))) return true;
    firsts.push(f);
  }
  return false;
}

/**
 * Shape 3 over one sequence: `open` is what the last unbounded repetition could still absorb, narrowed
 * by each required item after it; a second unbounded repetition that can take the same characters
 * makes the text between them splittable in O(n) ways.
 */
function adjacentOverlap(items: Node[]): boolean {
  let open: CharSet | null = null;
  for (const item of items) {
    if (item.k === "repeat" && item.max > LARGE_REPEAT) {
      const chars = allChars(item.body);
      if (open && chars && intersect(open, chars)) return true;
      open = chars;
    } else if (open && !nullable(item)) {
      const chars = allChars(item);
      open = chars ? intersect(open, chars) : open;
    }
  }
  return false;
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
      if (v !== undefined) setOwn((labels ??= {}), k, v); // a group may be named __proto__
    }
  }
  return labels;
}
