/**
 * Retention of raw events (RetentionStore): the policy (`retention` table) and the sweep that deletes
 * expired events in bounded chunks, resumable through one cursor per retention period
 * (`retention_cursors`). Policy (which period a dataset gets, how many chunks a run may take) is the
 * caller's: workers/retention.ts.
 *
 * Invariant: a chunk reads at most `scanRows` events rows (a primary-key range after the cursor, below
 * the period's horizon) and deletes only those of them whose dataset has this period, in one statement
 * batch that also moves the cursor (one transaction: a chunk is applied whole or not at all).
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
    // The primary-key range bounds the read; `ts` guards ids whose time prefix is at the horizon.
    const [scan] = await sql.batch([
      stmt("SELECT id, dataset, ts FROM events WHERE id > ?1 AND id < ?2 ORDER BY id LIMIT ?3", cursor, horizonId, p.scanRows),
    ]);
    const rows = scan!.rows;
    const wanted = new Set(p.others ? p.exclude : p.datasets);
    const victims: string[] = [];
    const deleted: Record<string, number> = Object.create(null);
    for (const r of rows) {
      const ds = String(r.dataset);
      if (wanted.has(ds) === p.others || Number(r.ts) >= p.horizonMs) continue;
      victims.push(String(r.id));
      deleted[ds] = (deleted[ds] ?? 0) + 1;
    }
    const done = rows.length < p.scanRows;
    // Rows at the horizon's time prefix but not yet expired stay after the cursor for the next pass.
    let last = rows.length;
    while (last > 0 && Number(rows[last - 1]!.ts) >= p.horizonMs) last--;
    const next = last > 0 ? String(rows[last - 1]!.id) : cursor;
    const results = await sql.batch([
      ...(victims.length ? [stmt("DELETE FROM events WHERE id IN (SELECT value FROM json_each(?1))", JSON.stringify(victims))] : []),
      stmt(
        "INSERT INTO retention_cursors (keep_ms, cursor, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (keep_ms) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        p.keepMs, next, p.now,
      ),
    ]);
    return { scanned: rows.length, deleted, rowsWritten: results.reduce((s, r) => s + r.rowsWritten, 0), done };
  },
});
