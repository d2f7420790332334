/**
 * Aggregates over events and alerts for the overview charts (GET /v1/stats/overview), over the `Sql`
 * port, reached through the Store (StatsStore). Bucketing and the API shape stay in
 * workers/routes/stats.ts.
 *
 * Event aggregates bound the scan with a primary-key range (`id >= lowerBound(from)`): events has no
 * index on `ts` by design (see workers/store/schema.ts), and the id starts with the event time.
 */
import { lowerBound } from "../parse/id.ts";
import { categoryMask, typeMask } from "./search-time.ts";
import { stmt } from "./sql.ts";
import { BLOCK_ACTIONS } from "./rollups.ts";
import type { Sql } from "./types.ts";

/** Top blocked sources returned. */
export const TOP_BLOCKED = 10;
/**
 * event.category "authentication" / event.type "denied", tested on the class_bits column; rows of 0.1
 * builds have no class_bits (NULL) and keep both fields in their stored document.
 */
const classTest = (mask: number, field: "category" | "type", value: string) =>
  `((class_bits & ${mask}) != 0 OR (class_bits IS NULL AND json_extract(doc, '$.event.${field}') LIKE '%${value}%'))`;
const AUTHENTICATION = classTest(categoryMask("authentication"), "category", "authentication");
const DENIED = classTest(typeMask("denied"), "type", "denied");

/** Counts since `from` (ms): per UTC hour (bucket start, ms) and dataset, per UTC day, top sources. */
export interface OverviewCounts {
  eventsPerHour: { hour: number; dataset: string; n: number }[];
  failedLoginsPerHour: { hour: number; n: number }[];
  /** Alerts by the day (UTC start, ms) they were first seen. */
  alertsPerDay: { day: number; n: number }[];
  /** Sources of blocked or denied events, most first (at most TOP_BLOCKED). */
  topBlocked: { ip: string; n: number }[];
}

export interface StatsStore {
  overviewCounts(from: number): Promise<OverviewCounts>;
}

export const statsQueries = (sql: Sql): StatsStore => ({
  async overviewCounts(from) {
    const lb = lowerBound(from);
    const blockList = BLOCK_ACTIONS.map((a) => `'${a}'`).join(",");
    const [perHour, logins, alerts, blocked] = await sql.batch([
      stmt("SELECT (ts / 3600000) * 3600000 AS h, dataset, COUNT(*) AS n FROM events WHERE id >= ?1 AND ts >= ?2 GROUP BY h, dataset", lb, from),
      stmt(
        `SELECT (ts / 3600000) * 3600000 AS h, COUNT(*) AS n FROM events
          WHERE id >= ?1 AND ts >= ?2 AND outcome = 'failure' AND ${AUTHENTICATION}
          GROUP BY h`,
        lb, from,
      ),
      stmt("SELECT (first_seen / 86400000) * 86400000 AS d, COUNT(*) AS n FROM alerts WHERE first_seen >= ?1 GROUP BY d", from),
      stmt(
        `SELECT src_ip AS ip, COUNT(*) AS n FROM events
          WHERE id >= ?1 AND ts >= ?2 AND src_ip IS NOT NULL
            AND (lower(action) IN (${blockList}) OR ${DENIED})
          GROUP BY src_ip ORDER BY n DESC, ip LIMIT ${TOP_BLOCKED}`,
        lb, from,
      ),
    ]);
    return {
      eventsPerHour: perHour!.rows.map((r) => ({ hour: Number(r.h), dataset: String(r.dataset), n: Number(r.n) })),
      failedLoginsPerHour: logins!.rows.map((r) => ({ hour: Number(r.h), n: Number(r.n) })),
      alertsPerDay: alerts!.rows.map((r) => ({ day: Number(r.d), n: Number(r.n) })),
      topBlocked: blocked!.rows.map((r) => ({ ip: String(r.ip), n: Number(r.n) })),
    };
  },
});
