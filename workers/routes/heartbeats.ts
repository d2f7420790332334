/** Routes of /v1/heartbeats (to be built: see the owning issue). */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";

export function registerHeartbeatRoutes(_app: Hono<AppEnv>): void {}
