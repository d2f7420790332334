/** Routes of /v1/alerts (to be built: see the owning issue). */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";

export function registerAlertRoutes(_app: Hono<AppEnv>): void {}
