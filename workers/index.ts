/**
 * Worker entry point: the HTTP app, plus the Durable Object classes that wrangler.toml binds.
 */
import { createApp } from "./app.ts";
import type { Env } from "./env.ts";
import { runScheduled } from "./scheduled.ts";

export { RuleState } from "../durable-objects/rule-state.ts";
export { LiveHub } from "../durable-objects/live-hub.ts";
export { Heartbeat } from "../durable-objects/heartbeat.ts";
export { NetworkState } from "../durable-objects/network-state.ts";
export { Notifier } from "../durable-objects/notifier.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled: (controller, env, ctx) => ctx.waitUntil(runScheduled(env, controller.scheduledTime, controller.cron)),
} satisfies ExportedHandler<Env>;
