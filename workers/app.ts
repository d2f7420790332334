/**
 * The Hono application: middleware, the error handler and the route table. Each resource registers
 * its routes from its own file in workers/routes/ (and the web view from web/); every route is
 * registered from the table below, and no register function registers another's routes.
 */
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./auth.ts";
import { PorchlightError, errorBody, type ErrorCode } from "./errors.ts";
import { readEnv } from "./env.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerIngestRoutes } from "./routes/ingest.ts";
import { registerParseRoutes } from "./routes/parse.ts";
import { registerMetricsRoutes } from "./routes/metrics.ts";
import { registerEventRoutes } from "./routes/events.ts";
import { registerTokenRoutes } from "./routes/tokens.ts";
import { registerExtractorRoutes } from "./routes/extractors.ts";
import { registerSourceRoutes } from "./routes/sources.ts";
import { registerRuleRoutes } from "./routes/rules.ts";
import { registerRuleImportRoutes } from "./routes/rule-import.ts";
import { registerListRoutes } from "./routes/lists.ts";
import { registerAlertRoutes } from "./routes/alerts.ts";
import { registerHeartbeatRoutes } from "./routes/heartbeats.ts";
import { registerRetentionRoutes } from "./routes/retention.ts";
import { registerUsageRoutes } from "./routes/usage.ts";
import { registerArchiveRoutes } from "./routes/archive.ts";
import { meterRequests } from "./usage.ts";
import { registerNetworkRoutes } from "./routes/devices.ts";
import { registerChannelRoutes } from "./routes/channels.ts";
import { registerNotifyActionRoutes } from "./routes/notify-actions.ts";
import { registerWebRoutes } from "../web/routes.tsx";
import { securityHeaders } from "../web/security.ts";

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    c.set("requestId", c.req.header("cf-ray") ?? crypto.randomUUID());
    // The environment, validated once per isolate (readEnv caches the verdict per env object).
    const env = readEnv(c.env ?? {});
    if (!env.ok) throw new PorchlightError("misconfigured", `The Worker is misconfigured: ${env.problems.join("; ")}`);
    await next();
  });
  // Every answer (pages, API, errors) carries the console's security headers and is never cached.
  app.use("*", securityHeaders);
  // The cost meter: every request's D1 rows, queries and Durable Object calls (workers/usage.ts).
  app.use("*", meterRequests);

  registerHealthRoutes(app);
  registerIngestRoutes(app);
  registerParseRoutes(app);
  registerMetricsRoutes(app);
  registerEventRoutes(app);
  registerTokenRoutes(app);
  registerExtractorRoutes(app);
  registerSourceRoutes(app);
  registerRuleImportRoutes(app);
  registerListRoutes(app);
  registerRuleRoutes(app);
  registerAlertRoutes(app);
  registerHeartbeatRoutes(app);
  registerRetentionRoutes(app);
  registerUsageRoutes(app);
  registerArchiveRoutes(app);
  registerNetworkRoutes(app);
  registerChannelRoutes(app);
  registerNotifyActionRoutes(app);
  registerWebRoutes(app);

  app.notFound((c) => errorAnswer(c, 404, "not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`));

  app.onError(handleError);

  return app;
}

/** The one error handler: a PorchlightError or HTTPException as its 4xx/5xx, anything else as a logged 500. */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof PorchlightError) return errorAnswer(c, err.status, err.code, err.message, err.details);
  if (err instanceof HTTPException) {
    const status = err.status;
    const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthorized" : "bad_request";
    return errorAnswer(c, status, code, err.message || "Bad request");
  }
  // A bug: logged with its stack (never the body), answered without internals.
  return errorAnswer(c, 500, "internal", `Internal error (request ${c.get("requestId")})`, undefined, err);
}

/**
 * Renders an error as `{"error": {"code", "message", "request_id"}}` and logs one JSON line with the
 * same request id: level "error" for 5xx (with the exception when there is one), "info" for 4xx.
 */
function errorAnswer(c: Context<AppEnv>, status: number, code: ErrorCode, message: string, details?: Record<string, unknown>, err?: unknown): Response {
  const requestId = c.get("requestId") ?? "none";
  const line: Record<string, unknown> = { level: status >= 500 ? "error" : "info", requestId, status, code, method: c.req.method, path: new URL(c.req.url).pathname };
  if (status >= 500) line.message = message;
  if (err !== undefined) {
    line.error = String(err);
    line.stack = (err as Error)?.stack;
  }
  (status >= 500 ? console.error : console.log)(JSON.stringify(line));
  return c.json(errorBody(code, message, requestId, details), status as 400);
}
