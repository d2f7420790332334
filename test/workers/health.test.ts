import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";

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
