/**
 * Live updates to the web view. The alert store calls `notifyAlerts` after every change; the LiveHub
 * Durable Object fans it out to connected console sockets, which then re-read GET /v1/alerts (the API
 * stays the source of truth; the message only says what changed).
 *
 * Invariant: never throws. A console that misses an update is a cosmetic loss; an ingest batch that
 * fails because the hub is overloaded or unreachable would lose events. Failures are logged, counted
 * (`live_publishes_dropped` in GET /v1/metrics) and dropped (no retry: the next change publishes again,
 * and the console also refreshes when it reconnects).
 */
import type { Env } from "./env.ts";
import { LIVE_HUB_NAME } from "../durable-objects/live-hub.ts";
import { storeOf } from "./store/d1.ts";

/** The counter of publishes that failed and were dropped. */
export const LIVE_DROPPED_COUNTER = "live_publishes_dropped";
import { handOffAlerts } from "./notify/outbox.ts";

/** Fields sent per alert; the rest is read through the API. Keeps one publish far below message limits. */
const LIVE_FIELDS = ["id", "rule_id", "resource", "severity", "status", "title", "duplicate_count", "last_seen"] as const;
/** Most alerts described in one message; beyond it the console just refreshes. */
const LIVE_MAX_ALERTS = 100;

function summarize(a: unknown): unknown {
  if (!a || typeof a !== "object") return a;
  const o = a as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of LIVE_FIELDS) {
    if (k in o) out[k] = o[k];
  }
  // Accept the drizzle (camelCase) shape too, so callers need not convert.
  if (!("rule_id" in o) && "ruleId" in o) out.rule_id = o.ruleId;
  if (!("duplicate_count" in o) && "duplicateCount" in o) out.duplicate_count = o.duplicateCount;
  if (!("last_seen" in o) && "lastSeen" in o) out.last_seen = o.lastSeen;
  return out;
}

export async function notifyAlerts(env: Env, alerts: readonly unknown[]): Promise<void> {
  // Notifications (issue 11): the one hook of the alert lifecycle into the outbox; never throws.
  await handOffAlerts(env, alerts);
  if (!alerts.length || !env.LIVE) return;
  try {
    const stub = env.LIVE.get(env.LIVE.idFromName(LIVE_HUB_NAME));
    await stub.publish(alerts.slice(0, LIVE_MAX_ALERTS).map(summarize));
  } catch (e) {
    console.warn(JSON.stringify({ level: "warn", msg: "live publish failed", error: String(e) }));
    await storeOf(env).addCounters({ [LIVE_DROPPED_COUNTER]: 1 }).catch(() => {});
  }
}
