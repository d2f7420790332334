/**
 * The Hono application: middleware, the error handler and the route table. Each resource registers
 * its routes from its own file in workers/routes/ (and the web view from web/).
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./auth.ts";
import { PorchlightError, errorBody } from "./errors.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerIngestRoutes } from "./routes/ingest.ts";
import { registerEventRoutes } from "./routes/events.ts";
import { registerTokenRoutes } from "./routes/tokens.ts";
import { registerExtractorRoutes } from "./routes/extractors.ts";
import { registerSourceRoutes } from "./routes/sources.ts";
import { registerRuleRoutes } from "./routes/rules.ts";
import { registerAlertRoutes } from "./routes/alerts.ts";
import { registerHeartbeatRoutes } from "./routes/heartbeats.ts";
import { registerRetentionRoutes } from "./routes/retention.ts";
import { registerUsageRoutes } from "./routes/usage.ts";
import { registerArchiveRoutes } from "./routes/archive.ts";
import { meterRequests } from "./usage.ts";
import { registerWebRoutes } from "../web/routes.tsx";
import { securityHeaders } from "../web/security.ts";

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use("*", async (c, next) => {
    c.set("requestId", c.req.header("cf-ray") ?? crypto.randomUUID());
    await next();
  });
  // Every answer (pages, API, errors) carries the console's security headers and is never cached.
  app.use("*", securityHeaders);
  // The cost meter: every request's D1 rows, queries and Durable Object calls (workers/usage.ts).
  app.use("*", meterRequests);

  registerHealthRoutes(app);
  registerIngestRoutes(app);
  registerEventRoutes(app);
  registerTokenRoutes(app);
  registerExtractorRoutes(app);
  registerSourceRoutes(app);
  registerRuleRoutes(app);
  registerAlertRoutes(app);
  registerHeartbeatRoutes(app);
  registerRetentionRoutes(app);
  registerUsageRoutes(app);
  registerArchiveRoutes(app);
  registerWebRoutes(app);

  app.notFound((c) => c.json(errorBody("not_found", `No route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

  app.onError((err, c) => {
    if (err instanceof PorchlightError) {
      return c.json(errorBody(err.code, err.message, err.details), err.status as 400);
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthorized" : "bad_request";
      return c.json(errorBody(code, err.message || "Bad request"), status);
    }
    // A bug: log it with the request id (never the body), answer without internals.
    console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), error: String(err), stack: (err as Error)?.stack }));
    return c.json(errorBody("internal", `Internal error (request ${c.get("requestId")})`), 500);
  });

  return app;
}
