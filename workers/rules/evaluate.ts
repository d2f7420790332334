/**
 * Rule evaluation for one stored ingest batch (called by POST /v1/ingest after the events are in D1).
 * PLACEHOLDER until the rule engine lands: evaluates nothing.
 *
 * Contract: idempotent per `batchKey` (a retried batch never double-counts), one Durable Object RPC
 * per (rule, shard) per batch, throws only when a rule object is unreachable (ingest then answers 503
 * so that the relay retries the same batch).
 */
import type { EcsEvent } from "../ecs.ts";
import type { Env } from "../env.ts";

export interface EvaluateResult {
  alerts: number;
  suppressed: number;
}

export async function evaluateBatch(_env: Env, _batchKey: string, _events: readonly EcsEvent[]): Promise<EvaluateResult> {
  return { alerts: 0, suppressed: 0 };
}
