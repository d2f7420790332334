/**
 * The Worker's bindings and settings, validated once at the entry point (see `readEnv`).
 * Everything that reaches the platform goes through this type.
 */
import type { RuleState } from "../durable-objects/rule-state.ts";
import type { LiveHub } from "../durable-objects/live-hub.ts";
import type { Notifier } from "../durable-objects/notifier.ts";

export interface Env {
  DB: D1Database;
  /** Bootstrap secret with every scope. Set with `wrangler secret put ADMIN_TOKEN`; locally in `.dev.vars`. */
  ADMIN_TOKEN: string;
  /** Per-(rule, shard) correlation state. */
  RULE_STATE: DurableObjectNamespace<RuleState>;
  /** Fan-out of live alert updates to web view sockets (hibernation API). */
  LIVE: DurableObjectNamespace<LiveHub>;
  /** Static files of the web view (web/public). */
  ASSETS: Fetcher;
  /** Optional Cloudflare Access: team domain (e.g. `home.cloudflareaccess.com`) and application audience tag. */
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  /** The notification outbox (one object, `notifier`): schedule, deliveries, retries, blackout digests. */
  NOTIFIER: DurableObjectNamespace<Notifier>;
  /** 32 random bytes, base64: seals channel secrets and signs action URLs. `npm start` generates it into .dev.vars. */
  NOTIFY_KEY?: string;
  /** Public origin of this Worker (e.g. https://porchlight.example.com): links and action URLs in notifications. */
  PUBLIC_URL?: string;
  /** Web Push VAPID key pair (base64url: the uncompressed P-256 point, the private scalar) and contact. */
  VAPID_PUBLIC_KEY?: string;
  VAPID_PRIVATE_KEY?: string;
  VAPID_SUBJECT?: string;
  /** Cloudflare Email Service binding (`[[send_email]]`) and the default sender address. */
  EMAIL?: SendEmail;
  NOTIFY_EMAIL_FROM?: string;
}

/** Scopes a token can hold. `admin` implies `read` and `ingest`. */
export type Scope = "ingest" | "read" | "admin";
export const SCOPES: readonly Scope[] = ["ingest", "read", "admin"];
