/**
 * Rule evaluation for one stored ingest batch (called by POST /v1/ingest after the events are in D1).
 * The I/O around the pure plan of workers/rules/plan.ts.
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
 * Subrequests: one per (rule, shard) object touched: one per stateful rule with matches, up to its
 * `shards` (at most MAX_RULE_SHARDS) for a rule that sets it; the Free plan allows 50 per invocation
 * (docs/alerts.md).
 */
import type { EcsEvent } from "../ecs.ts";
import type { Env } from "../env.ts";
import { loadEnabledRules } from "./registry.ts";
import { loadLists } from "./lists.ts";
import { record } from "../table.ts";
import { storeOf } from "../store/d1.ts";
import { notifyAlerts } from "../live.ts";
import { planBatch, ruleSets, toAlertInputs, type ApplyResult } from "./plan.ts";
import { packMatches } from "./packed.ts";

// The pure planning API, re-exported for callers that evaluate (backtest, tests).
export { buildRuleSets, planBatch, ruleSets, suppressedIds, toAlertInputs, type BatchPlan, type RuleCall, type RuleSets } from "./plan.ts";

export interface EvaluateResult {
  /** Alerts created or changed by this batch. */
  alerts: number;
  /** Events kept out of alerting by suppress rules. */
  suppressed: number;
  /** Matches the stateful engines ignored as later than their rule tolerates (for the pipeline counters). */
  late: number;
  /** The same per rule id, only rules with late matches (counters `late_matches.rule.<id>`). */
  lateByRule?: Record<string, number>;
}

/** RuleState RPCs in flight at once for one batch. */
export const RPC_CONCURRENCY = 6;
/** Attempts per RPC when the error says it is retryable (never for `overloaded`). */
const RPC_ATTEMPTS = 3;
const RPC_BACKOFF_MS = 50;

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
  if (events.length === 0) return { alerts: 0, suppressed: 0, late: 0 };
  const rules = await loadEnabledRules(env);
  if (rules.length === 0) return { alerts: 0, suppressed: 0, late: 0 };
  const lists = await loadLists(storeOf(env), rules.map((r) => r.def));
  const { suppressed, inputs, calls } = planBatch(ruleSets(rules, lists), batchKey, events);

  const results = await inParallel(
    calls.map((call) => () =>
      withRetry(async () => {
        // A fresh stub per attempt: a stub that threw may be broken.
        const r = (await env.RULE_STATE.get(env.RULE_STATE.idFromName(call.name)).apply(batchKey, call.rule, call.version, packMatches(call.events))) as ApplyResult;
        return { call, firings: r.firings, late: r.late ?? 0 };
      }),
    ),
    RPC_CONCURRENCY,
  );
  let late = 0;
  const lateByRule: Record<string, number> = record();
  for (const r of results) {
    inputs.push(...toAlertInputs(r.call.rule, r.firings));
    late += r.late;
    if (r.late) lateByRule[r.call.rule.id] = (lateByRule[r.call.rule.id] ?? 0) + r.late;
  }
  if (inputs.length === 0) return { alerts: 0, suppressed: suppressed.size, late, lateByRule };
  const { changed } = await storeOf(env).applyFirings(inputs, Date.now());
  if (changed.length) await notifyAlerts(env, changed);
  return { alerts: changed.length, suppressed: suppressed.size, late, lateByRule };
}
