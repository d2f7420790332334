/**
 * The hand-off from the alert lifecycle to the Notifier (durable-objects/notifier.ts): ONE RPC per
 * batch of alert changes, carrying only the fields routing and messages read. Called wherever alert
 * changes are published (workers/live.ts notifyAlerts: ingest, RuleState alarms, API actions).
 *
 * Invariant: never throws and never sends anything itself, so a slow or failing receiver cannot delay
 * or fail ingest; the Notifier sends from its alarm. handOff is idempotent (the Notifier derives reasons
 * by comparing with what it saw), so a failed call is retried once with a fresh stub, except when the
 * object is overloaded (retrying would add load). A hand-off that still fails is logged; the alert itself
 * is already stored, and its next change is compared with what the Notifier last saw.
 */
import type { Env } from "../env.ts";
import { NOTIFIER_NAME, type DeliveryJson, type NotifierStats } from "../../durable-objects/notifier.ts";
import { summarizeAlert, type AlertSummary } from "./model.ts";

/** Alert changes per RPC (keeps one call far below the RPC message size limit). */
const HANDOFF_CHUNK = 500;
/** Tries per chunk: the first and one retry. */
const HANDOFF_ATTEMPTS = 2;

export function notifierStub(env: Env) {
  return env.NOTIFIER.get(env.NOTIFIER.idFromName(NOTIFIER_NAME));
}

/**
 * Reads for pages that show notifications beside something else (the alert detail, /v1/metrics): an
 * unreachable Notifier leaves that part empty (logged) instead of failing the whole answer.
 */
export async function deliveriesOf(env: Env, alertId: string): Promise<DeliveryJson[]> {
  try {
    return await notifierStub(env).deliveries({ alertId, limit: 100 });
  } catch (e) {
    console.error(JSON.stringify({ level: "error", where: "notify.deliveriesOf", error: String(e) }));
    return [];
  }
}

export async function notifierStats(env: Env): Promise<NotifierStats | null> {
  try {
    return await notifierStub(env).stats();
  } catch (e) {
    console.error(JSON.stringify({ level: "error", where: "notify.stats", error: String(e) }));
    return null;
  }
}

export async function handOffAlerts(env: Env, alerts: readonly unknown[]): Promise<void> {
  if (!alerts.length || !env.NOTIFIER) return;
  const summaries = (alerts as AlertSummary[]).filter((a) => a && typeof a.id === "string" && typeof a.status === "string").map(summarizeAlert);
  for (let i = 0; i < summaries.length; i += HANDOFF_CHUNK) {
    const chunk = summaries.slice(i, i + HANDOFF_CHUNK);
    for (let attempt = 1; ; attempt++) {
      try {
        // A fresh stub per attempt: a stub that threw may be broken.
        await notifierStub(env).handOff(chunk);
        break;
      } catch (e) {
        const overloaded = /overloaded/i.test(String((e as Error)?.message ?? e));
        if (attempt < HANDOFF_ATTEMPTS && !overloaded) continue;
        console.error(JSON.stringify({ level: "error", where: "notify.handOff", alerts: chunk.length, attempt, error: String(e) }));
        break;
      }
    }
  }
}
