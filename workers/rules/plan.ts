/**
 * The pure part of rule evaluation (no Workers APIs, no I/O), shared by evaluateBatch, the RuleState
 * objects, backtests and Node benchmarks: the addressing of rule state (which object holds a group,
 * deterministic firing ids), the compiled rule sets, the per-batch plan (suppression, matching,
 * `single` firings, one call per (rule, shard)), and the rendering of firings into alert inputs.
 * Keeping it free of Workers types is what lets Node programs import it.
 */
import type { EcsEvent } from "../ecs.ts";
import type { Firing, MatchedEvent, RuleDef, Severity } from "./types.ts";
import { renderTemplate } from "./template.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { compileRule, compileRuleSet, type CompiledRule, type CompiledRuleSet } from "./project.ts";
import type { ListLookup } from "./condition.ts";
import type { LoadedLists } from "./lists.ts";
import { ENGINES } from "./engines/index.ts";
import { magnitude } from "./magnitude.ts";
import { RULE_LIMITS } from "./validate.ts";

// --- Addressing

/**
 * Objects holding a stateful rule's groups when the rule sets no `shards`: one. Each (rule, shard)
 * object that receives matches costs one RPC per batch (a subrequest, and Worker CPU for the stub and
 * the serialized payload), while one object applies far more than a home network sends (>100k
 * events/s, one request per batch). A rule may ask for up to MAX_RULE_SHARDS (`shards`, validate.ts)
 * to spread a hot rule's groups; changing it re-homes the groups (docs/alerts.md).
 */
export const DEFAULT_RULE_SHARDS = 1;
/** Most shards a rule may ask for: ten stateful rules then stay within 40 of the Free plan's 50 subrequests. */
export const MAX_RULE_SHARDS = RULE_LIMITS.maxShards;
/**
 * Every object a rule's groups may live in is `ruleObjectName(id, s)` for s < RULE_SHARDS, whatever
 * its `shards` is or was: what resets a rule's state (routes/rules.ts) goes through all of them.
 */
export const RULE_SHARDS = MAX_RULE_SHARDS;

/** 32-bit FNV-1a of a string. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The shard holding group `groupKey` of a rule with `shards` shards. */
export const shardOf = (groupKey: string, shards = DEFAULT_RULE_SHARDS): number => fnv1a(groupKey) % shards;

/** How many objects hold `rule`'s groups (its `shards`, validated by validate.ts). */
export function ruleShards(rule: RuleDef): number {
  return typeof rule.shards === "number" ? rule.shards : DEFAULT_RULE_SHARDS;
}

/** Name of the RuleState object holding `rule`'s groups of `shard`. */
export const ruleObjectName = (ruleId: string, shard: number): string => `${ruleId}:${shard}`;

/**
 * Deterministic firing id from (rule, group, batch or due time, seq): the same inputs give the same
 * id on every retry, which the alert store uses to skip firings already applied. 2×32-bit FNV.
 */
export function firingId(ruleId: string, groupKey: string, origin: string, seq: number): string {
  const text = `${ruleId}\u0000${groupKey}\u0000${origin}\u0000${seq}`;
  return `f_${fnv1a(text).toString(16).padStart(8, "0")}${fnv1a(text, 0x01000193 ^ 0x5bd1e995).toString(16).padStart(8, "0")}_${seq}`;
}

// --- Types

/** A rule as loaded from D1 (workers/rules/registry.ts). */
export interface StoredRule {
  def: RuleDef;
  /** Revision: the rule row's updated_at, ms (registry.ts). What RuleState.apply receives as `ruleVersion`. */
  version: number;
}

/** One firing, rendered and ready to become (part of) an alert. */
export interface AlertInput {
  /** Deterministic firing id (rule, group, batch or due time, seq). */
  firingId: string;
  ruleId: string;
  action: "raise" | "clear";
  resource: string;
  group: Record<string, string>;
  severity: Severity;
  title: string;
  text: string;
  count: number;
  eventIds: string[];
  magnitude: number;
  tags: string[];
  attributes: Record<string, unknown>;
  /** Firing time, ms (event time for event-driven firings, the deadline for heartbeats; see workers/store/alerts.ts). */
  at: number;
  /** Rule `timeout` in ms: the alert expires after this much quiet wall time. */
  timeoutMs?: number;
}

/** What RuleState.apply returns. */
export interface ApplyResult {
  firings: Firing[];
  replayed: boolean;
  /** Matches the engine ignored as too late (older than the rule's lateness tolerance). */
  late: number;
  /** Set when the engine threw: the batch was recorded as applied without firings (logged). */
  error?: string;
}

// --- Compiling

/** The enabled rules compiled for batch matching (project.ts compileRuleSet: indexed by dataset). */
export interface RuleSets {
  /** Rule ids and versions the sets were built from. */
  key: string;
  suppress: CompiledRuleSet;
  alerting: CompiledRuleSet;
  /** Versions of the alerting rules, in `alerting.rules` order. */
  versions: number[];
}

/** Pure cache, per isolate: buildRuleSets of the enabled rules, rebuilt only when their (id, version) list changes. */
let cachedSets: RuleSets | undefined;

/** The enabled rules' sets, compiled once per isolate and rule change. */
export function ruleSets(rules: readonly StoredRule[], lists?: LoadedLists): RuleSets {
  // a changed address list recompiles the sets too (its version is part of the key)
  const key = rules.map((r) => `${r.def.id}@${r.version}`).join("\u0000") + (lists?.key ? `\u0001${lists.key}` : "");
  if (cachedSets?.key !== key) cachedSets = buildRuleSets(rules, key, lists?.lookup);
  return cachedSets;
}

/** Compiles rule sets, skipping (and logging) a rule that fails to compile rather than stalling ingest. */
export function buildRuleSets(rules: readonly StoredRule[], key = "", lists?: ListLookup): RuleSets {
  const suppress: RuleDef[] = [];
  const alerting: StoredRule[] = [];
  for (const r of rules) {
    try {
      compileRule(r.def);
    } catch (err) {
      // Stored rules passed validateRule; one that still fails to compile is skipped.
      console.error(JSON.stringify({ level: "error", where: "ruleSets", rule: r.def.id, error: String(err) }));
      continue;
    }
    if (r.def.type === "suppress") suppress.push(r.def);
    else alerting.push(r);
  }
  return { key, suppress: compileRuleSet(suppress, lists), alerting: compileRuleSet(alerting.map((r) => r.def), lists), versions: alerting.map((r) => r.version) };
}

/** Ids of the events that match any suppress rule. */
export function suppressedIds(sets: Pick<RuleSets, "suppress">, events: readonly EcsEvent[]): Set<string> {
  const out = new Set<string>();
  if (sets.suppress.rules.length === 0) return out;
  for (const list of sets.suppress.matchBatch(events)) for (const m of list) out.add(m.id);
  return out;
}

// --- Rendering

/** Turns a rule's firings into alert inputs: templates, resource, magnitude, expiry. */
export function toAlertInputs(rule: RuleDef, firings: readonly Firing[]): AlertInput[] {
  const windowMs = parseDuration(rule.window);
  // A heartbeat's `timeout` is its beat period, not an alert expiry: a missed beat stays raised until the next beat.
  const timeoutMs = rule.type === "heartbeat" ? undefined : parseDuration(rule.timeout);
  return firings.map((f) => {
    const vars: Record<string, unknown> = { ...f.group, ...f.vars, count: f.count, rule: rule.name };
    if (vars.window === undefined && windowMs !== undefined) vars.window = formatDuration(windowMs);
    // Resource: the rule's template, else the group values, else the rule id (Alerta needs one).
    const resource = (rule.resource ? renderTemplate(rule.resource, vars) : "") || Object.values(f.group).filter(Boolean).join("/") || rule.id;
    return {
      firingId: f.id,
      ruleId: rule.id,
      action: f.action,
      resource,
      group: f.group,
      severity: rule.severity,
      title: renderTemplate(rule.title ?? rule.name, vars) || rule.name,
      text: renderTemplate(rule.text ?? "", vars),
      count: f.count,
      eventIds: f.eventIds,
      magnitude: magnitude(rule, f.count),
      tags: rule.tags ?? [],
      attributes: { rule_name: rule.name, rule_type: rule.type },
      at: f.at,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    };
  });
}

// --- Planning (pure)

/** One RuleState RPC: all of a batch's matches for one (rule, shard). */
export interface RuleCall {
  /** Object name, `${rule.id}:${shard}`. */
  name: string;
  rule: RuleDef;
  version: number;
  events: MatchedEvent[];
}

export interface BatchPlan {
  /** Ids of the events kept out of alerting by suppress rules. */
  suppressed: Set<string>;
  /** Alert inputs of `single` rules (fired here, without a Durable Object). */
  inputs: AlertInput[];
  calls: RuleCall[];
}

/**
 * The Worker-side CPU work of a batch, without I/O: suppression, matching, `single` firings and the
 * grouping of stateful matches into one call per (rule, shard). Deterministic for a batch key.
 * A rule with one shard sends its match list as is: no group key is computed here for it (its
 * object computes them anyway).
 */
export function planBatch(sets: RuleSets, batchKey: string, events: readonly EcsEvent[]): BatchPlan {
  const suppressed = suppressedIds(sets, events);
  const kept = suppressed.size ? events.filter((e) => !suppressed.has(e.id)) : events;
  const inputs: AlertInput[] = [];
  const calls: RuleCall[] = [];
  const matches = sets.alerting.matchBatch(kept);
  const compiled = sets.alerting.rules;
  for (let i = 0; i < compiled.length; i++) {
    const list = matches[i]!;
    if (list.length === 0) continue;
    const c = compiled[i]!;
    const rule = c.rule;
    if (rule.type === "single") {
      inputs.push(...singleInputs(c, batchKey, list));
      continue;
    }
    const version = sets.versions[i]!;
    const shards = ruleShards(rule);
    if (shards === 1) {
      calls.push({ name: ruleObjectName(rule.id, 0), rule, version, events: list });
      continue;
    }
    // calls in the order their shards first appear in the batch
    const byShard: (RuleCall | undefined)[] = new Array(shards);
    for (const m of list) {
      const shard = shardOf(c.groupKey(m), shards);
      let call = byShard[shard];
      if (!call) calls.push((call = byShard[shard] = { name: ruleObjectName(rule.id, shard), rule, version, events: [] }));
      call.events.push(m);
    }
  }
  return { suppressed, inputs, calls };
}

/** Alert inputs of a `single` rule's matches; firing ids count per group within the batch. */
function singleInputs(c: CompiledRule, batchKey: string, list: readonly MatchedEvent[]): AlertInput[] {
  const rule = c.rule;
  const singleSeq = new Map<string, number>();
  const firings: Firing[] = [];
  for (const m of list) {
    const key = c.groupKey(m);
    let seq = singleSeq.get(key) ?? 0;
    for (const f of ENGINES.single.step(rule, undefined as never, m, m.ts).firings) firings.push({ ...f, id: firingId(rule.id, key, batchKey, seq++), ruleId: rule.id });
    singleSeq.set(key, seq);
  }
  return toAlertInputs(rule, firings);
}
