/**
 * `GET /v1/usage` (read scope): what Porchlight spent today and this month, the projection to the
 * month's end, and each figure against the Free and Paid plans (workers/usage.ts, docs/operations.md).
 */
import type { Hono } from "hono";
import { requireScope, type AppEnv } from "../auth.ts";
import { readUsage } from "../usage.ts";

export function registerUsageRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/usage", requireScope("read"), async (c) => c.json(await readUsage(c.env, Date.now())));
}
