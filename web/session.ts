/**
 * Web view sessions: login exchanges a read or admin token (or ADMIN_TOKEN) for a session cookie, and a
 * CredentialResolver (workers/auth.ts) turns that cookie back into a Principal for pages and /v1 alike.
 *
 * Invariants:
 * - The cookie holds a random 256-bit id; `sessions` stores only SHA-256(id), so a database leak yields
 *   no usable cookie.
 * - `sessions.principal` names what logged in: a token id (revoking the token ends its sessions: the
 *   resolver joins `tokens`), `admin:<8 hex of SHA-256(ADMIN_TOKEN)>` (rotating the secret ends them), or
 *   `access:<email>` (valid only while Access is configured).
 * - Scopes are re-read from the token on every request, so a session never holds more than its token.
 * - A state-changing request authenticated by the cookie must carry `X-CSRF-Token` equal to the session's
 *   synchronizer token (`sessions.csrf`, also rendered into each page); SameSite=Strict is the second
 *   layer. Bearer clients send no cookie and are unaffected.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { type AppEnv, type Principal, safeEqual, sha256Hex } from "../workers/auth.ts";
import type { Env, Scope } from "../workers/env.ts";
import { PorchlightError } from "../workers/errors.ts";
import { verifyAccessJwt } from "./access.ts";
import { storeOf } from "../workers/store/d1.ts";

/** `__Host-` prefix: the browser only accepts it Secure, Path=/, without Domain (no subdomain can set it). */
export const SESSION_COOKIE = "__Host-pl_session";
/** Absolute session lifetime, ms (no sliding renewal: a stolen cookie dies on schedule). */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
/** Login attempts allowed per client IP per window; the next one gets 429. */
export const LOGIN_MAX_ATTEMPTS = 10;
/** Login rate-limit window, ms. */
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/** Header carrying the CSRF token on cookie-authenticated state-changing requests. */
export const CSRF_HEADER = "x-csrf-token";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export interface Session {
  principal: Principal;
  csrf: string;
  idHash: string;
  expiresAt: number;
}

function randomToken(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function adminPrincipalKey(env: Env): Promise<string> {
  return `admin:${(await sha256Hex(env.ADMIN_TOKEN ?? "")).slice(0, 8)}`;
}

/** The `sessions.principal` value for a principal that has just logged in. */
export async function principalKey(env: Env, p: Principal): Promise<string> {
  if (p.id === "admin") return adminPrincipalKey(env);
  return p.id;
}

export async function createSession(env: Env, principal: string, scopes: Scope[], now = Date.now()) {
  const id = randomToken(32);
  const csrf = randomToken(24);
  const expiresAt = now + SESSION_TTL_MS;
  await storeOf(env).createSession({ idHash: await sha256Hex(id), principal, scopes, csrf, createdAt: now, expiresAt }, now);
  return { id, csrf, expiresAt };
}

export function sessionCookie(id: string, expiresAt: number): string {
  const maxAge = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAge}`;
}
export const CLEAR_SESSION_COOKIE = `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;

/** Reads the session named by the request's cookie; null when absent, unknown, expired or revoked. */
export async function readSession(c: Context<AppEnv>): Promise<Session | null> {
  const id = getCookie(c, SESSION_COOKIE);
  if (!id || id.length > 128) return null;
  const idHash = await sha256Hex(id);
  const store = storeOf(c.env);
  const row = await store.getSession(idHash);
  if (!row) return null;
  const now = Date.now();
  let principal: Principal | null = null;
  if (row.expiresAt > now) {
    if (row.principal.startsWith("admin:")) {
      if (row.principal === (await adminPrincipalKey(c.env)) && c.env.ADMIN_TOKEN) {
        principal = { id: "admin", name: "admin", scopes: ["admin"], via: "session" };
      }
    } else if (row.principal.startsWith("access:")) {
      if (c.env.ACCESS_TEAM_DOMAIN && c.env.ACCESS_AUD) {
        principal = { id: row.principal, name: row.principal.slice(7), scopes: row.scopes as Scope[], via: "session" };
      }
    } else if (row.token !== null) {
      const scopes = (row.token.scopes as Scope[]).filter((s) => s !== "ingest");
      if (scopes.length) principal = { id: row.principal, name: row.token.name, scopes, via: "session" };
    }
  }
  if (!principal) {
    // Expired, revoked or rotated: forget it now so the table does not grow with dead sessions.
    await store.deleteSession(idHash);
    return null;
  }
  return { principal, csrf: row.csrf, idHash, expiresAt: row.expiresAt };
}

export async function deleteSession(env: Env, idHash: string): Promise<void> {
  await storeOf(env).deleteSession(idHash);
}

/** True when a state-changing request comes from another origin (defence in depth next to the CSRF token). */
export function crossOrigin(c: Context<AppEnv>): boolean {
  const origin = c.req.header("origin");
  if (!origin) return c.req.header("sec-fetch-site") === "cross-site";
  return origin !== new URL(c.req.url).origin;
}

/** Enforces the CSRF rule for a cookie-authenticated request; throws 403 when it is broken. */
export async function checkCsrf(c: Context<AppEnv>, session: Session, supplied: string | undefined): Promise<void> {
  if (SAFE_METHODS.has(c.req.method)) return;
  if (crossOrigin(c)) throw new PorchlightError("forbidden", "Cross-origin request refused");
  if (!supplied || !(await safeEqual(supplied, session.csrf))) {
    throw new PorchlightError("forbidden", `Missing or invalid CSRF token (send the page's token in ${CSRF_HEADER})`);
  }
}

/**
 * Cloudflare Access principal for read-only requests. State-changing requests need a session (and so a
 * CSRF token): Access sends its assertion with every request, cross-site ones included.
 */
export async function accessPrincipal(c: Context<AppEnv>): Promise<{ email: string } | null> {
  const { ACCESS_TEAM_DOMAIN: team, ACCESS_AUD: aud } = c.env;
  const jwt = c.req.header("cf-access-jwt-assertion");
  if (!team || !aud || !jwt) return null;
  const r = await verifyAccessJwt(jwt, team, aud);
  if ("reason" in r) {
    console.warn(JSON.stringify({ level: "warn", msg: "Access assertion refused", reason: r.reason }));
    return null;
  }
  return { email: r.email };
}

/** Scopes given to a user that Cloudflare Access let through: the Access policy is the gate. */
export const ACCESS_SCOPES: Scope[] = ["admin"];

/** The resolver registered with addCredentialResolver: session cookie (with CSRF), then Access for safe methods. */
export async function resolveWebCredentials(c: Context<AppEnv>): Promise<Principal | null> {
  const session = await readSession(c);
  if (session) {
    await checkCsrf(c, session, c.req.header(CSRF_HEADER));
    return session.principal;
  }
  if (SAFE_METHODS.has(c.req.method)) {
    const a = await accessPrincipal(c);
    if (a) return { id: `access:${a.email}`, name: a.email, scopes: ACCESS_SCOPES, via: "access" };
  }
  return null;
}

export function clientIp(c: Context<AppEnv>): string {
  return c.req.header("cf-connecting-ip") ?? "unknown";
}

/**
 * Counts a login attempt for `ip` in a fixed window and says whether it may proceed. One upsert:
 * the window restarts when the previous one is over.
 */
export async function countLoginAttempt(env: Env, ip: string, now = Date.now()): Promise<{ allowed: boolean; retryAfterS: number }> {
  const { count, windowStart } = await storeOf(env).countLoginAttempt(ip, now, LOGIN_WINDOW_MS);
  const retryAfterS = Math.max(1, Math.ceil((windowStart + LOGIN_WINDOW_MS - now) / 1000));
  return { allowed: count <= LOGIN_MAX_ATTEMPTS, retryAfterS };
}

export async function clearLoginAttempts(env: Env, ip: string): Promise<void> {
  await storeOf(env).clearLoginAttempts(ip);
}

/** A post-login redirect target: only a path on this origin (no `//host`, no backslash tricks). */
export function safeNext(next: string | undefined): string | undefined {
  if (!next || next.length > 512) return undefined;
  if (!next.startsWith("/") || next.startsWith("//") || next.includes("\\") || next.startsWith("/login")) return undefined;
  return next;
}
