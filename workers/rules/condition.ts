/**
 * Rule conditions (`match` of a rule): compiled once into closures, then run for every event of every
 * ingest batch. Grammar (docs/rules.md):
 *   { "<ecs.field>": scalar }                       equality (a number matches its decimal string too)
 *   { "<ecs.field>": { in: [...] } }                one of the values
 *   { "<ecs.field>": { cidr: "10.0.0.0/8" | [...] } } IPv4 or IPv6 prefix (a bare address = /32, /128)
 *   { "<ecs.field>": { regex: "..." } }             JavaScript regex; "(?i)" prefix = ignore case; named
 *                                                   groups become captures usable in templates
 *   { "<ecs.field>": { gt|gte|lt|lte: n } }         numeric (numeric strings are compared as numbers)
 *   { "<ecs.field>": { exists: bool } }             present and not null / not an empty array
 *   { "<ecs.field>": { eq: scalar } | { contains: "s" } }
 *   { "<ecs.field>": { in_list: "name" } }          an address on the user's list `name` (PUT /v1/lists/:name;
 *                                                   ip-list.ts); an unknown or empty list matches nothing
 *   { not: cond } | { any: [cond...] } | { all: [cond...] }
 * Several keys in one object are ANDed; several operators on one field are ANDed; `{}` matches all.
 * A field holding an array (event.category) matches when ANY element matches.
 *
 * Invariant (speed): the hot path allocates nothing for a non-matching event or a match without
 * captures; captures are allocated only when a regex with named groups matched.
 */
import { backtrackingRisk } from "../parse/extractors.ts";
import { cidrMatcher, parseCidr } from "../parse/ip.ts";
import type { Condition } from "./types.ts";
import type { IpRangeSet } from "./ip-list.ts";

/** The address lists `in_list` reads, by name (loaded by the caller: workers/rules/lists.ts). */
export type ListLookup = (name: string) => IpRangeSet | undefined;
const NO_LISTS: ListLookup = () => undefined;
const LIST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$/;

export interface MatchResult {
  matched: boolean;
  captures?: Record<string, string>;
}
export type CompiledCondition = (event: unknown) => MatchResult;

/** A validation problem: `field` is a path inside the rule ("match.all[1].source.ip.cidr"). */
export interface FieldError {
  field: string;
  message: string;
}

const NO_MATCH: MatchResult = Object.freeze({ matched: false }) as MatchResult;
const MATCHED: MatchResult = Object.freeze({ matched: true }) as MatchResult;

const OPERATORS = ["in", "cidr", "regex", "gt", "gte", "lt", "lte", "exists", "eq", "contains", "in_list"] as const;
const FIELD_PATH = /^[@A-Za-z_][A-Za-z0-9_@.\-]*$/;
const MAX_IN_VALUES = 10_000;
const MAX_REGEX_LENGTH = 2000;

// ---------------------------------------------------------------- validation

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

/** "(?i)abc" → RegExp("abc", "i"). Returns an error message when the pattern does not compile. */
export function toRegExp(pattern: string): RegExp | string {
  let flags = "";
  let body = pattern;
  const inline = /^\(\?([imsu]+)\)/.exec(body);
  if (inline) {
    flags = [...new Set(inline[1]!.replace("u", ""))].join("");
    body = body.slice(inline[0].length);
  }
  try {
    return new RegExp(body, flags);
  } catch (e) {
    return `invalid regex: ${(e as Error).message}`;
  }
}

/** Checks a condition; returns every problem found, each naming its field. Empty = valid. */
export function checkCondition(cond: unknown, at = "match"): FieldError[] {
  const errors: FieldError[] = [];
  walk(cond, at, errors, 0);
  return errors;
}

function walk(cond: unknown, at: string, errors: FieldError[], depth: number): void {
  if (depth > 16) return void errors.push({ field: at, message: "condition nested deeper than 16 levels" });
  if (!isPlainObject(cond)) return void errors.push({ field: at, message: "must be an object of field conditions" });
  for (const [key, value] of Object.entries(cond)) {
    const here = `${at}.${key}`;
    if (key === "not") {
      walk(value, here, errors, depth + 1);
    } else if (key === "any" || key === "all") {
      if (!Array.isArray(value) || value.length === 0) {
        errors.push({ field: here, message: `"${key}" takes a non-empty array of conditions` });
        continue;
      }
      value.forEach((c, i) => walk(c, `${here}[${i}]`, errors, depth + 1));
    } else if (!FIELD_PATH.test(key)) {
      errors.push({ field: here, message: `"${key}" is not a field path (like source.ip) nor not/any/all` });
    } else if (isScalar(value)) {
      // equality
    } else if (value === null) {
      errors.push({ field: here, message: "null cannot be matched; use {\"exists\": false}" });
    } else if (Array.isArray(value)) {
      errors.push({ field: here, message: "an array is ambiguous here; use {\"in\": [...]} to match one of several values" });
    } else if (isPlainObject(value)) {
      if (Object.keys(value).length === 0) errors.push({ field: here, message: "empty operator object" });
      for (const [op, arg] of Object.entries(value)) checkOperator(op, arg, `${here}.${op}`, errors);
    } else {
      errors.push({ field: here, message: "must be a string, number, boolean or an operator object" });
    }
  }
}

function checkOperator(op: string, arg: unknown, at: string, errors: FieldError[]): void {
  switch (op) {
    case "in":
      if (!Array.isArray(arg) || arg.length === 0 || arg.length > MAX_IN_VALUES || !arg.every(isScalar))
        errors.push({ field: at, message: `"in" takes a non-empty array (at most ${MAX_IN_VALUES}) of strings, numbers or booleans` });
      return;
    case "cidr": {
      const list = typeof arg === "string" ? [arg] : arg;
      if (!Array.isArray(list) || list.length === 0) return void errors.push({ field: at, message: `"cidr" takes a prefix like "10.0.0.0/8" or an array of them` });
      for (const c of list) if (typeof c !== "string" || !parseCidr(c)) errors.push({ field: at, message: `not an IPv4 or IPv6 prefix: ${JSON.stringify(c)}` });
      return;
    }
    case "regex": {
      if (typeof arg !== "string" || arg.length > MAX_REGEX_LENGTH) return void errors.push({ field: at, message: `"regex" takes a pattern string (at most ${MAX_REGEX_LENGTH} characters)` });
      const re = toRegExp(arg);
      if (typeof re === "string") errors.push({ field: at, message: re });
      // every event of every batch runs it: refuse patterns that backtrack catastrophically
      else {
        const risk = backtrackingRisk(re.source);
        if (risk) errors.push({ field: at, message: risk });
      }
      return;
    }
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      if (typeof arg !== "number" || !Number.isFinite(arg)) errors.push({ field: at, message: `"${op}" takes a number` });
      return;
    case "exists":
      if (typeof arg !== "boolean") errors.push({ field: at, message: `"exists" takes true or false` });
      return;
    case "eq":
      if (!isScalar(arg)) errors.push({ field: at, message: `"eq" takes a string, number or boolean` });
      return;
    case "contains":
      if (typeof arg !== "string" || arg === "") errors.push({ field: at, message: `"contains" takes a non-empty string` });
      return;
    case "in_list":
      if (typeof arg !== "string" || !LIST_NAME.test(arg)) errors.push({ field: at, message: `"in_list" takes a list name (1-64 letters, digits, '_', '.', '-'; PUT /v1/lists/:name)` });
      return;
    default:
      errors.push({ field: at, message: `unknown operator "${op}" (known: ${OPERATORS.join(", ")})` });
  }
}

// ---------------------------------------------------------------- compilation

/** Per-call scratch of one compiled condition (captures found so far). Single-threaded: reused. */
interface Scratch {
  caps: Record<string, string> | undefined;
}
type Node = (event: unknown, s: Scratch) => boolean;
type ValueTest = (v: unknown, s: Scratch) => boolean;

type R = Record<string, unknown>;

/**
 * Property names of EcsEvent (workers/ecs.ts) that rules read, with `readProp`'s case for each.
 * Invariant: readProp(o, i, NAMED_PROPS[i]) is o[NAMED_PROPS[i]] (a unit test checks every i).
 */
export const NAMED_PROPS = [
  "event", "source", "destination", "host", "network", "user", "process", "rule", "dns", "observer", "related", "log", "message",
  "dataset", "category", "type", "action", "outcome", "kind", "module", "code", "severity",
  "ip", "port", "mac", "domain", "address", "hostname", "name", "transport", "direction", "protocol", "question", "syslog", "appname",
] as const;

/**
 * o[key], where k = NAMED_PROPS.indexOf(key). Every getter runs the same code with its own key, so a
 * computed read `o[key]` sees every key and every object shape and V8 cannot specialise it; a read
 * written with its name (`o.event`) is specialised for that name, which in workerd makes a field read
 * about 40% cheaper. Rules read the same few ECS names, listed here; any other key is read as `o[key]`.
 * (Workers cannot generate code per path: no eval.)
 */
export function readProp(o: R, k: number, key: string): unknown {
  switch (k) {
    case 0: return o.event;
    case 1: return o.source;
    case 2: return o.destination;
    case 3: return o.host;
    case 4: return o.network;
    case 5: return o.user;
    case 6: return o.process;
    case 7: return o.rule;
    case 8: return o.dns;
    case 9: return o.observer;
    case 10: return o.related;
    case 11: return o.log;
    case 12: return o.message;
    case 13: return o.dataset;
    case 14: return o.category;
    case 15: return o.type;
    case 16: return o.action;
    case 17: return o.outcome;
    case 18: return o.kind;
    case 19: return o.module;
    case 20: return o.code;
    case 21: return o.severity;
    case 22: return o.ip;
    case 23: return o.port;
    case 24: return o.mac;
    case 25: return o.domain;
    case 26: return o.address;
    case 27: return o.hostname;
    case 28: return o.name;
    case 29: return o.transport;
    case 30: return o.direction;
    case 31: return o.protocol;
    case 32: return o.question;
    case 33: return o.syslog;
    case 34: return o.appname;
    default: return Object.hasOwn(o, key) ? o[key] : undefined; // data only: a path segment "constructor" finds nothing inherited
  }
}

/** The readProp case of `key` (-1: read as o[key]). */
const propCase = (key: string): number => (NAMED_PROPS as readonly string[]).indexOf(key);

/**
 * Compiles a dotted path into a reader of nested objects (EcsEvent). When the path's first segment is
 * absent, a flat key holding the whole path is read instead (`{"source.ip": ...}` maps such as
 * MatchedEvent.fields). Hot path: no allocation, a property read for each segment (readProp).
 */
export function compileGetter(path: string): (event: unknown) => unknown {
  const parts = path.split(".");
  const cases = parts.map(propCase);
  if (parts.length === 1) {
    const k0 = cases[0]!;
    return (e) => (e !== null && typeof e === "object" ? readProp(e as R, k0, path) : undefined);
  }
  const [p0, p1, p2] = parts as [string, string, string | undefined];
  const [k0, k1, k2] = cases as [number, number, number | undefined];
  if (parts.length === 2) {
    return (e) => {
      if (e === null || typeof e !== "object") return undefined;
      const a = readProp(e as R, k0, p0);
      if (a === undefined) return (e as R)[path];
      return a !== null && typeof a === "object" ? readProp(a as R, k1, p1) : undefined;
    };
  }
  if (parts.length === 3) {
    return (e) => {
      if (e === null || typeof e !== "object") return undefined;
      const a = readProp(e as R, k0, p0);
      if (a === undefined) return (e as R)[path];
      if (a === null || typeof a !== "object") return undefined;
      const b = readProp(a as R, k1, p1);
      return b !== null && typeof b === "object" ? readProp(b as R, k2!, p2!) : undefined;
    };
  }
  const n = parts.length;
  return (e) => {
    if (e === null || typeof e !== "object") return undefined;
    let cur: unknown = readProp(e as R, k0, p0);
    if (cur === undefined) return (e as R)[path];
    for (let i = 1; i < n; i++) {
      if (cur === null || typeof cur !== "object") return undefined;
      cur = readProp(cur as R, cases[i]!, parts[i]!);
    }
    return cur;
  };
}

function equalityTest(expected: string | number | boolean): (v: unknown) => boolean {
  if (typeof expected === "string") {
    const asNumber = expected.trim() !== "" && Number.isFinite(Number(expected)) ? Number(expected) : NaN;
    return (v) => v === expected || (typeof v === "number" && v === asNumber);
  }
  const asString = String(expected);
  return (v) => v === expected || v === asString;
}

function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v !== "") return Number(v);
  return NaN;
}

function compileOperator(op: string, arg: unknown, lists: ListLookup): ValueTest {
  switch (op) {
    case "eq":
      return equalityTest(arg as string | number | boolean);
    case "in": {
      const set = new Set<unknown>();
      for (const x of arg as (string | number | boolean)[]) {
        set.add(x);
        if (typeof x === "string" && x.trim() !== "" && Number.isFinite(Number(x))) set.add(Number(x));
        if (typeof x !== "string") set.add(String(x));
      }
      return (v) => set.has(v);
    }
    case "cidr":
      return cidrMatcher(typeof arg === "string" ? [arg] : (arg as string[]))!; // checked by checkCondition
    case "regex": {
      const re = toRegExp(arg as string) as RegExp;
      const named = /\(\?<[A-Za-z_]/.test(re.source);
      if (!named) return (v) => typeof v === "string" && re.test(v);
      return (v, s) => {
        if (typeof v !== "string") return false;
        const m = re.exec(v);
        if (!m) return false;
        const caps = (s.caps ??= {});
        for (const [k, x] of Object.entries(m.groups!)) if (x !== undefined) caps[k] = x;
        return true;
      };
    }
    case "in_list": {
      const set = lists(arg as string);
      return set ? (v) => set.has(v) : () => false;
    }
    case "contains": {
      const needle = arg as string;
      return (v) => typeof v === "string" && v.includes(needle);
    }
    case "gt": { const n = arg as number; return (v) => toNumber(v) > n; }
    case "gte": { const n = arg as number; return (v) => toNumber(v) >= n; }
    case "lt": { const n = arg as number; return (v) => toNumber(v) < n; }
    case "lte": { const n = arg as number; return (v) => toNumber(v) <= n; }
  }
  throw new Error(`unknown operator ${op}`);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
}

function fieldNode(path: string, spec: unknown, lists: ListLookup): Node {
  const get = compileGetter(path);
  const tests: ValueTest[] = [];
  let exists: boolean | undefined;
  if (isScalar(spec)) {
    tests.push(equalityTest(spec));
  } else {
    for (const [op, arg] of Object.entries(spec as Record<string, unknown>)) {
      if (op === "exists") exists = arg as boolean;
      else tests.push(compileOperator(op, arg, lists));
    }
  }
  const test: ValueTest | undefined =
    tests.length === 0 ? undefined : tests.length === 1 ? tests[0] : (v, s) => { for (const t of tests) if (!t(v, s)) return false; return true; };
  if (!test) return exists === undefined ? () => true : (e) => present(get(e)) === exists;
  // A field holding an array matches when any element does.
  const test1 = (v: unknown, s: Scratch): boolean => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (test(v[i], s)) return true;
      return false;
    }
    return test(v, s);
  };
  if (exists === undefined) return (e, s) => test1(get(e), s);
  return (e, s) => {
    const v = get(e);
    return present(v) === exists && test1(v, s);
  };
}

/** Relative evaluation cost of a condition, to test cheap checks first (an AND stops at the first miss). */
function costOf(key: string, value: unknown): number {
  if (key === "not") return 1 + sumCost(value as Record<string, unknown>);
  if (key === "any" || key === "all") return (value as Record<string, unknown>[]).reduce((n, c) => n + sumCost(c), 0);
  if (isScalar(value)) return 1;
  let c = 0;
  for (const op of Object.keys(value as object)) c += op === "regex" ? 8 : op === "cidr" || op === "in_list" ? 4 : op === "contains" ? 3 : op === "in" || op === "eq" || op === "exists" ? 1 : 2;
  return c;
}
function sumCost(cond: Record<string, unknown>): number {
  let c = 0;
  for (const [k, v] of Object.entries(cond)) c += costOf(k, v);
  return c;
}

function compileNode(cond: Record<string, unknown>, lists: ListLookup): Node {
  const entries = Object.entries(cond)
    .map(([key, value], i) => ({ key, value, cost: costOf(key, value), i }))
    .sort((a, b) => a.cost - b.cost || a.i - b.i);
  const nodes: Node[] = [];
  for (const { key, value } of entries) {
    if (key === "not") {
      const inner = compileNode(value as Record<string, unknown>, lists);
      nodes.push((e, s) => {
        const saved = s.caps;
        const r = inner(e, s);
        s.caps = saved; // captures of a negated branch are meaningless
        return !r;
      });
    } else if (key === "any") {
      const inner = (value as Record<string, unknown>[]).map((c) => compileNode(c, lists));
      const n = inner.length;
      nodes.push((e, s) => { for (let i = 0; i < n; i++) if (inner[i]!(e, s)) return true; return false; });
    } else if (key === "all") {
      const inner = (value as Record<string, unknown>[]).map((c) => compileNode(c, lists));
      const n = inner.length;
      nodes.push((e, s) => { for (let i = 0; i < n; i++) if (!inner[i]!(e, s)) return false; return true; });
    } else {
      nodes.push(fieldNode(key, value, lists));
    }
  }
  if (nodes.length === 0) return () => true;
  if (nodes.length === 1) return nodes[0]!;
  if (nodes.length === 2) {
    const [x, y] = nodes as [Node, Node];
    return (e, s) => x(e, s) && y(e, s);
  }
  const n = nodes.length;
  return (e, s) => { for (let i = 0; i < n; i++) if (!nodes[i]!(e, s)) return false; return true; };
}

/** Compiles a condition once. Throws an Error naming the first invalid field (validateRule reports all). */
export function compileCondition(cond: Condition, lists: ListLookup = NO_LISTS): CompiledCondition {
  const errors = checkCondition(cond);
  if (errors.length) throw new Error(`${errors[0]!.field}: ${errors[0]!.message}`);
  const root = compileNode(cond, lists);
  const scratch: Scratch = { caps: undefined };
  return (event) => {
    scratch.caps = undefined;
    if (!root(event, scratch)) return NO_MATCH;
    if (scratch.caps === undefined) return MATCHED;
    return { matched: true, captures: scratch.caps };
  };
}

/** Every field path a condition reads (for projection and documentation). */
export function conditionFields(cond: unknown, out: string[] = []): string[] {
  if (!isPlainObject(cond)) return out;
  for (const [key, value] of Object.entries(cond)) {
    if (key === "not") conditionFields(value, out);
    else if (key === "any" || key === "all") for (const c of value as unknown[]) conditionFields(c, out);
    else if (!out.includes(key)) out.push(key);
  }
  return out;
}
