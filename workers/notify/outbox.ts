/**
 * The hand-off from the alert lifecycle to the Notifier (durable-objects/notifier.ts): ONE RPC per
 * batch of alert changes, carrying only the fields routing and messages read. Called wherever alert
 * changes are published (workers/live.ts notifyAlerts: ingest, RuleState alarms, API actions).
 *
 * Invariant: never throws and never sends anything itself, so a slow or failing receiver cannot delay
 * or fail ingest; the Notifier sends from its alarm. A hand-off that fails (the object unreachable) is
 * logged and counted in the log line; the alert itself is already stored.
 */
import type { Env } from "../env.ts";
import { NOTIFIER_NAME } from "../../durable-objects/notifier.ts";
import { summarizeAlert, type AlertSummary } from "./model.ts";

/** Alert changes per RPC (keeps one call far below the RPC message size limit). */
const HANDOFF_CHUNK = 500;

export function notifierStub(env: Env) {
  return env.NOTIFIER.get(env.NOTIFIER.idFromName(NOTIFIER_NAME));
}

export async function handOffAlerts(env: Env, alerts: readonly unknown[]): Promise<void> {
  if (!alerts.length || !env.NOTIFIER) return;
  const summaries = (alerts as AlertSummary[]).filter((a) => a && typeof a.id === "string" && typeof a.status === "string").map(summarizeAlert);
  try {
    for (let i = 0; i < summaries.length; i += HANDOFF_CHUNK) await notifierStub(env).handOff(summaries.slice(i, i + HANDOFF_CHUNK));
  } catch (e) {
    console.error(JSON.stringify({ level: "error", where: "notify.handOff", alerts: summaries.length, error: String(e) }));
  }
}
