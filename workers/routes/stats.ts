/**
 * Read-scope aggregates for the web view: `GET /v1/stats/overview` (the overview charts) and
 * `GET /v1/relays` (relays seen at ingest). Registered from web/routes.tsx.
 *
 * Event aggregates bound the scan with a primary-key range (`id >= lowerBound(from)`): events has no
 * index on `ts` by design (see workers/store/schema.ts), and the id starts with the event time.
 */
import type { Hono } from "hono";
import { requireScope, type AppEnv } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { lowerBound } from "../parse/id.ts";
import { categoryMask, typeMask } from "../store/search-time.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Longest range the overview accepts: scans stay bounded. */
const OVERVIEW_MAX_MS = 31 * DAY_MS;
/** Top blocked sources returned. */
const TOP_BLOCKED = 10;
/**
 * event.category "authentication" / event.type "denied", tested on the class_bits column; rows of 0.1
 * builds have no class_bits (NULL) and keep both fields in their stored document.
 */
const classTest = (mask: number, field: "category" | "type", value: string) =>
  `((class_bits & ${mask}) != 0 OR (class_bits IS NULL AND json_extract(doc, '$.event.${field}') LIKE '%${value}%'))`;
const AUTHENTICATION = classTest(categoryMask("authentication"), "category", "authentication");
const DENIED = classTest(typeMask("denied"), "type", "denied");
/** `event.action` values (lower-cased) that mean a firewall blocked the packet. */
const BLOCK_ACTIONS = ["drop", "dropped", "deny", "denied", "reject", "rejected", "block", "blocked"];

export function parseRange(last: string | undefined): number {
  const m = /^(\d{1,4})([hd])$/.exec(last ?? "24h");
  if (!m) throw new PorchlightError("bad_request", "last must look like 24h or 7d", { field: "last" });
  const ms = Number(m[1]) * (m[2] === "h" ? HOUR_MS : DAY_MS);
  if (ms <= 0 || ms > OVERVIEW_MAX_MS) throw new PorchlightError("bad_request", "last must be between 1h and 31d", { field: "last" });
  return ms;
}

export interface Overview {
  from: string;
  to: string;
  /** Hour buckets (ms since epoch, UTC hour start) and, per dataset, the count in each bucket. */
  events_per_hour: { buckets: number[]; series: Record<string, number[]> };
  failed_logins_per_hour: { buckets: number[]; counts: number[] };
  alerts_per_day: { buckets: number[]; counts: number[] };
  top_blocked_sources: { ip: string; count: number }[];
}

function buckets(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let t = Math.floor(from / step) * step; t <= to; t += step) out.push(t);
  return out;
}

export async function overview(db: D1Database, rangeMs: number, now = Date.now()): Promise<Overview> {
  const from = now - rangeMs;
  const lb = lowerBound(from);
  const blockList = BLOCK_ACTIONS.map((a) => `'${a}'`).join(",");
  const [perHour, logins, alerts, blocked] = await db.batch<Record<string, number | string | null>>([
    db.prepare("SELECT (ts / 3600000) * 3600000 AS h, dataset, COUNT(*) AS n FROM events WHERE id >= ?1 AND ts >= ?2 GROUP BY h, dataset").bind(lb, from),
    db.prepare(
      `SELECT (ts / 3600000) * 3600000 AS h, COUNT(*) AS n FROM events
        WHERE id >= ?1 AND ts >= ?2 AND outcome = 'failure' AND ${AUTHENTICATION}
        GROUP BY h`,
    ).bind(lb, from),
    db.prepare("SELECT (first_seen / 86400000) * 86400000 AS d, COUNT(*) AS n FROM alerts WHERE first_seen >= ?1 GROUP BY d").bind(from),
    db.prepare(
      `SELECT src_ip AS ip, COUNT(*) AS n FROM events
        WHERE id >= ?1 AND ts >= ?2 AND src_ip IS NOT NULL
          AND (lower(action) IN (${blockList}) OR ${DENIED})
        GROUP BY src_ip ORDER BY n DESC, ip LIMIT ${TOP_BLOCKED}`,
    ).bind(lb, from),
  ]);

  const hours = buckets(from, now, HOUR_MS);
  const hourIndex = new Map(hours.map((h, i) => [h, i]));
  const series: Record<string, number[]> = {};
  for (const r of perHour!.results) {
    const i = hourIndex.get(Number(r.h));
    if (i === undefined) continue;
    const ds = String(r.dataset);
    (series[ds] ??= new Array<number>(hours.length).fill(0))[i] = Number(r.n);
  }
  const loginCounts = new Array<number>(hours.length).fill(0);
  for (const r of logins!.results) {
    const i = hourIndex.get(Number(r.h));
    if (i !== undefined) loginCounts[i] = Number(r.n);
  }
  const days = buckets(from, now, DAY_MS);
  const dayIndex = new Map(days.map((d, i) => [d, i]));
  const alertCounts = new Array<number>(days.length).fill(0);
  for (const r of alerts!.results) {
    const i = dayIndex.get(Number(r.d));
    if (i !== undefined) alertCounts[i] = Number(r.n);
  }
  return {
    from: new Date(from).toISOString(),
    to: new Date(now).toISOString(),
    events_per_hour: { buckets: hours, series },
    failed_logins_per_hour: { buckets: hours, counts: loginCounts },
    alerts_per_day: { buckets: days, counts: alertCounts },
    top_blocked_sources: blocked!.results.map((r) => ({ ip: String(r.ip), count: Number(r.n) })),
  };
}

export function registerStatsRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/stats/overview", requireScope("read"), async (c) => {
    return c.json(await overview(c.env.DB, parseRange(c.req.query("last"))));
  });

  app.get("/v1/relays", requireScope("read"), async (c) => {
    const { results } = await c.env.DB.prepare(
      "SELECT name, last_seen_at, last_ip, batches, lines, bytes FROM relays ORDER BY last_seen_at DESC LIMIT 500",
    ).all<{ name: string; last_seen_at: number; last_ip: string | null; batches: number; lines: number; bytes: number }>();
    return c.json({
      relays: results.map((r) => ({
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
