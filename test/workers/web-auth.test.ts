/**
 * Web view security in workerd: login and session cookies, revocation, logout, CSRF, read-only
 * sessions, security headers and login rate limiting, against the real Worker (SELF) and real D1.
 */
import { SELF, env } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { requireScope, sha256Hex, type AppEnv } from "../../workers/auth.ts";
import { handleError } from "../../workers/app.ts";
import { CSP } from "../../web/security.ts";
import { LOGIN_MAX_ATTEMPTS, SESSION_TTL_MS } from "../../web/session.ts";
import { registerWebRoutes } from "../../web/routes.tsx";
import { ADMIN, BASE, freshIp, login, makeToken } from "./web-helpers.ts";

/** A state-changing admin route on an app with the real resolver and error handler (the /v1 routes' shape). */
function appWithAdminRoute() {
  const app = new Hono<AppEnv>();
  app.post("/v1/test-change", requireScope("admin"), (c) => c.json({ changed: true }));
  registerWebRoutes(app);
  app.onError(handleError);
  return app;
}

describe("login and session cookie", () => {
  it("shows the login form, not data, without a session", async () => {
    const res = await SELF.fetch(`${BASE}/login`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('name="token"');
    expect(html).not.toContain("csrf-token");
  });

  it("exchanges the admin token for a HttpOnly, Secure, SameSite=Strict cookie with an expiry; only its hash is stored", async () => {
    const l = await login(ADMIN);
    expect(l.res.status).toBe(303);
    expect(l.res.headers.get("location")).toBe("/");
    const c = l.cookie;
    expect(c).toMatch(/^__Host-pl_session=[A-Za-z0-9_-]{40,}; /);
    expect(c).toContain("HttpOnly");
    expect(c).toContain("Secure");
    expect(c).toContain("SameSite=Strict");
    expect(c).toContain("Path=/");
    const maxAge = Number(/Max-Age=(\d+)/.exec(c)?.[1]);
    expect(maxAge).toBeGreaterThan(SESSION_TTL_MS / 1000 - 60);
    expect(maxAge).toBeLessThanOrEqual(SESSION_TTL_MS / 1000);

    const id = l.sessionId.split("=")[1]!;
    const row = await env.DB.prepare("SELECT * FROM sessions WHERE id_hash = ?1").bind(await sha256Hex(id)).first<Record<string, unknown>>();
    expect(row).not.toBeNull();
    expect(JSON.stringify(await env.DB.prepare("SELECT * FROM sessions").all())).not.toContain(id);
    expect(l.csrf.length).toBeGreaterThan(20);
  });

  it("refuses a wrong token (401), an ingest-only token (403) and a cross-origin login form", async () => {
    const bad = await SELF.fetch(`${BASE}/login`, { method: "POST", body: new URLSearchParams({ token: "pl_nope_nopenopenopenopenope" }), headers: { "cf-connecting-ip": freshIp() }, redirect: "manual" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("set-cookie")).toBeNull();
    const ingest = await makeToken(["ingest"]);
    const r2 = await SELF.fetch(`${BASE}/login`, { method: "POST", body: new URLSearchParams({ token: ingest.token }), headers: { "cf-connecting-ip": freshIp() }, redirect: "manual" });
    expect(r2.status).toBe(403);
    expect(r2.headers.get("set-cookie")).toBeNull();
    const cross = await SELF.fetch(`${BASE}/login`, { method: "POST", body: new URLSearchParams({ token: ADMIN }), headers: { origin: "https://evil.example", "cf-connecting-ip": freshIp() }, redirect: "manual" });
    expect(cross.status).toBe(403);
    expect(cross.headers.get("set-cookie")).toBeNull();
  });

  it("redirects after login only to a local path", async () => {
    const post = (next: string) =>
      SELF.fetch(`${BASE}/login`, { method: "POST", body: new URLSearchParams({ token: ADMIN, next }), headers: { "cf-connecting-ip": freshIp() }, redirect: "manual" });
    expect((await post("/events?host=nas")).headers.get("location")).toBe("/events?host=nas");
    expect((await post("//evil.example/")).headers.get("location")).toBe("/");
    expect((await post("https://evil.example/")).headers.get("location")).toBe("/");
    expect((await post("/\\evil.example")).headers.get("location")).toBe("/");
  });

  it("a session authenticates pages and /v1 reads; revoking its token ends it at once", async () => {
    const t = await makeToken(["read"], "phone");
    const l = await login(t.token);
    expect(l.res.status).toBe(303);
    const page = await SELF.fetch(`${BASE}/events`, { headers: { cookie: l.sessionId }, redirect: "manual" });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("phone (read-only)");
    const api = await SELF.fetch(`${BASE}/v1/relays`, { headers: { cookie: l.sessionId } });
    expect(api.status).toBe(200);

    await env.DB.prepare("DELETE FROM tokens WHERE id = ?1").bind(t.id).run(); // what DELETE /v1/tokens/:id does
    const after = await SELF.fetch(`${BASE}/events`, { headers: { cookie: l.sessionId }, redirect: "manual" });
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/login?next=%2Fevents");
    expect((await SELF.fetch(`${BASE}/v1/relays`, { headers: { cookie: l.sessionId } })).status).toBe(401);
    expect((await env.DB.prepare("SELECT COUNT(*) AS n FROM sessions WHERE principal = ?1").bind(t.id).first<{ n: number }>())?.n).toBe(0);
  });

  it("an expired session is refused and removed", async () => {
    const l = await login(ADMIN);
    const id = l.sessionId.split("=")[1]!;
    await env.DB.prepare("UPDATE sessions SET expires_at = ?2 WHERE id_hash = ?1").bind(await sha256Hex(id), Date.now() - 1).run();
    expect((await SELF.fetch(`${BASE}/`, { headers: { cookie: l.sessionId }, redirect: "manual" })).status).toBe(303);
    expect(await env.DB.prepare("SELECT 1 FROM sessions WHERE id_hash = ?1").bind(await sha256Hex(id)).first()).toBeNull();
  });

  it("logout needs the CSRF token, deletes the session and clears the cookie", async () => {
    const l = await login(ADMIN);
    const id = l.sessionId.split("=")[1]!;
    const forged = await SELF.fetch(`${BASE}/logout`, { method: "POST", headers: { cookie: l.sessionId, "content-type": "application/x-www-form-urlencoded" }, body: "csrf=wrong", redirect: "manual" });
    expect(forged.status).toBe(403);
    const out = await SELF.fetch(`${BASE}/logout`, { method: "POST", headers: { cookie: l.sessionId, origin: BASE, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ csrf: l.csrf }), redirect: "manual" });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/login");
    expect(out.headers.get("set-cookie")).toMatch(/__Host-pl_session=; .*Max-Age=0/);
    expect(await env.DB.prepare("SELECT 1 FROM sessions WHERE id_hash = ?1").bind(await sha256Hex(id)).first()).toBeNull();
    expect((await SELF.fetch(`${BASE}/`, { headers: { cookie: l.sessionId }, redirect: "manual" })).status).toBe(303);
  });
});

describe("CSRF and scopes on state-changing API calls", () => {
  it("rejects a cookie-authenticated POST without, or with a wrong, CSRF token; accepts the page's token", async () => {
    const app = appWithAdminRoute();
    const l = await login(ADMIN);
    const call = (headers: Record<string, string>) =>
      app.request("/v1/test-change", { method: "POST", headers: { cookie: l.sessionId, ...headers } }, env);
    const none = await call({});
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/CSRF/);
    expect((await call({ "x-csrf-token": "forged" })).status).toBe(403);
    expect((await call({ "x-csrf-token": l.csrf, origin: "https://evil.example" })).status).toBe(403);
    const ok = await call({ "x-csrf-token": l.csrf, origin: "http://localhost" });
    // app.request's URL origin is http://localhost
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ changed: true });
  });

  it("bearer clients need no CSRF token", async () => {
    const res = await appWithAdminRoute().request("/v1/test-change", { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } }, env);
    expect(res.status).toBe(200);
  });

  it("a read-only session cannot change anything, even with a valid CSRF token", async () => {
    const t = await makeToken(["read"]);
    const l = await login(t.token);
    const res = await appWithAdminRoute().request("/v1/test-change", { method: "POST", headers: { cookie: l.sessionId, "x-csrf-token": l.csrf } }, env);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("forbidden");
    expect(body.error.message).toMatch(/admin/);
  });

  it("the alerts page of a read-only session renders without action buttons' permission flag", async () => {
    const t = await makeToken(["read"]);
    const l = await login(t.token);
    const html = await (await SELF.fetch(`${BASE}/`, { headers: { cookie: l.sessionId } })).text();
    expect(html).toContain('data-admin="0"');
  });
});

describe("security headers", () => {
  it("pages and the login form carry a strict CSP without unsafe-inline, framing denied, HSTS, referrer policy, nosniff, no-store", async () => {
    const l = await login(ADMIN);
    for (const res of [await SELF.fetch(`${BASE}/login`), await SELF.fetch(`${BASE}/settings`, { headers: { cookie: l.sessionId } })]) {
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toBe(CSP);
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d{7,}/);
      expect(res.headers.get("referrer-policy")).toMatch(/^(no-referrer|strict-origin-when-cross-origin)$/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("pages contain no inline script or style", async () => {
    const l = await login(ADMIN);
    for (const path of ["/", "/events", "/rules", "/heartbeats", "/overview", "/settings", "/alerts/x"]) {
      const html = await (await SELF.fetch(`${BASE}${path}`, { headers: { cookie: l.sessionId } })).text();
      expect(html, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html, path).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
  });
});

describe("login rate limiting", () => {
  it(`allows ${LOGIN_MAX_ATTEMPTS} attempts per IP per window, then answers 429 with Retry-After, even for a good token`, async () => {
    const ip = "198.51.100.77";
    const attempt = (token: string, from = ip) =>
      SELF.fetch(`${BASE}/login`, { method: "POST", body: new URLSearchParams({ token }), headers: { "cf-connecting-ip": from }, redirect: "manual" });
    for (let i = 0; i < LOGIN_MAX_ATTEMPTS; i++) expect((await attempt(`wrong-${i}`)).status).toBe(401);
    const limited = await attempt("wrong-again");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited.text()).toMatch(/Too many login attempts/);
    expect((await attempt(ADMIN)).status).toBe(429);
    expect((await attempt("wrong", "198.51.100.78")).status).toBe(401);
    // The window is over: allowed again.
    await env.DB.prepare("UPDATE login_attempts SET window_start = window_start - 3600000 WHERE ip = ?1").bind(ip).run();
    expect((await attempt(ADMIN)).status).toBe(303);
  });
});
