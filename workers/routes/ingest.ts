/** Routes of /v1/ingest (to be built: see the owning issue). */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";

export function registerIngestRoutes(_app: Hono<AppEnv>): void {}
