/**
 * Rule evaluation for one stored ingest batch (called by POST /v1/ingest after the events are in D1).
 *
 * 1. Enabled rules come from the registry (one D1 query; changed rules recompiled).
 * 2. Stateless matching in the Worker: every event against every rule's compiled condition;
 *    an event matching any `suppress` rule is kept out of alerting (it is still stored).
 * 3. `single` rules fire here, without a Durable Object.
 * 4. Stateful matches are grouped per (rule, shard) and sent as ONE RPC per object, in parallel
 *    with bounded concurrency; each object returns its firings (or the stored ones, for a batch it
 *    already applied).
 * 5. Firings are rendered (templates, magnitude) and applied to D1 alerts, idempotently by firing
 *    id; the changed alerts go to the live view.
 *
 * Contract: idempotent per `batchKey` (a retried batch never double-counts); throws only when a rule
 * object is unreachable (or D1 fails), so ingest answers 503 and the relay retries the same batch.
 * Subrequests: one per (rule, shard) object touched, at most RULE_SHARDS per stateful rule; the Free
 * plan allows 50 per invocation (docs/alerts.md).
 */
import type { EcsEvent } from "../ecs.ts";
import type { Env } from "../env.ts";
import type { Firing, MatchedEvent, RuleDef } from "./types.ts";
import { renderTemplate } from "./template.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { compileRule, compileRuleSet, groupKeyOf, type CompiledRuleSet } from "./project.ts";
import { ENGINES } from "./engines/index.ts";
import { magnitude } from "./magnitude.ts";
import { firingId, loadEnabledRules, ruleObjectName, shardOf, type StoredRule } from "./registry.ts";
import { applyFirings, type AlertInput } from "../store/alerts.ts";
import type { ApplyResult } from "../../durable-objects/rule-state.ts";

export interface EvaluateResult {
  /** Alerts created or changed by this batch. */
  alerts: number;
  /** Events kept out of alerting by suppress rules. */
  suppressed: number;
  /** Matches the stateful engines ignored as later than their rule tolerates (for the pipeline counters). */
  late: number;
}

/** RuleState RPCs in flight at once for one batch. */
export const RPC_CONCURRENCY = 6;
/** Attempts per RPC when the error says it is retryable (never for `overloaded`). */
const RPC_ATTEMPTS = 3;
const RPC_BACKOFF_MS = 50;

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

/** Per-isolate: rebuilt only when the (id, version) list of enabled rules changes. */
let cachedSets: RuleSets | undefined;

/** The enabled rules' sets, compiled once per isolate and rule change. */
export function ruleSets(rules: readonly StoredRule[]): RuleSets {
  const key = rules.map((r) => `${r.def.id}@${r.version}`).join("\u0000");
  if (cachedSets?.key !== key) cachedSets = buildRuleSets(rules, key);
  return cachedSets;
}

/** Compiles rule sets, skipping (and logging) a rule that fails to compile rather than stalling ingest. */
export function buildRuleSets(rules: readonly StoredRule[], key = ""): RuleSets {
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
  return { key, suppress: compileRuleSet(suppress), alerting: compileRuleSet(alerting.map((r) => r.def)), versions: alerting.map((r) => r.version) };
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

// --- Calling rule objects

interface RpcError {
  retryable?: boolean;
  overloaded?: boolean;
}

/** Runs `call` with a fresh stub per attempt; retries only errors marked retryable and never `overloaded`. */
async function withRetry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const e = err as RpcError;
      if (attempt >= RPC_ATTEMPTS || e?.overloaded || !e?.retryable) throw err;
      await new Promise((r) => setTimeout(r, RPC_BACKOFF_MS * 2 ** (attempt - 1)));
    }
  }
}

async function inParallel<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
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
 */
export function planBatch(sets: RuleSets, batchKey: string, events: readonly EcsEvent[]): BatchPlan {
  const suppressed = suppressedIds(sets, events);
  const kept = suppressed.size ? events.filter((e) => !suppressed.has(e.id)) : events;
  const inputs: AlertInput[] = [];
  const calls = new Map<string, RuleCall>();
  const matches = sets.alerting.matchBatch(kept);
  sets.alerting.rules.forEach(({ rule }, i) => {
    const singleSeq = new Map<string, number>();
    for (const m of matches[i]!) {
      const key = groupKeyOf(rule, m);
      if (rule.type === "single") {
        let seq = singleSeq.get(key) ?? 0;
        const firings: Firing[] = ENGINES.single.step(rule, undefined as never, m, m.ts).firings.map((f) => ({
          ...f,
          id: firingId(rule.id, key, batchKey, seq++),
          ruleId: rule.id,
        }));
        singleSeq.set(key, seq);
        inputs.push(...toAlertInputs(rule, firings));
        continue;
      }
      const name = ruleObjectName(rule.id, shardOf(key));
      let call = calls.get(name);
      if (!call) calls.set(name, (call = { name, rule, version: sets.versions[i]!, events: [] }));
      call.events.push(m);
    }
  });
  return { suppressed, inputs, calls: [...calls.values()] };
}

// --- Entry point

export async function evaluateBatch(env: Env, batchKey: string, events: readonly EcsEvent[]): Promise<EvaluateResult> {
  if (events.length === 0) return { alerts: 0, suppressed: 0, late: 0 };
  const rules = await loadEnabledRules(env);
  if (rules.length === 0) return { alerts: 0, suppressed: 0, late: 0 };
  const { suppressed, inputs, calls } = planBatch(ruleSets(rules), batchKey, events);

  const results = await inParallel(
    calls.map((call) => () =>
      withRetry(async () => {
        // A fresh stub per attempt: a stub that threw may be broken.
        const r = (await env.RULE_STATE.get(env.RULE_STATE.idFromName(call.name)).apply(batchKey, call.rule, call.version, call.events)) as ApplyResult;
        return { call, firings: r.firings, late: r.late ?? 0 };
      }),
    ),
    RPC_CONCURRENCY,
  );
  let late = 0;
  for (const r of results) {
    inputs.push(...toAlertInputs(r.call.rule, r.firings));
    late += r.late;
  }
  if (inputs.length === 0) return { alerts: 0, suppressed: suppressed.size, late };
  const { changed } = await applyFirings(env.DB, inputs, Date.now());
  if (changed.length) {
    // Imported here, not at the top: live.ts reaches the LiveHub class (cloudflare:workers), and
    // keeping this module free of it lets Node benchmarks import planBatch.
    const { notifyAlerts } = await import("../live.ts");
    await notifyAlerts(env, changed);
  }
  return { alerts: changed.length, suppressed: suppressed.size, late };
}
