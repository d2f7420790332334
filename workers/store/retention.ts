/**
 * Retention (RetentionStore): the policy (`retention` table) and the sweep that deletes expired rows of
 * each swept table (SWEPT_TABLES: events, flow_sessions) in bounded chunks, resumable through one cursor
 * per table and retention period (`retention_sweeps`). Policy (which period a dataset gets, how many
 * chunks a run may take) is the caller's: workers/retention.ts.
 *
 * Invariants:
 * - a chunk covers at most `scanRows` rows of its table (a primary-key range after the cursor, below
 *   the period's horizon) and deletes only those of them whose dataset has this period, in one statement
 *   batch that also moves the cursor (one transaction: a chunk is applied whole or not at all). It reads
 *   each row of its range twice (finding the range's end, then the ranged DELETE);
 * - late rows: every writer of a swept table (insertEvents, writeNetwork) runs LATE_MARK in the same
 *   statement batch as its insert. When the oldest row it wrote may sit at or behind a cursor of that
 *   table, it leaves a mark (keep_ms LATE_KEY, cursor: an id below that row). The next chunk of the
 *   table moves every cursor of the table back to the mark and drops it, so the pass reads that range
 *   again. Writers and chunks are serialized transactions: a row written before a chunk's batch is in
 *   its ranged DELETE, one written after sees the moved cursor and marks. In-order traffic (rows newer
 *   than every cursor) writes nothing: the mark costs a few rows read per insert batch, no row written.
 */
import { lowerBound } from "../parse/id.ts";
import { stmt } from "./sql.ts";
import type { Sql, SqlStatement } from "./types.ts";

/** Dataset key of the default period. */
export const DEFAULT_DATASET = "*";
/** Policy key of network sessions (flow_sessions); dataset names cannot start with `@`. */
export const SESSIONS_KEY = "@sessions";

/**
 * The tables the sweep deletes from, one entry each. Each has a text primary key `id` that sorts by
 * time (parse/id.ts: its first 10 characters encode `time` in ms), so a time range is a key range;
 * `group` names the column a period filters on and the report counts by (null: the whole table has one
 * period).
 */
export const SWEPT_TABLES = {
  events: { time: "ts", group: "dataset" },
  /** Kept by session start (the id's time): a long session goes with the period of its start. */
  flow_sessions: { time: "start", group: null },
} as const satisfies Record<string, { time: string; group: string | null }>;
export type SweptTable = keyof typeof SWEPT_TABLES;

export interface RetentionPolicyRow {
  /** Dataset name, `*` for every dataset without a row of its own, `@sessions` for flow_sessions. */
  dataset: string;
  keepMs: number;
}

export interface SweepChunk {
  /** Rows of the table read (scanned) by the chunk. */
  scanned: number;
  /** Deleted rows per dataset (per `group` value; the table's name for a table without groups). */
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
   * One chunk of the sweep of `table` for one retention period: scans at most `scanRows` rows with id
   * after the period's cursor and time before `horizonMs`, and deletes those whose dataset is in
   * `datasets` (or, with `others`, whose dataset is NOT in `exclude`: the default period; a table
   * without groups deletes every row of the range). The cursor moves forward, and back to a late mark
   * left by a writer (module header), so an expired row is deleted whatever order it arrived in. With
   * `rewind: false` a mark is left for a later chunk (a run rewinds once per table: 2 more statements).
   */
  sweepRetentionChunk(p: { table: SweptTable; keepMs: number; horizonMs: number; datasets: readonly string[]; others: boolean; exclude: readonly string[]; scanRows: number; now: number; rewind?: boolean }): Promise<SweepChunk>;
}

/** keep_ms of a table's late mark in retention_sweeps (periods are >= 0). */
const LATE_KEY = -1;

const SWEEP_UPSERT =
  "INSERT INTO retention_sweeps (tbl, keep_ms, cursor, updated_at) VALUES (?1, ?2, ?3, ?4) " +
  "ON CONFLICT (tbl, keep_ms) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at";

/**
 * Leaves (or lowers) the late mark of table ?1 at id ?2 when some cursor of the table is past ?2; ?3 is
 * the wall time. `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint.
 */
const LATE_MARK =
  "INSERT INTO retention_sweeps (tbl, keep_ms, cursor, updated_at) SELECT ?1, " + LATE_KEY + ", ?2, ?3 " +
  "WHERE EXISTS (SELECT 1 FROM retention_sweeps WHERE tbl = ?1 AND keep_ms >= 0 AND cursor > ?2) " +
  "ON CONFLICT (tbl, keep_ms) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at WHERE excluded.cursor < cursor";

/**
 * The statement a writer of `table` adds to its insert batch (module header): `oldestMs` is the oldest
 * time among the rows it writes. An id just below every id of that millisecond, so the mark is below
 * each row written.
 */
export function lateMark(table: SweptTable, oldestMs: number, now: number): SqlStatement {
  return stmt(LATE_MARK, table, oldestMs > 0 ? lowerBound(oldestMs - 1) : "", now);
}

/** Sets the cursor of key ?1 (rollups.ts's compaction watermark) to ?2 at ?3 (retention_cursors). */
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
      // Cursors and late marks: every period's sweep starts again from the beginning.
      stmt("DELETE FROM retention_sweeps"),
      stmt(
        "INSERT INTO retention (dataset, keep_ms, updated_at) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?2 FROM json_each(?1)",
        JSON.stringify(rows.map((r) => [r.dataset, r.keepMs])),
        now,
      ),
    ]);
  },

  async sweepRetentionChunk(p) {
    const { time, group } = SWEPT_TABLES[p.table];
    const [cur] = await sql.batch([stmt("SELECT keep_ms, cursor FROM retention_sweeps WHERE tbl = ?1 AND keep_ms IN (?2, ?3)", p.table, p.keepMs, LATE_KEY)]);
    let cursor = "";
    let late: string | undefined;
    for (const r of cur!.rows) {
      if (Number(r.keep_ms) === LATE_KEY) late = String(r.cursor);
      else cursor = String(r.cursor);
    }
    if (late !== undefined && p.rewind !== false) {
      // Every cursor of the table goes back to the mark; the mark goes unless a writer lowered it since.
      await sql.batch([
        stmt("UPDATE retention_sweeps SET cursor = ?2, updated_at = ?3 WHERE tbl = ?1 AND keep_ms >= 0 AND cursor > ?2", p.table, late, p.now),
        stmt("DELETE FROM retention_sweeps WHERE tbl = ?1 AND keep_ms = ?2 AND cursor = ?3", p.table, LATE_KEY, late),
      ]);
      if (late < cursor) cursor = late;
    }
    const horizonId = lowerBound(p.horizonMs);
    // Where this chunk ends: the scanRows-th id after the cursor (a primary-key range read of the ids).
    const [scan] = await sql.batch([
      stmt(`SELECT id FROM ${p.table} WHERE id > ?1 AND id < ?2 ORDER BY id LIMIT ?3`, cursor, horizonId, p.scanRows),
    ]);
    const rows = scan!.rows;
    const done = rows.length < p.scanRows;
    if (!rows.length) return { scanned: 0, deleted: {}, rowsWritten: 0, done };
    const next = String(rows[rows.length - 1]!.id);
    // The delete walks the same range once more (no list of ids to look up one by one: D1 bills each
    // lookup as rows read) and returns the group of every row it deleted, for the report.
    const filter = group === null ? "" : p.others ? ` AND ${group} NOT IN (SELECT value FROM json_each(?4))` : ` AND ${group} IN (SELECT value FROM json_each(?4))`;
    const params: unknown[] = [cursor, next, p.horizonMs];
    if (group !== null) params.push(JSON.stringify(p.others ? p.exclude : p.datasets));
    const results = await sql.batch([
      stmt(`DELETE FROM ${p.table} WHERE id > ?1 AND id <= ?2 AND "${time}" < ?3${filter} RETURNING ${group ?? `'${p.table}'`} AS grp`, ...params),
      stmt(SWEEP_UPSERT, p.table, p.keepMs, next, p.now),
    ]);
    const deleted: Record<string, number> = Object.create(null);
    for (const r of results[0]!.rows) deleted[String(r.grp)] = (deleted[String(r.grp)] ?? 0) + 1;
    // libSQL reports no affected rows for a statement with RETURNING: each returned row was one deleted.
    const written = results.reduce((s, r) => s + r.rowsWritten, 0) + Math.max(0, results[0]!.rows.length - results[0]!.rowsWritten);
    return { scanned: rows.length, deleted, rowsWritten: written, done };
  },
});
