/**
 * /v1/rules in workerd: CRUD, validation errors naming the field, enable/disable, versions,
 * import/export round trip, scopes, and a delete that cancels the rule's pending deadlines.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateBatch } from "../../workers/rules/evaluate.ts";
import { RULE_SHARDS, ruleObjectName } from "../../workers/rules/registry.ts";
import { api, tokenWith } from "./api-client.ts";
import { createRule, ev, ruleObject, SSH_FAIL_MATCH, uid } from "./rules-fixtures.ts";

const brute = (id: string) => ({ id, name: "SSH brute force", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 5, window: "60s", severity: "high", title: "Brute force from {{source.ip}}" });

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
    const tok = await tokenWith("read");
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
    // shards: 4, so that the deadlines are spread over several objects
    await createRule({ id, name: "Backups", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "1h", shards: 4 });
    const hosts = ["nas", "pi", "router", "cam", "tv", "laptop"];
    await evaluateBatch(env, uid("b"), hosts.map((h) => ev(`<14>Nov 22 10:00:00 ${h} backup[1]: done`, Date.now(), { host: { hostname: h }, event: { action: "backup_done" } })));
    const objs = Array.from({ length: RULE_SHARDS }, (_, s) => ruleObject(ruleObjectName(id, s)));
    const armed = (await Promise.all(objs.map((o) => o.inspect()))).filter((i) => i.alarm !== null);
    expect(armed.length).toBeGreaterThan(1);
    const before = (await (await api("/v1/heartbeats")).json()) as { heartbeats: { source: string; name: string }[] };
    expect(before.heartbeats.filter((h) => h.source === id).map((h) => h.name).sort()).toEqual([...hosts].sort());
    expect((await api(`/v1/rules/${id}`, { method: "DELETE" })).status).toBe(200);
    for (const o of objs) expect(await o.inspect()).toMatchObject({ alarm: null, groups: [] });
    const listing = (await (await api("/v1/heartbeats")).json()) as { heartbeats: { source: string }[] };
    expect(listing.heartbeats.filter((h) => h.source === id)).toEqual([]);
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

describe("fuzzing the rules, alerts, heartbeats and backtest routes: no input yields a 500", () => {
  const RUNS = 40;
  /** Rule-shaped objects with arbitrary values, and arbitrary JSON. */
  const ruleish = fc.oneof(
    fc.json({ maxDepth: 3 }).map((t) => JSON.parse(t) as unknown),
    fc.record(
      {
        id: fc.oneof(fc.string({ maxLength: 20 }), fc.constant("fz-rule")),
        name: fc.string({ maxLength: 20 }),
        type: fc.constantFrom("single", "threshold", "bucket", "sequence", "heartbeat", "new_value", "suppress", "x"),
        match: fc.oneof(fc.constant(SSH_FAIL_MATCH), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })),
        group_by: fc.oneof(fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }), fc.jsonValue()),
        threshold: fc.oneof(fc.integer(), fc.jsonValue()),
        window: fc.oneof(fc.constantFrom("60s", "1h", "0s", "-5m"), fc.string({ maxLength: 8 })),
        capacity: fc.integer(),
        leakspeed: fc.string({ maxLength: 6 }),
        a: fc.jsonValue({ maxDepth: 2 }),
        b: fc.jsonValue({ maxDepth: 2 }),
        fields: fc.jsonValue({ maxDepth: 1 }),
        timeout: fc.oneof(fc.constant("1h"), fc.string({ maxLength: 6 })),
        title: fc.string({ maxLength: 30 }),
        severity: fc.oneof(fc.constantFrom("high", "low"), fc.string({ maxLength: 6 })),
        enabled: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
  );
  const segment = fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s));

  it("rules: POST, PUT, PATCH, import and backtest with arbitrary bodies", async () => {
    await fc.assert(
      fc.asyncProperty(ruleish, segment, fc.constantFrom("POST", "PUT", "PATCH", "IMPORT", "BACKTEST"), async (body, id, how) => {
        const res =
          how === "POST" ? await api("/v1/rules", { method: "POST", json: body })
          : how === "IMPORT" ? await api("/v1/rules/import", { method: "POST", json: [body] })
          : how === "BACKTEST" ? await api("/v1/rules/backtest", { method: "POST", json: { rule: body, from: 0, to: 1000 } })
          : await api(`/v1/rules/${id || "x"}`, { method: how, json: body });
        expect(res.status, `${how} ${JSON.stringify(body)}`).toBeLessThan(500);
        const text = await res.text();
        if (res.status >= 400) expect(typeof (JSON.parse(text) as { error: { code: string } }).error.code).toBe("string");
        // Whatever was accepted is deleted again so no fuzzed rule runs in later tests.
        if (res.status < 300 && how !== "BACKTEST") {
          const ids = how === "IMPORT" ? (JSON.parse(text) as { ids: string[] }).ids : [(JSON.parse(text) as { id: string }).id];
          for (const rid of ids) await api(`/v1/rules/${encodeURIComponent(rid)}`, { method: "DELETE" });
        }
      }),
      { numRuns: RUNS },
    );
  });

  it("alerts and heartbeats: arbitrary query strings, actions, names and bodies", async () => {
    const qs = fc.array(fc.tuple(fc.constantFrom("status", "not_status", "severity", "rule", "resource", "since", "limit", "cursor", "x"), fc.string({ maxLength: 12 })), { maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(qs, segment, fc.constantFrom("ack", "unack", "shelve", "close", "reopen", "zap"), fc.jsonValue({ maxDepth: 2 }), async (params, name, action, body) => {
        const search = new URLSearchParams(params).toString();
        const responses = [
          await api(`/v1/alerts?${search}`),
          await api(`/v1/alerts/${name || "x"}`),
          await api(`/v1/alerts/${name || "x"}/${action}`, { method: "POST", json: body }),
          await api(`/v1/heartbeats/${name || "x"}`, { method: "POST", json: body }),
        ];
        for (const res of responses) {
          expect(res.status, `${search} ${name} ${action} ${JSON.stringify(body)}`).toBeLessThan(500);
          await res.arrayBuffer();
        }
      }),
      { numRuns: RUNS },
    );
  });
});
