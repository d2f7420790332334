/**
 * Imports Sigma rules (YAML, one or several documents) for the log sources Porchlight parses — Linux
 * syslog services and network/firewall logs — as our rules, and Sigma correlation rules
 * (`event_count`, `value_count`, `temporal`, `temporal_ordered`) over them.
 * - A detection becomes a `single` rule's `match`: each selection is translated (a map = AND of its
 *   fields, a list of maps = OR, a list of strings = keywords searched in the raw line), then the
 *   `condition` (and/or/not, parentheses, `1 of x*`, `all of x*`, `them`) combines them.
 * - Values follow Sigma's matching: strings are case-insensitive and whole-value unless a modifier
 *   (contains, startswith, endswith) says otherwise; `*` and `?` are wildcards; `re` is a regex
 *   (case-sensitive unless `|re|i`); `cidr`, `exists`, `gt/gte/lt/lte`, `all` as in the appendix.
 * - The logsource becomes a condition on our parsers' output (LOGSOURCES); fields map from Sigma's
 *   taxonomy to ECS (FIELDS). A logsource or field with no equivalent refuses the rule, naming it.
 * - Correlations: event_count → threshold, value_count → threshold with `distinct`, temporal of two
 *   rules → sequence (temporal_ordered: A then B; temporal: both orders, two rules). Referenced base
 *   rules with `generate: false` are not imported on their own.
 * Sigma's `level` is our severity (the same five names).
 */
import { parseAllDocuments } from "yaml";
import type { Condition, RuleDef } from "./types.ts";
import { table } from "../table.ts";
import { validateRule } from "./validate.ts";
import { parseDuration } from "./duration.ts";

/** What the importers answer per refused rule. */
export interface Refusal {
  /** The rule's title / name / id in the file (or "document N"). */
  rule: string;
  /** Where in the rule (a key path), "" for the whole rule. */
  field: string;
  reason: string;
}

export interface SigmaImport {
  rules: RuleDef[];
  refused: Refusal[];
}

/** Sigma logsource (product/service/category) → the events our parsers emit for it. */
export const LOGSOURCES = table<Condition>({
  "linux/": {},
  "linux/syslog": {},
  "linux/sshd": { "event.dataset": "sshd" },
  "linux/auth": { "event.category": "authentication" },
  "linux/sudo": { "event.dataset": "sudo" },
  "linux/su": { "event.dataset": "su" },
  "linux/vsftpd": { "process.name": "vsftpd" },
  "linux/cron": { "process.name": { in: ["cron", "CRON", "crond"] } },
  "linux/named": { "process.name": "named" },
  "linux/dnsmasq": { "event.dataset": "dnsmasq" },
  "linux/hostapd": { "event.dataset": "hostapd" },
  "linux/dropbear": { "event.dataset": "dropbear" },
  "/firewall": { "event.dataset": { in: ["iptables", "nftables", "ulogd", "pfsense.filterlog", "opnsense.filterlog"] } },
  "linux/firewall": { "event.dataset": { in: ["iptables", "nftables", "ulogd"] } },
  "/dns": { "event.dataset": "dnsmasq" },
});

/** Sigma taxonomy field → ECS field of our events. */
export const FIELDS = table({
  src_ip: "source.ip",
  "src-ip": "source.ip",
  SourceIp: "source.ip",
  dst_ip: "destination.ip",
  "dst-ip": "destination.ip",
  DestinationIp: "destination.ip",
  src_port: "source.port",
  SourcePort: "source.port",
  dst_port: "destination.port",
  DestinationPort: "destination.port",
  action: "event.action",
  blocked: "event.type",
  protocol: "network.transport",
  proto: "network.transport",
  User: "user.name",
  user: "user.name",
  username: "user.name",
  TargetUserName: "user.name",
  Image: "process.executable",
  CommandLine: "process.command_line",
  ProcessId: "process.pid",
  pid: "process.pid",
  hostname: "host.hostname",
  Computer: "host.hostname",
  program: "process.name",
  query: "dns.question.name",
  message: "message",
  in_interface: "observer.ingress.interface.name",
  out_interface: "observer.egress.interface.name",
});

const MODIFIERS = new Set(["contains", "startswith", "endswith", "re", "i", "m", "s", "all", "cidr", "exists", "gt", "gte", "lt", "lte", "cased"]);

class SigmaError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** A Sigma string value with its wildcards (`*`, `?`, escapes `\*` `\?` `\\`) → a regex body. */
function wildcard(v: string): string {
  let out = "";
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === "\\" && (v[i + 1] === "*" || v[i + 1] === "?" || v[i + 1] === "\\")) { out += escapeRe(v[++i]!); continue; }
    out += c === "*" ? ".*" : c === "?" ? "." : escapeRe(c);
  }
  return out;
}

function valueCondition(field: string, mods: string[], value: unknown, at: string): Condition {
  if (value === null) return { [field]: { exists: false } };
  if (mods.includes("exists")) return { [field]: { exists: value === true } };
  for (const op of ["gt", "gte", "lt", "lte"]) if (mods.includes(op)) {
    if (typeof value !== "number") throw new SigmaError(at, `|${op} needs a number`);
    return { [field]: { [op]: value } };
  }
  if (mods.includes("cidr")) return { [field]: { cidr: String(value) } };
  if (typeof value === "number" || typeof value === "boolean") return { [field]: value };
  if (typeof value !== "string") throw new SigmaError(at, "a value must be a string, number, boolean or null");
  if (mods.includes("re")) {
    const flags = ["i", "m", "s"].filter((f) => mods.includes(f)).join("");
    return { [field]: { regex: (flags ? `(?${flags})` : "") + value } };
  }
  let body = wildcard(value);
  const contains = mods.includes("contains");
  if (!contains && !mods.includes("endswith")) body = "^" + body;
  if (!contains && !mods.includes("startswith")) body += "$";
  return { [field]: { regex: (mods.includes("cased") ? "" : "(?i)") + body } };
}

/** One `field|mod|mod: value(s)` entry of a selection map. */
function fieldEntry(key: string, value: unknown, at: string): Condition {
  const [name, ...mods] = key.split("|");
  for (const m of mods) if (!MODIFIERS.has(m)) throw new SigmaError(at, `modifier |${m} is not supported (supported: ${[...MODIFIERS].join(", ")})`);
  const field = FIELDS[name!];
  if (!field) throw new SigmaError(at, `field "${name}" has no equivalent in our events (mapped: ${Object.keys(FIELDS).join(", ")})`);
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 0) throw new SigmaError(at, "an empty list of values");
  const conds = values.map((v) => valueCondition(field, mods, v, at));
  if (conds.length === 1) return conds[0]!;
  return mods.includes("all") ? { all: conds } : { any: conds };
}

/** Keywords: searched in the whole raw line, case-insensitively, wildcards allowed. */
function keyword(v: unknown, at: string): Condition {
  if (typeof v !== "string" && typeof v !== "number") throw new SigmaError(at, "a keyword must be a string or number");
  return { raw: { regex: "(?i)" + wildcard(String(v)) } };
}

function selection(sel: unknown, at: string): Condition {
  if (Array.isArray(sel)) {
    if (sel.length === 0) throw new SigmaError(at, "an empty selection");
    const parts = sel.map((s, i) => (s !== null && typeof s === "object" ? selection(s, `${at}[${i}]`) : keyword(s, `${at}[${i}]`)));
    return parts.length === 1 ? parts[0]! : { any: parts };
  }
  if (sel !== null && typeof sel === "object") {
    const entries = Object.entries(sel as Record<string, unknown>);
    if (entries.length === 0) throw new SigmaError(at, "an empty selection");
    const parts = entries.map(([k, v]) => (k === "keywords" || k === "|all" ? selection(v, `${at}.${k}`) : fieldEntry(k, v, `${at}.${k}`)));
    return parts.length === 1 ? parts[0]! : { all: parts };
  }
  return keyword(sel, at);
}

/** The `condition` expression over named selections. */
function combine(expr: string, sels: Map<string, Condition>): Condition {
  const at = "detection.condition";
  if (/\|/.test(expr)) throw new SigmaError(at, "aggregations after | (count() by ...) are deprecated Sigma; write a correlation rule");
  const toks = expr.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const pick = (pattern: string): Condition[] => {
    const names = pattern === "them" ? [...sels.keys()].filter((n) => !n.startsWith("_")) : [...sels.keys()].filter((n) => new RegExp(`^${wildcard(pattern)}$`).test(n));
    if (!names.length) throw new SigmaError(at, `"${pattern}" names no selection`);
    return names.map((n) => sels.get(n)!);
  };
  const or = (): Condition => {
    const parts = [and()];
    while (toks[i] === "or") { i++; parts.push(and()); }
    return parts.length === 1 ? parts[0]! : { any: parts };
  };
  const and = (): Condition => {
    const parts = [unary()];
    while (toks[i] === "and") { i++; parts.push(unary()); }
    return parts.length === 1 ? parts[0]! : { all: parts };
  };
  const unary = (): Condition => {
    const t = toks[i++];
    if (t === undefined) throw new SigmaError(at, "unexpected end of condition");
    if (t === "not") return { not: unary() };
    if (t === "(") {
      const c = or();
      if (toks[i++] !== ")") throw new SigmaError(at, 'missing ")"');
      return c;
    }
    if ((t === "1" || t === "all" || t === "any") && toks[i] === "of") {
      i++;
      const target = toks[i++];
      if (!target) throw new SigmaError(at, `"${t} of" needs a selection name or pattern`);
      const parts = pick(target);
      return parts.length === 1 ? parts[0]! : t === "all" ? { all: parts } : { any: parts };
    }
    const c = sels.get(t);
    if (!c) throw new SigmaError(at, `"${t}" is not a selection of this rule`);
    return c;
  };
  const c = or();
  if (i < toks.length) throw new SigmaError(at, `unexpected "${toks[i]}"`);
  return c;
}

function logsourceCondition(ls: unknown): Condition {
  if (ls === null || typeof ls !== "object") throw new SigmaError("logsource", "required: a mapping with product, service or category");
  const { product = "", service = "", category = "" } = ls as Record<string, unknown>;
  const keys = category ? [`${product}/${category}`, `/${category}`] : [`${product}/${service}`];
  for (const k of keys) {
    const c = LOGSOURCES[k];
    if (c) return c;
  }
  throw new SigmaError("logsource", `logsource ${JSON.stringify(ls)} is not one Porchlight parses (supported: ${Object.keys(LOGSOURCES).map((k) => k.replace(/^\//, "category ")).join(", ")})`);
}

function detectionCondition(doc: Record<string, unknown>): Condition {
  const det = doc.detection;
  if (det === null || typeof det !== "object" || Array.isArray(det)) throw new SigmaError("detection", "required: a mapping of selections and a condition");
  const { condition, timeframe, ...rest } = det as Record<string, unknown>;
  if (timeframe !== undefined) throw new SigmaError("detection.timeframe", "timeframe belongs to deprecated aggregations; write a correlation rule");
  const sels = new Map<string, Condition>();
  for (const [name, sel] of Object.entries(rest)) sels.set(name, selection(sel, `detection.${name}`));
  const conds = Array.isArray(condition) ? condition : [condition];
  if (conds.length === 0 || !conds.every((c) => typeof c === "string")) throw new SigmaError("detection.condition", "required: an expression over the selections");
  const parts = conds.map((c) => combine(c as string, sels));
  const ls = logsourceCondition(doc.logsource);
  const match = parts.length === 1 ? parts[0]! : { any: parts };
  return Object.keys(ls).length ? { all: [ls, match] } : match;
}

const SEVERITY = table({ informational: "informational", low: "low", medium: "medium", high: "high", critical: "critical" });

function ruleId(doc: Record<string, unknown>, fallback: string): string {
  const base = typeof doc.id === "string" ? doc.id : typeof doc.name === "string" ? doc.name : fallback;
  return ("sigma." + base).replace(/[^A-Za-z0-9_.\-]+/g, "-").slice(0, 64);
}

function base(doc: Record<string, unknown>, id: string): Record<string, unknown> {
  const title = typeof doc.title === "string" && doc.title.trim() ? doc.title.trim().slice(0, 200) : id;
  const tags = Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === "string" && t.length > 0) : [];
  const r: Record<string, unknown> = {
    id,
    name: title,
    severity: SEVERITY[String(doc.level ?? "medium")] ?? "medium",
    title,
    tags: ["sigma", ...tags].slice(0, 20).map((t) => t.slice(0, 64)),
  };
  if (typeof doc.description === "string") r.description = doc.description.slice(0, 1000);
  return r;
}

const TIMESPAN = /^(\d+)([smhdMy])$/;

function correlation(doc: Record<string, unknown>, id: string, bases: Map<string, Condition>): Record<string, unknown>[] {
  const c = doc.correlation as Record<string, unknown>;
  if (c === null || typeof c !== "object") throw new SigmaError("correlation", "must be a mapping");
  const type = c.type;
  const refs = Array.isArray(c.rules) ? c.rules : typeof c.rules === "string" ? [c.rules] : [];
  if (!refs.length) throw new SigmaError("correlation.rules", "required: the names or ids of the rules it correlates");
  const matches = refs.map((r) => {
    const m = bases.get(String(r));
    if (!m) throw new SigmaError("correlation.rules", `"${String(r)}" is not a rule imported from the same file (a correlation's rules must come with it)`);
    return m;
  });
  const ts = String(c.timespan ?? c.timeframe ?? "");
  const tm = TIMESPAN.exec(ts);
  if (!tm || tm[2] === "M" || tm[2] === "y") throw new SigmaError("correlation.timespan", `"${ts}" must be a number and s, m, h or d`);
  const window = `${tm[1]}${tm[2]}`;
  if (parseDuration(window) === undefined) throw new SigmaError("correlation.timespan", `"${ts}" is not a duration`);
  const gb = c["group-by"] === undefined ? [] : Array.isArray(c["group-by"]) ? c["group-by"] : [c["group-by"]];
  const groupBy = gb.map((f) => {
    const e = FIELDS[String(f)];
    if (!e) throw new SigmaError("correlation.group-by", `field "${String(f)}" has no equivalent in our events`);
    return e;
  });
  const r = { ...base(doc, id), group_by: groupBy, window };
  if (type === "event_count" || type === "value_count") {
    const cond = (c.condition ?? {}) as Record<string, unknown>;
    const ops = Object.keys(cond).filter((k) => k !== "field");
    if (ops.length !== 1 || !["gte", "gt"].includes(ops[0]!)) throw new SigmaError("correlation.condition", "only gte or gt is supported (our thresholds raise when a count reaches a value)");
    const n = Number(cond[ops[0]!]) + (ops[0] === "gt" ? 1 : 0);
    const out: Record<string, unknown> = { ...r, type: "threshold", match: matches.length === 1 ? matches[0]! : { any: matches }, threshold: n };
    if (type === "value_count") {
      const f = FIELDS[String(cond.field ?? "")];
      if (!f) throw new SigmaError("correlation.condition.field", `value_count needs a mapped field (got "${String(cond.field)}")`);
      out.distinct = f;
    }
    return [out];
  }
  if (type === "temporal" || type === "temporal_ordered") {
    if (matches.length !== 2) throw new SigmaError("correlation.rules", `${type} is supported for two rules (got ${matches.length})`);
    const seq = (a: Condition, b: Condition, suffix: string) => ({ ...r, id: (id + suffix).slice(0, 64), type: "sequence", match: { any: [a, b] }, a: { match: a }, b: { match: b } });
    return type === "temporal_ordered" ? [seq(matches[0]!, matches[1]!, "")] : [seq(matches[0]!, matches[1]!, ".ab"), seq(matches[1]!, matches[0]!, ".ba")];
  }
  throw new SigmaError("correlation.type", `correlation type "${String(type)}" is not supported (supported: event_count, value_count, temporal, temporal_ordered)`);
}

/** Imports every Sigma rule of a YAML text: what converts is validated and returned; the rest is refused with its reason. */
export function importSigmaRules(yamlText: string): SigmaImport {
  const out: SigmaImport = { rules: [], refused: [] };
  const docs: { doc: Record<string, unknown>; label: string }[] = [];
  parseAllDocuments(yamlText).forEach((d, n) => {
    const label = `document ${n + 1}`;
    if (d.errors?.length) return void out.refused.push({ rule: label, field: "", reason: `not YAML: ${d.errors[0]!.message}` });
    const v = d.toJS() as unknown;
    if (v === null || v === undefined) return;
    if (typeof v !== "object" || Array.isArray(v)) return void out.refused.push({ rule: label, field: "", reason: "a Sigma rule must be a mapping" });
    const doc = v as Record<string, unknown>;
    docs.push({ doc, label: typeof doc.title === "string" ? doc.title : typeof doc.name === "string" ? doc.name : typeof doc.id === "string" ? doc.id : label });
  });
  // Base rules first, so correlations can refer to them by name or id wherever they stand in the file.
  const bases = new Map<string, Condition>();
  const skip = new Set<string>();
  const candidates: { rule: Record<string, unknown>; label: string }[] = [];
  docs.forEach(({ doc, label }, n) => {
    if (doc.correlation !== undefined) return;
    try {
      const match = detectionCondition(doc);
      for (const k of [doc.name, doc.id]) if (typeof k === "string") bases.set(k, match);
      const id = ruleId(doc, `rule-${n + 1}`);
      if (doc.generate === false) skip.add(id);
      candidates.push({ rule: { ...base(doc, id), type: "single", match }, label });
    } catch (e) {
      if (!(e instanceof SigmaError)) throw e;
      out.refused.push({ rule: label, field: e.field, reason: e.message });
    }
  });
  for (const [n, { doc, label }] of docs.entries()) {
    if (doc.correlation === undefined) continue;
    try {
      for (const rule of correlation(doc, ruleId(doc, `correlation-${n + 1}`), bases)) candidates.push({ rule, label });
    } catch (e) {
      if (!(e instanceof SigmaError)) throw e;
      out.refused.push({ rule: label, field: e.field, reason: e.message });
    }
  }
  for (const { rule, label } of candidates) {
    if (skip.has(rule.id as string)) continue;
    const v = validateRule(rule);
    if (v.ok) out.rules.push(v.rule);
    else out.refused.push(...v.errors.map((e) => ({ rule: label, field: e.field, reason: e.message })));
  }
  return out;
}
