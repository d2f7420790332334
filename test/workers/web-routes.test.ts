/**
 * Nothing is visible without logging in: walks the app's whole route table (createApp().routes, so
 * routes added later are covered too) and sends every page and /v1 route an unauthenticated request.
 * API routes must answer 401, pages must redirect to /login. Only /healthz and the login form are open.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../workers/app.ts";
import { PAGE_ROUTES } from "../../web/routes.tsx";
import { BASE } from "./web-helpers.ts";

/** Routes that are public on purpose, with the status an anonymous request gets. */
const PUBLIC: Record<string, number> = {
  "GET /healthz": 200,
  "GET /login": 200,
  // An anonymous logout just clears the cookie and goes to /login: it reveals and changes nothing.
  "POST /logout": 303,
};

/**
 * Public routes that prove themselves another way and ignore credentials (same answer with any): the
 * one-time signed action links of notifications (an invalid link is 403). The Telegram webhook
 * (`/v1/notify/telegram/:channelId`) answers 401 without its secret token, like any API route.
 */
const OWN_PROOF: Record<string, number> = {
  "POST /v1/notify/action/:token": 403,
  "GET /v1/notify/action/:token": 403,
};

function concrete(path: string): string {
  // :id, :id{regex}, and wildcards become a plausible segment.
  return path.replace(/:[A-Za-z_]+(\{[^}]*\})?\??/g, "x1").replace(/\*/g, "x1");
}

const routes = createApp()
  .routes.filter((r) => r.method !== "ALL")
  .map((r) => ({ method: r.method, path: r.path }))
  .filter((r, i, all) => all.findIndex((o) => o.method === r.method && o.path === r.path) === i);

describe("route table refuses unauthenticated requests", () => {
  it("has the web view's pages and some /v1 routes to walk", () => {
    const keys = routes.map((r) => `${r.method} ${r.path}`);
    for (const [p] of PAGE_ROUTES) expect(keys).toContain(`GET ${p}`);
    expect(keys).toContain("GET /v1/stats/overview");
    expect(keys).toContain("GET /v1/relays");
    expect(keys).toContain("GET /live");
  });

  for (const r of routes) {
    const key = `${r.method} ${r.path}`;
    it(key, async () => {
      const url = `${BASE}${concrete(r.path)}`;
      const init: RequestInit = { method: r.method, redirect: "manual", headers: { "cf-connecting-ip": "192.0.2.250" } };
      if (!["GET", "HEAD"].includes(r.method)) {
        init.body = "{}";
        (init.headers as Record<string, string>)["content-type"] = "application/json";
      }
      // Also with a bogus cookie and a bogus bearer: neither may open anything.
      const extras: Record<string, string>[] = [{}, { cookie: "__Host-pl_session=forged-session-id" }, { authorization: "Bearer pl_forged0_forgedforgedforged" }];
      for (const extra of extras) {
        const res = await SELF.fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...extra } });
        const body = await res.text();
        if (key in OWN_PROOF) {
          expect(res.status, key).toBe(OWN_PROOF[key]);
          expect(body).not.toMatch(/csrf-token/);
          continue;
        }
        if (key in PUBLIC && !("authorization" in extra)) {
          expect(res.status, key).toBe(PUBLIC[key]);
          expect(body).not.toMatch(/csrf-token/);
          continue;
        }
        if (r.path === "/healthz") continue;
        // /metrics is an API for scrapers (bearer read token), not a page.
        if (r.path.startsWith("/v1/") || r.path === "/live" || r.path === "/metrics") {
          expect(res.status, `${key} ${JSON.stringify(extra)}`).toBe(401);
          expect(JSON.parse(body).error.code).toBe("unauthorized");
        } else if (r.path === "/login" || r.path === "/logout") {
          expect([200, 303, 401, 429], key).toContain(res.status);
          expect(body).not.toMatch(/csrf-token/);
        } else {
          expect(res.status, key).toBe(303);
          expect(res.headers.get("location") ?? "", key).toMatch(/^\/login(\?next=|$)/);
          expect(body).toBe("");
        }
      }
    });
  }
});
