/**
 * Retention in workerd with real D1: the policy API, `POST /v1/retention/run` deleting exactly the
 * expired events of each dataset, a run stopped at its chunk budget resuming where it stopped, and the
 * Cron Trigger's `scheduled()` handler running the same sweep.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index.ts";
import { runRetention } from "../../workers/retention.ts";
import { storeOf } from "../../workers/store/d1.ts";
import { newEventId } from "../../workers/parse/id.ts";
import { api, ingest, tokenWith } from "./api-client.ts";

const DAY = 86_400_000;
const sshd = (ms: number, host: string, i: number) => `<38>1 ${new Date(ms).toISOString()} ${host} sshd 1 - - Failed password for root from 198.51.100.${i % 200} port ${40000 + i} ssh2`;
const fw = (ms: number, host: string, i: number) => `<4>1 ${new Date(ms).toISOString()} ${host} kernel - - - DROP IN=eth0 OUT= SRC=203.0.113.${i % 200} DST=192.0.2.1 PROTO=TCP SPT=${1000 + i} DPT=22`;

async function countByDataset(host: string): Promise<Record<string, number>> {
  const res = await api(`/v1/events?host=${host}&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=5000`);
  const body = (await res.json()) as { events: { event: { dataset: string } }[] };
  const by: Record<string, number> = {};
  for (const e of body.events) by[e.event.dataset] = (by[e.event.dataset] ?? 0) + 1;
  return by;
}

describe("retention", () => {
  it("keeps the policy: PUT validates and replaces it, GET reads it, only admins change it", async () => {
    expect(await (await api("/v1/retention")).json()).toEqual({ default: null, datasets: {} });
    const put = await api("/v1/retention", { method: "PUT", json: { default: "30d", datasets: { iptables: "7d", sshd: "365d" } } });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ default: "30d", datasets: { iptables: "7d", sshd: "365d" } });
    expect(await (await api("/v1/retention")).json()).toEqual({ default: "30d", datasets: { iptables: "7d", sshd: "365d" } });

    for (const bad of [{ default: "30" }, { default: "30d", datasets: { iptables: "forever" } }, { default: "400d" }, { default: "30d", extra: 1 }, { datasets: {} }, { default: "1d", datasets: { "a b": "1d" } }]) {
      const res = await api("/v1/retention", { method: "PUT", json: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(((await res.json()) as any).error.code).toBe("validation_failed");
    }
    const reader = await tokenWith("read");
    expect((await api("/v1/retention", { token: reader })).status).toBe(200);
    expect((await api("/v1/retention", { method: "PUT", token: reader, json: { default: "1d" } })).status).toBe(403);
    expect((await api("/v1/retention/run", { method: "POST", token: reader })).status).toBe(403);
  });

  it("POST /v1/retention/run deletes exactly the expired events of each dataset and reports them", async () => {
    const now = Date.now();
    const host = `ret-${now.toString(36)}`;
    // sshd kept 365 d, iptables 7 d, everything else (none here) 30 d.
    const lines = [
      ...Array.from({ length: 20 }, (_, i) => fw(now - 10 * DAY + i * 1000, host, i)), // expired
      ...Array.from({ length: 15 }, (_, i) => fw(now - 3 * DAY + i * 1000, host, 100 + i)), // kept
      ...Array.from({ length: 12 }, (_, i) => sshd(now - 400 * DAY + i * 1000, host, i)), // expired
      ...Array.from({ length: 8 }, (_, i) => sshd(now - 40 * DAY + i * 1000, host, 50 + i)), // kept (365 d)
    ];
    const r = await ingest(lines, { headers: { "idempotency-key": `ret-${host}` } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.stored).toBe(55);
    expect(await countByDataset(host)).toEqual({ iptables: 35, sshd: 20 });

    expect((await api("/v1/retention", { method: "PUT", json: { default: "30d", datasets: { iptables: "7d", sshd: "365d" } } })).status).toBe(200);
    const run = await api("/v1/retention/run", { method: "POST" });
    const report = (await run.json()) as any;
    expect(run.status, JSON.stringify(report)).toBe(200);
    expect(report.deleted).toEqual({ iptables: 20, sshd: 12 });
    expect(report.deleted_total).toBe(32);
    expect(report.complete).toBe(true);
    expect(report.rows_written).toBeGreaterThanOrEqual(32);
    expect(await countByDataset(host)).toEqual({ iptables: 15, sshd: 8 });

    // A second run finds nothing more.
    const again = (await (await api("/v1/retention/run", { method: "POST" })).json()) as any;
    expect(again.deleted_total).toBe(0);
  });

  it("stops at its chunk budget and resumes from the saved cursor; the cron handler runs the same sweep", async () => {
    const now = Date.now();
    const host = `chunk-${now.toString(36)}`;
    const lines = Array.from({ length: 60 }, (_, i) => fw(now - 20 * DAY + i * 1000, host, i));
    expect((await ingest(lines, { headers: { "idempotency-key": `chunk-${host}` } })).body.stored).toBe(60);
    expect((await api("/v1/retention", { method: "PUT", json: { default: null, datasets: { iptables: "7d" } } })).status).toBe(200);

    const store = storeOf(env);
    // 25 rows scanned per chunk, 1 chunk per run: resumable runs, each deleting a bounded number.
    const first = await runRetention(store, now, { maxChunks: 1, scanRows: 25 });
    expect(first).toMatchObject({ chunks: 1, complete: false });
    expect(first.scanned).toBe(25);
    expect(first.deleted_total).toBeLessThanOrEqual(25);
    const second = await runRetention(store, now, { maxChunks: 1, scanRows: 25 });
    expect(second.complete).toBe(false);
    expect((await countByDataset(host)).iptables).toBe(60 - first.deleted_total - second.deleted_total);

    // The Cron Trigger's handler finishes the sweep with the default budget, and meters what it wrote.
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const ledger = async () => (await env.DB.prepare("SELECT d1_rows_written AS w FROM usage_daily WHERE day = ?1").bind(day).first<{ w: number }>())?.w ?? 0;
    const w0 = await ledger();
    const left = (await countByDataset(host)).iptables!;
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: now, cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await countByDataset(host)).toEqual({});
    // + the cron's own ledger row (the countByDataset request's is written in its waitUntil, maybe later).
    expect((await ledger()) - w0).toBeGreaterThanOrEqual(left + 1);
  });

  it("an event that arrives after the sweep passed its time is deleted by the next cron; fresh ones stay", async () => {
    const now = Date.now();
    const host = `late-${now.toString(36)}`;
    expect((await api("/v1/retention", { method: "PUT", json: { default: null, datasets: { iptables: "7d" } } })).status).toBe(200);
    const first = await ingest(Array.from({ length: 10 }, (_, i) => fw(now - 9 * DAY + i * 1000, host, i)), { headers: { "idempotency-key": `late-a-${host}` } });
    expect(first.body.stored).toBe(10);
    const cron = async (at: number) => {
      const ctx = createExecutionContext();
      await worker.scheduled!(createScheduledController({ scheduledTime: at, cron: "*/15 * * * *" }), env, ctx);
      await waitOnExecutionContext(ctx);
    };
    await cron(now);
    expect(await countByDataset(host)).toEqual({});
    // The sweep's cursor is now near now - 7 d. A relay's spool delivers older lines, and some fresh ones.
    const late = [
      ...Array.from({ length: 6 }, (_, i) => fw(now - 12 * DAY + i * 1000, host, 20 + i)), // expired, behind the cursor
      ...Array.from({ length: 4 }, (_, i) => fw(now - 8 * DAY + i * 1000, host, 40 + i)), // expired, behind the cursor
      ...Array.from({ length: 5 }, (_, i) => fw(now - 2 * DAY + i * 1000, host, 60 + i)), // kept
    ];
    expect((await ingest(late, { headers: { "idempotency-key": `late-b-${host}` } })).body.stored).toBe(15);
    expect(await countByDataset(host)).toEqual({ iptables: 15 });
    await cron(now + 60_000);
    expect(await countByDataset(host)).toEqual({ iptables: 5 });
    // In-order traffic leaves no mark: the next run reads nothing it already read.
    const quiet = await runRetention(storeOf(env), now + 120_000);
    expect(quiet).toMatchObject({ deleted_total: 0, scanned: 0, complete: true });
    await api("/v1/retention", { method: "PUT", json: { default: null, datasets: {} } });
  });

  it("network sessions: their own period (or the default's), shown by GET, swept by the cron, also when written late", async () => {
    expect((await api("/v1/retention", { method: "PUT", json: { default: "30d", datasets: {}, sessions: "archive" } })).status).toBe(400);
    expect((await api("/v1/retention", { method: "PUT", json: { default: "30d", datasets: {}, sessions: "7" } })).status).toBe(400);
    const put = await api("/v1/retention", { method: "PUT", json: { default: "30d", datasets: { sshd: "365d" }, sessions: "7d" } });
    expect(await put.json()).toEqual({ default: "30d", datasets: { sshd: "365d" }, sessions: "7d" });
    expect(await (await api("/v1/retention")).json()).toEqual({ default: "30d", datasets: { sshd: "365d" }, sessions: "7d" });

    const now = Date.now();
    const router = `ret-rt-${now.toString(36)}`;
    const conn = (start: number, sport: number) => {
      const t = (ms: number) => new Date(ms).toISOString();
      return [
        `<14>1 ${t(start)} ${router} ulogd 100 - - [NEW] tcp 6 120 SYN_SENT src=192.168.9.10 dst=198.51.100.9 sport=${sport} dport=443 [UNREPLIED] src=198.51.100.9 dst=203.0.113.5 sport=443 dport=${sport}`,
        `<14>1 ${t(start + 5000)} ${router} ulogd 100 - - [DESTROY] tcp 6 src=192.168.9.10 dst=198.51.100.9 sport=${sport} dport=443 packets=3 bytes=300 src=198.51.100.9 dst=203.0.113.5 sport=443 dport=${sport} packets=4 bytes=4000 [ASSURED]`,
      ];
    };
    const ports = async () => {
      const res = await api(`/v1/sessions?router=${router}&limit=1000&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`);
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { sessions: { source: { port: number } }[] }).sessions.map((s) => s.source.port).sort((a, b) => a - b);
    };
    expect((await ingest([...conn(now - 10 * DAY, 41001), ...conn(now - 9 * DAY, 41002), ...conn(now - 1 * DAY, 41003)], { headers: { "idempotency-key": `s1-${router}` } })).status).toBe(200);
    expect(await ports()).toEqual([41001, 41002, 41003]);
    const run = (await (await api("/v1/retention/run", { method: "POST" })).json()) as any;
    expect(run.deleted_by_table.flow_sessions).toBe(2);
    expect(await ports()).toEqual([41003]);
    // A session written after the sweep passed its start (a long flow ends, a relay catches up) goes on the next cron.
    expect((await ingest([...conn(now - 9.5 * DAY, 41004), ...conn(now - 2 * DAY, 41005)], { headers: { "idempotency-key": `s2-${router}` } })).status).toBe(200);
    expect(await ports()).toEqual([41003, 41004, 41005]);
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: "*/15 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await ports()).toEqual([41003, 41005]);

    // Without a `sessions` entry, sessions follow the default's duration: 1 d here.
    expect(await (await api("/v1/retention", { method: "PUT", json: { default: "1d", datasets: {}, sessions: null } })).json()).toEqual({ default: "1d", datasets: {} });
    expect(((await (await api("/v1/retention/run", { method: "POST" })).json()) as any).deleted_by_table.flow_sessions).toBe(2);
    expect(await ports()).toEqual([]);
    await api("/v1/retention", { method: "PUT", json: { default: null, datasets: {} } });
  });

  it("a backlog of expired events does not stall the sessions' sweep: each later table keeps a chunk of the run", async () => {
    const now = Date.now();
    const host = `fair-${now.toString(36)}`;
    expect((await ingest(Array.from({ length: 30 }, (_, i) => fw(now - 20 * DAY + i * 1000, host, i)), { headers: { "idempotency-key": `fair-${host}` } })).body.stored).toBe(30);
    const store = storeOf(env);
    const router = `fair-rt-${now.toString(36)}`;
    const session = (start: number, i: number) => ({
      id: newEventId(start), start, end: start + 1000, router, zone: 0, transport: "tcp", src_ip: "192.168.1.2", dst_ip: "198.51.100.2",
      src_ip_key: "00000000000000000000ffffc0a80102", dst_ip_key: "00000000000000000000ffffc6336402", src_port: 40000 + i, dst_port: 443,
      src_bytes: 1, src_packets: 1, dst_bytes: 1, dst_packets: 1, device_id: null, src_country: null, src_asn: null, src_org: null,
      dst_country: null, dst_asn: null, dst_org: null, dst_domain: null, end_reason: "destroy",
    });
    await store.writeNetwork({ devices: [], sessions: [session(now - 20 * DAY, 1), session(now - 20 * DAY + 1, 2)], folds: [] });
    expect((await api("/v1/retention", { method: "PUT", json: { default: "7d", datasets: {} } })).status).toBe(200);
    // Two chunks of 5 rows: one for the events' backlog, one kept for the sessions.
    const run = await runRetention(store, now, { maxChunks: 2, scanRows: 5 });
    expect(run).toMatchObject({ chunks: 2, complete: false, deleted_by_table: { events: 5, flow_sessions: 2 } });
    await api("/v1/retention", { method: "PUT", json: { default: null, datasets: {} } });
  });

  it("the overview reads hourly rollups, so its counts stay after retention deletes the raw events", async () => {
    const now = Date.now();
    const host = `roll-${now.toString(36)}`;
    const t = now - 3 * 3_600_000;
    const lines = [
      ...Array.from({ length: 6 }, (_, i) => fw(t + i * 1000, host, 7)), // 6 drops from 203.0.113.7
      ...Array.from({ length: 3 }, (_, i) => sshd(t + 10_000 + i, host, 150 + i)), // 3 failed logins
    ];
    expect((await ingest(lines, { headers: { "idempotency-key": `roll-${host}` } })).body.stored).toBe(9);
    const hour = Math.floor(t / 3_600_000) * 3_600_000;
    const read = async () => (await (await api("/v1/stats/overview?last=24h")).json()) as any;
    const before = await read();
    const i = before.events_per_hour.buckets.indexOf(hour);
    expect(before.events_per_hour.series.iptables[i]).toBeGreaterThanOrEqual(6);
    const iptablesBefore = before.events_per_hour.series.iptables[i];

    expect((await api("/v1/retention", { method: "PUT", json: { default: "1h", datasets: {} } })).status).toBe(200);
    const run = (await (await api("/v1/retention/run", { method: "POST" })).json()) as any;
    expect(run.deleted.iptables).toBeGreaterThanOrEqual(6);
    expect(await countByDataset(host)).toEqual({});

    const after = await read();
    expect(after.events_per_hour.series.iptables[i]).toBe(iptablesBefore);
    expect(after.failed_logins_per_hour.counts[i]).toBeGreaterThanOrEqual(3);
    expect(after.top_blocked_sources.find((s: any) => s.ip === "203.0.113.7")?.count).toBeGreaterThanOrEqual(6);
    const hourly = (await (await api(`/v1/stats/hourly?last=24h&dim=src`)).json()) as any;
    expect(hourly.hours.find((h: any) => h.hour === new Date(hour).toISOString())?.top.find((x: any) => x.key === "203.0.113.7")?.count).toBeGreaterThanOrEqual(6);
  });

  it('"archive" keeps a dataset out of D1 but in the R2 archive, the rollups and the counters', async () => {
    const put = await api("/v1/retention", { method: "PUT", json: { default: "30d", datasets: { iptables: "archive" } } });
    expect(await put.json()).toEqual({ default: "30d", datasets: { iptables: "archive" } });
    const now = Date.now();
    const host = `ao-${now.toString(36)}`;
    const lines = [...Array.from({ length: 5 }, (_, i) => fw(now - 60_000 + i, host, i)), ...Array.from({ length: 2 }, (_, i) => sshd(now - 30_000 + i, host, i))];
    const before = ((await (await api("/v1/metrics")).json()) as any).counters;
    const r = await ingest(lines, { headers: { "idempotency-key": `ao-${host}`, "x-porchlight-relay": "ao" } });
    expect(r.body).toMatchObject({ accepted: 7, stored: 2 });
    expect(await countByDataset(host)).toEqual({ sshd: 2 });
    const after = ((await (await api("/v1/metrics")).json()) as any).counters;
    expect((after.archived_only ?? 0) - (before.archived_only ?? 0)).toBe(5);
    expect((after.duplicates ?? 0) - (before.duplicates ?? 0)).toBe(0);
    const listed = await env.ARCHIVE!.list({ prefix: `raw/${new Date(now).toISOString().slice(0, 10)}/ao/`, include: ["customMetadata"] });
    expect(listed.objects.map((o) => o.customMetadata?.lines ?? "")).toContain("7");
    const hourly = (await (await api("/v1/stats/hourly?last=24h&dim=host")).json()) as any;
    const counted = hourly.hours.reduce((n: number, h: any) => n + (h.top.find((x: any) => x.key === host)?.count ?? 0), 0);
    expect(counted).toBe(7);

    // A policy saved by another isolate (straight into the store: this isolate's cache is not told)
    // applies from the next batch: the cache is keyed on the settings version ingest reads per batch.
    await storeOf(env).putRetentionPolicy([{ dataset: "*", keepMs: 30 * DAY }], Date.now());
    const again = await ingest(lines.slice(0, 3), { headers: { "idempotency-key": `ao2-${host}` } });
    expect(again.body).toMatchObject({ accepted: 3, stored: 3 });
    await api("/v1/retention", { method: "PUT", json: { default: null, datasets: {} } });
  });
});
