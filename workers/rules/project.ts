/**
 * From a stored event to what a rule's Durable Object receives: `compileRule` matches an event against
 * a rule once (its `match`, and for sequences which step, a or b) and projects it to a MatchedEvent
 * that keeps only the fields the rule needs (group_by, distinct, new_value fields, template
 * variables). Also the helpers every engine shares: group keys and firing variables.
 */
import { isoText, type EcsEvent } from "../ecs.ts";
import { compileCondition, compileGetter, type CompiledCondition, type ListLookup } from "./condition.ts";
import { templateVars } from "./template.ts";
import type { Condition, Firing, MatchedEvent, RuleDef } from "./types.ts";
import { setOwn, table } from "../table.ts";

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
  /** groupKeyOf(rule, m), specialised for the rule's group_by (the same text). */
  groupKey(m: MatchedEvent): string;
}

/** The fields a rule needs from each matched event. */
export function neededFields(rule: RuleDef): string[] {
  const out = new Set<string>(rule.group_by ?? []);
  if (typeof rule.distinct === "string") out.add(rule.distinct);
  if (Array.isArray(rule.fields)) for (const f of rule.fields as string[]) out.add(f);
  for (const t of [rule.title, rule.text, rule.resource]) for (const v of templateVars(t)) if (!ENGINE_VARS.has(v)) out.add(v);
  return [...out];
}

/**
 * The last MatchedEvent built for one event by any rule of a set that projects the same fields, so that
 * rules projecting alike (tiers of one detection: 5 failures in 1m, 50 in 1h) share one object per
 * event. Only matches without captures or a step are shared: those depend on the event alone.
 * Invariant: nobody modifies a MatchedEvent (packMatches and the engines only read them).
 */
interface SharedProjection {
  event: EcsEvent | undefined;
  m: MatchedEvent | undefined;
}

/** How compileRuleSet specialises a rule's `match` for the events its index hands it. */
interface SetOptions {
  /** Reuse the MatchedEvent another rule projecting the same fields built for the same event; the owner clears it after each batch, since an event may change after it. */
  shared?: SharedProjection;
  /** What remains of `rule.match` once the index has established one of its conjuncts (compileRuleSet). */
  match?: Condition;
  /** The address lists `in_list` reads. */
  lists?: ListLookup;
}

/** Compiles a (validated) rule's matching and projection once. */
export function compileRule(rule: RuleDef, lists?: ListLookup): CompiledRule {
  return compileRuleFor(rule, { lists });
}

/**
 * The reader of a field a rule projects. A projection leaves the event for alerts (template variables,
 * group values), so the event's times are rendered there as RFC 3339 text, as the API shows them.
 */
function projectedGetter(path: string): (event: unknown) => unknown {
  const get = compileGetter(path);
  if (path !== "@timestamp" && path !== "received_at") return get;
  return (e) => {
    const v = get(e);
    return v === undefined ? v : isoText(v);
  };
}

/** compileRule, specialised for a rule set (compileRuleSet). */
function compileRuleFor(rule: RuleDef, set: SetOptions): CompiledRule {
  const { shared } = set;
  const lists = set.lists;
  const match = compileCondition(set.match ?? rule.match, lists);
  const fields = neededFields(rule);
  const getters = fields.map(projectedGetter);
  const groupBy = rule.group_by ?? [];
  let a: CompiledCondition | undefined;
  let b: CompiledCondition | undefined;
  if (rule.type === "sequence") {
    a = compileCondition((rule.a as { match: Condition }).match, lists);
    b = compileCondition((rule.b as { match: Condition }).match, lists);
  }
  // bucket: CrowdSec's cancel_on (step "cancel": the event kills the group's bucket) and the
  // conditional bucket's `condition.where` (step "w": the event counts toward the condition).
  const cancel = rule.type === "bucket" && rule.cancel_on !== undefined ? compileCondition(rule.cancel_on as Condition, lists) : undefined;
  const where = rule.type === "bucket" && (rule.condition as { where?: Condition } | undefined)?.where !== undefined ? compileCondition((rule.condition as { where: Condition }).where, lists) : undefined;
  const build = (event: EcsEvent, caps: Record<string, string> | undefined, step?: string): MatchedEvent => {
    if (shared && !caps && !step) {
      if (shared.event === event) return shared.m!;
      shared.event = event;
      return (shared.m = projectEvent(event, undefined, undefined));
    }
    return projectEvent(event, caps, step);
  };
  const projectEvent = (event: EcsEvent, caps: Record<string, string> | undefined, step?: string): MatchedEvent => {
    const values: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const v = getters[i]!(event);
      if (v !== undefined && v !== null) values[fields[i]!] = v;
    }
    const m: MatchedEvent = { id: event.id, ts: event["@timestamp"], fields: values };
    if (caps) m.captures = caps;
    if (step) m.step = step;
    return m;
  };
  return {
    rule,
    fields,
    project: projectEvent,
    groupKey: compileGroupKey(rule),
    match(event) {
      const r = match(event);
      if (!r.matched) return undefined;
      let m: MatchedEvent | undefined;
      if (cancel || where) m = build(event, r.captures, cancel?.(event).matched ? "cancel" : where?.(event).matched ? "w" : undefined);
      else if (!a || !b) m = build(event, r.captures);
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

/**
 * groupKeyOf for one rule: the same text, without the values array for the usual group_by of zero
 * or one field (JSON.stringify([s]) is "[" + JSON.stringify(s) + "]").
 */
function compileGroupKey(rule: RuleDef): (ev: MatchedEvent) => string {
  const by = rule.group_by ?? [];
  if (by.length === 0) return () => "[]";
  if (by.length > 1) return (ev) => groupKeyOf(rule, ev);
  const f = by[0]!;
  return (ev) => {
    const v = ev.fields[f] ?? ev.captures?.[f];
    return typeof v === "string" ? `[${JSON.stringify(v)}]` : `[${JSON.stringify(asKeyPart(v))}]`;
  };
}

/** {"source.ip": "203.0.113.7"} from group values. */
export function groupObject(rule: RuleDef, values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  (rule.group_by ?? []).forEach((f, i) => setOwn(out, f, values[i] ?? ""));
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

/** One (field, value) an event must hold for a rule to possibly match it. */
type Key = readonly [field: string, value: string];

/**
 * How good a field is as an index key: lower is more selective (a dataset names one parser's
 * events; an outcome or category is shared by many). Unknown fields rank in between.
 */
const INDEX_RANK = table({
  "event.dataset": 0,
  "event.module": 1,
  "event.action": 1,
  "event.code": 1,
  "process.name": 1,
  "network.transport": 3,
  "event.category": 4,
  "event.type": 4,
  "event.outcome": 4,
  "event.kind": 5,
});
const rankOf = (field: string) => INDEX_RANK[field] ?? 2;

/** An equality value that matches only the identical string (a numeric string also matches the number). */
function plainString(v: unknown): v is string {
  return typeof v === "string" && !(v.trim() !== "" && Number.isFinite(Number(v)));
}

/**
 * The strings field `path` must hold (the field, or one element of it when it is an array) for `spec`
 * to match, or undefined when `spec` matches other values too. Only plain strings qualify: for them
 * condition.ts's equality and `in` are exactly `===` (a numeric string also equals a number).
 */
function requiredValues(spec: unknown): string[] | undefined {
  if (plainString(spec)) return [spec];
  if (!spec || typeof spec !== "object" || Array.isArray(spec)) return undefined;
  const { in: list, eq } = spec as { in?: unknown; eq?: unknown };
  // several operators on one field are ANDed, so each one alone is still required
  if (Array.isArray(list) && list.length > 0 && list.every(plainString)) return [...new Set(list)];
  if (plainString(eq)) return [eq];
  return undefined;
}

/** An index entry of a condition: the keys, and the top-level field whose conjunct they come from. */
interface Required {
  keys: Key[];
  /**
   * Set when the keys come from a top-level field conjunct that says exactly "holds one of these
   * values" (a plain string, or `in`/`eq` of plain strings alone): an event the index hands over
   * satisfies that conjunct, so the rule need not test it again.
   */
  field?: string;
}

/** A field spec that matches exactly the events whose field (or an element of it) is one of requiredValues(spec). */
function exactlyRequired(spec: unknown): boolean {
  if (plainString(spec)) return true;
  const ops = spec !== null && typeof spec === "object" && !Array.isArray(spec) ? Object.keys(spec) : [];
  return ops.length === 1 && (ops[0] === "in" || ops[0] === "eq") && requiredValues(spec) !== undefined;
}

/**
 * Keys of which an event must hold at least one for `cond` to match it, or undefined when no such
 * set is known. A conjunction (keys of one object, a top-level `all`) needs only one conjunct's keys:
 * the most selective is taken. An `any` needs some key of each branch, so it requires the union.
 * `not` never gives keys.
 */
function requiredKeys(cond: Condition): Required | undefined {
  let best: Required | undefined;
  let bestScore = Infinity;
  const consider = (r: Required | undefined) => {
    if (!r || r.keys.length === 0) return;
    let worst = 0;
    for (const [f] of r.keys) worst = Math.max(worst, rankOf(f));
    const score = worst * 1000 + r.keys.length;
    if (score < bestScore) [best, bestScore] = [r, score];
  };
  for (const [k, v] of Object.entries(cond)) {
    if (k === "not") continue;
    // keys found inside `all` or `any` are used for the index only (their conjunct is tested again)
    if (k === "all") for (const c of v as Condition[]) consider(withoutField(requiredKeys(c)));
    else if (k === "any") {
      const parts = (v as Condition[]).map(requiredKeys);
      if (parts.every((p) => p !== undefined)) consider({ keys: parts.flatMap((p) => p!.keys) });
    } else {
      const values = requiredValues(v);
      if (values) consider({ keys: values.map((x): Key => [k, x]), ...(exactlyRequired(v) ? { field: k } : {}) });
    }
  }
  return best;
}

const withoutField = (r: Required | undefined): Required | undefined => r && { keys: r.keys };

/**
 * Compiles rules for batch matching. An index by required field values (project.ts requiredKeys:
 * `"event.dataset": "sshd"`, `{in: [...]}`, a required value of process.name, event.action, ...)
 * tries a rule only on events holding one of its keys, so 50 rules cost about what the few relevant
 * ones cost; rules without such keys are tried on every event. The result is the same as calling
 * each rule's `match` on every event: a rule skipped by the index could not have matched.
 * Within a batch, a rule tried through its index does not test again the conjunct its keys came from
 * (Required.field), and rules that project the same fields share one MatchedEvent per event.
 */
export function compileRuleSet(rules: readonly RuleDef[], lists?: ListLookup): CompiledRuleSet {
  // by projected fields (JSON of neededFields, in order)
  const shares = new Map<string, SharedProjection>();
  const compiled = rules.map((r) => compileRule(r, lists));
  const always: number[] = [];
  // per index field: its getter and value → rules keyed by it
  const index = new Map<string, Map<string, number[]>>();
  // what matchBatch runs for rule i: its match without the conjunct its index keys establish, and
  // sharing MatchedEvents with the rules that project the same fields (in the same order)
  const tries = rules.map((rule, i) => {
    const req = requiredKeys(rule.match);
    if (!req) always.push(i);
    else {
      for (const [field, value] of req.keys) {
        let byValue = index.get(field);
        if (!byValue) index.set(field, (byValue = new Map()));
        const list = byValue.get(value) ?? [];
        if (list[list.length - 1] !== i) list.push(i);
        byValue.set(value, list);
      }
    }
    const key = JSON.stringify(neededFields(rule));
    let shared = shares.get(key);
    if (!shared) shares.set(key, (shared = { event: undefined, m: undefined }));
    let match: Condition | undefined;
    if (req?.field !== undefined) {
      match = { ...rule.match };
      delete match[req.field];
    }
    return compileRuleFor(rule, { shared, match, lists });
  });
  const fields = [...index.keys()];
  const getters = fields.map(compileGetter);
  const maps = fields.map((f) => index.get(f)!);
  const nFields = fields.length;
  // Candidates of one event: `marked[i]` dedupes a rule reached through several keys (an array
  // field, an `any` over several fields); cleared after each event.
  const marked = new Uint8Array(compiled.length);
  const candidates = new Int32Array(compiled.length);
  /** Appends the rules of `list` not yet among the first `n` candidates; returns the new count. */
  const addCandidates = (list: number[] | undefined, n: number): number => {
    if (list) {
      for (let k = 0; k < list.length; k++) {
        const i = list[k]!;
        if (!marked[i]) {
          marked[i] = 1;
          candidates[n++] = i;
        }
      }
    }
    return n;
  };
  return {
    rules: compiled,
    matchBatch(events) {
      const out: MatchedEvent[][] = compiled.map(() => []);
      const tryRule = (i: number, e: EcsEvent) => {
        const m = tries[i]!.match(e);
        if (m) out[i]!.push(m);
      };
      try {
        for (const e of events) {
          let n = 0;
          for (let f = 0; f < nFields; f++) {
            const v = getters[f]!(e);
            if (typeof v === "string") n = addCandidates(maps[f]!.get(v), n);
            else if (Array.isArray(v)) {
              const byValue = maps[f]!;
              for (let j = 0; j < v.length; j++) {
                const x: unknown = v[j];
                if (typeof x === "string") n = addCandidates(byValue.get(x), n);
              }
            }
          }
          for (let k = 0; k < always.length; k++) tryRule(always[k]!, e);
          for (let k = 0; k < n; k++) {
            const i = candidates[k]!;
            marked[i] = 0;
            tryRule(i, e);
          }
        }
      } finally {
        // the batch's events may change after it: no MatchedEvent is reused across batches
        for (const sh of shares.values()) sh.event = sh.m = undefined;
      }
      return out;
    },
  };
}
