/**
 * The cost meter in workerd with real D1: the ledger's rows written for an ingest equal what D1 reported
 * for it (the `rows_written` counter, itself D1's meta.rows_written), GET /v1/usage's shape and its
 * warning before a Free limit, and the projection to the month's end.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../workers/index.ts";
import { describe, expect, it } from "vitest";
import { storeOf } from "../../workers/store/d1.ts";
import { emptyUsage } from "../../workers/store/usage.ts";
import { dayOf, usageReport } from "../../workers/usage.ts";
import { PIPELINE_COUNTERS, USAGE_GAUGES } from "../../workers/metric-names.ts";
import { ADMIN_TOKEN, api, BASE, ingest, tokenWith } from "./api-client.ts";

/** Today's ledger row and the counters, read straight from D1 (not through the metered Worker). */
async function snapshot() {
  const usage = await env.DB.prepare("SELECT * FROM usage_daily WHERE day = ?1").bind(dayOf(Date.now())).first<Record<string, number>>();
  const rw = await env.DB.prepare("SELECT value FROM counters WHERE name = 'rows_written'").first<{ value: number }>();
  return { usage: usage ?? {}, rowsWritten: rw?.value ?? 0 };
}

describe("cost meter", () => {
  it("counts an ingest's D1 rows written exactly as D1 reported them, and the request", async () => {
    const before = await snapshot();
    const now = Date.now();
    const lines = Array.from({ length: 50 }, (_, i) => `<38>1 ${new Date(now - i * 1000).toISOString()} meter sshd 1 - - Accepted publickey for u${i} from 192.0.2.${i} port 5${i} ssh2`);
    // Straight into the Worker with an execution context: the ledger is written in waitUntil, after the response.
    const ctx = createExecutionContext();
    const deferred: Promise<unknown>[] = [];
    const waitUntil = ctx.waitUntil.bind(ctx);
    ctx.waitUntil = (p: Promise<unknown>) => {
      deferred.push(p);
      waitUntil(p);
    };
    const res = await worker.fetch!(
      new Request(`${BASE}/v1/ingest`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "text/plain", "idempotency-key": `meter-${now}` }, body: lines.join("\n") + "\n" }) as Request<unknown, IncomingRequestCfProperties>,
      env,
      ctx,
    );
    const body = (await res.json()) as { stored: number };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.stored).toBe(50);
    // The ledger write was handed to waitUntil, not awaited before the response.
    expect(deferred).toHaveLength(1);
    await waitOnExecutionContext(ctx);
    const after = await snapshot();
    const ingestWritten = after.rowsWritten - before.rowsWritten; // D1's meta.rows_written of the ingest
    expect(ingestWritten).toBeGreaterThanOrEqual(50);
    const d = (k: string) => (after.usage[k] ?? 0) - (before.usage[k] ?? 0);
    // + 1: the ledger upsert's own written row.
    expect(d("d1_rows_written")).toBe(ingestWritten + 1);
    expect(d("worker_requests")).toBe(1);
    expect(d("d1_queries")).toBeGreaterThanOrEqual(3);
    expect(d("d1_rows_read")).toBeGreaterThan(0);
    expect(after.usage.d1_bytes).toBeGreaterThan(0);
  });

  it("meters the D1 writes the NetworkState object makes (sessions, devices) into the same ledger", async () => {
    const now = Date.now();
    const router = `meter-rt-${now.toString(36)}`;
    const t = (ms: number) => new Date(ms).toISOString();
    const lines = Array.from({ length: 4 }, (_, i) => [
      `<14>1 ${t(now - 60_000 + i)} ${router} ulogd 100 - - [NEW] udp 17 30 src=192.168.44.${10 + i} dst=9.9.9.9 sport=${51000 + i} dport=53 [UNREPLIED] src=9.9.9.9 dst=203.0.113.5 sport=53 dport=${51000 + i}`,
      `<14>1 ${t(now - 50_000 + i)} ${router} ulogd 100 - - [DESTROY] udp 17 src=192.168.44.${10 + i} dst=9.9.9.9 sport=${51000 + i} dport=53 packets=1 bytes=60 src=9.9.9.9 dst=203.0.113.5 sport=53 dport=${51000 + i} packets=1 bytes=120`,
    ]).flat();
    const before = await snapshot();
    const ctx = createExecutionContext();
    const res = await worker.fetch!(
      new Request(`${BASE}/v1/ingest`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "text/plain", "idempotency-key": `meter-net-${now}` }, body: lines.join("\n") + "\n" }) as Request<unknown, IncomingRequestCfProperties>,
      env,
      ctx,
    );
    expect(res.status, await res.clone().text()).toBe(200);
    await waitOnExecutionContext(ctx);
    const sessions = (await env.DB.prepare("SELECT count(*) AS n FROM flow_sessions WHERE router = ?1").bind(router).first<{ n: number }>())!.n;
    const devices = (await env.DB.prepare("SELECT count(*) AS n FROM devices WHERE router = ?1").bind(router).first<{ n: number }>())!.n;
    expect(sessions).toBe(4);
    // The request's D1 writes (its rows_written counter) + its ledger row, and the object's writes (one row
    // per session and device) + its own ledger row, written in the object's waitUntil: poll the ledger.
    let after = await snapshot();
    const expected = () => after.rowsWritten - before.rowsWritten + 1 + sessions + devices + 1;
    const got = () => (after.usage.d1_rows_written ?? 0) - (before.usage.d1_rows_written ?? 0);
    for (let i = 0; i < 200 && got() < expected(); i++) after = await snapshot();
    expect(got()).toBe(expected());
  });

  it("GET /v1/usage reports today, the month and its projection against Free and Paid, warning before a limit", async () => {
    const res = await api("/v1/usage");
    expect(res.status).toBe(200);
    const u = (await res.json()) as any;
    expect(u.today.day).toBe(new Date().toISOString().slice(0, 10));
    expect(u.today.worker_requests).toBeGreaterThanOrEqual(1);
    expect(u.month.d1_rows_written).toBeGreaterThanOrEqual(u.today.d1_rows_written);
    expect(u.projection.d1_rows_written).toBeGreaterThanOrEqual(u.month.d1_rows_written);
    expect(u.checks.find((c: any) => c.metric === "d1_rows_written" && c.plan === "free")).toMatchObject({ period: "day", limit: 100_000 });
    expect(u.level).toBe("ok");

    // 75,000 rows written today: 75% of the Free plan's 100,000 a day.
    await storeOf(env).addUsage(dayOf(Date.now()), { ...emptyUsage(), d1_rows_written: 75_000 });
    const warned = (await (await api("/v1/usage")).json()) as any;
    expect(warned.level).toBe("warning");
    expect(warned.checks.find((c: any) => c.metric === "d1_rows_written" && c.plan === "free").level).toBe("warning");

    // The cron turns the warning into one alert (notified like any alert), however often it runs.
    for (let i = 0; i < 2; i++) {
      const ctx = createExecutionContext();
      await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: "*/15 * * * *" }), env, ctx);
      await waitOnExecutionContext(ctx);
    }
    const alerts = ((await (await api("/v1/alerts?limit=500")).json()) as { alerts: any[] }).alerts.filter((a) => a.rule_id === "porchlight-usage");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ severity: "medium", duplicate_count: 0 });
    expect(alerts[0].title).toMatch(/^D1 rows written: 7\d % of the Free plan's daily limit$/);
  });

  it("projects the month from the days so far and prices what exceeds the Paid allowance", () => {
    const now = Date.UTC(2026, 3, 10, 12); // 10 April, noon: 9.5 days elapsed of 30
    const days = [Date.UTC(2026, 3, 1), Date.UTC(2026, 3, 10), Date.UTC(2026, 2, 31)].map((day) => ({ day, ...emptyUsage(), d1_rows_written: 9_500_000, d1_bytes: 1000 }));
    const r = usageReport(days, now);
    expect(r.month.d1_rows_written).toBe(19_000_000); // March 31 is not this month
    expect(r.projection.d1_rows_written).toBe(60_000_000);
    expect(r.projected_overage_usd).toBe(10); // 10 M rows over 50 M at $1.00 per million
    expect(r.today.d1_rows_written).toBe(9_500_000);
    expect(r.level).toBe("over"); // 9.5 M today against Free's 100,000
    expect(r.projection.d1_bytes).toBe(1000);
  });

  it("serves Prometheus text at /metrics to a read token: every pipeline counter, the relays and the cost gauges", async () => {
    expect((await api("/metrics", { token: null })).status).toBe(401);
    expect((await api("/metrics", { token: await tokenWith("ingest") })).status).toBe(403);
    const res = await api("/metrics", { token: await tokenWith("read") });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of Object.keys(PIPELINE_COUNTERS)) expect(text).toMatch(new RegExp(`^porchlight_${name}_total \\d+$`, "m"));
    for (const name of Object.keys(USAGE_GAUGES)) expect(text).toContain(`# TYPE ${name} gauge`);
    expect(text).toMatch(/^porchlight_usage_today\{metric="worker_requests"\} [1-9]\d*$/m);
    expect(text).toMatch(/^porchlight_usage_limit_fraction\{metric="d1_rows_written",plan="free"\} [\d.e-]+$/m);
    // Every sample line is `name{labels} value` or `name value`.
    for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?[\d.e+-]+$/);
  });
});
