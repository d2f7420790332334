/**
 * Alert changes a Durable Object produced on its own (a deadline passed, a ping came back), held in
 * its storage until the Store has applied them. Applying is idempotent by firing id (store/alerts.ts),
 * so a change is deleted only after it was written and may be written twice, never lost.
 *
 * The retry is a schedule row (`outbox`, schedule.ts) set once, OUTBOX_RETRY_MS after the first failed
 * write, and kept: a busy object re-arming its alarm does not push it back.
 */
import type { AlertInput } from "../workers/store/alerts.ts";
import type { Env } from "../workers/env.ts";
import { notifyAlerts } from "../workers/live.ts";
import { metered } from "../workers/usage.ts";
import type { Schedule } from "./schedule.ts";

/** Delay before writing the outbox again after the Store failed, ms (wall). */
export const OUTBOX_RETRY_MS = 30_000;
/** The schedule row of the retry (kind and id). */
export const OUTBOX_TIMER = "outbox";

export class Outbox {
  private readonly sql: SqlStorage;
  private readonly schedule: Schedule;

  constructor(sql: SqlStorage, schedule: Schedule) {
    this.sql = sql;
    this.schedule = schedule;
    sql.exec("CREATE TABLE IF NOT EXISTS outbox (firing_id TEXT PRIMARY KEY, at INTEGER NOT NULL, input TEXT NOT NULL)");
  }

  /** Queues one alert change (inside the caller's transaction). */
  queue(input: AlertInput, now: number): void {
    this.sql.exec("INSERT OR IGNORE INTO outbox (firing_id, at, input) VALUES (?, ?, ?)", input.firingId, now, JSON.stringify(input));
  }

  size(): number {
    return Number(this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n);
  }

  clear(): void {
    this.sql.exec("DELETE FROM outbox");
    this.schedule.cancel(OUTBOX_TIMER);
  }

  /**
   * Writes the pending changes through the Store, then forgets them and cancels the retry. On failure
   * they stay and the retry row is set (kept if set). Never throws: a throwing alarm is retried by the
   * platform a bounded number of times, after which the changes would be stuck.
   */
  async flush(env: Env, now: number): Promise<void> {
    const rows = this.sql.exec<{ firing_id: string; input: string }>("SELECT firing_id, input FROM outbox ORDER BY at, firing_id").toArray();
    if (rows.length === 0) {
      this.schedule.cancel(OUTBOX_TIMER);
      return;
    }
    try {
      // What the write costs goes into the cost meter's ledger (best effort, after the write).
      const { changed } = await metered(env, (store) => store.applyFirings(rows.map((r) => JSON.parse(r.input) as AlertInput), now));
      for (const r of rows) this.sql.exec("DELETE FROM outbox WHERE firing_id = ?", r.firing_id);
      this.schedule.cancel(OUTBOX_TIMER);
      if (changed.length) await notifyAlerts(env, changed);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", where: "Outbox.flush", pending: rows.length, error: String(err) }));
      this.schedule.setIfAbsent(OUTBOX_TIMER, OUTBOX_TIMER, now + OUTBOX_RETRY_MS);
    }
  }
}
