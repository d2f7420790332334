/**
 * Imports CrowdSec scenarios (hub YAML, one or several documents) of type `leaky`, `trigger`,
 * `counter` and `conditional` as our `bucket` rules, so hub scenarios port one to one
 * (engines/bucket.ts has CrowdSec's overflow semantics), with `cancel_on`. A conditional scenario's
 * `condition` is taken in the form the hub writes (ssh-time-based-bf): an optional
 * `let X = filter(queue.Queue, {pred})`, then `len(X) >= N`, optionally `&& MedianInterval(map(X[-N:],
 * {#.Time})) > duration("D")`; any other condition is refused naming it. The scenario's `filter` (an expr-lang expression over CrowdSec's parsed event) is
 * translated to our ECS condition: comparisons of known `evt.Meta.*` / `evt.Parsed.*` fields with
 * literals, `in [...]`, `&&`/`and`, `||`/`or`, `!`/`not`, parentheses. Anything else — other bucket
 * types (bayesian, uniq), overflow_filter, other conditions, function calls, data files, unknown
 * fields — is rejected with a message naming the construct.
 * CrowdSec's `log_type` values are classifications its parsers make; LOG_TYPES maps each to the ECS
 * condition our parsers' events satisfy.
 */
import { parseAllDocuments } from "yaml";
import type { FieldError } from "./condition.ts";
import type { Condition, RuleDef } from "./types.ts";
import { table } from "../table.ts";
import { validateRule } from "./validate.ts";

/** CrowdSec `evt.Meta.log_type` → the ECS condition our parsed events satisfy. */
export const LOG_TYPES = table<Condition>({
  "ssh_failed-auth": { "event.dataset": { in: ["sshd", "dropbear"] }, "event.category": "authentication", "event.outcome": "failure" },
  auth_success: { "event.category": "authentication", "event.outcome": "success" },
  // crowdsecurity/iptables-logs: a logged tcp/udp packet that is not ACCEPTed, not a [UFW AUDIT] line and
  // not forwarded (OUT= empty); a line without an action prefix counts as a drop, as in CrowdSec
  iptables_drop: {
    "event.dataset": { in: ["iptables", "nftables"] },
    "network.transport": { in: ["tcp", "udp"] },
    not: { any: [{ "event.type": "allowed" }, { "event.action": "accept" }, { "rule.name": { regex: "(?i)\\baudit\\b" } }, { "observer.egress.interface.name": { exists: true } }] },
  },
  // firewallservices/pf-logs-drop: filterlog lines whose action is block
  pf_drop: { "event.dataset": { in: ["pfsense.filterlog", "opnsense.filterlog"] }, "event.action": "drop" },
  ssh_bad_keyexchange: { "event.dataset": "sshd", "event.action": "negotiation_failed" },
  ssh_refused_conn: { "event.dataset": "sshd", "event.action": "refused_connect" },
  ssh_auth_timeout: { "event.dataset": "sshd", "event.action": "auth_timeout" },
  ssh_dispatch_fatal: { "event.dataset": "sshd", "event.action": "protocol_error" },
});

/** CrowdSec event fields → ECS fields (values compared as they are). */
export const FIELDS = table({
  "evt.Meta.source_ip": "source.ip",
  "evt.Parsed.source_ip": "source.ip",
  "evt.Parsed.src_ip": "source.ip",
  "evt.Parsed.sshd_client_ip": "source.ip",
  "evt.Meta.target_user": "user.name",
  "evt.Parsed.sshd_invalid_user": "user.name",
  "evt.Parsed.username": "user.name",
  "evt.Parsed.dst_ip": "destination.ip",
  "evt.Parsed.dst_port": "destination.port",
  "evt.Meta.dst_port": "destination.port",
  "evt.Parsed.src_port": "source.port",
  "evt.Meta.machine": "host.hostname",
  "evt.Parsed.program": "process.name",
  "evt.Parsed.proto": "network.transport",
});

/** `evt.Meta.service` values → conditions. */
const SERVICES = table<Condition>({
  ssh: { "event.dataset": { in: ["sshd", "dropbear"] } },
  tcp: { "network.transport": "tcp" },
  udp: { "network.transport": "udp" },
});

const KNOWN_KEYS = new Set(["type", "name", "description", "filter", "groupby", "distinct", "capacity", "leakspeed", "blackhole", "cache_size", "labels", "references", "reprocess", "debug", "format", "scope", "version", "author", "duration", "condition", "cancel_on"]);

/**
 * A conditional scenario's condition, in the hub's form, → our bucket `condition`. Throws ExprError
 * naming what it cannot take.
 */
export function translateCondition(src: string): { count: number; where?: Condition; median_interval_over?: string } {
  let text = src.replace(/\s+/g, " ").trim();
  let where: Condition | undefined;
  let queue = "queue.Queue";
  const let_ = /^let (\w+) = filter\(queue\.Queue, \{(.*?)\}\); ?/.exec(text);
  if (let_) {
    queue = let_[1]!;
    where = translateFilter(let_[2]!.replace(/#\./g, "evt."));
    text = text.slice(let_[0].length);
  }
  const q = queue.replace(/\./g, "\\.");
  const m = new RegExp(`^len\\(${q}\\) >= (\\d+)(?: (?:&&|and) MedianInterval\\(map\\(${q}\\[-(\\d+):\\], \\{#\\.Time\\}\\)\\) > duration\\("(\\d+[smh])"\\))?$`).exec(text);
  if (!m) throw new ExprError(`condition "${src.trim().slice(0, 120)}" is not supported (supported: [let X = filter(queue.Queue, {...});] len(X) >= N [&& MedianInterval(map(X[-N:], {#.Time})) > duration("D")])`);
  const count = Number(m[1]);
  if (m[2] !== undefined && Number(m[2]) !== count) throw new ExprError(`MedianInterval over the last ${m[2]} with len >= ${count} is not supported (they must be equal)`);
  return { count, ...(where ? { where } : {}), ...(m[3] ? { median_interval_over: m[3] } : {}) };
}

export interface ImportError extends FieldError {
  /** The scenario's `name` (or "document N" when it has none). */
  scenario: string;
}
export interface ImportResult {
  rules: RuleDef[];
  errors: ImportError[];
}

// ---------------------------------------------------------------- expr subset

type Tok = { k: "id" | "str" | "num" | "op" | "punct"; v: string };

class ExprError extends Error {}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  const re = /\s*(?:([A-Za-z_][A-Za-z0-9_.]*)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(-?\d+(?:\.\d+)?)|(==|!=|&&|\|\||<=|>=|[<>!])|([()[\],]))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new ExprError(`unsupported syntax at "${src.slice(pos).trim().slice(0, 20)}"`);
    pos = re.lastIndex;
    if (m[1] !== undefined) out.push({ k: "id", v: m[1] });
    else if (m[2] !== undefined) out.push({ k: "str", v: m[2].replace(/\\(.)/g, "$1") });
    else if (m[3] !== undefined) out.push({ k: "str", v: m[3].replace(/\\(.)/g, "$1") });
    else if (m[4] !== undefined) out.push({ k: "num", v: m[4] });
    else if (m[5] !== undefined) out.push({ k: "op", v: m[5] });
    else out.push({ k: "punct", v: m[6]! });
  }
  return out;
}

/** Translates a CrowdSec filter expression to a condition, or throws ExprError naming what is unsupported. */
export function translateFilter(src: string): Condition {
  const toks = tokenize(src);
  let i = 0;
  const peek = () => toks[i];
  const next = () => {
    const t = toks[i++];
    if (!t) throw new ExprError("unexpected end of expression");
    return t;
  };
  const isWord = (t: Tok | undefined, w: string) => t !== undefined && t.k === "id" && t.v === w;
  const isOp = (t: Tok | undefined, ...ops: string[]) => t !== undefined && (t.k === "op" || t.k === "punct") && ops.includes(t.v);

  const or = (): Condition => {
    const parts = [and()];
    while (isOp(peek(), "||") || isWord(peek(), "or")) { i++; parts.push(and()); }
    return parts.length === 1 ? parts[0]! : { any: parts };
  };
  const and = (): Condition => {
    const parts = [unary()];
    while (isOp(peek(), "&&") || isWord(peek(), "and")) { i++; parts.push(unary()); }
    return parts.length === 1 ? parts[0]! : { all: parts };
  };
  const unary = (): Condition => {
    if (isOp(peek(), "!") || isWord(peek(), "not")) { i++; return { not: unary() }; }
    if (isOp(peek(), "(")) {
      i++;
      const c = or();
      if (!isOp(next(), ")")) throw new ExprError('missing ")"');
      return c;
    }
    return comparison();
  };
  const literal = (): string | number => {
    const t = next();
    if (t.k === "str") return t.v;
    if (t.k === "num") return Number(t.v);
    throw new ExprError(`expected a literal, found "${t.v}"`);
  };
  const comparison = (): Condition => {
    const f = next();
    if (f.k !== "id") throw new ExprError(`expected a field, found "${f.v}"`);
    if (isOp(peek(), "(")) throw new ExprError(`function call ${f.v}() is not supported`);
    let op = next();
    let negate = false;
    if (isWord(op, "not") && isWord(peek(), "in")) { negate = true; op = next(); }
    let values: (string | number)[];
    if (isWord(op, "in")) {
      if (!isOp(next(), "[")) throw new ExprError(`"in" must be followed by a list [...]`);
      values = [];
      while (!isOp(peek(), "]")) {
        values.push(literal());
        if (isOp(peek(), ",")) i++;
      }
      i++;
    } else if (isOp(op, "==", "!=")) {
      values = [literal()];
      negate = op.v === "!=";
    } else {
      throw new ExprError(`operator "${op.v}" is not supported (only ==, !=, in, not in)`);
    }
    const c = fieldCondition(f.v, values);
    return negate ? { not: c } : c;
  };
  const c = or();
  if (i < toks.length) throw new ExprError(`unexpected "${toks[i]!.v}"`);
  return c;
}

function fieldCondition(field: string, values: (string | number)[]): Condition {
  const known = field === "evt.Meta.log_type" ? LOG_TYPES : field === "evt.Meta.service" ? SERVICES : undefined;
  if (known) {
    const conds = values.map((v) => {
      const c = known[String(v)];
      if (!c) throw new ExprError(`${field} == '${v}' has no equivalent in our parsed events (known: ${Object.keys(known).join(", ")})`);
      return c;
    });
    return conds.length === 1 ? conds[0]! : { any: conds };
  }
  const ecs = FIELDS[field];
  if (!ecs) throw new ExprError(`field ${field} is not available in our events (known: ${[...Object.keys(FIELDS), "evt.Meta.log_type", "evt.Meta.service"].join(", ")})`);
  return values.length === 1 ? { [ecs]: values[0]! } : { [ecs]: { in: values } };
}

function ecsField(expr: unknown): string {
  if (typeof expr !== "string") throw new ExprError("must be a field expression like evt.Meta.source_ip");
  const f = FIELDS[expr.trim()];
  if (!f) throw new ExprError(`${String(expr).trim()} is not a single known field (known: ${Object.keys(FIELDS).join(", ")})`);
  return f;
}

// ---------------------------------------------------------------- scenarios

function convert(doc: Record<string, unknown>, errors: FieldError[]): Record<string, unknown> | undefined {
  const err = (field: string, message: string) => void errors.push({ field, message });
  for (const k of Object.keys(doc)) if (!KNOWN_KEYS.has(k)) err(k, `"${k}" is not supported (supported: ${[...KNOWN_KEYS].join(", ")})`);
  const type = doc.type;
  if (type !== "leaky" && type !== "trigger" && type !== "counter" && type !== "conditional") {
    err("type", `type "${String(type)}" is not supported (only leaky, trigger, counter and conditional)`);
    return undefined;
  }
  if (typeof doc.name !== "string" || !doc.name) err("name", "required");
  if (doc.scope !== undefined) err("scope", "scope is not supported (alerts are grouped by groupby only)");
  let match: Condition = {};
  try {
    if (typeof doc.filter !== "string") throw new ExprError("required: an expression");
    match = translateFilter(doc.filter);
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    err("filter", e.message);
  }
  const groupBy: string[] = [];
  if (doc.groupby !== undefined) {
    try { groupBy.push(ecsField(doc.groupby)); } catch (e) { err("groupby", (e as Error).message); }
  }
  let distinct: string | undefined;
  if (doc.distinct !== undefined) {
    try { distinct = ecsField(doc.distinct); } catch (e) { err("distinct", (e as Error).message); }
  }
  const capacity = type === "trigger" ? 0 : type === "counter" || type === "conditional" ? -1 : doc.capacity;
  if (type === "leaky" && (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 0)) err("capacity", "a leaky scenario needs an integer capacity >= 0 (-1 belongs to counter and conditional scenarios)");
  if ((type === "counter" || type === "conditional") && doc.capacity !== undefined && doc.capacity !== -1) err("capacity", `a ${type} scenario has capacity -1`);
  if (type === "counter" && typeof doc.duration !== "string") err("duration", "a counter scenario needs a duration");
  if (type !== "counter" && doc.duration !== undefined) err("duration", "only counter scenarios have a duration");
  let condition: ReturnType<typeof translateCondition> | undefined;
  if (type === "conditional") {
    try {
      if (typeof doc.condition !== "string") throw new ExprError("required: an expression");
      condition = translateCondition(doc.condition);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      err("condition", e.message);
    }
  } else if (doc.condition !== undefined) err("condition", "only conditional scenarios have a condition");
  let cancelOn: Condition | undefined;
  if (doc.cancel_on !== undefined) {
    try {
      if (typeof doc.cancel_on !== "string") throw new ExprError("must be an expression");
      cancelOn = translateFilter(doc.cancel_on);
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
      err("cancel_on", e.message);
    }
  }
  const labels = (typeof doc.labels === "object" && doc.labels !== null ? doc.labels : {}) as Record<string, unknown>;
  const name = doc.name as string;
  const classification = Array.isArray(labels.classification) ? labels.classification.filter((x): x is string => typeof x === "string") : [];
  const rule: Record<string, unknown> = {
    id: String(name ?? "").replace(/[^A-Za-z0-9_.\-]+/g, ".").slice(0, 64),
    name: typeof labels.label === "string" ? labels.label : name,
    type: "bucket",
    enabled: true,
    match,
    group_by: groupBy,
    capacity,
    severity: labels.remediation === true ? "high" : "medium",
    title: `${typeof labels.label === "string" ? labels.label : name}${groupBy.includes("source.ip") ? " from {{source.ip}}" : ""}`,
    text: "{{count}} events (CrowdSec scenario " + name + ")",
    tags: ["crowdsec", name, ...classification].filter((t): t is string => typeof t === "string" && t !== "").slice(0, 20).map((t) => t.slice(0, 64)),
  };
  if (typeof doc.description === "string") rule.description = doc.description.slice(0, 1000);
  if (type === "leaky" || type === "conditional") rule.leakspeed = doc.leakspeed;
  if (type === "counter") rule.duration = doc.duration;
  if (condition) rule.condition = condition;
  if (cancelOn) rule.cancel_on = cancelOn;
  if (doc.blackhole !== undefined) rule.blackhole = doc.blackhole;
  if (distinct) rule.distinct = distinct;
  if (doc.cache_size !== undefined) rule.cache_size = doc.cache_size;
  return rule;
}

/** Imports every scenario of a YAML text. Valid ones become rules; each problem names its scenario and key. */
export function importCrowdsecScenarios(yamlText: string): ImportResult {
  const out: ImportResult = { rules: [], errors: [] };
  let docs;
  try {
    docs = parseAllDocuments(yamlText);
  } catch (e) {
    return { rules: [], errors: [{ scenario: "", field: "", message: `not YAML: ${(e as Error).message}` }] };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((d, n) => {
    const label = `document ${n + 1}`;
    if (d.errors?.length) return void out.errors.push({ scenario: label, field: "", message: `not YAML: ${d.errors[0]!.message}` });
    const doc = d.toJS() as unknown;
    if (doc === null || doc === undefined) return;
    if (typeof doc !== "object" || Array.isArray(doc)) return void out.errors.push({ scenario: label, field: "", message: "a scenario must be a mapping" });
    const o = doc as Record<string, unknown>;
    const scenario = typeof o.name === "string" ? o.name : label;
    const errors: FieldError[] = [];
    const rule = convert(o, errors);
    if (errors.length || !rule) return void out.errors.push(...errors.map((e) => ({ scenario, ...e })));
    const v = validateRule(rule);
    if (!v.ok) return void out.errors.push(...v.errors.map((e) => ({ scenario, ...e })));
    out.rules.push(v.rule);
  });
  return out;
}
