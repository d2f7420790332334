/**
 * The Worker's bindings and settings, validated once at the entry point (`readEnv`, called by the first
 * middleware of app.ts): a missing binding or secret is a clear configuration error naming what is
 * wrong, instead of a TypeError deep inside the first route that touches it.
 */
import { z } from "zod";
import type { RuleState } from "../durable-objects/rule-state.ts";
import type { LiveHub } from "../durable-objects/live-hub.ts";
import type { Heartbeat } from "../durable-objects/heartbeat.ts";

export interface Env {
  DB: D1Database;
  /** Bootstrap secret with every scope. Set with `wrangler secret put ADMIN_TOKEN`; locally in `.dev.vars`. */
  ADMIN_TOKEN: string;
  /** Per-(rule, shard) correlation state. */
  RULE_STATE: DurableObjectNamespace<RuleState>;
  /** One object per pinged heartbeat name (its deadline alarm). */
  HEARTBEAT: DurableObjectNamespace<Heartbeat>;
  /** Fan-out of live alert updates to web view sockets (hibernation API). */
  LIVE: DurableObjectNamespace<LiveHub>;
  /** Static files of the web view (web/public). */
  ASSETS: Fetcher;
  /** Optional Cloudflare Access: team domain (e.g. `home.cloudflareaccess.com`) and application audience tag. */
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
}

/** Shortest ADMIN_TOKEN accepted: it is a bearer secret with every scope. */
export const ADMIN_TOKEN_MIN = 16;

/** An object with these methods (bindings are host objects: only their shape can be checked). */
const binding = (what: string, ...methods: string[]) =>
  z.custom<unknown>(
    (v) => typeof v === "object" && v !== null && methods.every((m) => typeof (v as Record<string, unknown>)[m] === "function"),
    { message: `must be bound to ${what} (wrangler.toml)` },
  );

const ENV_SCHEMA = z.object({
    DB: binding("a D1 database", "prepare", "batch"),
    ADMIN_TOKEN: z.string({ message: "must be set (`wrangler secret put ADMIN_TOKEN`; locally in .dev.vars)" })
      .min(ADMIN_TOKEN_MIN, { message: `must be at least ${ADMIN_TOKEN_MIN} characters` }),
    RULE_STATE: binding("the RuleState Durable Object namespace", "idFromName", "get"),
    HEARTBEAT: binding("the Heartbeat Durable Object namespace", "idFromName", "get"),
    LIVE: binding("the LiveHub Durable Object namespace", "idFromName", "get"),
    ASSETS: binding("the static assets (web/public)", "fetch"),
    ACCESS_TEAM_DOMAIN: z.string().regex(/^[a-z0-9.-]+$/i, { message: "must be a host name like home.cloudflareaccess.com" }).optional(),
    ACCESS_AUD: z.string().min(1).optional(),
});

/** What is wrong with the environment: one line per problem, naming the variable (never its value). */
export type EnvResult = { ok: true; env: Env } | { ok: false; problems: string[] };

// Pure cache: the verdict per env object (one per isolate in production), so a request pays one lookup.
const checked = new WeakMap<object, EnvResult>();

/** Validates the bindings and settings of `raw` (the Worker's env). */
export function readEnv(raw: object): EnvResult {
  let r = checked.get(raw);
  if (r === undefined) {
    const parsed = ENV_SCHEMA.safeParse(raw);
    const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".") || "env"} ${i.message}`);
    const access = raw as { ACCESS_TEAM_DOMAIN?: unknown; ACCESS_AUD?: unknown };
    if ((access.ACCESS_TEAM_DOMAIN === undefined) !== (access.ACCESS_AUD === undefined)) {
      problems.push("ACCESS_TEAM_DOMAIN and ACCESS_AUD are set together or not at all");
    }
    r = problems.length === 0 ? { ok: true, env: raw as Env } : { ok: false, problems };
    checked.set(raw, r);
  }
  return r;
}

/** Scopes a token can hold. `admin` implies `read` and `ingest`. */
export type Scope = "ingest" | "read" | "admin";
export const SCOPES: readonly Scope[] = ["ingest", "read", "admin"];
