/**
 * Web view routes on the Worker's app: login/logout, the page shells, the /live WebSocket and the
 * read-scope aggregates (workers/routes/stats.ts). Also registers the session-cookie credential
 * resolver, so /v1 routes accept a logged-in browser exactly as they accept a bearer token.
 *
 * Nothing here shows data without a session: pages redirect to /login, /live answers 401. Static files
 * (web/public) hold only the app shell and are public.
 */
import type { Context, Hono } from "hono";
import { addCredentialResolver, authenticate, hasScope, resolveBearer, type AppEnv, type Principal } from "../workers/auth.ts";
import { PorchlightError } from "../workers/errors.ts";
import { registerStatsRoutes } from "../workers/routes/stats.ts";
import { EXPIRES_HEADER, LIVE_HUB_NAME, SESSION_HEADER } from "../durable-objects/live-hub.ts";
import { renderLogin, renderPage, type PageName } from "./pages.tsx";
import {
  ACCESS_SCOPES,
  CLEAR_SESSION_COOKIE,
  accessPrincipal,
  clearLoginAttempts,
  clientIp,
  countLoginAttempt,
  createSession,
  crossOrigin,
  deleteSession,
  principalKey,
  readSession,
  resolveWebCredentials,
  safeNext,
  sessionCookie,
} from "./session.ts";

/** Path → page, for the route table and wrangler.toml's run_worker_first list. */
export const PAGE_ROUTES: [string, PageName][] = [
  ["/", "alerts"],
  ["/alerts", "alerts"],
  ["/alerts/:id", "alert"],
  ["/events", "events"],
  ["/rules", "rules"],
  ["/heartbeats", "heartbeats"],
  ["/overview", "overview"],
  ["/settings", "settings"],
  ["/devices", "devices"],
  ["/devices/:id", "device"],
  ["/usage", "usage"],
];

let resolverRegistered = false;

/**
 * How long a bearer-authenticated live socket lives, ms. The hub closes it at the first publish after
 * this; the client reconnects and its token is checked again, so a revoked token stops receiving
 * within this time (a session socket lives as long as its session instead).
 */
export const LIVE_BEARER_TTL_MS = 3_600_000;

/**
 * The principal of a `/live` upgrade carrying `Authorization: Bearer`, or null without that header.
 * A bearer that is unknown is a 401 and one without the read scope a 403, never a fallback to cookies.
 */
async function liveBearer(c: Context<AppEnv>): Promise<Principal | null> {
  if (!c.req.header("authorization")) return null;
  // With the header present, authenticate() reads only the bearer (a malformed header is a 401).
  const p = await authenticate(c);
  if (!p) throw new PorchlightError("unauthorized", "A valid token is required (Authorization: Bearer <token>)");
  if (!hasScope(p, "read")) throw new PorchlightError("forbidden", "This token lacks the 'read' scope");
  return p;
}

/**
 * The session behind a page request; with Cloudflare Access configured and a valid assertion but no
 * session yet, one is created (and its cookie set) so the page gets a CSRF token.
 */
async function pageSession(c: Context<AppEnv>): Promise<{ principal: Principal; csrf: string } | null> {
  const s = await readSession(c);
  if (s) return s;
  const a = await accessPrincipal(c);
  if (!a) return null;
  const created = await createSession(c.env, `access:${a.email}`, ACCESS_SCOPES);
  c.header("Set-Cookie", sessionCookie(created.id, created.expiresAt), { append: true });
  return { principal: { id: `access:${a.email}`, name: a.email, scopes: ACCESS_SCOPES, via: "session" }, csrf: created.csrf };
}

function toLogin(c: Context<AppEnv>): Response {
  const url = new URL(c.req.url);
  const next = url.pathname + url.search;
  return c.redirect(next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`, 303);
}

export function registerWebRoutes(app: Hono<AppEnv>): void {
  if (!resolverRegistered) {
    addCredentialResolver(resolveWebCredentials);
    resolverRegistered = true;
  }
  registerStatsRoutes(app);


  app.get("/login", async (c) => {
    if (await pageSession(c)) return c.redirect("/", 303);
    return c.html(renderLogin({ next: safeNext(c.req.query("next")), access: !!c.env.ACCESS_TEAM_DOMAIN }));
  });

  app.post("/login", async (c) => {
    if (crossOrigin(c)) throw new PorchlightError("forbidden", "Cross-origin login refused");
    const ip = clientIp(c);
    const limit = await countLoginAttempt(c.env, ip);
    if (!limit.allowed) {
      c.header("Retry-After", String(limit.retryAfterS));
      return c.html(renderLogin({ error: `Too many login attempts. Try again in ${Math.ceil(limit.retryAfterS / 60)} min.` }), 429);
    }
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form.token === "string" ? form.token.trim() : "";
    const next = safeNext(typeof form.next === "string" ? form.next : undefined);
    const p = token && token.length <= 512 ? await resolveBearer(c.env, token) : null;
    if (!p) return c.html(renderLogin({ error: "That token is not valid.", next }), 401);
    if (!hasScope(p, "read")) return c.html(renderLogin({ error: "That token has no read or admin scope (ingest tokens cannot log in).", next }), 403);
    await clearLoginAttempts(c.env, ip);
    const scopes = p.scopes.filter((s) => s !== "ingest");
    const s = await createSession(c.env, await principalKey(c.env, p), scopes);
    c.header("Set-Cookie", sessionCookie(s.id, s.expiresAt));
    return c.redirect(next ?? "/", 303);
  });

  app.post("/logout", async (c) => {
    const s = await readSession(c);
    if (s) {
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const supplied = typeof form.csrf === "string" ? form.csrf : c.req.header("x-csrf-token");
      // Logout is state-changing too: a cross-site page must not be able to log the user out.
      if (crossOrigin(c) || supplied !== s.csrf) throw new PorchlightError("forbidden", "Missing or invalid CSRF token");
      await deleteSession(c.env, s.idHash);
      // Live sockets of this session close too; a failure here must not keep the user logged in.
      await c.env.LIVE.get(c.env.LIVE.idFromName(LIVE_HUB_NAME))
        .closeSession(s.idHash)
        .catch((e: unknown) => console.warn(JSON.stringify({ level: "warn", msg: "closing live sockets failed", error: String(e) })));
    }
    c.header("Set-Cookie", CLEAR_SESSION_COOKIE);
    // Tell the browser to drop everything this origin cached or stored for the session.
    c.header("Clear-Site-Data", '"cache", "storage"');
    return c.redirect("/login", 303);
  });

  app.get("/live", async (c) => {
    // A terminal client (`porchlight tail`) sends its token as a bearer instead of a session cookie.
    const bearer = await liveBearer(c);
    const session = bearer ? null : await readSession(c);
    if (!bearer && !session && !(await accessPrincipal(c))) throw new PorchlightError("unauthorized", "Log in first");
    // Cross-site WebSocket hijacking: browsers send cookies on cross-origin upgrades, so check Origin.
    if (crossOrigin(c)) throw new PorchlightError("forbidden", "Cross-origin WebSocket refused");
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.json({ error: { code: "bad_request", message: "Expected a WebSocket upgrade" } }, 426);
    }
    const hub = c.env.LIVE.get(c.env.LIVE.idFromName(LIVE_HUB_NAME));
    const headers = new Headers(c.req.raw.headers);
    headers.delete(SESSION_HEADER);
    headers.delete(EXPIRES_HEADER);
    if (session) {
      headers.set(SESSION_HEADER, session.idHash);
      headers.set(EXPIRES_HEADER, String(session.expiresAt));
    } else if (bearer) {
      headers.set(EXPIRES_HEADER, String(Date.now() + LIVE_BEARER_TTL_MS));
    }
    return hub.fetch(new Request(c.req.raw.url, { method: "GET", headers }));
  });

  for (const [path, page] of PAGE_ROUTES) {
    app.get(path, async (c) => {
      const s = await pageSession(c);
      if (!s) return toLogin(c);
      return c.html(renderPage(page, { name: s.principal.name, scopes: s.principal.scopes, csrf: s.csrf }));
    });
  }
}
