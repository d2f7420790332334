import { SELF, env } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../workers/app.ts";
import type { AppEnv } from "../../workers/auth.ts";
import { readEnv } from "../../workers/env.ts";
import { registerIngestRoutes } from "../../workers/routes/ingest.ts";

describe("foundation", () => {
  it("serves /healthz without a token and reveals nothing", async () => {
    const res = await SELF.fetch("https://porchlight.test/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await SELF.fetch("https://porchlight.test/v1/nope");
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe("not_found");
  });

  it("every error carries the request id it is logged under (CF-Ray, else a fresh UUID)", async () => {
    const log = vi.spyOn(console, "log");
    try {
      const res = await SELF.fetch("https://porchlight.test/v1/events", { headers: { "cf-ray": "8f00aa11bb22cc33-AMS" } });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String), request_id: "8f00aa11bb22cc33-AMS" } });
      const lines = log.mock.calls.map((a) => String(a[0])).filter((l) => l.includes("8f00aa11bb22cc33-AMS"));
      expect(lines.map((l) => JSON.parse(l))).toEqual([{ level: "info", requestId: "8f00aa11bb22cc33-AMS", status: 401, code: "unauthorized", method: "GET", path: "/v1/events" }]);
    } finally {
      log.mockRestore();
    }
    const fresh = (await (await SELF.fetch("https://porchlight.test/v1/nope")).json()) as { error: { request_id: string } };
    expect(fresh.error.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("entry point", () => {
  it("validates the environment once: a missing secret or binding is a clear misconfiguration error", async () => {
    expect(readEnv(env).ok).toBe(true);
    const broken = { ...env, ADMIN_TOKEN: undefined, LIVE: "nope", ACCESS_AUD: "aud" };
    const r = readEnv(broken);
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems.join("\n");
    expect(problems).toMatch(/^ADMIN_TOKEN must be set/m);
    expect(problems).toMatch(/^LIVE must be bound to the LiveHub Durable Object namespace/m);
    expect(problems).toMatch(/ACCESS_TEAM_DOMAIN and ACCESS_AUD are set together/);
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await createApp().request("/healthz", {}, broken);
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { code: string; message: string; request_id: string } };
      expect(body.error.code).toBe("misconfigured");
      expect(body.error.message).toMatch(/ADMIN_TOKEN must be set/);
      expect(body.error.message).not.toContain("test-admin-token");
      expect(err).toHaveBeenCalledWith(expect.stringContaining(body.error.request_id));
    } finally {
      err.mockRestore();
    }
  });

  it("every route is registered from app.ts's one table (ingest registers only its own)", () => {
    const paths = (a: { routes: { method: string; path: string }[] }) => [...new Set(a.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`))];
    const ingestOnly = new Hono<AppEnv>();
    registerIngestRoutes(ingestOnly);
    expect(paths(ingestOnly)).toEqual(["POST /v1/ingest"]);
    expect(paths(createApp())).toEqual(expect.arrayContaining(["POST /v1/ingest", "POST /v1/parse", "GET /v1/metrics"]));
  });

  it("has the migrated schema with events WITHOUT ROWID", async () => {
    const row = await env.DB.prepare("SELECT sql FROM sqlite_master WHERE name = 'events'").first<{ sql: string }>();
    expect(row?.sql).toMatch(/WITHOUT ROWID/);
  });
});

describe("security headers on API answers", () => {
  it("sets CSP, frame-ancestors and no-store on a JSON error too", async () => {
    const res = await SELF.fetch("https://porchlight.test/v1/events");
    expect(res.status).toBe(401);
    expect(res.headers.get("content-security-policy")).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=/);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});
