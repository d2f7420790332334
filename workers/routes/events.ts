/** Routes of /v1/events (to be built: see the owning issue). */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";

export function registerEventRoutes(_app: Hono<AppEnv>): void {}
