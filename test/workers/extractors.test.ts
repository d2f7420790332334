import { describe, expect, it } from "vitest";
import { api, ingest } from "./api-client.ts";

describe("/v1/extractors", () => {
  it("creates, lists, updates and deletes an extractor", async () => {
    const res = await api("/v1/extractors", { method: "POST", json: { name: "vpn_user", pattern: "user=(?<vpn_user>\\w+)", program: "openvpn" } });
    expect(res.status).toBe(201);
    const x = (await res.json()) as any;
    expect(x).toMatchObject({ name: "vpn_user", pattern: "user=(?<vpn_user>\\w+)", program: "openvpn", host: null, enabled: true });
    expect((await (await api("/v1/extractors")).json() as any).extractors.some((e: any) => e.id === x.id)).toBe(true);
    const put = await api(`/v1/extractors/${x.id}`, { method: "PUT", json: { name: "vpn_user", pattern: "u=(?<u>\\w+)", enabled: false } });
    expect(put.status).toBe(200);
    expect(await (await api(`/v1/extractors/${x.id}`)).json()).toMatchObject({ pattern: "u=(?<u>\\w+)", enabled: false, program: null, created_at: x.created_at });
    expect((await api(`/v1/extractors/${x.id}`, { method: "DELETE" })).status).toBe(204);
    expect((await api(`/v1/extractors/${x.id}`)).status).toBe(404);
    expect((await api(`/v1/extractors/${x.id}`, { method: "PUT", json: { name: "a", pattern: "(?<a>x)" } })).status).toBe(404);
  });

  it("rejects patterns that do not compile, capture nothing or backtrack catastrophically", async () => {
    const refused = [
      ["(?<a>x", /compile/], ["abc", /named group/],
      // Refused from the pattern's shape alone: workerd's clocks stand still while a regex runs, so a timed probe cannot work there.
      ["(?<a>(a+)+)$", /slow.*nested quantifiers/], ["^(?<w>(\\w+\\s?)*)$", /slow.*nested quantifiers/],
      ["^(?<x>(a|a)*)$", /slow.*alternatives/], ["(?<x>(a|ab)*)c", /slow.*alternatives/],
      ["(?<a>\\S+)(?<b>\\S+)!", /slow.*in a row/], ["(?<x>.*.*=)", /slow.*in a row/], ["(?<k>\\S+):(?<v>\\S+)", /slow.*in a row/],
    ] as const;
    for (const [pattern, msg] of refused) {
      const res = await api("/v1/extractors", { method: "POST", json: { name: "bad", pattern } });
      expect(res.status, pattern).toBe(400);
      expect(((await res.json()) as any).error.message).toMatch(msg);
    }
    expect((await api("/v1/extractors", { method: "POST", json: { pattern: "(?<a>x)" } })).status).toBe(400);
  });

  it("accepts typical patterns, including quadratic-at-worst scans the 1024-character input cap bounds", async () => {
    const ids: string[] = [];
    for (const pattern of ["user (?<user>\\w+) from (?<ip>[0-9.]+)", "(?<u>\\S+) from", "(?<k>[^:]+):(?<v>\\S+)", "(?<ip>(?:\\d{1,3}\\.){3}\\d{1,3})"]) {
      const res = await api("/v1/extractors", { method: "POST", json: { name: "typical", pattern, program: "typical-test" } });
      expect(res.status, pattern).toBe(201);
      ids.push(((await res.json()) as any).id);
    }
    const parsed = await api("/v1/parse", { method: "POST", body: "<38>Nov 22 10:00:00 gw typical-test: login:bob user alice from 192.0.2.9 ok\n", headers: { "content-type": "text/plain" } });
    expect(((await parsed.json()) as any).events[0].labels).toMatchObject({ user: "alice", ip: "192.0.2.9", u: "alice", k: "login", v: "bob" });
    for (const id of ids) await api(`/v1/extractors/${id}`, { method: "DELETE" });
  });

  it("applies a stored extractor to the next ingested batch (labels)", async () => {
    const res = await api("/v1/extractors", { method: "POST", json: { name: "ticket", pattern: "ticket=(?<ticket>T\\d+)" } });
    expect(res.status).toBe(201);
    const x = (await res.json()) as any;
    const parsed = await api("/v1/parse", { method: "POST", body: "xtr-3 ticket=T123 opened\n", headers: { "content-type": "text/plain" } });
    const events = ((await parsed.json()) as any).events;
    expect(events[0].labels).toMatchObject({ ticket: "T123" });
    await ingest("xtr-3 ticket=T124 closed");
    const stored = (await (await api("/v1/events?q=ticket%3DT124")).json()) as any;
    expect(stored.events[0].labels).toMatchObject({ ticket: "T124" });
    // Deleting it takes effect on the next batch (the settings version changes).
    await api(`/v1/extractors/${x.id}`, { method: "DELETE" });
    const after = await api("/v1/parse", { method: "POST", body: "xtr-3 ticket=T125\n", headers: { "content-type": "text/plain" } });
    expect(((await after.json()) as any).events[0].labels?.ticket).toBeUndefined();
  });
});
