/**
 * Live updates to the web view. The alert store calls `notifyAlerts` after every change; the LiveHub
 * Durable Object fans it out to connected sockets. PLACEHOLDER until the web view lands.
 */
import type { Env } from "./env.ts";

export async function notifyAlerts(_env: Env, _alerts: readonly unknown[]): Promise<void> {}
