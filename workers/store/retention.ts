/**
 * Retention of raw events (RetentionStore): the policy (`retention` table) and the sweep that deletes
 * expired events in bounded chunks, resumable through one cursor per retention period
 * (`retention_cursors`). Policy (which period a dataset gets, how many chunks a run may take) is the
 * caller's: workers/retention.ts.
 *
 * Invariant: a chunk covers at most `scanRows` events rows (a primary-key range after the cursor, below
 * the period's horizon) and deletes only those of them whose dataset has this period, in one statement
 * batch that also moves the cursor (one transaction: a chunk is applied whole or not at all). It reads
 * each row of its range twice (finding the range's end, then the ranged DELETE): ≈ 2 rows read and 1
 * written per deleted event.
 */
import { lowerBound } from "../parse/id.ts";
import { stmt } from "./sql.ts";
import type { Sql } from "./types.ts";

/** Dataset key of the default period. */
export const DEFAULT_DATASET = "*";

export interface RetentionPolicyRow {
  /** Dataset name, or `*` for every dataset without a row of its own. */
  dataset: string;
  keepMs: number;
}

export interface SweepChunk {
  /** Events rows read (scanned) by the chunk. */
  scanned: number;
  /** Deleted rows per dataset. */
  deleted: Record<string, number>;
  /** D1 rows written by the chunk (deleted rows plus the cursor row). */
  rowsWritten: number;
  /** True when the scan reached the horizon: this period has nothing older left to look at. */
  done: boolean;
}

export interface RetentionStore {
  retentionPolicy(): Promise<RetentionPolicyRow[]>;
  /** Replaces the whole policy (and drops the sweep cursors: a dataset may have changed period). */
  putRetentionPolicy(rows: readonly RetentionPolicyRow[], now: number): Promise<void>;
  /**
   * One chunk of the sweep for one retention period: scans at most `scanRows` events with id after the
   * period's cursor and event time before `horizonMs`, and deletes those whose dataset is in `datasets`
   * (or, with `others`, whose dataset is NOT in `exclude`: the default period). The cursor only
   * moves forward, so a pass reads each row once: an event that arrives later than the sweep with an
   * event time already behind the cursor is kept until the policy is next saved (which resets cursors).
   */
  sweepRetentionChunk(p: { keepMs: number; horizonMs: number; datasets: readonly string[]; others: boolean; exclude: readonly string[]; scanRows: number; now: number }): Promise<SweepChunk>;
}

/** Sets the cursor of key ?1 (a retention period, or rollups.ts's compaction watermark) to ?2 at ?3. */
export const CURSOR_UPSERT =
  "INSERT INTO retention_cursors (keep_ms, cursor, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (keep_ms) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at";

export const retentionQueries = (sql: Sql): RetentionStore => ({
  async retentionPolicy() {
    const [r] = await sql.batch([stmt("SELECT dataset, keep_ms FROM retention ORDER BY dataset")]);
    return r!.rows.map((x) => ({ dataset: String(x.dataset), keepMs: Number(x.keep_ms) }));
  },

  async putRetentionPolicy(rows, now) {
    await sql.batch([
      stmt("DELETE FROM retention"),
      stmt("DELETE FROM retention_cursors"),
      stmt(
        "INSERT INTO retention (dataset, keep_ms, updated_at) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?2 FROM json_each(?1)",
        JSON.stringify(rows.map((r) => [r.dataset, r.keepMs])),
        now,
      ),
    ]);
  },

  async sweepRetentionChunk(p) {
    const [cur] = await sql.batch([stmt("SELECT cursor FROM retention_cursors WHERE keep_ms = ?1", p.keepMs)]);
    const cursor = cur!.rows.length ? String(cur!.rows[0]!.cursor) : "";
    const horizonId = lowerBound(p.horizonMs);
    // Where this chunk ends: the scanRows-th id after the cursor (a primary-key range read of the ids).
    const [scan] = await sql.batch([
      stmt("SELECT id FROM events WHERE id > ?1 AND id < ?2 ORDER BY id LIMIT ?3", cursor, horizonId, p.scanRows),
    ]);
    const rows = scan!.rows;
    const done = rows.length < p.scanRows;
    const next = rows.length ? String(rows[rows.length - 1]!.id) : cursor;
    // The delete walks the same range once more (no list of ids to look up one by one: D1 bills each
    // lookup as rows read) and returns the dataset of every row it deleted, for the report.
    const filter = p.others ? "dataset NOT IN (SELECT value FROM json_each(?4))" : "dataset IN (SELECT value FROM json_each(?4))";
    const results = rows.length
      ? await sql.batch([
          stmt(`DELETE FROM events WHERE id > ?1 AND id <= ?2 AND ts < ?3 AND ${filter} RETURNING dataset`, cursor, next, p.horizonMs, JSON.stringify(p.others ? p.exclude : p.datasets)),
          stmt(CURSOR_UPSERT, p.keepMs, next, p.now),
        ])
      : await sql.batch([stmt(CURSOR_UPSERT, p.keepMs, next, p.now)]);
    const deleted: Record<string, number> = Object.create(null);
    if (rows.length) for (const r of results[0]!.rows) deleted[String(r.dataset)] = (deleted[String(r.dataset)] ?? 0) + 1;
    // libSQL reports no affected rows for a statement with RETURNING: each returned row was one deleted.
    const written = results.reduce((s, r) => s + r.rowsWritten, 0) + (rows.length ? Math.max(0, results[0]!.rows.length - results[0]!.rowsWritten) : 0);
    return { scanned: rows.length, deleted, rowsWritten: written, done };
  },
});
