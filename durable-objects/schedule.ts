/**
 * The schedule table of a Durable Object (the cloudflare/agents pattern): every timer the object needs
 * is a row (id, kind, payload, time), and the object's ONE alarm is set at the earliest row.
 *
 * Invariants:
 * - A row's time changes only when its owner sets it: arming never recomputes a time, so a retry
 *   scheduled for T fires at T however often the object is busy in between.
 * - The alarm is at MIN(time) (none when the table is empty), re-set only when that changes.
 * - The alarm handler takes the due rows and must leave each one deleted or moved to a later time;
 *   the platform delivers alarms at least once, so handling a row twice must change nothing.
 * Times are wall ms.
 */

export interface ScheduleRow {
  /** Unique per timer: setting an id again moves that timer. */
  id: string;
  kind: string;
  payload: string | null;
  /** Wall ms. */
  time: number;
}

export class Schedule {
  /** The alarm currently set (wall ms), mirrored to avoid re-setting an unchanged one. */
  private armedAt: number | null = null;

  private readonly sql: SqlStorage;
  private readonly storage: DurableObjectStorage;

  constructor(sql: SqlStorage, storage: DurableObjectStorage) {
    this.sql = sql;
    this.storage = storage;
  }

  /** Creates the table (idempotent) and reads the alarm set; call inside blockConcurrencyWhile. */
  async open(): Promise<void> {
    this.sql.exec("CREATE TABLE IF NOT EXISTS schedule (id TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT, time INTEGER NOT NULL)");
    this.sql.exec("CREATE INDEX IF NOT EXISTS schedule_time ON schedule (time)");
    this.armedAt = await this.storage.getAlarm();
  }

  /** Sets (or moves) timer `id` to `time`. */
  set(id: string, kind: string, time: number, payload: string | null = null): void {
    this.sql.exec(
      "INSERT INTO schedule (id, kind, payload, time) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, payload = excluded.payload, time = excluded.time",
      id, kind, payload, time,
    );
  }

  /** Sets timer `id` unless it is already set (its time is kept). */
  setIfAbsent(id: string, kind: string, time: number, payload: string | null = null): void {
    this.sql.exec("INSERT OR IGNORE INTO schedule (id, kind, payload, time) VALUES (?, ?, ?, ?)", id, kind, payload, time);
  }

  cancel(id: string): void {
    this.sql.exec("DELETE FROM schedule WHERE id = ?", id);
  }

  cancelKind(kind: string): void {
    this.sql.exec("DELETE FROM schedule WHERE kind = ?", kind);
  }

  cancelAll(): void {
    this.sql.exec("DELETE FROM schedule");
  }

  timeOf(id: string): number | null {
    const r = this.sql.exec<{ time: number }>("SELECT time FROM schedule WHERE id = ?", id).toArray()[0];
    return r ? r.time : null;
  }

  /** Rows due at `now`, earliest first, at most `limit`. */
  due(now: number, limit: number): ScheduleRow[] {
    return this.sql.exec<ScheduleRow & Record<string, SqlStorageValue>>("SELECT id, kind, payload, time FROM schedule WHERE time <= ? ORDER BY time, id LIMIT ?", now, limit).toArray();
  }

  list(): ScheduleRow[] {
    return this.sql.exec<ScheduleRow & Record<string, SqlStorageValue>>("SELECT id, kind, payload, time FROM schedule ORDER BY time, id").toArray();
  }

  /** The alarm that woke the object is consumed: call first in alarm(). */
  alarmFired(): void {
    this.armedAt = null;
  }

  /** Sets the one alarm at the earliest row, or deletes it when none is left; only when that changed. */
  async arm(): Promise<void> {
    const want = this.sql.exec<{ t: number | null }>("SELECT MIN(time) AS t FROM schedule").one().t;
    if (want === this.armedAt) return;
    if (want === null) await this.storage.deleteAlarm();
    else await this.storage.setAlarm(want);
    this.armedAt = want;
  }
}
