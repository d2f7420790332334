/** Web view routes (pages, login, live updates): to be built, see the web view issue. */
import type { Hono } from "hono";
import type { AppEnv } from "../workers/auth.ts";

export function registerWebRoutes(_app: Hono<AppEnv>): void {}
