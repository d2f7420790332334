/**
 * The Worker's bindings and settings, validated once at the entry point (see `readEnv`).
 * Everything that reaches the platform goes through this type.
 */
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
  /**
   * Optional libSQL/Turso database used instead of D1 for everything (secrets: `wrangler secret put
   * LIBSQL_URL` and `LIBSQL_AUTH_TOKEN`). Unset: D1 (`DB`).
   */
  LIBSQL_URL?: string;
  /** Optional raw archive (R2): every accepted batch as gzip NDJSON (workers/archive.ts). */
  ARCHIVE?: R2Bucket;
  LIBSQL_AUTH_TOKEN?: string;
}

/** Scopes a token can hold. `admin` implies `read` and `ingest`. */
export type Scope = "ingest" | "read" | "admin";
export const SCOPES: readonly Scope[] = ["ingest", "read", "admin"];
