/**
 * Rule validation: untrusted JSON (POST/PUT /v1/rules, imports, the default pack) → a normalized
 * RuleDef, or every problem found, each naming its field, so routes can answer 400 with them.
 *
 * Normalization: `enabled` defaults to true, `group_by` to [], `severity` to "medium" (suppress:
 * "informational"), a missing `id` is derived from `name` ("SSH brute force" → "ssh-brute-force").
 */
import { checkCondition, type FieldError } from "./condition.ts";
import { parseDuration } from "./duration.ts";
import type { RuleDef, RuleType, Severity } from "./types.ts";

export type ValidateResult = { ok: true; rule: RuleDef } | { ok: false; errors: FieldError[] };

export const RULE_TYPES: readonly RuleType[] = ["single", "threshold", "bucket", "sequence", "heartbeat", "new_value", "suppress"];
export const SEVERITIES: readonly Severity[] = ["critical", "high", "medium", "low", "informational"];

/** Limits that keep per-group state compact (it is stored as JSON per group in the Durable Object). */
export const RULE_LIMITS = {
  maxThreshold: 10_000,
  maxCapacity: 10_000,
  maxGroupBy: 8,
  maxNewValueFields: 8,
  defaultMaxValues: 1000,
  maxMaxValues: 10_000,
  maxTemplate: 1000,
  maxTags: 20,
  /** Objects a stateful rule's groups may be spread over (`shards`; plan.ts MAX_RULE_SHARDS). */
  maxShards: 4,
  /** Largest `lateness`, ms: a group's reorder buffer holds this much event time of matches. */
  maxLatenessMs: 6 * 3_600_000,
} as const;

const ID = /^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$/;
const FIELD_PATH = /^[@A-Za-z_][A-Za-z0-9_@.\-]*$/;
const TEMPLATE_VAR = /\{\{\s*[A-Za-z0-9_@.\-]+\s*\}\}/g;

const COMMON = ["id", "name", "type", "enabled", "match", "group_by", "severity", "resource", "title", "text", "tags", "timeout", "description"];
/** Bookkeeping the rules API may store next to a rule (ignored by the engines except learning_from). */
const META = ["created_at", "updated_at", "version", "learning_from"];
const OPTIONS: Record<RuleType, string[]> = {
  single: [],
  threshold: ["threshold", "window", "distinct", "clear_after", "shards", "lateness"],
  bucket: ["capacity", "leakspeed", "blackhole", "distinct", "cache_size", "shards", "duration", "condition", "cancel_on", "lateness"],
  sequence: ["a", "b", "window", "absent", "shards", "lateness"],
  heartbeat: ["shards"],
  new_value: ["fields", "learning", "max_values", "shards", "lateness"],
  suppress: [],
};

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
}

/** Validates and normalizes a rule. Never throws, whatever the input. */
export function validateRule(input: unknown): ValidateResult {
  const errors: FieldError[] = [];
  const err = (field: string, message: string) => errors.push({ field, message });
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: "", message: "a rule must be a JSON object" }] };
  }
  const r = input as Record<string, unknown>;

  const name = r.name;
  if (typeof name !== "string" || name.trim() === "" || name.length > 200) err("name", "required: a non-empty string of at most 200 characters");
  let id = r.id;
  if (id === undefined && typeof name === "string") id = slug(name);
  if (typeof id !== "string" || !ID.test(id)) err("id", "must be 1-64 characters of letters, digits, '_', '.', '-', starting with a letter or digit");

  const type = r.type as RuleType;
  const typeOk = RULE_TYPES.includes(type);
  if (!typeOk) err("type", `must be one of ${RULE_TYPES.join(", ")}`);
  if (r.enabled !== undefined && typeof r.enabled !== "boolean") err("enabled", "must be true or false");

  if (r.match === undefined) err("match", "required: a condition over event fields (use {} to match every event)");
  else errors.push(...checkCondition(r.match, "match"));

  const groupBy = r.group_by ?? [];
  if (!Array.isArray(groupBy) || groupBy.length > RULE_LIMITS.maxGroupBy || !groupBy.every((f) => typeof f === "string" && FIELD_PATH.test(f)))
    err("group_by", `must be an array of at most ${RULE_LIMITS.maxGroupBy} field paths like "source.ip"`);

  const severity = r.severity ?? (type === "suppress" ? "informational" : "medium");
  if (!SEVERITIES.includes(severity as Severity)) err("severity", `must be one of ${SEVERITIES.join(", ")}`);
  for (const f of ["resource", "title", "text", "description"]) {
    const v = r[f];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length > RULE_LIMITS.maxTemplate) { err(f, `must be a string of at most ${RULE_LIMITS.maxTemplate} characters`); continue; }
    if (f !== "description" && v.replace(TEMPLATE_VAR, "").includes("{{")) err(f, "has an unclosed or invalid {{variable}} (names are field paths like {{source.ip}})");
  }
  if (r.tags !== undefined && (!Array.isArray(r.tags) || r.tags.length > RULE_LIMITS.maxTags || !r.tags.every((t) => typeof t === "string" && t.length > 0 && t.length <= 64)))
    err("tags", `must be an array of at most ${RULE_LIMITS.maxTags} strings (1-64 characters)`);
  const duration = (f: string, required: boolean) => {
    const v = r[f];
    if (v === undefined) { if (required) err(f, `required for a ${type} rule: a duration like "60s", "15m", "26h"`); return; }
    if (parseDuration(v) === undefined) err(f, `must be a duration like "90s", "15m", "26h" or "7d" (got ${JSON.stringify(v)})`);
  };
  const integer = (f: string, min: number, max: number, required: boolean) => {
    const v = r[f];
    if (v === undefined) { if (required) err(f, `required for a ${type} rule: an integer from ${min} to ${max}`); return; }
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) err(f, `must be an integer from ${min} to ${max}`);
  };
  const field = (f: string) => {
    const v = r[f];
    if (v !== undefined && (typeof v !== "string" || !FIELD_PATH.test(v))) err(f, `must be a field path like "user.name"`);
  };
  duration("timeout", type === "heartbeat");
  if (r.learning_from !== undefined && (typeof r.learning_from !== "number" || !Number.isFinite(r.learning_from))) err("learning_from", "must be a time in ms since the epoch");

  if (typeOk) {
    // stateful types only (OPTIONS); changing it re-homes the rule's groups (docs/alerts.md)
    if (OPTIONS[type].includes("shards")) integer("shards", 1, RULE_LIMITS.maxShards, false);
    // the reorder buffer (engines/reorder.ts) holds this much event time of matches per group
    if (OPTIONS[type].includes("lateness")) {
      duration("lateness", false);
      const l = parseDuration(r.lateness);
      if (l !== undefined && l > RULE_LIMITS.maxLatenessMs) err("lateness", `at most ${RULE_LIMITS.maxLatenessMs / 3_600_000} hours (each group buffers its matches for that long)`);
    }
    switch (type) {
      case "threshold":
        integer("threshold", 1, RULE_LIMITS.maxThreshold, true);
        duration("window", true);
        field("distinct");
        duration("clear_after", false);
        break;
      case "bucket": {
        // capacity -1: CrowdSec's unbounded bucket, overflowing on `duration` (counter) or `condition` (conditional)
        integer("capacity", -1, RULE_LIMITS.maxCapacity, true);
        const unbounded = r.capacity === -1;
        if (unbounded && (r.duration === undefined) === (r.condition === undefined)) err("capacity", 'capacity -1 needs exactly one of "duration" (a counter) or "condition" (a conditional bucket)');
        if (!unbounded && r.duration !== undefined) err("duration", "only with capacity -1 (a counter)");
        if (!unbounded && r.condition !== undefined) err("condition", "only with capacity -1 (a conditional bucket)");
        duration("duration", false);
        duration("leakspeed", (typeof r.capacity === "number" && r.capacity > 0) || r.condition !== undefined);
        if (r.condition !== undefined) {
          const c = r.condition as Record<string, unknown>;
          if (typeof c !== "object" || c === null || Array.isArray(c)) err("condition", '{"count": n, "where": condition, "median_interval_over": "10m"}');
          else {
            for (const k of Object.keys(c)) if (!["count", "where", "median_interval_over"].includes(k)) err(`condition.${k}`, "unknown option (known: count, where, median_interval_over)");
            if (typeof c.count !== "number" || !Number.isInteger(c.count) || c.count < 1 || c.count > 20) err("condition.count", "required: an integer from 1 to 20");
            if (c.where !== undefined) errors.push(...checkCondition(c.where, "condition.where"));
            if (c.median_interval_over !== undefined && parseDuration(c.median_interval_over) === undefined) err("condition.median_interval_over", "must be a duration");
          }
        }
        if (r.cancel_on !== undefined) errors.push(...checkCondition(r.cancel_on, "cancel_on"));
        duration("blackhole", false);
        field("distinct");
        integer("cache_size", 1, RULE_LIMITS.maxCapacity + 1, false);
        break;
      }
      case "sequence": {
        duration("window", true);
        for (const step of ["a", "b"] as const) {
          const s = r[step];
          if (typeof s !== "object" || s === null || Array.isArray(s)) { err(step, `required: {"match": condition${step === "a" ? ', "count": n' : ""}}`); continue; }
          const so = s as Record<string, unknown>;
          for (const k of Object.keys(so)) if (k !== "match" && !(step === "a" && k === "count")) err(`${step}.${k}`, `unknown option (known: match${step === "a" ? ", count" : ""})`);
          if (so.match === undefined) err(`${step}.match`, "required: a condition");
          else errors.push(...checkCondition(so.match, `${step}.match`));
          if (so.count !== undefined && (typeof so.count !== "number" || !Number.isInteger(so.count) || so.count < 1 || so.count > RULE_LIMITS.maxThreshold))
            err(`${step}.count`, `must be an integer from 1 to ${RULE_LIMITS.maxThreshold}`);
        }
        if (r.absent !== undefined && typeof r.absent !== "boolean") err("absent", "must be true or false");
        break;
      }
      case "new_value": {
        const f = r.fields;
        if (!Array.isArray(f) || f.length === 0 || f.length > RULE_LIMITS.maxNewValueFields || !f.every((x) => typeof x === "string" && FIELD_PATH.test(x)))
          err("fields", `required for a new_value rule: an array of 1-${RULE_LIMITS.maxNewValueFields} field paths like "source.mac"`);
        duration("learning", false);
        integer("max_values", 1, RULE_LIMITS.maxMaxValues, false);
        break;
      }
    }
    const known = new Set([...COMMON, ...META, ...OPTIONS[type]]);
    for (const k of Object.keys(r)) {
      if (known.has(k)) continue;
      const owner = RULE_TYPES.find((t) => OPTIONS[t].includes(k));
      err(k, owner ? `"${k}" is an option of ${owner} rules, not of ${type} rules` : `unknown option "${k}"`);
    }
  }

  if (errors.length) return { ok: false, errors };
  const rule: RuleDef = {
    ...(r as Partial<RuleDef>),
    id: id as string,
    name: (name as string).trim(),
    type,
    enabled: (r.enabled as boolean | undefined) ?? true,
    match: r.match as RuleDef["match"],
    group_by: groupBy as string[],
    severity: severity as Severity,
  };
  return { ok: true, rule };
}
