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
 * - late rows: every writer of a swept table (insertEvents, writeNetwork) ends its insert's statement
 *   batch with LATE_MARK (lateMark). For each period whose cursor is past the oldest row written, it
 *   widens that period's late range (late_from, late_to] to cover the written rows behind the cursor.
 *   The period's next chunk sweeps that range (bounded like any chunk, resumable) before going on
 *   from the cursor. Writers and chunks are serialized transactions, and a chunk deletes by range, not
 *   by listed ids: a row is either inside a chunk's DELETE or written after the cursor moved, and then
 *   marked. In-order traffic (rows newer than every cursor) writes nothing: the mark reads one row per
 *   period. The range is tight for the common cases: a spool's old batch spans its own minutes, and a
 *   device with a wrong clock (lines from 1970 among today's) marks only its own old minutes, because
 *   rows of the last LATE_RECENT_MS only count towards a period whose cursor is that recent.
 */
import { lowerBound } from "../parse/id.ts";
import { stmt } from "./sql.ts";
import type { Sql, SqlStatement } from "./types.ts";

/** Dataset key of the default period. */
/** Adds an inserted device_hours row into an existing one (store/network.ts folds devices the same way). */
export const DEVICE_HOURS_UPSERT =
  "ON CONFLICT (device_id, hour) DO UPDATE SET bytes_out = bytes_out + excluded.bytes_out, bytes_in = bytes_in + excluded.bytes_in, sessions = sessions + excluded.sessions";

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
  /** True when the scan reached the horizon: this period has nothing older left to look at (and no late range). */
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
   * without groups deletes every row of the range). The cursor only moves forward; a period's late range
   * (module header) is swept first, so an expired row is deleted whatever order it arrived in; such a
   * chunk is never `done`.
   */
  sweepRetentionChunk(p: { table: SweptTable; keepMs: number; horizonMs: number; datasets: readonly string[]; others: boolean; exclude: readonly string[]; scanRows: number; now: number }): Promise<SweepChunk>;
}

const SWEEP_UPSERT =
  "INSERT INTO retention_sweeps (tbl, keep_ms, cursor, updated_at) VALUES (?1, ?2, ?3, ?4) " +
  "ON CONFLICT (tbl, keep_ms) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at";

/**
 * Rows written within this long of the writer's clock count as in order for every period whose cursor
 * is older than that (ms): the late range of a batch that mixes old and fresh rows covers only its old ones.
 */
export const LATE_RECENT_MS = 3_600_000;

/**
 * Widens the late range of each period of table ?1 whose cursor is past ?2 (an id below the oldest row
 * written) to end at the newest written row behind the cursor: ?3 (an id above the newest row older than
 * LATE_RECENT_MS) for a cursor older than ?5 (the id of that recent bound), else ?4 (an id above the
 * newest row). Writes only when the range grows. ?6: wall ms.
 */
const LATE_MARK =
  "UPDATE retention_sweeps SET late_from = min(coalesce(late_from, ?2), ?2), " +
  "late_to = max(coalesce(late_to, ''), min(CASE WHEN cursor >= ?5 THEN ?4 ELSE ?3 END, cursor)), updated_at = ?6 " +
  "WHERE tbl = ?1 AND cursor > ?2 AND min(CASE WHEN cursor >= ?5 THEN ?4 ELSE ?3 END, cursor) > ?2 " +
  "AND (late_from IS NULL OR late_from > ?2 OR late_to < min(CASE WHEN cursor >= ?5 THEN ?4 ELSE ?3 END, cursor))";

/**
 * The statement a writer of `table` adds to its insert batch (module header), from the times of the rows
 * it writes (ms): one pass over them, no sort.
 */
export function lateMark<R>(table: SweptTable, rows: readonly R[], timeOf: (r: R) => number, now: number): SqlStatement {
  const recent = now - LATE_RECENT_MS;
  let oldest = Infinity, newest = -Infinity, newestOld = -Infinity;
  for (let i = 0; i < rows.length; i++) {
    const t = timeOf(rows[i]!);
    if (t < oldest) oldest = t;
    if (t > newest) newest = t;
    if (t < recent && t > newestOld) newestOld = t;
  }
  // Ids: below every id of a millisecond is lowerBound(ms); above every id of ms is lowerBound(ms + 1).
  const below = oldest > 0 ? lowerBound(oldest - 1) : "";
  const above = (ms: number) => (ms === -Infinity ? below : lowerBound(ms + 1));
  return stmt(LATE_MARK, table, below, above(newestOld), above(newest), lowerBound(Math.max(0, recent)), now);
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
    const [cur] = await sql.batch([stmt("SELECT cursor, late_from, late_to FROM retention_sweeps WHERE tbl = ?1 AND keep_ms = ?2", p.table, p.keepMs)]);
    const row = cur!.rows[0];
    const cursor = row ? String(row.cursor) : "";
    const late = row && row.late_from != null ? { from: String(row.late_from), to: String(row.late_to) } : null;
    // A late range first (it ends at or below the cursor), then on from the cursor to the horizon.
    const from = late ? late.from : cursor;
    const to = late && late.to < lowerBound(p.horizonMs) ? late.to : lowerBound(p.horizonMs);
    // Where this chunk ends: the scanRows-th id in the range (a primary-key range read of the ids).
    const [scan] = await sql.batch([
      stmt(`SELECT id FROM ${p.table} WHERE id > ?1 AND ${late && to === late.to ? "id <= ?2" : "id < ?2"} ORDER BY id LIMIT ?3`, from, to, p.scanRows),
    ]);
    const rows = scan!.rows;
    const rangeDone = rows.length < p.scanRows;
    const next = rows.length ? String(rows[rows.length - 1]!.id) : from;
    // Moves what this chunk covered: the late range's start (its end when done: the range goes, unless a
    // writer changed it meanwhile), or the cursor.
    const move = late
      ? rangeDone
        ? stmt("UPDATE retention_sweeps SET late_from = NULL, late_to = NULL, updated_at = ?5 WHERE tbl = ?1 AND keep_ms = ?2 AND late_from = ?3 AND late_to = ?4", p.table, p.keepMs, late.from, late.to, p.now)
        : stmt("UPDATE retention_sweeps SET late_from = ?4, updated_at = ?5 WHERE tbl = ?1 AND keep_ms = ?2 AND late_from = ?3", p.table, p.keepMs, late.from, next, p.now)
      : rows.length
        ? stmt(SWEEP_UPSERT, p.table, p.keepMs, next, p.now)
        : null;
    // A period is done when its main range reached the horizon; a late range never ends the period's turn.
    const done = !late && rangeDone;
    if (!rows.length) {
      if (move) await sql.batch([move]);
      return { scanned: 0, deleted: {}, rowsWritten: 0, done };
    }
    // The delete walks the same range once more (no list of ids to look up one by one: D1 bills each
    // lookup as rows read) and returns the group of every row it deleted, for the report.
    const filter = group === null ? "" : p.others ? ` AND ${group} NOT IN (SELECT value FROM json_each(?4))` : ` AND ${group} IN (SELECT value FROM json_each(?4))`;
    const params: unknown[] = [from, next, p.horizonMs];
    if (group !== null) params.push(JSON.stringify(p.others ? p.exclude : p.datasets));
    // Sessions leave their bytes per device and hour behind (device_hours, read with the sessions still
    // stored: store/network.ts deviceHourly), in the transaction that deletes them: counted exactly once.
    const keep = p.table === "flow_sessions"
      ? [stmt(
          "INSERT INTO device_hours (device_id, hour, bytes_out, bytes_in, sessions) SELECT device_id, (start / 3600000) * 3600000 AS h, " +
            "sum(coalesce(src_bytes, 0)), sum(coalesce(dst_bytes, 0)), count(*) FROM flow_sessions " +
            `WHERE id > ?1 AND id <= ?2 AND start < ?3 AND device_id IS NOT NULL GROUP BY device_id, h HAVING true ${DEVICE_HOURS_UPSERT}`,
          from, next, p.horizonMs,
        )]
      : [];
    const results = await sql.batch([
      ...keep,
      stmt(`DELETE FROM ${p.table} WHERE id > ?1 AND id <= ?2 AND "${time}" < ?3${filter} RETURNING ${group ?? `'${p.table}'`} AS grp`, ...params),
      move!,
    ]);
    const del = results[keep.length]!;
    const deleted: Record<string, number> = Object.create(null);
    for (const r of del.rows) deleted[String(r.grp)] = (deleted[String(r.grp)] ?? 0) + 1;
    // libSQL reports no affected rows for a statement with RETURNING: each returned row was one deleted.
    const written = results.reduce((s, r) => s + r.rowsWritten, 0) + Math.max(0, del.rows.length - del.rowsWritten);
    return { scanned: rows.length, deleted, rowsWritten: written, done };
  },
});
