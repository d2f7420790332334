/**
 * The storage interface of the Worker (events, ingest batches, counters, tokens, extractors, sources),
 * its row types and the two-method `Sql` port each backend provides. The one implementation is SqlStore
 * (workers/store/sql-store.ts); D1 (d1.ts) and libSQL (libsql.ts) provide the port, and both pass
 * test/unit/store-conformance.suite.ts.
 */
import type { IndexColumns } from "./search-time.ts";
import type { EventsQuery } from "./events-query.ts";
import type { AlertStore } from "./alerts.ts";
import type { HeartbeatStore } from "./heartbeats.ts";
import type { NetworkStore } from "./network.ts";
import type { NotifyStore } from "./notify.ts";
import type { RuleStore } from "./rules.ts";
import type { ListStore } from "./lists.ts";
import type { SessionStore } from "./sessions.ts";
import type { StatsStore } from "./stats.ts";
import type { RetentionStore } from "./retention.ts";
import type { RollupPart, RollupStore } from "./rollups.ts";
import type { SummaryStore } from "./summaries.ts";
import type { UsageStore } from "./usage.ts";

// --- Types

export interface SqlStatement {
  sql: string;
  params: unknown[];
}

export interface SqlResult {
  rows: Record<string, unknown>[];
  /** Rows inserted/updated/deleted by the statement. */
  changes: number;
  /** Rows written as the database bills them (D1 `meta.rows_written`; libSQL: `rowsAffected`). */
  rowsWritten: number;
}

/** The port each backend implements. `batch` runs the statements in order as one transaction. */
export interface Sql {
  batch(statements: SqlStatement[]): Promise<SqlResult[]>;
}

/**
 * One events row: the typed columns queries filter on (IndexColumns, workers/store/search-time.ts),
 * the envelope, `raw`, and `doc`: what re-parsing `raw` cannot restore (every other field of the
 * event is derived from `raw` again when read). Rows of 0.1 builds hold a compacted document (doc.ts)
 * and no class_bits.
 */
export interface EventRow extends IndexColumns {
  id: string;
  /** @timestamp, ms since epoch (event time). */
  ts: number;
  /** Receive time, ms since epoch. */
  received_at: number;
  /** 32 hex digits of the (IPv4-mapped) IPv6 address: a CIDR filter is a BETWEEN on text. */
  src_ip_key: string | null;
  dst_ip_key: string | null;
  message: string | null;
  raw: string;
  doc: Record<string, unknown>;
}

/** What the API returns for one event: the ECS document plus the envelope. */
export type ApiEvent = Record<string, unknown> & { id: string; "@timestamp": string; received_at: string; raw: string };

export interface IngestResponse {
  accepted: number;
  stored: number;
  parse_errors: number;
  empty: number;
  duplicate: boolean;
  errors: { line: number; message: string }[];
  /** Rule evaluation of the batch: alerts created or changed, events suppressed, late matches ignored. */
  alerts: number;
  suppressed: number;
  late: number;
}

/**
 * An ingest attempt that stored its events but failed afterwards (rule evaluation): its receive time is
 * reused by the retry so that lines without a timestamp of their own get the same ids again.
 */
export interface PendingBatch {
  pending: true;
  /** Edge receive time of the first attempt, ms. */
  received_at: number;
  /** Events that attempt stored, and the D1 rows it wrote (including this record). */
  stored: number;
  rows_written: number;
}

export interface BatchRecord {
  key: string;
  receivedAt: number;
  response: IngestResponse;
  /** Increments for the counters table; zero entries are skipped (they would cost a written row). */
  counters: Record<string, number>;
  relay?: { name: string; ip: string | null; lines: number; bytes: number } | undefined;
  /** The batch's hourly rollups (rollups.ts rollupsOf): one written row per part. */
  rollups?: readonly RollupPart[] | undefined;
}

export interface TokenRow {
  id: string;
  name: string;
  scopes: string[];
  created_at: number;
  last_used_at: number | null;
}

export interface ExtractorRow {
  id: string;
  name: string;
  pattern: string;
  program: string | null;
  host: string | null;
  enabled: boolean;
  created_at: number;
  updated_at: number;
}

export interface SourceRow {
  key: string;
  timezone: string;
  updated_at: number;
}

export interface RelayRow {
  name: string;
  last_seen_at: number;
  last_ip: string | null;
  batches: number;
  lines: number;
  bytes: number;
}

/**
 * Everything the Worker and its Durable Objects keep in the database. Each table family declares its
 * part next to its SQL (alerts.ts, rules.ts, sessions.ts, heartbeats.ts, stats.ts, network.ts, notify.ts); a new family adds
 * its interface there, one name to this list and its delegations to SqlStore.
 */
export interface Store extends AlertStore, RuleStore, SessionStore, HeartbeatStore, StatsStore, NetworkStore, NotifyStore, RetentionStore, RollupStore, UsageStore, ListStore, SummaryStore {
  /**
   * One round trip before ingest: the stored response of batch `key` (if it completed), the pending
   * record of an earlier attempt that stored events but failed later, and the parse settings' version.
   */
  ingestPreflight(key: string): Promise<{ response: IngestResponse | null; pending: PendingBatch | null; settingsVersion: string }>;
  /** Records an attempt that stored events but did not complete (one written row). */
  markPending(key: string, pending: PendingBatch): Promise<void>;
  /**
   * INSERT OR IGNORE: a row whose id exists is skipped. `stored` counts the rows actually inserted.
   * Rows behind a retention sweep's cursor are recorded for it (store/retention.ts) unless `restored`: a
   * range put back from the archive stays in search until the policy is next saved, even where its time
   * is past the retention period.
   */
  insertEvents(rows: readonly EventRow[], opts?: { restored?: boolean }): Promise<{ stored: number; rowsWritten: number }>;
  /** The batch's idempotency row, counters and relay row, in one statement batch. Returns rows written. */
  recordBatch(rec: BatchRecord): Promise<{ rowsWritten: number }>;
  /** Deletes `batches` rows received before `beforeMs` (each deleted row is a written row). */
  pruneBatches(beforeMs: number): Promise<{ rowsWritten: number }>;
  /** Counts a replayed batch (one written row). */
  countDuplicateBatch(): Promise<void>;
  queryEvents(q: EventsQuery): Promise<EventRow[]>;
  getEvent(id: string): Promise<EventRow | null>;
  /** The events of these ids that exist, by id (any number of ids: one JSON parameter). */
  getEvents(ids: readonly string[]): Promise<EventRow[]>;
  /**
   * Events with `fromId` <= id (< when not `inclusive`) and id < `toId`, by id ascending, at most
   * `limit`: a primary-key range scan (ids start with the event time, parse/id.ts).
   */
  scanEvents(fromId: string, inclusive: boolean, toId: string, limit: number): Promise<EventRow[]>;
  counters(): Promise<Record<string, number>>;
  /** Adds to counters (GET /v1/metrics) outside an ingest batch: engine errors, dropped live publishes. */
  addCounters(increments: Record<string, number>): Promise<void>;
  /** Relays seen at ingest, most recently seen first (at most `limit`). */
  relays(limit?: number): Promise<RelayRow[]>;

  createToken(row: TokenRow, hash: string): Promise<void>;
  listTokens(): Promise<TokenRow[]>;
  deleteToken(id: string): Promise<boolean>;
  /** The token of this id with its SHA-256 hash, for checking a bearer token; null when unknown. */
  findToken(id: string): Promise<{ token: TokenRow; hash: string } | null>;
  /** Sets a token's last_used_at (wall ms). */
  touchToken(id: string, now: number): Promise<void>;

  settingsVersion(): Promise<string>;
  /** Sources and enabled-or-not extractors, with the version `ingestPreflight` reports. */
  parseSettings(): Promise<{ version: string; sources: SourceRow[]; extractors: ExtractorRow[] }>;
  listExtractors(): Promise<ExtractorRow[]>;
  getExtractor(id: string): Promise<ExtractorRow | null>;
  putExtractor(row: ExtractorRow): Promise<void>;
  deleteExtractor(id: string): Promise<boolean>;
  listSources(): Promise<SourceRow[]>;
  /** (host, @timestamp - received_at) of the most recent `limit` events stamped in [from, to) ms, by id (clock-skew.ts). */
  clockSamples(from: number, to: number, limit: number): Promise<{ host: string; skew: number }[]>;
  getSource(key: string): Promise<SourceRow | null>;
  putSource(row: SourceRow): Promise<void>;
  deleteSource(key: string): Promise<boolean>;
}
