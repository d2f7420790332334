/** Routes of /v1/tokens (to be built: see the owning issue). */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";

export function registerTokenRoutes(_app: Hono<AppEnv>): void {}
