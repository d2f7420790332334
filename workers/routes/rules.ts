/** Routes of /v1/rules (to be built: see the owning issue). */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";

export function registerRuleRoutes(_app: Hono<AppEnv>): void {}
