/**
 * Read-scope aggregates for the web view: `GET /v1/stats/overview` (the overview charts) and
 * `GET /v1/relays` (relays seen at ingest). Registered from web/routes.tsx.
 * The counting itself is the Store's (workers/store/stats.ts).
 */
import type { Hono } from "hono";
import { requireScope, type AppEnv } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { storeOf } from "../store/d1.ts";
import type { StatsStore } from "../store/stats.ts";
import type { Overview } from "../api-types.ts";

export type { Overview };

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Relays listed at most (newest first). */
const RELAYS_LISTED = 500;
/** Longest range the overview accepts: scans stay bounded. */
const OVERVIEW_MAX_MS = 31 * DAY_MS;

export function parseRange(last: string | undefined): number {
  const m = /^(\d{1,4})([hd])$/.exec(last ?? "24h");
  if (!m) throw new PorchlightError("bad_request", "last must look like 24h or 7d", { field: "last" });
  const ms = Number(m[1]) * (m[2] === "h" ? HOUR_MS : DAY_MS);
  if (ms <= 0 || ms > OVERVIEW_MAX_MS) throw new PorchlightError("bad_request", "last must be between 1h and 31d", { field: "last" });
  return ms;
}

function buckets(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor(from / step) * step; t <= to; t += step) out.push(t);
  return out;
}

/** The overview over the last `rangeMs` before `now` (ms): counts bucketed by UTC hour and day. */
export async function overview(store: StatsStore, rangeMs: number, now = Date.now()): Promise<Overview> {
  const from = now - rangeMs;
  const counts = await store.overviewCounts(from);
  const hours = buckets(from, now, HOUR_MS);
  const hourIndex = new Map(hours.map((h, i) => [h, i]));
  const series: Record<string, number[]> = {};
  for (const r of counts.eventsPerHour) {
    const i = hourIndex.get(r.hour);
    if (i !== undefined) (series[r.dataset] ??= new Array<number>(hours.length).fill(0))[i] = r.n;
  }
  const loginCounts = new Array<number>(hours.length).fill(0);
  for (const r of counts.failedLoginsPerHour) {
    const i = hourIndex.get(r.hour);
    if (i !== undefined) loginCounts[i] = r.n;
  }
  const days = buckets(from, now, DAY_MS);
  const dayIndex = new Map(days.map((d, i) => [d, i]));
  const alertCounts = new Array<number>(days.length).fill(0);
  for (const r of counts.alertsPerDay) {
    const i = dayIndex.get(r.day);
    if (i !== undefined) alertCounts[i] = r.n;
  }
  return {
    from: new Date(from).toISOString(),
    to: new Date(now).toISOString(),
    events_per_hour: { buckets: hours, series },
    failed_logins_per_hour: { buckets: hours, counts: loginCounts },
    alerts_per_day: { buckets: days, counts: alertCounts },
    top_blocked_sources: counts.topBlocked.map((r) => ({ ip: r.ip, count: r.n })),
  };
}

export function registerStatsRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/stats/overview", requireScope("read"), async (c) => {
    return c.json(await overview(storeOf(c.env), parseRange(c.req.query("last"))));
  });

  app.get("/v1/relays", requireScope("read"), async (c) => {
    const relays = await storeOf(c.env).relays(RELAYS_LISTED);
    return c.json({
      relays: relays.map((r) => ({
        name: r.name,
        last_seen: new Date(r.last_seen_at).toISOString(),
        last_ip: r.last_ip,
        batches: r.batches,
        lines: r.lines,
        bytes: r.bytes,
      })),
    });
  });
}
