/**
 * The raw archive with wrangler's local R2 (binding ARCHIVE from wrangler.toml) and real D1: an ingest
 * batch lands as it arrived (the relay's gzip NDJSON byte for byte, or text) under raw/<day of its
 * earliest event>/<source>/, with a pointer object for each other event day and the time ranges in the
 * metadata; a day deleted from search by retention comes back with POST /v1/archive/restore (the body
 * parsed again: the same event ids), twice without duplicates, also through a pointer; an earlier
 * build's object (the rows as gzip NDJSON) still restores; a budget-limited restore continues from its
 * cursor.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { restoreRange } from "../../workers/archive.ts";
import { relayNdjson } from "../../bench/corpus.ts";
import { storeOf } from "../../workers/store/d1.ts";
import { api, gzip, ingest } from "./api-client.ts";

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
  it("keeps a text batch as it arrived under the day of its earliest event, a pointer for the next day, the time ranges as metadata", async () => {
    const host = `arch-${Date.now().toString(36)}`;
    const d1 = Date.UTC(2026, 0, 10, 23, 59, 58);
    const lines = [line(d1, host, 1), line(d1 + 1000, host, 2), line(d1 + 3000, host, 3)]; // the last is on 11 January
    const key = `arch-${host}`;
    const r = await ingest(lines, { headers: { "idempotency-key": key, "x-porchlight-relay": "nas-arch" } });
    expect(r.status).toBe(200);
    const body = await env.ARCHIVE!.get(`raw/2026-01-10/nas-arch/${key}.txt`);
    const ref = await env.ARCHIVE!.get(`raw/2026-01-11/nas-arch/${key}.ref`);
    expect(body && ref).toBeTruthy();
    expect(await body!.text()).toBe(lines.join("\n") + "\n");
    expect(body!.customMetadata).toMatchObject({ min_ts: String(d1), max_ts: String(d1 + 1000), lines: "2", kind: "text", batch_key: key });
    expect(ref!.customMetadata).toMatchObject({ min_ts: String(d1 + 3000), max_ts: String(d1 + 3000), lines: "1", ref: `raw/2026-01-10/nas-arch/${key}.txt` });
    await ref!.arrayBuffer();
  });

  it("keeps the relay's gzip NDJSON byte for byte, and restores it through the pointer of a later day", async () => {
    const host = `gz-${Date.now().toString(36)}`;
    const d = Date.UTC(2026, 0, 20, 23, 59, 59);
    const text = relayNdjson([line(d, host, 1), line(d + 2000, host, 2)]);
    const gz = await gzip(text);
    const key = `gz-${host}`;
    const res = await api("/v1/ingest", { method: "POST", headers: { "content-type": "application/x-ndjson", "content-encoding": "gzip", "idempotency-key": key, "x-porchlight-relay": "nas-gz" }, body: gz });
    expect(res.status).toBe(200);
    const body = await env.ARCHIVE!.get(`raw/2026-01-20/nas-gz/${key}.ndjson.gz`);
    expect(new Uint8Array(await body!.arrayBuffer())).toEqual(gz);
    const ids = (await (await api(`/v1/events?host=${host}&from=2026-01-20T00:00:00Z&to=2026-01-22T00:00:00Z`)).json() as { events: { event: { id: string } }[] }).events.map((e) => e.event.id);
    expect(ids).toHaveLength(2);
    await env.DB.prepare("DELETE FROM events WHERE host = ?1").bind(host).run();
    // Only 21 January: the pointer leads to the body, whose line of that day comes back with its id.
    const day2 = { from: "2026-01-21T00:00:00Z", to: "2026-01-21T23:59:59Z" };
    const rep = (await (await api("/v1/archive/restore", { method: "POST", json: day2 })).json()) as any;
    expect(rep).toMatchObject({ objects: 1, rows: 1, restored: 1, complete: true });
    const back = (await (await api(`/v1/events?host=${host}&from=2026-01-20T00:00:00Z&to=2026-01-22T00:00:00Z`)).json() as { events: { event: { id: string } }[] }).events.map((e) => e.event.id);
    expect(back).toEqual([ids[0]]);
  });

  it("restores an earlier build's object: the rows as gzip NDJSON", async () => {
    const host = `old-${Date.now().toString(36)}`;
    const d = Date.UTC(2026, 0, 25, 12);
    const r = await ingest([line(d, host, 5)], { headers: { "idempotency-key": `old-${host}` } });
    expect(r.status).toBe(200);
    const row = await env.DB.prepare("SELECT * FROM events WHERE host = ?1").bind(host).first<Record<string, unknown>>();
    const stored = await storeOf(env).getEvent(String(row!.id));
    await env.DB.prepare("DELETE FROM events WHERE host = ?1").bind(host).run();
    await env.ARCHIVE!.put(`raw/2026-01-25/old-build/${host}.ndjson.gz`, await gzip(JSON.stringify(stored) + "\n"), {
      httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
      customMetadata: { min_ts: String(d), max_ts: String(d), lines: "1" },
    });
    const rep = (await (await api("/v1/archive/restore", { method: "POST", json: { from: "2026-01-25T00:00:00Z", to: "2026-01-25T23:59:59Z" } })).json()) as any;
    expect(rep.restored).toBeGreaterThanOrEqual(1);
    expect(await storeOf(env).getEvent(String(row!.id))).toEqual(stored);
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
