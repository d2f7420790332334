import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { d1Store } from "../../workers/store/d1.ts";
import { readBodyBytes } from "../../workers/ingest/body.ts";
import { api, gzip, ingest, tokenWith } from "./api-client.ts";
import { alertsOf, createRule } from "./rules-fixtures.ts";

const line = (n: number, tag = "t") => `<134>Nov 22 10:00:${String(n % 60).padStart(2, "0")} router ${tag}[1]: line ${n} of ${tag}`;

async function eventsWith(q: string): Promise<any[]> {
  const res = await api(`/v1/events?q=${encodeURIComponent(q)}&limit=5000`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: any[] }).events;
}

async function counters(): Promise<Record<string, number>> {
  const rows = await env.DB.prepare("SELECT name, value FROM counters").all<{ name: string; value: number }>();
  return Object.fromEntries(rows.results.map((r) => [r.name, r.value]));
}

describe("POST /v1/ingest", () => {
  it("stores text/plain lines and reports counts; empty lines are counted, not stored", async () => {
    const { status, body } = await ingest(["alpha-1 one", "", "   ", "alpha-1 two"], { headers: { "idempotency-key": "plain-1" } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ accepted: 2, stored: 2, empty: 2, duplicate: false, errors: [] });
    const found = await eventsWith("alpha-1");
    expect(found.map((e) => e.raw).sort()).toEqual(["alpha-1 one", "alpha-1 two"]);
    for (const e of found) {
      expect(e.id).toMatch(/^[0-9A-Z]{26}$/);
      expect(typeof e["@timestamp"]).toBe("string");
      expect(typeof e.received_at).toBe("string");
      expect(e.event.dataset).toBeTypeOf("string");
    }
  });

  it("acknowledges a retried batch as duplicate and stores nothing twice", async () => {
    const lines = [line(1, "dup2"), line(2, "dup2"), line(3, "dup2")];
    const first = await ingest(lines, { headers: { "idempotency-key": "batch-dup-2" } });
    expect(first.body).toMatchObject({ accepted: 3, stored: 3, duplicate: false });
    const again = await ingest(lines, { headers: { "idempotency-key": "batch-dup-2" } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ accepted: 3, stored: 3, duplicate: true });
    expect(await eventsWith("of dup2")).toHaveLength(3);
  });

  it("re-stores nothing when a batch is retried after a failure before its batches row was written", async () => {
    const lines = [line(1, "retry3"), line(2, "retry3")];
    await ingest(lines, { headers: { "idempotency-key": "retry-3" } });
    // Simulate a crash after the events were stored but before the batch was recorded.
    await env.DB.prepare("DELETE FROM batches WHERE key = 'retry-3'").run();
    const again = await ingest(lines, { headers: { "idempotency-key": "retry-3" } });
    expect(again.body).toMatchObject({ accepted: 2, stored: 0, duplicate: false });
    expect(await eventsWith("of retry3")).toHaveLength(2);
  });

  it("a retry after a failed rule evaluation reuses the first receive time, so lines without a timestamp are not stored twice", async () => {
    const lines = ["nots-3b first line without any timestamp", "nots-3b second one"];
    const first = await ingest(lines, { headers: { "idempotency-key": "nots-3b" } });
    expect(first.body.stored).toBe(2);
    const [e] = await eventsWith("nots-3b first");
    // What the route records when evaluateBatch throws after the events were stored (it then answers 503).
    await env.DB.prepare("DELETE FROM batches WHERE key = 'nots-3b'").run();
    await d1Store(env.DB).markPending("nots-3b", { pending: true, received_at: Date.parse(e.received_at), stored: 2, rows_written: 3 });
    const retry = await ingest(lines, { headers: { "idempotency-key": "nots-3b" } });
    expect(retry.body).toMatchObject({ accepted: 2, stored: 2, duplicate: false });
    expect(await eventsWith("nots-3b")).toHaveLength(2);
    const again = await ingest(lines, { headers: { "idempotency-key": "nots-3b" } });
    expect(again.body).toMatchObject({ stored: 2, duplicate: true });
  });

  it("accepts NDJSON, uses received_at and source_ip, and reports malformed lines by number while storing the rest", async () => {
    const body = [
      JSON.stringify({ raw: "nd-4 first", received_at: "2026-01-02T03:04:05.678Z", source_ip: "192.168.1.1", transport: "udp" }),
      "{not json",
      JSON.stringify({ raw: 42 }),
      JSON.stringify({ raw: "nd-4 fourth", received_at: "yesterday" }),
    ].join("\n");
    const res = await ingest(body, { headers: { "content-type": "application/x-ndjson", "idempotency-key": "nd-4" } });
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(4);
    expect(res.body.stored).toBe(4);
    expect(res.body.errors.map((e: any) => e.line)).toEqual([2, 3, 4]);
    expect(res.body.errors[0].message).toMatch(/invalid JSON/);
    const found = await eventsWith("nd-4");
    const first = found.find((e) => e.raw === "nd-4 first");
    expect(first.received_at).toBe("2026-01-02T03:04:05.678Z");
    // The malformed line is kept byte-for-byte as a raw line: nothing is lost.
    const all = await api(`/v1/events?q=${encodeURIComponent("{not json")}`);
    expect(((await all.json()) as any).events[0].raw).toBe("{not json");
  });

  it("accepts gzip and rejects invalid gzip with 400", async () => {
    const zipped = await gzip("gz-5 compressed line\n");
    const ok = await ingest("", { body: zipped, headers: { "content-encoding": "gzip" } });
    expect(ok.status).toBe(200);
    expect(ok.body.stored).toBe(1);
    expect(await eventsWith("gz-5 compressed")).toHaveLength(1);

    const bad = await ingest("", { body: new TextEncoder().encode("this is not gzip at all"), headers: { "content-encoding": "gzip" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_gzip");

    const truncated = await ingest("", { body: zipped.slice(0, zipped.length - 6), headers: { "content-encoding": "gzip" } });
    expect(truncated.status).toBe(400);
  });

  it("answers 413 for a body over 1 MB, also when it only grows that large after gunzip (bomb)", async () => {
    const big = "x".repeat(1_100_000);
    const plain = await ingest(big);
    expect(plain.status).toBe(413);
    expect(plain.body.error.code).toBe("payload_too_large");
    const bomb = await gzip("y".repeat(5_000_000));
    expect(bomb.length).toBeLessThan(20_000);
    const res = await ingest("", { body: bomb, headers: { "content-encoding": "gzip" } });
    expect(res.status).toBe(413);
  });

  it("reads a gzip body of many blocks byte for byte, and stops at the cap between blocks", async () => {
    // ≈900 KB of varied text: several of the reader's 256 KiB blocks, many of DecompressionStream's chunks.
    const text = Array.from({ length: 9000 }, (_, i) => `${line(i, `p${i % 97}`)} ${"é✓".repeat(i % 7)} ${i * 7919}`).join("\n");
    const bytes = new TextEncoder().encode(text);
    const zipped = await gzip(bytes);
    const got = await readBodyBytes(new Blob([zipped]).stream(), "gzip", String(zipped.length));
    expect(got).toEqual(bytes);
    await expect(readBodyBytes(new Blob([zipped]).stream(), "gzip", String(zipped.length), 300_000)).rejects.toMatchObject({ code: "payload_too_large" });
    // Uncompressed, the same.
    expect(await readBodyBytes(new Blob([bytes]).stream(), "identity", null)).toEqual(bytes);
  });

  it("answers 413 for more than 5000 lines", async () => {
    const res = await ingest(Array.from({ length: 5001 }, (_, i) => `l${i}`));
    expect(res.status).toBe(413);
  });

  it("answers 415 for an unsupported content type or encoding", async () => {
    expect((await ingest("a", { headers: { "content-type": "application/xml" } })).status).toBe(415);
    expect((await ingest("a", { headers: { "content-encoding": "br" } })).status).toBe(415);
  });

  it("requires the ingest scope: 401 without a token, 403 with a read token", async () => {
    expect((await ingest("a", { token: null })).status).toBe(401);
    expect((await ingest("a", { token: "pl_abcdefgh_0123456789abcdef0123" })).status).toBe(401);
    const read = await tokenWith("read");
    const res = await ingest("a", { token: read });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    const ing = await tokenWith("ingest");
    expect((await ingest("scope-ok", { token: ing })).status).toBe(200);
  });

  it("never throws on invalid UTF-8 and NUL bytes; raw keeps them (replacement characters for invalid bytes)", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode("nul-8 a"), 0, 0xff, 0xfe, ...new TextEncoder().encode(" b\n")]);
    const res = await ingest("", { body: bytes });
    expect(res.status).toBe(200);
    expect(res.body.stored).toBe(1);
    const [e] = await eventsWith("nul-8");
    expect(e.raw).toBe("nul-8 a\u0000\uFFFD\uFFFD b");
  });

  it("truncates a line over 64 KiB and flags it", async () => {
    const long = "trunc-9 " + "z".repeat(70_000);
    const res = await ingest([long]);
    expect(res.body.stored).toBe(1);
    const [e] = await eventsWith("trunc-9");
    expect(e.raw.length).toBe(65_536);
    expect(e.porchlight.truncated).toBe(true);
  });

  it("keeps counters and the relay row, with rows_written equal to what D1 billed", async () => {
    const before = await counters();
    const res = await ingest(["cnt-10 a", "", "cnt-10 b"], { headers: { "x-porchlight-relay": "nas-1", "idempotency-key": "cnt-10" } });
    expect(res.status).toBe(200);
    const after = await counters();
    const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    expect(d("received")).toBe(2);
    expect(d("stored")).toBe(2);
    expect(d("empty_lines")).toBe(1);
    // 2 events + batches row + relays row + 4 counter rows (received, stored, empty_lines, rows_written)
    // + 1 hourly rollup part and 1 search summary part (both lines fall in one hour), plus parse_errors
    // when the placeholder parser leaves lines unparsed.
    const parseErrRow = res.body.parse_errors > 0 ? 1 : 0;
    expect(d("rows_written")).toBe(2 + 1 + 1 + 4 + 1 + 1 + parseErrRow);
    const relay = await env.DB.prepare("SELECT * FROM relays WHERE name = 'nas-1'").first<any>();
    expect(relay).toMatchObject({ batches: 1, lines: 2 });
  });

  it("exposes the counters and relays at GET /v1/metrics (read scope), also for Prometheus", async () => {
    await ingest(["met-12 a"], { headers: { "x-porchlight-relay": "nas-metrics" } });
    const res = await api("/v1/metrics");
    expect(res.status).toBe(200);
    const m = (await res.json()) as any;
    expect(m.counters.received).toBeGreaterThanOrEqual(1);
    expect(m.relays.some((r: any) => r.name === "nas-metrics")).toBe(true);
    const prom = await (await api("/v1/metrics?format=prometheus")).text();
    expect(prom).toMatch(/^porchlight_received_total \d+$/m);
    expect((await api("/v1/metrics", { token: await tokenWith("ingest") })).status).toBe(403);
  });

  it("forgets Idempotency-Keys older than the retention, pruning on one request in 200", async () => {
    const response = { accepted: 1, stored: 1, parse_errors: 0, empty: 0, duplicate: false, errors: [], alerts: 0, suppressed: 0, late: 0 };
    await d1Store(env.DB).recordBatch({ key: "ancient-13", receivedAt: Date.now() - 8 * 86_400_000, response, counters: {} });
    await d1Store(env.DB).recordBatch({ key: "recent-13", receivedAt: Date.now() - 86_400_000, response, counters: {} });
    for (let i = 0; i < 200; i++) expect((await ingest("", { headers: { "idempotency-key": `prune-13-${i}` } })).status).toBe(200);
    const keys = await env.DB.prepare("SELECT key FROM batches WHERE key IN ('ancient-13', 'recent-13')").all<{ key: string }>();
    expect(keys.results.map((r) => r.key)).toEqual(["recent-13"]);
  });

  it("answers 400 for a malformed Idempotency-Key", async () => {
    const res = await ingest("a", { headers: { "idempotency-key": "has spaces in it" } });
    expect(res.status).toBe(400);
  });

  it("flags events of NDJSON lines the relay truncated (\"truncated\": true), and only those", async () => {
    const body = [
      JSON.stringify({ raw: "rtrunc-14 cut by the relay", transport: "udp", truncated: true }),
      JSON.stringify({ raw: "rtrunc-14 whole", transport: "udp", truncated: false }),
      JSON.stringify({ raw: "rtrunc-14 bad flag", truncated: "yes" }),
    ].join("\n");
    const res = await ingest(body, { headers: { "content-type": "application/x-ndjson" } });
    expect(res.status).toBe(200);
    expect(res.body.stored).toBe(3);
    expect(res.body.errors).toEqual([{ line: 3, message: expect.stringMatching(/"truncated" must be a boolean; stored as a raw line/) }]);
    const found = await eventsWith("rtrunc-14");
    const byRaw = (raw: string) => found.find((e) => e.raw === raw);
    expect(byRaw("rtrunc-14 cut by the relay").porchlight).toMatchObject({ truncated: true, transport: "udp" });
    expect(byRaw("rtrunc-14 whole").porchlight.truncated).toBeUndefined();
    // The malformed envelope is stored whole as a raw line, not flagged.
    expect(found.find((e) => e.raw.includes("bad flag")).porchlight.truncated).toBeUndefined();
  });

  it("reports rule evaluation (alerts, suppressed, late) in the response and the metrics counters", async () => {
    // Rules on addresses no other test of this file sends from.
    const single = `ing-single-${Date.now()}`;
    await createRule({ id: single, name: "Every failure from .201", type: "single", match: { "source.ip": "203.0.113.201" } });
    await createRule({ id: `ing-sup-${Date.now()}`, name: "Known scanner", type: "suppress", match: { "source.ip": "198.18.7.7" } });
    await createRule({ id: `ing-thr-${Date.now()}`, name: "Three from .202", type: "threshold", match: { "source.ip": "203.0.113.202" }, group_by: ["source.ip"], threshold: 3, window: "60s" });
    const fail = (time: string, ip: string) => `<38>Nov 22 ${time} nas sshd[7]: Failed password for root from ${ip} port 2222 ssh2`;
    const before = await counters();
    const first = await ingest([fail("10:01:40", "203.0.113.201"), fail("10:01:41", "198.18.7.7"), fail("10:01:40", "203.0.113.202"), fail("10:01:50", "203.0.113.202")]);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ stored: 4, alerts: 1, suppressed: 1, late: 0 });
    expect(await alertsOf(single)).toHaveLength(1);
    // 70 s older than the newest match of the threshold rule: no window that could still fire holds it.
    const second = await ingest([fail("10:00:40", "203.0.113.202")]);
    expect(second.body).toMatchObject({ stored: 1, alerts: 0, suppressed: 0, late: 1 });
    const after = await counters();
    const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    expect([d("alerts"), d("suppressed"), d("late_matches")]).toEqual([1, 1, 1]);
    const m = (await (await api("/v1/metrics")).json()) as { counters: Record<string, number> };
    expect(m.counters.late_matches).toBe(after.late_matches);
  });
});
