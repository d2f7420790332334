/** Routes of /v1/extractors (to be built: see the owning issue). */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";

export function registerExtractorRoutes(_app: Hono<AppEnv>): void {}
