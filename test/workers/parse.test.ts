import { describe, expect, it } from "vitest";
import { api, gzip, ingest, tokenWith } from "./api-client.ts";

describe("POST /v1/parse", () => {
  it("normalizes like ingest, in input order, and stores nothing", async () => {
    const lines = ["<134>Nov 22 10:00:01 router dnsmasq[1]: parse-1 query[A] example.com from 192.168.1.5", "", "parse-1 second line"];
    const res = await api("/v1/parse", { method: "POST", body: lines.join("\n"), headers: { "content-type": "text/plain", "idempotency-key": "parse-1" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.events.map((e: any) => e.raw)).toEqual([lines[0], lines[2]]);
    expect(body).toMatchObject({ accepted: 2, empty: 1 });
    const search = (await (await api("/v1/events?q=parse-1")).json()) as any;
    expect(search.events).toHaveLength(0);

    // The same batch through ingest stores the same events (same key → same ids).
    await ingest(lines, { headers: { "idempotency-key": "parse-1" } });
    const stored = (await (await api("/v1/events?q=parse-1")).json()) as any;
    const byRaw = new Map(stored.events.map((e: any) => [e.raw, e]));
    expect(body.events[0].event.dataset).toBe("dnsmasq");
    for (const e of body.events) {
      const s: any = byRaw.get(e.raw);
      expect(s).toBeDefined();
      // Same key and line → same id; only the edge receive time differs between the two requests.
      expect(s.id.slice(10)).toBe(e.id.slice(10));
      const { received_at: _a, id: _c, "@timestamp": _e, ...parsedRest } = e;
      const { received_at: _b, id: _d, "@timestamp": _f, ...storedRest } = s;
      expect(storedRest).toEqual(parsedRest);
    }
  });

  it("accepts gzip NDJSON and reports line errors", async () => {
    const nd = [JSON.stringify({ raw: "parse-2 a", received_at: "2026-02-03T04:05:06Z" }), "[]"].join("\n");
    const res = await api("/v1/parse", { method: "POST", body: await gzip(nd), headers: { "content-type": "application/x-ndjson", "content-encoding": "gzip" } });
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(body.events[0].received_at).toBe("2026-02-03T04:05:06.000Z");
    expect(body.errors).toEqual([{ line: 2, message: expect.stringMatching(/raw/) }]);
  });

  it("needs the read scope", async () => {
    const ing = await tokenWith("ingest");
    expect((await api("/v1/parse", { method: "POST", body: "x", token: ing })).status).toBe(403);
    expect((await api("/v1/parse", { method: "POST", body: "x", token: await tokenWith("read") })).status).toBe(200);
  });
});
