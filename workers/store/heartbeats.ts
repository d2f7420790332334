/**
 * The heartbeats table over the `Sql` port, reached through the Store (HeartbeatStore): the listing
 * of GET /v1/heartbeats. The deadline itself is an alarm of the Durable Object that owns the
 * heartbeat (durable-objects/heartbeat.ts for pinged ones, RuleState for heartbeat rules); that object
 * is the only writer of its rows (routes only delete a rule's rows when the rule goes).
 * Invariant: `last_beat` never moves back (a late or null beat keeps the newer one).
 */
import { one, stmt } from "./sql.ts";
import type { Sql } from "./types.ts";

export interface HeartbeatRow {
  /** `ping` for pinged heartbeats, else the heartbeat rule's id. */
  source: string;
  name: string;
  timeoutMs: number;
  /** ms; event time for rule heartbeats, wall time for pings. */
  lastBeat: number | null;
  /** Wall ms of the pending deadline, or of the missed one while late. */
  deadline: number | null;
  state: "ok" | "late";
  updatedAt: number;
}

export interface HeartbeatStore {
  /** Upserts listing rows (one transaction), `updatedAt` set to `now`. */
  putHeartbeats(rows: readonly Omit<HeartbeatRow, "updatedAt">[], now: number): Promise<void>;
  /** Deletes the rows of `source` (all of them, or the one named `name`); returns how many went. */
  deleteHeartbeats(source: string, name?: string): Promise<number>;
  /** Every row, by source then name. */
  listHeartbeats(): Promise<HeartbeatRow[]>;
}

export const heartbeatQueries = (sql: Sql): HeartbeatStore => ({
  async putHeartbeats(rows, now) {
    if (rows.length === 0) return;
    await sql.batch(
      rows.map((h) =>
        stmt(
          `INSERT INTO heartbeats (name, source, timeout_ms, last_beat, deadline, state, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
           ON CONFLICT(source, name) DO UPDATE SET timeout_ms = excluded.timeout_ms,
             last_beat = CASE WHEN excluded.last_beat IS NULL THEN heartbeats.last_beat WHEN heartbeats.last_beat IS NULL THEN excluded.last_beat
                              ELSE MAX(excluded.last_beat, heartbeats.last_beat) END,
             deadline = excluded.deadline, state = excluded.state, updated_at = excluded.updated_at`,
          h.name, h.source, h.timeoutMs, h.lastBeat, h.deadline, h.state, now,
        ),
      ),
    );
  },
  async deleteHeartbeats(source, name) {
    const r = name === undefined
      ? await one(sql, "DELETE FROM heartbeats WHERE source = ?1", source)
      : await one(sql, "DELETE FROM heartbeats WHERE source = ?1 AND name = ?2", source, name);
    return r.changes;
  },
  async listHeartbeats() {
    const r = await one(sql, "SELECT name, source, timeout_ms, last_beat, deadline, state, updated_at FROM heartbeats ORDER BY source, name");
    return r.rows.map((h) => ({
      source: String(h.source),
      name: String(h.name),
      timeoutMs: Number(h.timeout_ms),
      lastBeat: h.last_beat == null ? null : Number(h.last_beat),
      deadline: h.deadline == null ? null : Number(h.deadline),
      state: h.state === "late" ? "late" : "ok",
      updatedAt: Number(h.updated_at),
    }));
  },
});
