import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, ingest, tokenWith } from "./api-client.ts";

describe("/v1/tokens", () => {
  it("creates a token shown once, lists it without secrets, and revocation takes effect on the next request", async () => {
    const res = await api("/v1/tokens", { method: "POST", json: { name: "nas relay", scopes: ["ingest"] } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as any;
    expect(created.token).toMatch(/^pl_[a-z0-9]{12}_[A-Za-z0-9_-]{40}$/);
    expect(created).toMatchObject({ name: "nas relay", scopes: ["ingest"] });

    const stored = await env.DB.prepare("SELECT hash FROM tokens WHERE id = ?1").bind(created.id).first<{ hash: string }>();
    expect(stored!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored!.hash).not.toContain(created.token);

    const list = (await (await api("/v1/tokens")).json()) as any;
    const listed = list.tokens.find((t: any) => t.id === created.id);
    expect(listed).toMatchObject({ id: created.id, name: "nas relay", scopes: ["ingest"] });
    expect(JSON.stringify(list)).not.toContain(created.token.split("_")[2]);
    expect(JSON.stringify(list)).not.toContain(stored!.hash);

    expect((await ingest("tok-1 line", { token: created.token })).status).toBe(200);
    const used = (await (await api("/v1/tokens")).json()) as any;
    expect(used.tokens.find((t: any) => t.id === created.id).last_used_at).toBeGreaterThanOrEqual(created.created_at);
    expect((await api(`/v1/tokens/${created.id}`, { method: "DELETE" })).status).toBe(204);
    const after = await ingest("tok-1 line 2", { token: created.token });
    expect(after.status).toBe(401);
    expect((await api(`/v1/tokens/${created.id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("validates the body and needs the admin scope", async () => {
    for (const json of [{}, { name: "", scopes: ["read"] }, { name: "x", scopes: [] }, { name: "x", scopes: ["root"] }, { name: "x", scopes: "read" }, []]) {
      const res = await api("/v1/tokens", { method: "POST", json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      expect(((await res.json()) as any).error.code).toBe("validation_failed");
    }
    const notJson = await api("/v1/tokens", { method: "POST", body: "{nope", headers: { "content-type": "application/json" } });
    expect(notJson.status).toBe(400);
    const read = await tokenWith("read");
    for (const [method, path] of [["GET", "/v1/tokens"], ["POST", "/v1/tokens"], ["DELETE", "/v1/tokens/abc"]] as const) {
      const res = await api(path, { method, token: read, json: method === "POST" ? { name: "x", scopes: ["admin"] } : undefined });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    expect((await api("/v1/tokens", { token: null })).status).toBe(401);
    expect((await api("/v1/tokens", { headers: { authorization: "Basic abc" }, token: null })).status).toBe(401);
  });

  it("an admin-created read token can read but not ingest or write settings", async () => {
    const read = await tokenWith("read");
    expect((await api("/v1/events?limit=1", { token: read })).status).toBe(200);
    expect((await ingest("x", { token: read })).status).toBe(403);
    expect((await api("/v1/sources/host:r1", { method: "PUT", token: read, json: { timezone: "UTC" } })).status).toBe(403);
  });
});
