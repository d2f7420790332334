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
import { compileRule, groupKeyOf, type CompiledRule } from "./project.ts";
import { ENGINES } from "./engines/index.ts";
import { magnitude } from "./magnitude.ts";
import { firingId, loadEnabledRules, ruleObjectName, shardOf, type StoredRule } from "./registry.ts";
import { applyFirings, type AlertInput } from "../store/alerts.ts";
import { notifyAlerts } from "../live.ts";
import type { ApplyResult } from "../../durable-objects/rule-state.ts";

export interface EvaluateResult {
  /** Alerts created or changed by this batch. */
  alerts: number;
  /** Events kept out of alerting by suppress rules. */
  suppressed: number;
}

/** RuleState RPCs in flight at once for one batch. */
export const RPC_CONCURRENCY = 6;
/** Attempts per RPC when the error says it is retryable (never for `overloaded`). */
const RPC_ATTEMPTS = 3;
const RPC_BACKOFF_MS = 50;

// --- Compiling

/** A rule compiled for stateless matching (project.ts), with the version it was loaded at. */
export interface LoadedRule {
  def: RuleDef;
  version: number;
  compiled: CompiledRule;
}

const compiledCache = new WeakMap<StoredRule, LoadedRule>();

/** Compiles once per loaded rule version (the registry keeps the same StoredRule while the version holds). */
export function loadRule(stored: StoredRule): LoadedRule {
  let c = compiledCache.get(stored);
  if (!c) compiledCache.set(stored, (c = { def: stored.def, version: stored.version, compiled: compileRule(stored.def) }));
  return c;
}

/** Splits rules into suppressors and alerting rules, compiled. */
export function compileRules(rules: readonly StoredRule[]): { suppress: LoadedRule[]; alerting: LoadedRule[] } {
  const suppress: LoadedRule[] = [];
  const alerting: LoadedRule[] = [];
  for (const r of rules) {
    let loaded: LoadedRule;
    try {
      loaded = loadRule(r);
    } catch (err) {
      // Stored rules passed validateRule; one that still fails to compile is skipped, not allowed to stall ingest.
      console.error(JSON.stringify({ level: "error", where: "compileRules", rule: r.def.id, error: String(err) }));
      continue;
    }
    (r.def.type === "suppress" ? suppress : alerting).push(loaded);
  }
  return { suppress, alerting };
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

// --- Entry point

export async function evaluateBatch(env: Env, batchKey: string, events: readonly EcsEvent[]): Promise<EvaluateResult> {
  if (events.length === 0) return { alerts: 0, suppressed: 0 };
  const rules = await loadEnabledRules(env);
  if (rules.length === 0) return { alerts: 0, suppressed: 0 };
  const { suppress, alerting } = compileRules(rules);

  let suppressed = 0;
  const inputs: AlertInput[] = [];
  const singleSeq = new Map<string, number>();
  const calls = new Map<string, { rule: LoadedRule; name: string; events: MatchedEvent[] }>();
  for (const event of events) {
    if (suppress.some((s) => s.compiled.match(event) !== undefined)) {
      suppressed++;
      continue;
    }
    for (const rule of alerting) {
      const m = rule.compiled.match(event);
      if (!m) continue;
      const key = groupKeyOf(rule.def, m);
      if (rule.def.type === "single") {
        // Stateless: the single engine runs here, no Durable Object.
        const seqKey = `${rule.def.id}\u0000${key}`;
        let seq = singleSeq.get(seqKey) ?? 0;
        const firings: Firing[] = ENGINES.single.step(rule.def, undefined as never, m, Date.now()).firings.map((f) => ({
          ...f,
          id: firingId(rule.def.id, key, batchKey, seq++),
          ruleId: rule.def.id,
        }));
        singleSeq.set(seqKey, seq);
        inputs.push(...toAlertInputs(rule.def, firings));
        continue;
      }
      const name = ruleObjectName(rule.def.id, shardOf(key));
      let call = calls.get(name);
      if (!call) calls.set(name, (call = { rule, name, events: [] }));
      call.events.push(m);
    }
  }

  const results = await inParallel(
    [...calls.values()].map((call) => () =>
      withRetry(async () => {
        // A fresh stub per attempt: a stub that threw may be broken.
        const r = (await env.RULE_STATE.get(env.RULE_STATE.idFromName(call.name)).apply(batchKey, call.rule.def, call.rule.version, call.events)) as ApplyResult;
        return { call, firings: r.firings };
      }),
    ),
    RPC_CONCURRENCY,
  );
  for (const { call, firings } of results) inputs.push(...toAlertInputs(call.rule.def, firings));
  if (inputs.length === 0) return { alerts: 0, suppressed };
  const { changed } = await applyFirings(env.DB, inputs, Date.now());
  if (changed.length) await notifyAlerts(env, changed);
  return { alerts: changed.length, suppressed };
}
