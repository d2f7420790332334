/**
 * /v1/lists in workerd: PUT (text or JSON), GET, DELETE, validation that stores nothing, and a rule
 * with `in_list` raising on real events through evaluateBatch — following a list change at once.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { evaluateBatch } from "../../workers/rules/evaluate.ts";
import { api, tokenWith } from "./api-client.ts";
import { alertsOf, createRule, ev, T0, uid } from "./rules-fixtures.ts";

const put = (name: string, body: string, type = "text/plain", token?: string) => api(`/v1/lists/${name}`, { method: "PUT", body, headers: { "content-type": type }, ...(token ? { token } : {}) });
const conn = (dst: string, i: number) => ev(`<134>Nov 22 10:00:0${i} gw filterlog[1]: 5,,,1000,igb1,match,pass,out,4,0x0,,64,0,0,DF,6,tcp,60,192.168.1.20,${dst},51000,443,0,S,1,,64240,,mss`, T0 + i * 1000);

describe("address lists", () => {
  it("stores a list, answers it, and a rule reading it raises; a new version applies to the next batch", async () => {
    const name = uid("bl");
    const res = await put(name, "# threat feed\n203.0.113.0/24\n198.51.100.7\n2001:db8::/32\n");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name, count: 3, ranges: 3 });
    expect(await (await api(`/v1/lists/${name}`)).json()).toMatchObject({ name, count: 3, entries: ["203.0.113.0/24", "198.51.100.7", "2001:db8::/32"] });
    expect(((await (await api("/v1/lists")).json()) as { lists: { name: string }[] }).lists.map((l) => l.name)).toContain(name);

    const id = uid("blr");
    await createRule({ id, name: "to blocklist", type: "single", match: { "destination.ip": { in_list: name } }, group_by: ["destination.ip"], title: "to {{destination.ip}}" });
    await evaluateBatch(env, uid("b"), [conn("203.0.113.9", 0), conn("192.0.2.1", 1)]);
    expect((await alertsOf(id)).map((a) => a.title)).toEqual(["to 203.0.113.9"]);
    // replace the list: 192.0.2.0/24 now, 203.0.113.0/24 no longer
    expect((await put(name, JSON.stringify({ entries: ["192.0.2.0/24"] }), "application/json")).status).toBe(200);
    await evaluateBatch(env, uid("b"), [conn("203.0.113.10", 2), conn("192.0.2.2", 3)]);
    expect((await alertsOf(id)).map((a) => a.title).sort()).toEqual(["to 192.0.2.2", "to 203.0.113.9"]);
    expect((await api(`/v1/lists/${name}`, { method: "DELETE" })).status).toBe(200);
    expect((await api(`/v1/lists/${name}`)).status).toBe(404);
  });

  it("refuses invalid entries naming the line and stores nothing; bad names; scopes", async () => {
    const name = uid("bad");
    const res = await put(name, "10.0.0.0/8\nnot-an-ip\n10.0.0.0/40\n");
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; details: { invalid: { line: number }[] } } };
    expect(body.error.message).toMatch(/^entry 2: "not-an-ip" is not an IP address or CIDR prefix \(and 1 more\)/);
    expect(body.error.details.invalid.map((x) => x.line)).toEqual([2, 3]);
    expect((await api(`/v1/lists/${name}`)).status).toBe(404);
    expect((await put("-bad", "10.0.0.1")).status).toBe(400);
    expect((await put(name, "{", "application/json")).status).toBe(400);
    expect((await put(name, "10.0.0.1", "text/plain", await tokenWith("read"))).status).toBe(403);
    expect((await api("/v1/lists/nope", { method: "DELETE" })).status).toBe(404);
  });

  it("holds a list of 200,000 entries (several chunks) and reads it back whole", async () => {
    const name = uid("big");
    const entries = Array.from({ length: 200_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const res = await put(name, entries.join("\n"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ count: 200_000, ranges: 1 });
    expect(((await (await api(`/v1/lists/${name}`)).json()) as { entries: string[] }).entries).toEqual(entries);
  });
});
