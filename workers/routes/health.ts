/** `GET /healthz`: liveness for load balancers and the relay. Needs no token and reveals nothing. */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";

export function registerHealthRoutes(app: Hono<AppEnv>): void {
  app.get("/healthz", (c) => c.json({ ok: true }));
}
