/**
 * From a stored event to what a rule's Durable Object receives: `compileRule` matches an event against
 * a rule once (its `match`, and for sequences which step, a or b) and projects it to a MatchedEvent
 * that keeps only the fields the rule needs (group_by, distinct, new_value fields, template
 * variables). Also the helpers every engine shares: group keys and firing variables.
 */
import type { EcsEvent } from "../ecs.ts";
import { compileCondition, compileGetter, type CompiledCondition } from "./condition.ts";
import { templateVars } from "./template.ts";
import type { Condition, Firing, MatchedEvent, RuleDef } from "./types.ts";

/** Most event ids a firing carries (siemstress keeps the source events; we keep the latest ones). */
export const MAX_EVENT_IDS = 20;

/** Template variables that engines provide themselves (not event fields). */
const ENGINE_VARS = new Set(["count", "window", "first_seen", "last_seen", "value", "timeout", "rule", "late"]);

export interface CompiledRule {
  rule: RuleDef;
  /** Dotted paths copied into MatchedEvent.fields. */
  fields: string[];
  /** The event as the rule's engine needs it, or undefined when the rule does not match it. */
  match(event: EcsEvent): MatchedEvent | undefined;
  /** Projection only, for an event already known to match. */
  project(event: EcsEvent, captures?: Record<string, string>, step?: string): MatchedEvent;
}

/** The fields a rule needs from each matched event. */
export function neededFields(rule: RuleDef): string[] {
  const out = new Set<string>(rule.group_by ?? []);
  if (typeof rule.distinct === "string") out.add(rule.distinct);
  if (Array.isArray(rule.fields)) for (const f of rule.fields as string[]) out.add(f);
  for (const t of [rule.title, rule.text, rule.resource]) for (const v of templateVars(t)) if (!ENGINE_VARS.has(v)) out.add(v);
  return [...out];
}

// One-entry cache: the Worker matches each event against every rule in turn, so consecutive calls
// usually ask for the same event's time (Date.parse is the costliest step of a projection).
let lastEvent: EcsEvent | undefined;
let lastTs = 0;
const ISO_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];
// The second ("YYYY-MM-DDTHH:MM:SS") of the last text isoUtcMs accepted and its ms: a batch's events
// share a few seconds, so most calls are a prefix compare and three digits.
let lastSecond = "";
let lastSecondMs = 0;

/** "2026-11-22T10:00:00.000Z" (the form our events carry) without Date.parse; NaN for any other form. */
function isoUtcMs(s: string): number {
  if (s.length === 24 && lastSecond.length === 19 && s.charCodeAt(19) === 46 && s.charCodeAt(23) === 90 && s.startsWith(lastSecond)) {
    const d0 = s.charCodeAt(20) - 48, d1 = s.charCodeAt(21) - 48, d2 = s.charCodeAt(22) - 48;
    if (d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) return lastSecondMs + d0 * 100 + d1 * 10 + d2;
  }
  const t = parseIsoUtc(s);
  if (Number.isFinite(t)) {
    lastSecond = s.slice(0, 19);
    lastSecondMs = t - ((s.charCodeAt(20) - 48) * 100 + (s.charCodeAt(21) - 48) * 10 + (s.charCodeAt(22) - 48));
  }
  return t;
}

function parseIsoUtc(s: string): number {
  if (s.length !== 24 || s.charCodeAt(10) !== 84 || s.charCodeAt(23) !== 90 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46) return NaN;
  for (const i of ISO_DIGITS) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
  }
  const d = (i: number) => s.charCodeAt(i) - 48;
  const n2 = (i: number) => d(i) * 10 + d(i + 1);
  const month = n2(5), day = n2(8), hour = n2(11), minute = n2(14), second = n2(17);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return NaN;
  const year = n2(0) * 100 + n2(2);
  if (year < 100) return NaN; // Date.UTC reads years 0-99 as 1900-1999: let Date.parse decide those
  const t = Date.UTC(year, month - 1, day, hour, minute, second, d(20) * 100 + n2(21));
  // day 31 of a 30-day month (and Feb 30) roll over in Date.UTC: let Date.parse decide those
  return new Date(t).getUTCDate() === day ? t : NaN;
}

function timestampMs(event: EcsEvent): number {
  if (event === lastEvent) return lastTs;
  const iso = event["@timestamp"];
  let t = typeof iso === "string" ? isoUtcMs(iso) : NaN;
  if (!Number.isFinite(t)) t = Date.parse(iso);
  if (!Number.isFinite(t)) t = Date.parse(event.received_at);
  lastEvent = event;
  lastTs = t;
  return t;
}

/** Compiles a (validated) rule's matching and projection once. */
export function compileRule(rule: RuleDef): CompiledRule {
  const match = compileCondition(rule.match);
  const fields = neededFields(rule);
  const getters = fields.map(compileGetter);
  const groupBy = rule.group_by ?? [];
  let a: CompiledCondition | undefined;
  let b: CompiledCondition | undefined;
  if (rule.type === "sequence") {
    a = compileCondition((rule.a as { match: Condition }).match);
    b = compileCondition((rule.b as { match: Condition }).match);
  }
  const build = (event: EcsEvent, caps: Record<string, string> | undefined, step?: string): MatchedEvent => {
    const values: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const v = getters[i]!(event);
      if (v !== undefined && v !== null) values[fields[i]!] = v;
    }
    const m: MatchedEvent = { id: event.id, ts: timestampMs(event), fields: values };
    if (caps) m.captures = caps;
    if (step) m.step = step;
    return m;
  };
  return {
    rule,
    fields,
    project: build,
    match(event) {
      const r = match(event);
      if (!r.matched) return undefined;
      let m: MatchedEvent | undefined;
      if (!a || !b) m = build(event, r.captures);
      else {
        const ra = a(event);
        if (ra.matched) m = build(event, mergeCaps(r.captures, ra.captures), "a");
        else {
          const rb = b(event);
          if (rb.matched) m = build(event, mergeCaps(r.captures, rb.captures), "b");
        }
      }
      // An event that lacks a group_by value cannot be attributed to a group (a failure without a
      // source IP is not a brute force "from nowhere"): it does not enter the rule.
      if (m) for (const f of groupBy) if (!hasValue(m.fields[f] ?? m.captures?.[f])) return undefined;
      return m;
    },
  };
}

function hasValue(v: unknown): boolean {
  return v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);
}

function mergeCaps(x: Record<string, string> | undefined, y: Record<string, string> | undefined) {
  return x && y ? { ...x, ...y } : x ?? y;
}

const compiled = new WeakMap<RuleDef, CompiledRule>();

/** Projects an event that matched `rule` (no matching done here; use compileRule().match for both). */
export function project(rule: RuleDef, event: EcsEvent, captures?: Record<string, string>, step?: string): MatchedEvent {
  let c = compiled.get(rule);
  if (!c) compiled.set(rule, (c = compileRule(rule)));
  return c.project(event, captures, step);
}

// ---------------------------------------------------------------- shared by the engines

function asKeyPart(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map(asKeyPart).join(",");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/**
 * The group-by values of an event, in group_by order. A group_by name that is not an event field may
 * name a regex capture of `match` (SEC-style keys such as the rhost of a pam line). Missing → "".
 */
export function groupValues(rule: RuleDef, ev: MatchedEvent): string[] {
  const by = rule.group_by ?? [];
  const out = new Array<string>(by.length);
  for (let i = 0; i < by.length; i++) out[i] = asKeyPart(ev.fields[by[i]!] ?? ev.captures?.[by[i]!]);
  return out;
}

/** The key of the group an event belongs to: a JSON array of its group-by values ("[]" when ungrouped). */
export function groupKeyOf(rule: RuleDef, ev: MatchedEvent): string {
  return JSON.stringify(groupValues(rule, ev));
}

/** {"source.ip": "203.0.113.7"} from group values. */
export function groupObject(rule: RuleDef, values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  (rule.group_by ?? []).forEach((f, i) => (out[f] = values[i] ?? ""));
  return out;
}

/** Appends an id keeping only the latest `max`. Mutates and returns the array. */
export function pushBounded(ids: string[], id: string, max = MAX_EVENT_IDS): string[] {
  ids.push(id);
  if (ids.length > max) ids.splice(0, ids.length - max);
  return ids;
}

/** Template variables of a firing: the last event's fields and captures, then count, window, first/last seen. */
export function firingVars(rule: RuleDef, last: MatchedEvent | undefined, extra: { count: number; first?: number; last?: number; [k: string]: unknown }): Record<string, unknown> {
  const vars: Record<string, unknown> = { ...(last?.fields ?? {}), ...(last?.captures ?? {}) };
  const window = rule.window ?? rule.leakspeed ?? rule.timeout;
  if (window !== undefined) vars.window = window;
  vars.rule = rule.name;
  for (const [k, v] of Object.entries(extra)) {
    if (k === "first" || k === "last") continue;
    vars[k] = v;
  }
  if (extra.first !== undefined) vars.first_seen = new Date(extra.first).toISOString();
  if (extra.last !== undefined) vars.last_seen = new Date(extra.last).toISOString();
  return vars;
}

export type EngineFiring = Omit<Firing, "id" | "ruleId">;

// ---------------------------------------------------------------- many rules at once

export interface CompiledRuleSet {
  rules: CompiledRule[];
  /** Matches a batch against every rule: result[i] holds rule i's matches, in batch order. */
  matchBatch(events: readonly EcsEvent[]): MatchedEvent[][];
}

/**
 * The datasets a condition requires (`"event.dataset": "x"` or `{in: [...]}` at its top level or in a
 * top-level `all`; an `any` whose every branch requires some), or undefined when it may match any.
 */
function requiredDatasets(cond: Condition): string[] | undefined {
  const d = cond["event.dataset"];
  if (typeof d === "string") return [d];
  if (d && typeof d === "object" && !Array.isArray(d)) {
    const keys = Object.keys(d);
    const list = (d as { in?: unknown }).in;
    if (keys.length === 1 && Array.isArray(list) && list.every((x) => typeof x === "string")) return list as string[];
  }
  if (Array.isArray(cond.all)) {
    for (const c of cond.all as Condition[]) {
      const r = requiredDatasets(c);
      if (r) return r;
    }
  }
  if (Array.isArray(cond.any)) {
    const parts = (cond.any as Condition[]).map(requiredDatasets);
    if (parts.every((p) => p !== undefined)) return [...new Set(parts.flat() as string[])];
  }
  return undefined;
}

/**
 * Compiles rules for batch matching. Rules whose `match` pins `event.dataset` are only tried on
 * events of those datasets (an index, so 50 rules cost what the few relevant ones cost); the result is
 * the same as calling each rule's `match` on every event.
 */
export function compileRuleSet(rules: readonly RuleDef[]): CompiledRuleSet {
  const compiled = rules.map(compileRule);
  const byDataset = new Map<string, number[]>();
  const always: number[] = [];
  compiled.forEach((c, i) => {
    const ds = requiredDatasets(c.rule.match);
    if (!ds) return void always.push(i);
    for (const d of ds) {
      const list = byDataset.get(d) ?? [];
      list.push(i);
      byDataset.set(d, list);
    }
  });
  // per dataset: its rules and the always-tried ones, in rule order
  const plan = new Map<string, number[]>();
  for (const [d, list] of byDataset) plan.set(d, [...new Set([...list, ...always])].sort((a, b) => a - b));
  return {
    rules: compiled,
    matchBatch(events) {
      const out: MatchedEvent[][] = compiled.map(() => []);
      for (const e of events) {
        const ds = e.event?.dataset;
        const order = (ds !== undefined && plan.get(ds)) || always;
        for (let k = 0; k < order.length; k++) {
          const i = order[k]!;
          const m = compiled[i]!.match(e);
          if (m) out[i]!.push(m);
        }
      }
      return out;
    },
  };
}
