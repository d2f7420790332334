/**
 * Authentication and scopes. API clients send `Authorization: Bearer <token>`; the web view's session
 * cookie is resolved by web/session.ts into the same `Principal`. Tokens look like
 * `pl_<id>_<secret>`: the id is the primary key of `tokens`, and only SHA-256(token) is stored, so a
 * lookup is one primary-key read and revocation (row deleted) takes effect on the next request.
 */
import type { Context, MiddlewareHandler } from "hono";
import { PorchlightError } from "./errors.ts";
import type { Env, Scope } from "./env.ts";
import { storeOf } from "./store/d1.ts";

export interface Principal {
  /** Token id, `admin` for the bootstrap secret, or `access:<email>` via Cloudflare Access. */
  id: string;
  name: string;
  scopes: Scope[];
  via: "bearer" | "session" | "access";
}

export type AppEnv = {
  Bindings: Env;
  Variables: { principal: Principal; requestId: string };
};

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Constant-time string comparison (both sides are hashed first, so lengths match). */
export async function safeEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([sha256Hex(a), sha256Hex(b)]);
  let diff = 0;
  for (let i = 0; i < ha.length; i++) diff |= ha.charCodeAt(i) ^ hb.charCodeAt(i);
  return diff === 0;
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.includes("admin") || p.scopes.includes(scope);
}

/** `tokens.last_used_at` is refreshed at most this often, ms. */
export const LAST_USED_RESOLUTION_MS = 3_600_000;

const TOKEN_RE = /^pl_([a-z0-9]{8,32})_([A-Za-z0-9_-]{16,128})$/;

/** Resolves a bearer token to a principal, or null when it is unknown or revoked. */
export async function resolveBearer(env: Env, token: string): Promise<Principal | null> {
  if (env.ADMIN_TOKEN && (await safeEqual(token, env.ADMIN_TOKEN))) {
    return { id: "admin", name: "admin", scopes: ["admin"], via: "bearer" };
  }
  const m = TOKEN_RE.exec(token);
  if (!m) return null;
  const store = storeOf(env);
  const found = await store.findToken(m[1]!);
  if (!found) return null;
  if (!(await safeEqual(await sha256Hex(token), found.hash))) return null;
  const row = found.token;
  const now = Date.now();
  if (row.last_used_at === null || now - row.last_used_at > LAST_USED_RESOLUTION_MS) {
    // At most one write per token per resolution interval: D1 bills every written row.
    await store.touchToken(row.id, now).catch(() => {});
  }
  return { id: row.id, name: row.name, scopes: row.scopes as Scope[], via: "bearer" };
}

/**
 * Hook for other credentials (session cookie, Cloudflare Access). Registered by the web view so the
 * API middleware stays one function. Returns null when the request carries none.
 */
export type CredentialResolver = (c: Context<AppEnv>) => Promise<Principal | null>;
const resolvers: CredentialResolver[] = [];
export function addCredentialResolver(r: CredentialResolver): void {
  resolvers.push(r);
}

export async function authenticate(c: Context<AppEnv>): Promise<Principal | null> {
  const header = c.req.header("authorization");
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new PorchlightError("unauthorized", "Authorization header must be 'Bearer <token>'");
    return resolveBearer(c.env, m[1]!);
  }
  for (const r of resolvers) {
    const p = await r(c);
    if (p) return p;
  }
  return null;
}

/** Middleware: 401 without valid credentials, 403 without the scope. */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const p = await authenticate(c);
    if (!p) throw new PorchlightError("unauthorized", "A valid token is required (Authorization: Bearer <token>)");
    if (!hasScope(p, scope)) throw new PorchlightError("forbidden", `This token lacks the '${scope}' scope`);
    c.set("principal", p);
    await next();
  };
}
