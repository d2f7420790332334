/**
 * /v1/rules in workerd: CRUD, validation errors naming the field, enable/disable, versions,
 * import/export round trip, scopes, and a delete that cancels the rule's pending deadlines.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../workers/auth.ts";
import { evaluateBatch } from "../../workers/rules/evaluate.ts";
import { RULE_SHARDS, ruleObjectName } from "../../workers/rules/registry.ts";
import { api } from "./api-client.ts";
import { createRule, ev, ruleObject, SSH_FAIL_MATCH, uid } from "./rules-fixtures.ts";

const brute = (id: string) => ({ id, name: "SSH brute force", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 5, window: "60s", severity: "high", title: "Brute force from {{source.ip}}" });

async function readToken(): Promise<string> {
  const id = Math.random().toString(36).slice(2, 12).padEnd(10, "y");
  const tok = `pl_${id}_${"r".repeat(20)}${id}`;
  await env.DB.prepare("INSERT INTO tokens (id, name, scopes, hash, created_at) VALUES (?1, 'reader', '[\"read\"]', ?2, ?3)").bind(id, await sha256Hex(tok), Date.now()).run();
  return tok;
}

describe("rules CRUD", () => {
  it("creates, reads, replaces, patches and deletes a rule; versions bump on every change", async () => {
    const id = uid("crud");
    const created = await createRule(brute(id));
    expect(created).toMatchObject({ id, type: "threshold", enabled: true, version: 1, threshold: 5 });
    expect((await api("/v1/rules", { method: "POST", json: brute(id) })).status).toBe(409);
    const got = (await (await api(`/v1/rules/${id}`)).json()) as Record<string, unknown>;
    expect(got).toMatchObject({ id, name: "SSH brute force", window: "60s" });
    const put = (await (await api(`/v1/rules/${id}`, { method: "PUT", json: { ...brute(id), threshold: 8 } })).json()) as Record<string, unknown>;
    expect([put.threshold, put.version]).toEqual([8, 2]);
    const off = (await (await api(`/v1/rules/${id}`, { method: "PATCH", json: { enabled: false } })).json()) as Record<string, unknown>;
    expect([off.enabled, off.threshold, off.version]).toEqual([false, 8, 3]);
    const list = (await (await api("/v1/rules")).json()) as { rules: { id: string; enabled: boolean }[] };
    expect(list.rules.find((r) => r.id === id)).toMatchObject({ enabled: false });
    expect((await api(`/v1/rules/${id}`, { method: "DELETE" })).status).toBe(200);
    expect((await api(`/v1/rules/${id}`)).status).toBe(404);
    expect((await api(`/v1/rules/${id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("answers 400 naming the field for invalid rules, on POST, PUT, PATCH and import", async () => {
    const id = uid("bad");
    const cases: [Record<string, unknown>, string][] = [
      [{ ...brute(id), window: "a minute" }, "window"],
      [{ ...brute(id), threshold: undefined }, "threshold"],
      [{ ...brute(id), type: "fancy" }, "type"],
      [{ ...brute(id), match: { "source.ip": { cidr: "300.1.1.1/8" } } }, "match.source.ip.cidr"],
      [{ ...brute(id), severity: "urgent" }, "severity"],
      [{ ...brute(id), capacity: 3 }, "capacity"],
    ];
    for (const [body, field] of cases) {
      const res = await api("/v1/rules", { method: "POST", json: body });
      expect(res.status, field).toBe(400);
      const err = ((await res.json()) as { error: { code: string; message: string; details: { field: string } } }).error;
      expect(err.code).toBe("validation_failed");
      expect(err.details.field).toContain(field);
      expect(err.message).toContain(field);
    }
    await createRule(brute(id));
    expect((await api(`/v1/rules/${id}`, { method: "PATCH", json: { window: "forever" } })).status).toBe(400);
    expect((await api(`/v1/rules/${id}`, { method: "PATCH", json: { id: "other" } })).status).toBe(400);
    expect((await api(`/v1/rules/${id}`, { method: "PUT", json: { ...brute("other") } })).status).toBe(400);
    expect((await api("/v1/rules", { method: "POST", body: "{", headers: { "content-type": "application/json" } })).status).toBe(400);
    // The stored rule is untouched by the rejected changes.
    expect(((await (await api(`/v1/rules/${id}`)).json()) as { window: string; version: number })).toMatchObject({ window: "60s", version: 1 });
  });

  it("PATCH with null removes an option and re-validates the whole rule", async () => {
    const id = uid("patch-null");
    await createRule({ ...brute(id), distinct: "user.name" });
    const res = await api(`/v1/rules/${id}`, { method: "PATCH", json: { distinct: null } });
    expect(res.status).toBe(200);
    expect((await res.json()) as Record<string, unknown>).not.toHaveProperty("distinct");
    expect((await api(`/v1/rules/${id}`, { method: "PATCH", json: { threshold: null } })).status).toBe(400);
  });
});

describe("import and export", () => {
  it("exports a JSON array that imports back; an import is all or nothing", async () => {
    const a = uid("imp-a");
    const b = uid("imp-b");
    const res = await api("/v1/rules/import", { method: "POST", json: [brute(a), { ...brute(b), enabled: false }] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ imported: 2, ids: [a, b] });
    const exported = (await (await api("/v1/rules/export")).json()) as Record<string, unknown>[];
    expect(Array.isArray(exported)).toBe(true);
    const mine = exported.filter((r) => r.id === a || r.id === b);
    expect(mine.map((r) => [r.id, r.enabled])).toEqual([[a, true], [b, false]]);
    // Round trip: re-importing the export changes nothing but versions.
    expect((await api("/v1/rules/import", { method: "POST", json: mine })).status).toBe(200);
    // One bad rule rejects the whole import, naming its index and field.
    const c = uid("imp-c");
    const bad = await api("/v1/rules/import", { method: "POST", json: [brute(c), { ...brute(uid("imp-d")), window: 5 }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.details.field).toBe("[1].window");
    expect((await api(`/v1/rules/${c}`)).status).toBe(404);
    const dup = await api("/v1/rules/import", { method: "POST", json: [brute(c), brute(c)] });
    expect(((await dup.json()) as any).error.details.field).toBe("[1].id");
    expect((await api("/v1/rules/import", { method: "POST", json: { not: "a list" } })).status).toBe(400);
  });
});

describe("scopes and state", () => {
  it("read tokens can list and export but not change rules", async () => {
    const tok = await readToken();
    const id = uid("scoped");
    expect((await api("/v1/rules", { token: tok })).status).toBe(200);
    expect((await api("/v1/rules/export", { token: tok })).status).toBe(200);
    expect((await api("/v1/rules", { method: "POST", json: brute(id), token: tok })).status).toBe(403);
    expect((await api("/v1/rules/import", { method: "POST", json: [brute(id)], token: tok })).status).toBe(403);
    await createRule(brute(id));
    expect((await api(`/v1/rules/${id}`, { method: "PATCH", json: { enabled: false }, token: tok })).status).toBe(403);
    expect((await api(`/v1/rules/${id}`, { method: "DELETE", token: tok })).status).toBe(403);
    expect((await api("/v1/rules", { token: null })).status).toBe(401);
  });

  it("deleting a heartbeat rule cancels its pending deadlines in every shard", async () => {
    const id = uid("hb-del");
    await createRule({ id, name: "Backups", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "1h" });
    const hosts = ["nas", "pi", "router", "cam", "tv", "laptop"];
    await evaluateBatch(env, uid("b"), hosts.map((h) => ev(`<14>Nov 22 10:00:00 ${h} backup[1]: done`, Date.now(), { host: { hostname: h }, event: { action: "backup_done" } })));
    const objs = Array.from({ length: RULE_SHARDS }, (_, s) => ruleObject(ruleObjectName(id, s)));
    const armed = (await Promise.all(objs.map((o) => o.inspect()))).filter((i) => i.alarm !== null);
    expect(armed.length).toBeGreaterThan(0);
    expect((await api(`/v1/rules/${id}`, { method: "DELETE" })).status).toBe(200);
    for (const o of objs) expect(await o.inspect()).toMatchObject({ alarm: null, groups: [] });
  });
});

describe("default rule pack", () => {
  it("imports through the API as npm start does, exports back, and can be removed", async () => {
    const { default: pack } = (await import("../../workers/rules/default-pack.json")) as { default: { id: string }[] };
    const res = await api("/v1/rules/import", { method: "POST", json: pack });
    const body = (await res.json()) as { imported: number; ids: string[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.ids).toEqual(pack.map((r) => r.id));
    const exported = (await (await api("/v1/rules/export")).json()) as { id: string }[];
    for (const r of pack) expect(exported.some((e) => e.id === r.id), r.id).toBe(true);
    // Leave no enabled rules behind for the other tests of this file.
    for (const r of pack) expect((await api(`/v1/rules/${r.id}`, { method: "DELETE" })).status).toBe(200);
  });
});
