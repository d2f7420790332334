/**
 * The raw archive with wrangler's local R2 (binding ARCHIVE from wrangler.toml) and real D1: an ingest
 * batch lands as gzip NDJSON under raw/<day>/<source>/, one object per event day with its time range in
 * the metadata; a day deleted from search by retention comes back with POST /v1/archive/restore, twice
 * without duplicates, and a budget-limited restore continues from its cursor.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { restoreRange } from "../../workers/archive.ts";
import { gzipText } from "../../workers/archive-objects.ts";
import { generateCorpus } from "../../bench/corpus.ts";
import { storeOf } from "../../workers/store/d1.ts";
import { api, ingest } from "./api-client.ts";

const DAY = 86_400_000;
const line = (ms: number, host: string, i: number) => `<38>1 ${new Date(ms).toISOString()} ${host} sshd 1 - - Failed password for root from 198.51.100.${i % 200} port ${40000 + i} ssh2`;

async function hostCount(host: string): Promise<number> {
  const res = await api(`/v1/events?host=${host}&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=5000`);
  return ((await res.json()) as { events: unknown[] }).events.length;
}

async function gunzip(body: ReadableStream): Promise<string> {
  return new Response(body.pipeThrough(new DecompressionStream("gzip"))).text();
}

describe("raw archive in R2", () => {
  it("writes each accepted batch as gzip NDJSON per event day and source, with its time range as metadata", async () => {
    const host = `arch-${Date.now().toString(36)}`;
    const d1 = Date.UTC(2026, 0, 10, 23, 59, 58);
    const lines = [line(d1, host, 1), line(d1 + 1000, host, 2), line(d1 + 3000, host, 3)]; // the last is on 11 January
    const r = await ingest(lines, { headers: { "idempotency-key": `arch-${host}`, "x-porchlight-relay": "nas-arch" } });
    expect(r.status).toBe(200);
    const a = await env.ARCHIVE!.get(`raw/2026-01-10/nas-arch/arch-${host}.ndjson.gz`);
    const b = await env.ARCHIVE!.get(`raw/2026-01-11/nas-arch/arch-${host}.ndjson.gz`);
    expect(a && b).toBeTruthy();
    expect(a!.customMetadata).toEqual({ min_ts: String(d1), max_ts: String(d1 + 1000), lines: "2" });
    const rows = (await gunzip(a!.body)).trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.map((x) => x.raw)).toEqual(lines.slice(0, 2));
    expect(rows[0]).toMatchObject({ host, dataset: "sshd", src_ip: "198.51.100.1", ts: d1 });
    await b!.arrayBuffer();
  });

  it("gzips as CompressionStream does, byte for byte (node:zlib in one call instead of a stream)", async () => {
    const texts = ["", "one line\n", generateCorpus(1000).join("\n") + "\n", "é ✓ \u{1f600} \ud800 lone surrogate\n".repeat(500)];
    for (const text of texts) {
      const viaStream = new Uint8Array(await new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
      expect([...gzipText(text)]).toEqual([...viaStream]);
    }
  });

  it("restores a day that retention deleted back into search, idempotently", async () => {
    const host = `rest-${Date.now().toString(36)}`;
    const day = Date.UTC(2026, 1, 3);
    const lines = Array.from({ length: 40 }, (_, i) => line(day + 3_600_000 + i * 60_000, host, i));
    const other = [line(day + 2 * DAY, host, 99)]; // outside the restored day
    expect((await ingest([...lines, ...other], { headers: { "idempotency-key": `rest-${host}` } })).body.stored).toBe(41);
    // Delete them from search (a retention sweep of everything older than "now").
    expect((await api("/v1/retention", { method: "PUT", json: { default: "1h", datasets: {} } })).status).toBe(200);
    expect((await api("/v1/retention/run", { method: "POST" })).status).toBe(200);
    expect(await hostCount(host)).toBe(0);

    const body = { from: new Date(day).toISOString(), to: new Date(day + DAY - 1).toISOString() };
    const res = await api("/v1/archive/restore", { method: "POST", json: body });
    const rep = (await res.json()) as any;
    expect(res.status, JSON.stringify(rep)).toBe(200);
    expect(rep).toMatchObject({ rows: 40, restored: 40, already_stored: 0, complete: true });
    expect(await hostCount(host)).toBe(40);
    const again = (await (await api("/v1/archive/restore", { method: "POST", json: body })).json()) as any;
    expect(again).toMatchObject({ rows: 40, restored: 0, already_stored: 40 });
    // A restore is asked for: the sweep does not go back for it (only a saved policy starts it over).
    expect(((await (await api("/v1/retention/run", { method: "POST" })).json()) as any).deleted_total).toBe(0);
    expect(await hostCount(host)).toBe(40);
    await api("/v1/retention", { method: "PUT", json: { default: null, datasets: {} } });
  });

  it("continues a restore from its cursor when the object budget runs out; refuses bad ranges", async () => {
    const host = `cur-${Date.now().toString(36)}`;
    const day = Date.UTC(2026, 1, 20);
    for (let b = 0; b < 3; b++) {
      expect((await ingest([line(day + b * 1000, host, b)], { headers: { "idempotency-key": `cur-${host}-${b}` } })).status).toBe(200);
    }
    await env.DB.prepare("DELETE FROM events WHERE host = ?1").bind(host).run();
    const store = storeOf(env);
    let cursor: string | null = null;
    let restored = 0;
    let calls = 0;
    do {
      // One object per call: each call resumes after the last object the previous one read.
      const rep = await restoreRange(env.ARCHIVE!, store, day, day + DAY - 1, cursor, undefined, 1);
      restored += rep.restored;
      cursor = rep.complete ? null : rep.cursor;
      calls++;
    } while (cursor && calls < 10);
    expect(restored).toBe(3);
    expect(calls).toBe(3); // one object a call; the third call also finds the range complete

    for (const bad of [{ from: "yesterday", to: "2026-01-01T00:00:00Z" }, { from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" }, { from: "2026-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z" }, { from: "2026-01-01T00:00:00Z" }]) {
      const res = await api("/v1/archive/restore", { method: "POST", json: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
  });
});
