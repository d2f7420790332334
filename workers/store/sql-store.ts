/**
 * The one SQL implementation of the Store, written against the `Sql` port (types.ts). D1
 * (workers/store/d1.ts) and libSQL (workers/store/libsql.ts) each provide the port.
 *
 * Write-cost invariants (D1 bills written rows, index entries included):
 * - events has no secondary index, so one stored event = one written row;
 * - an ingest batch adds one `batches` row, one `counters` row per non-zero counter and one `relays`
 *   row, all in one statement batch; `recordBatch` predicts that count and it is asserted in tests.
 * - events are inserted with one bound JSON parameter per statement (`json_each(?1)`, wire.ts), chunked
 *   so that the parameter stays under D1's 2 MB value limit: a typical 1000-line batch is one statement.
 */
import { buildEventsQuery, type EventsQuery } from "./events-query.ts";
import { extractorRow, rowToEvent, sourceRow, tokenRow } from "./decode.ts";
import { insertEventStatements } from "./wire.ts";
import { decodeTime, lowerBound } from "../parse/id.ts";
import { alertQueries, type AlertStore } from "./alerts.ts";
import { heartbeatQueries, type HeartbeatStore } from "./heartbeats.ts";
import { networkQueries, type NetworkStore } from "./network.ts";
import { notifyQueries, type NotifyStore } from "./notify.ts";
import { ruleQueries, type RuleStore } from "./rules.ts";
import { listQueries, type ListStore } from "./lists.ts";
import { sessionQueries, type SessionStore } from "./sessions.ts";
import { statsQueries, type StatsStore } from "./stats.ts";
import { lateMark, retentionQueries, type RetentionStore } from "./retention.ts";
import { rollupQueries, rollupStatement, type RollupStore } from "./rollups.ts";
import { usageQueries, type UsageStore } from "./usage.ts";
import { probeOf, summariesOf, summaryQueries, summaryStatements, type SummaryStore } from "./summaries.ts";
import type { BatchRecord, EventRow, ExtractorRow, IngestResponse, PendingBatch, SourceRow, Sql, SqlResult, SqlStatement, Store, TokenRow } from "./types.ts";

// --- Settings version

/**
 * Changes whenever a setting ingest caches per isolate is saved (count and latest update of each table):
 * sources and extractors (the parse context), the retention policy (archive-only datasets; saving
 * rewrites every row with a new updated_at) and network settings. Small tables: a few rows read.
 */
const SETTINGS_VERSION_SQL =
  "SELECT (SELECT count(*) || ':' || coalesce(max(updated_at), 0) FROM sources) || '/' || " +
  "(SELECT count(*) || ':' || coalesce(max(updated_at), 0) FROM extractors) || '/' || " +
  "(SELECT count(*) || ':' || coalesce(max(updated_at), 0) FROM retention) || '/' || " +
  "(SELECT count(*) || ':' || coalesce(max(updated_at), 0) FROM network_settings) AS v";

/**
 * The table families of alerts.ts, rules.ts, sessions.ts, heartbeats.ts, stats.ts, network.ts and notify.ts, mixed in by the
 * constructor (declaration merging types them); events, batches, tokens and parse settings are below.
 */
/** Adds each value of the JSON object ?1 to the counter of its key. */
const ADD_COUNTERS_SQL =
  "INSERT INTO counters (name, value) SELECT key, value FROM json_each(?1) WHERE true " +
  "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value";

export interface SqlStore extends AlertStore, RuleStore, SessionStore, HeartbeatStore, StatsStore, NetworkStore, NotifyStore, RetentionStore, RollupStore, UsageStore, ListStore, SummaryStore {}

export class SqlStore implements Store {
  readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
    Object.assign(this, alertQueries(sql), ruleQueries(sql), sessionQueries(sql), heartbeatQueries(sql), statsQueries(sql), networkQueries(sql), notifyQueries(sql), listQueries(sql), retentionQueries(sql), rollupQueries(sql), usageQueries(sql), summaryQueries(sql));
  }

  private async one(sql: string, ...params: unknown[]): Promise<SqlResult> {
    const [r] = await this.sql.batch([{ sql, params }]);
    return r!;
  }

  async ingestPreflight(key: string) {
    const [batch, version] = await this.sql.batch([
      { sql: "SELECT response FROM batches WHERE key = ?1", params: [key] },
      { sql: SETTINGS_VERSION_SQL, params: [] },
    ]);
    const stored = batch!.rows[0]?.response;
    const parsed = typeof stored === "string" ? (JSON.parse(stored) as IngestResponse | PendingBatch) : null;
    const pending = parsed && "pending" in parsed ? parsed : null;
    return {
      response: parsed && !pending ? (parsed as IngestResponse) : null,
      pending,
      settingsVersion: String(version!.rows[0]?.v ?? ""),
    };
  }

  async markPending(key: string, pending: PendingBatch) {
    await this.one(
      "INSERT INTO batches (key, received_at, response) VALUES (?1, ?2, ?3) " +
        "ON CONFLICT (key) DO UPDATE SET response = excluded.response",
      key, pending.received_at, JSON.stringify(pending),
    );
  }

  async insertEvents(rows: readonly EventRow[], opts: { restored?: boolean } = {}) {
    if (rows.length === 0) return { stored: 0, rowsWritten: 0 };
    // The hours' search summary parts go in the same transaction: no event is stored without its summary
    // (summaries.ts: a search may skip an hour only if its summary covers every event of the hour). So
    // does the late mark (store/retention.ts): it writes only for rows behind the sweep.
    const inserts = insertEventStatements(rows);
    const extra = summaryStatements(summariesOf(rows));
    if (!opts.restored) extra.push(lateMark("events", rows, (r) => r.ts, Date.now()));
    const results = await this.sql.batch([...inserts, ...extra]);
    let stored = 0, rowsWritten = 0;
    for (let i = 0; i < results.length; i++) {
      if (i < inserts.length) stored += results[i]!.changes;
      rowsWritten += results[i]!.rowsWritten;
    }
    return { stored, rowsWritten };
  }

  async recordBatch(rec: BatchRecord) {
    // `rows_written`, when present, is kept even at 0: it always receives this statement batch's own rows.
    const counters = Object.entries(rec.counters).filter(([k, v]) => v !== 0 || k === "rows_written");
    const stmts: SqlStatement[] = [
      {
        // An upsert: a pending record of an earlier attempt is completed in place (still one row).
        sql:
          "INSERT INTO batches (key, received_at, response) VALUES (?1, ?2, ?3) " +
          "ON CONFLICT (key) DO UPDATE SET response = excluded.response",
        params: [rec.key, rec.receivedAt, JSON.stringify(rec.response)],
      },
    ];
    // This statement's own rows count too: the counter records what the whole batch wrote.
    const rollups = rec.rollups ?? [];
    const predicted = 1 + (rec.relay ? 1 : 0) + counters.length + rollups.length;
    const rw = counters.findIndex(([k]) => k === "rows_written");
    if (rw >= 0) counters[rw] = ["rows_written", counters[rw]![1] + predicted];
    if (counters.length > 0) {
      stmts.push({ sql: ADD_COUNTERS_SQL, params: [JSON.stringify(Object.fromEntries(counters))] });
    }
    if (rec.relay) {
      stmts.push({
        sql:
          "INSERT INTO relays (name, last_seen_at, last_ip, batches, lines, bytes) VALUES (?1, ?2, ?3, 1, ?4, ?5) " +
          "ON CONFLICT (name) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_ip = excluded.last_ip, " +
          "batches = batches + 1, lines = lines + excluded.lines, bytes = bytes + excluded.bytes",
        params: [rec.relay.name, rec.receivedAt, rec.relay.ip, rec.relay.lines, rec.relay.bytes],
      });
    }
    if (rollups.length > 0) stmts.push(rollupStatement(rec.key, rollups));
    const results = await this.sql.batch(stmts);
    return { rowsWritten: results.reduce((n, r) => n + r.rowsWritten, 0) };
  }

  async pruneBatches(beforeMs: number) {
    return { rowsWritten: (await this.one("DELETE FROM batches WHERE received_at < ?1", beforeMs)).rowsWritten };
  }

  async countDuplicateBatch() {
    await this.one(
      "INSERT INTO counters (name, value) VALUES ('duplicate_batches', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1",
    );
  }

  async queryEvents(q: EventsQuery) {
    const probe = probeOf(q.conditions);
    const upper = q.toId !== undefined && (q.before === undefined || q.toId < q.before) ? q.toId : q.before;
    const fromMs = q.fromId !== undefined ? decodeTime(q.fromId) : -Infinity;
    const toMs = upper !== undefined ? decodeTime(upper) : Infinity;
    // Hours the search summaries rule out (summaries.ts); none without a probe or a usable range.
    const skip = probe && !Number.isNaN(fromMs) && !Number.isNaN(toMs)
      ? await this.hoursWithout(probe, Number.isFinite(fromMs) ? hourOf(fromMs) : Number.MIN_SAFE_INTEGER, Number.isFinite(toMs) ? hourOf(toMs) : Number.MAX_SAFE_INTEGER)
      : [];
    if (skip.length === 0) {
      const { sql, params } = buildEventsQuery(q);
      return (await this.one(sql, ...params)).rows.map(rowToEvent);
    }
    // The stretches between skipped hours, newest first, each a primary-key range walked newest first
    // and stopped at the limit; 1, 2, 4 ... stretches per round trip until the page is full.
    const out: EventRow[] = [];
    const stretches = stretchesBetween(skip, fromMs, toMs);
    for (let i = 0, group = 1; i < stretches.length && out.length < q.limit; i += group, group *= 2) {
      const want = q.limit - out.length;
      const stmts = stretches.slice(i, i + group).map(([lo, hi]) => {
        const fromId = Number.isFinite(lo) ? maxId(q.fromId, lowerBound(lo)) : q.fromId;
        const toId = Number.isFinite(hi) ? minId(q.toId, lowerBound(hi)) : q.toId;
        return buildEventsQuery({ ...q, fromId, toId, limit: want });
      });
      const results = await this.sql.batch(stmts.map(({ sql, params }) => ({ sql, params })));
      for (const r of results) for (const row of r.rows) if (out.length < q.limit) out.push(rowToEvent(row));
    }
    return out;
  }

  async getEvent(id: string) {
    const r = await this.one(`SELECT * FROM events WHERE id = ?1`, id);
    return r.rows[0] ? rowToEvent(r.rows[0]) : null;
  }

  async getEvents(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const r = await this.one("SELECT * FROM events WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id", JSON.stringify([...new Set(ids)]));
    return r.rows.map(rowToEvent);
  }

  async scanEvents(fromId: string, inclusive: boolean, toId: string, limit: number) {
    const r = await this.one(`SELECT * FROM events WHERE id ${inclusive ? ">=" : ">"} ?1 AND id < ?2 ORDER BY id LIMIT ?3`, fromId, toId, limit);
    return r.rows.map(rowToEvent);
  }

  async counters() {
    const r = await this.one("SELECT name, value FROM counters ORDER BY name");
    return Object.fromEntries(r.rows.map((x) => [String(x.name), Number(x.value)]));
  }

  async addCounters(increments: Record<string, number>) {
    await this.one(ADD_COUNTERS_SQL, JSON.stringify(increments));
  }

  async relays(limit = -1) {
    const r = await this.one("SELECT * FROM relays ORDER BY last_seen_at DESC LIMIT ?1", limit);
    return r.rows.map((x) => ({
      name: String(x.name),
      last_seen_at: Number(x.last_seen_at),
      last_ip: (x.last_ip as string | null) ?? null,
      batches: Number(x.batches),
      lines: Number(x.lines),
      bytes: Number(x.bytes),
    }));
  }

  async createToken(row: TokenRow, hash: string) {
    await this.one(
      "INSERT INTO tokens (id, name, scopes, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
      row.id, row.name, JSON.stringify(row.scopes), hash, row.created_at,
    );
  }

  async listTokens() {
    const r = await this.one("SELECT id, name, scopes, created_at, last_used_at FROM tokens ORDER BY created_at, id");
    return r.rows.map(tokenRow);
  }

  async deleteToken(id: string) {
    return (await this.one("DELETE FROM tokens WHERE id = ?1", id)).changes > 0;
  }

  async findToken(id: string) {
    const r = (await this.one("SELECT id, name, scopes, hash, created_at, last_used_at FROM tokens WHERE id = ?1", id)).rows[0];
    return r ? { token: tokenRow(r), hash: String(r.hash) } : null;
  }

  async touchToken(id: string, now: number) {
    await this.one("UPDATE tokens SET last_used_at = ?1 WHERE id = ?2", now, id);
  }

  async settingsVersion() {
    return String((await this.one(SETTINGS_VERSION_SQL)).rows[0]?.v ?? "");
  }

  async parseSettings() {
    const [v, s, x] = await this.sql.batch([
      { sql: SETTINGS_VERSION_SQL, params: [] },
      { sql: "SELECT * FROM sources", params: [] },
      { sql: "SELECT * FROM extractors ORDER BY created_at, id", params: [] },
    ]);
    return { version: String(v!.rows[0]?.v ?? ""), sources: s!.rows.map(sourceRow), extractors: x!.rows.map(extractorRow) };
  }

  async listExtractors() {
    return (await this.one("SELECT * FROM extractors ORDER BY created_at, id")).rows.map(extractorRow);
  }

  async getExtractor(id: string) {
    const r = await this.one("SELECT * FROM extractors WHERE id = ?1", id);
    return r.rows[0] ? extractorRow(r.rows[0]) : null;
  }

  async putExtractor(x: ExtractorRow) {
    await this.one(
      "INSERT INTO extractors (id, name, pattern, program, host, enabled, created_at, updated_at) " +
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET name = excluded.name, " +
        "pattern = excluded.pattern, program = excluded.program, host = excluded.host, enabled = excluded.enabled, " +
        "updated_at = excluded.updated_at",
      x.id, x.name, x.pattern, x.program, x.host, x.enabled ? 1 : 0, x.created_at, x.updated_at,
    );
  }

  async deleteExtractor(id: string) {
    return (await this.one("DELETE FROM extractors WHERE id = ?1", id)).changes > 0;
  }

  async clockSamples(from: number, to: number, limit: number) {
    // By primary key (ids start with the event time): the most recent `limit` events stamped in [from, to).
    const r = await this.one(
      "SELECT host, ts - received_at AS skew FROM events WHERE id >= ?1 AND id < ?2 AND host IS NOT NULL ORDER BY id DESC LIMIT ?3",
      lowerBound(from), lowerBound(to), limit,
    );
    return r.rows.map((x) => ({ host: String(x.host), skew: Number(x.skew) }));
  }

  async listSources() {
    return (await this.one("SELECT * FROM sources ORDER BY key")).rows.map(sourceRow);
  }

  async getSource(key: string) {
    const r = await this.one("SELECT * FROM sources WHERE key = ?1", key);
    return r.rows[0] ? sourceRow(r.rows[0]) : null;
  }

  async putSource(s: SourceRow) {
    await this.one(
      "INSERT INTO sources (key, timezone, updated_at) VALUES (?1, ?2, ?3) " +
        "ON CONFLICT (key) DO UPDATE SET timezone = excluded.timezone, updated_at = excluded.updated_at",
      s.key, s.timezone, s.updated_at,
    );
  }

  async deleteSource(key: string) {
    return (await this.one("DELETE FROM sources WHERE key = ?1", key)).changes > 0;
  }
}

const HOUR_MS = 3_600_000;
const hourOf = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
const maxId = (a: string | undefined, b: string) => (a === undefined || b > a ? b : a);
const minId = (a: string | undefined, b: string) => (a === undefined || b < a ? b : a);

/**
 * The time stretches [lo, hi) (ms) of [fromMs, toMs) outside the skipped hours (ascending hour starts),
 * newest first; empty stretches are left out.
 */
export function stretchesBetween(skip: readonly number[], fromMs: number, toMs: number): [number, number][] {
  const out: [number, number][] = [];
  let hi = toMs;
  for (let i = skip.length - 1; i >= 0 && hi > fromMs; i--) {
    const h = skip[i]!;
    const lo = Math.max(h + HOUR_MS, fromMs);
    if (lo < hi) out.push([lo, hi]);
    hi = Math.min(hi, h);
  }
  if (hi > fromMs) out.push([fromMs, hi]);
  return out;
}
