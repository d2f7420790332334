import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { d1Store } from "../../workers/store/d1.ts";
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";
import { eventRow } from "../../workers/store/store.ts";
import { renderTimes } from "../../workers/ecs.ts";
import { makeEvent, type EventSpec } from "../unit/store-conformance.suite.ts";
import { api, tokenWith } from "./api-client.ts";

let n = 0;
/** Seeds `count` events for a fresh host, one per second from `startMs`; returns the host and events. */
async function seed(count: number, startMs = Date.parse("2026-05-01T00:00:00Z"), extra: (i: number) => EventSpec = () => ({})) {
  const host = `ev${n++}-${Date.now().toString(36)}`;
  const events = Array.from({ length: count }, (_, i) => makeEvent(host, startMs + i * 1000, i, extra(i)));
  await d1Store(env.DB).insertEvents(events.map(eventRow));
  return { host, events };
}

async function search(qs: string, token?: string): Promise<{ status: number; body: any; res: Response }> {
  const res = await api(`/v1/events?${qs}`, token === undefined ? {} : { token });
  const body = res.headers.get("content-type")?.startsWith("application/json") ? await res.json() : await res.text();
  return { status: res.status, body, res };
}

describe("GET /v1/events", () => {
  it("returns events newest first in the API shape and pages through all of them with next_cursor", async () => {
    const { host, events } = await seed(7);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { status, body } = await search(`host=${host}&limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      expect(status).toBe(200);
      seen.push(...body.events.map((e: any) => e.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(events.map((e) => e.id).reverse());
    const { body } = await search(`host=${host}&limit=1`);
    expect(body.events[0]).toEqual(renderTimes(events[6]!));
  });

  it("applies from/to (inclusive) and last", async () => {
    const { host } = await seed(5, Date.parse("2026-05-02T00:00:00Z"));
    const { body } = await search(`host=${host}&from=2026-05-02T00:00:01Z&to=2026-05-02T00:00:03Z`);
    expect(body.events.map((e: any) => e["@timestamp"])).toEqual([
      "2026-05-02T00:00:03.000Z", "2026-05-02T00:00:02.000Z", "2026-05-02T00:00:01.000Z",
    ]);
    const recent = await seed(2, Date.now() - 60_000);
    expect((await search(`host=${recent.host}&last=15m`)).body.events).toHaveLength(2);
    expect((await search(`host=${recent.host}&last=30s`)).body.events).toHaveLength(0);
    expect((await search(`host=${host}&last=15m`)).body.events).toHaveLength(0);
  });

  it("filters by field with repeats (OR), negations and AND across fields", async () => {
    const ips = ["10.0.0.5", "10.0.1.9", "198.51.100.7", "2001:db8::1"];
    const { host } = await seed(4, undefined, (i) => ({ srcIp: ips[i]!, srcPort: 1000 + i, user: ["root", "pi", "root", "admin"][i]! }));
    const ids = async (qs: string) => (await search(`host=${host}&${qs}`)).body.events.map((e: any) => e.source.ip).sort();
    expect(await ids("src_ip=10.0.0.0/16")).toEqual(["10.0.0.5", "10.0.1.9"]);
    expect(await ids("src_ip=10.0.0.5&src_ip=2001:db8::/32")).toEqual(["10.0.0.5", "2001:db8::1"]);
    expect(await ids("not_src_ip=10.0.0.0/8")).toEqual(["198.51.100.7", "2001:db8::1"]);
    expect(await ids("user=root")).toEqual(["10.0.0.5", "198.51.100.7"]);
    expect(await ids("user=root&src_ip=10.0.0.0/8")).toEqual(["10.0.0.5"]);
    expect(await ids("src_port=1001-1002")).toEqual(["10.0.1.9", "198.51.100.7"]);
    expect(await ids("not_user=root&not_user=admin")).toEqual(["10.0.1.9"]);
    expect(await ids("severity=info&outcome=failure&action=ssh_login&program=sshd&dataset=sshd")).toHaveLength(4);
    expect(await ids("severity=err")).toEqual([]);
    // Destination and protocol columns, from firewall lines.
    const fwHost = `fw${Date.now().toString(36)}`;
    const fw = await seed(3, undefined, (i) => ({
      raw: `<4>1 2026-05-01T00:00:0${i}.000Z ${fwHost} kernel - - - DROP IN=eth1 OUT= SRC=10.0.0.${i} DST=192.168.1.${i} PROTO=${i === 2 ? "UDP" : "TCP"} SPT=1000 DPT=${22 + i}`,
    }));
    const fwIds = async (qs: string) => (await search(`host=${fwHost}&${qs}`)).body.events.map((e: any) => e.source.ip).sort();
    expect(fw.events.map((e) => e.event.dataset)).toEqual(["iptables", "iptables", "iptables"]);
    expect(await fwIds("protocol=TCP&dst_port=22-23&dst_ip=192.168.1.0/31")).toEqual(["10.0.0.0", "10.0.0.1"]);
    expect(await fwIds("not_protocol=tcp&action=drop&dst_ip=192.168.1.2")).toEqual(["10.0.0.2"]);
  });

  it("searches message substrings case-insensitively (q) and raw lines by regex, with a bounded scan", async () => {
    const { host } = await seed(6, undefined, (i) => ({ message: i % 2 ? `Failed password for Root event ${i}` : `Accepted key event ${i}` }));
    expect((await search(`host=${host}&q=failed%20PASSWORD`)).body.events).toHaveLength(3);
    expect((await search(`host=${host}&not_q=failed`)).body.events).toHaveLength(3);
    const r = await search(`host=${host}&regex=${encodeURIComponent("event [0-2]$")}`);
    expect(r.status).toBe(200);
    expect(r.body.events.map((e: any) => e.raw.slice(-1))).toEqual(["2", "1", "0"]);
    expect(r.body.scanned).toBe(6);
    // Repeated regex parameters are OR-ed; alternation groups without repetition are fine.
    const either = await search(`host=${host}&regex=${encodeURIComponent("event 0$")}&regex=${encodeURIComponent("event (4|5)$")}`);
    expect(either.body.events.map((e: any) => e.raw.slice(-1))).toEqual(["5", "4", "0"]);
    const neg = await search(`host=${host}&not_regex=${encodeURIComponent("event [0-2]$")}&limit=2`);
    expect(neg.body.events.map((e: any) => e.raw.slice(-1))).toEqual(["5", "4"]);
    expect(neg.body.next_cursor).toBe(neg.body.events[1].id);
  });

  it("bounds a regex scan at 10,000 rows and continues from next_cursor", async () => {
    const { host } = await seed(10_200, undefined, (i) => ({ message: `event ${i}` }));
    const first = await search(`host=${host}&regex=${encodeURIComponent("matches-nothing")}`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ events: [], scanned: 10_000 });
    expect(first.body.next_cursor).toMatch(/^[0-9A-Z]{26}$/);
    const rest = await search(`host=${host}&regex=${encodeURIComponent("event 1[0-9]$")}&cursor=${first.body.next_cursor}`);
    expect(rest.body.scanned).toBe(200);
    expect(rest.body.next_cursor).toBeNull();
    expect(rest.body.events.map((e: any) => e.raw.split(" ").pop())).toEqual(["19", "18", "17", "16", "15", "14", "13", "12", "11", "10"]);
  });

  it("rejects bad parameters with 400 and a message naming the parameter", async () => {
    for (const qs of ["limit=0", "limit=5001", "limit=abc", "from=yesterday", "last=15x", "src_ip=999.1.1.1", "src_port=70000",
      "severity=loud", "cursor=abc", "format=xml", "hosts=a", "regex=(", "regex=(a%2B)%2B", "regex=(a%7Ca)*%24", "regex=%5CS%2B%5CS%2Bx", "not_regex=(%3F%3Ax%7Cxy)%7B1%2C30%7D", "last=1h&from=2026-01-01T00:00:00Z",
      "to=2020-01-01T00:00:00Z&from=2021-01-01T00:00:00Z", "__proto__=1", "limit=1&limit=2"]) {
      const { status, body } = await search(qs);
      expect(status, qs).toBe(400);
      expect(body.error.code, qs).toBe("validation_failed");
    }
    const many = Array.from({ length: 120 }, (_, i) => `host=h${i}`).join("&");
    expect((await search(many)).status).toBe(400);
  });

  it("writes ndjson and csv with the cursor in X-Next-Cursor", async () => {
    const { host, events } = await seed(3, undefined, (i) => ({ message: i === 0 ? 'has "quotes", commas\nand a newline' : `m${i}` }));
    const nd = await search(`host=${host}&format=ndjson&limit=2`);
    expect(nd.res.headers.get("content-type")).toMatch(/x-ndjson/);
    const lines = (nd.body as string).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((e) => e.id)).toEqual([events[2]!.id, events[1]!.id]);
    expect(nd.res.headers.get("x-next-cursor")).toBe(events[1]!.id);
    const csv = await search(`host=${host}&format=csv`);
    expect(csv.res.headers.get("content-type")).toMatch(/text\/csv/);
    const text = csv.body as string;
    expect(text.split("\r\n")[0]).toMatch(/^id,@timestamp,received_at,host,program,dataset,source\.ip/);
    expect(text).toContain('"has ""quotes"", commas\nand a newline"');
    expect(csv.res.headers.get("x-next-cursor")).toBeNull();
  });

  it("needs the read scope", async () => {
    expect((await search("limit=1", "")).status).toBe(401);
    expect((await search("limit=1", await tokenWith("ingest"))).status).toBe(403);
    expect((await search("limit=1", await tokenWith("read"))).status).toBe(200);
  });
});

describe("GET /v1/events/:id", () => {
  it("returns one event, 404 for unknown or malformed ids", async () => {
    const { events } = await seed(1);
    const res = await api(`/v1/events/${events[0]!.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(renderTimes(events[0]!));
    for (const id of ["0".repeat(26), "nope", "%00"]) {
      const r = await api(`/v1/events/${id}`);
      expect(r.status).toBe(404);
      expect(((await r.json()) as any).error.code).toBe("not_found");
    }
  });

  it("returns ingested events whole (fields re-derived from raw), and reads rows stored by 0.1 builds unchanged", async () => {
    const line = "<4>Nov 22 10:00:01 router kernel: DROP(src wan)IN=eth1 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=203.0.113.5 DST=192.0.2.1 LEN=60 TTL=50 PROTO=TCP SPT=40000 DPT=22 SYN URGP=0";
    const receivedAt = "2026-11-22T10:00:02.345Z";
    // What ingest stores, straight from the parser (pure): the reference the read-back must equal.
    const expected = JSON.parse(JSON.stringify(renderTimes(normalize({ raw: line, receivedAt: Date.parse(receivedAt), sourceIp: "192.168.1.1", transport: "udp" }, DEFAULT_CONTEXT, "compact-1", 0)))) as Record<string, any>;
    const body = JSON.stringify({ raw: line, received_at: receivedAt, source_ip: "192.168.1.1", transport: "udp" });
    const res = await api("/v1/ingest", { method: "POST", body, headers: { "content-type": "application/x-ndjson", "idempotency-key": "compact-1" } });
    expect(res.status).toBe(200);
    const stored = await env.DB.prepare("SELECT doc, class_bits FROM events WHERE id = ?1").bind(expected!.id).first<{ doc: string; class_bits: number }>();
    // Only what the line cannot tell is stored beside raw and the columns: its sender and transport.
    expect(JSON.parse(stored!.doc)).toEqual({ s: "192.168.1.1", t: "udp" });
    expect(stored!.class_bits).toBeGreaterThan(0);
    // ...and every read derives the rest from raw again.
    const got = (await (await api(`/v1/events/${expected!.id}`)).json()) as Record<string, any>;
    expect(got).toEqual(expected);
    expect(got.source.ip).toBe("203.0.113.5");
    expect(got.log.syslog.facility).toEqual({ code: 0, name: "kern" });

    // A row written by a 0.1 build before compaction: the whole event minus the envelope as doc, no "~".
    const { id, "@timestamp": _ts, received_at: _r, message: _m, raw: _raw, ...full } = expected!;
    const legacyId = id.slice(0, -4) + "ZZZZ";
    await env.DB.prepare(
      "INSERT INTO events (id, ts, received_at, host, program, dataset, src_ip, dst_ip, src_port, dst_port, protocol, action, severity, message, raw, doc) " +
        "SELECT ?1, ts, received_at, host, program, dataset, src_ip, dst_ip, src_port, dst_port, protocol, action, severity, message, raw, ?2 FROM events WHERE id = ?3",
    ).bind(legacyId, JSON.stringify(full), id).run();
    const legacy = (await (await api(`/v1/events/${legacyId}`)).json()) as Record<string, any>;
    expect(legacy).toEqual({ ...expected, id: legacyId });
  });
});
