/** Routes of /v1/sources (to be built: see the owning issue). */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";

export function registerSourceRoutes(_app: Hono<AppEnv>): void {}
