/**
 * The cost meter's ledger (UsageStore, table `usage_daily`): one row per UTC day, added to by one upsert
 * per metered request (workers/usage.ts). The upsert counts itself: D1 bills it as one query and one
 * written row (an INTEGER PRIMARY KEY table without indexes), and those are added in the same statement,
 * so the ledger's rows written equal what D1 reported for the day. Its own rows read (0 or 1) are not.
 */
import { stmt } from "./sql.ts";
import type { Sql } from "./types.ts";

export interface UsageCounts {
  worker_requests: number;
  d1_rows_read: number;
  d1_rows_written: number;
  d1_queries: number;
  /** Largest database size seen (bytes; a level, not a sum). */
  d1_bytes: number;
  do_requests: number;
  r2_class_a: number;
  r2_class_b: number;
  notifications: number;
}

export const USAGE_METRICS: readonly (keyof UsageCounts)[] = ["worker_requests", "d1_rows_read", "d1_rows_written", "d1_queries", "d1_bytes", "do_requests", "r2_class_a", "r2_class_b", "notifications"];

export const emptyUsage = (): UsageCounts => ({ worker_requests: 0, d1_rows_read: 0, d1_rows_written: 0, d1_queries: 0, d1_bytes: 0, do_requests: 0, r2_class_a: 0, r2_class_b: 0, notifications: 0 });

export interface UsageStore {
  /** Adds `delta` to day `day` (UTC day start, ms), plus this upsert's own query and written row. */
  addUsage(day: number, delta: UsageCounts): Promise<void>;
  /** Days from `fromDay` to `toDay` (inclusive, UTC day starts in ms), oldest first. */
  usageDays(fromDay: number, toDay: number): Promise<({ day: number } & UsageCounts)[]>;
}

export const usageQueries = (sql: Sql): UsageStore => ({
  async addUsage(day, d) {
    await sql.batch([
      stmt(
        `INSERT INTO usage_daily (day, worker_requests, d1_rows_read, d1_rows_written, d1_queries, d1_bytes, do_requests, r2_class_a, r2_class_b, notifications)
         VALUES (?1, ?2, ?3, ?4 + 1, ?5 + 1, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (day) DO UPDATE SET worker_requests = worker_requests + excluded.worker_requests,
           d1_rows_read = d1_rows_read + excluded.d1_rows_read, d1_rows_written = d1_rows_written + excluded.d1_rows_written,
           d1_queries = d1_queries + excluded.d1_queries, d1_bytes = max(d1_bytes, excluded.d1_bytes),
           do_requests = do_requests + excluded.do_requests, r2_class_a = r2_class_a + excluded.r2_class_a,
           r2_class_b = r2_class_b + excluded.r2_class_b, notifications = notifications + excluded.notifications`,
        day, d.worker_requests, d.d1_rows_read, d.d1_rows_written, d.d1_queries, d.d1_bytes, d.do_requests, d.r2_class_a, d.r2_class_b, d.notifications,
      ),
    ]);
  },

  async usageDays(fromDay, toDay) {
    const [r] = await sql.batch([stmt(`SELECT day, ${USAGE_METRICS.join(", ")} FROM usage_daily WHERE day >= ?1 AND day <= ?2 ORDER BY day`, fromDay, toDay)]);
    return r!.rows.map((x) => {
      const out = { day: Number(x.day), ...emptyUsage() };
      for (const m of USAGE_METRICS) out[m] = Number(x[m] ?? 0);
      return out;
    });
  },
});
