/**
 * The storage interface of the Worker (events, ingest batches, counters, tokens, extractors, sources)
 * and its one SQL implementation, written against a two-method `Sql` port. D1 (workers/store/d1.ts) and
 * libSQL (workers/store/libsql.ts) each provide the port; both pass test/unit/store-conformance.suite.ts.
 *
 * Write-cost invariants (D1 bills written rows, index entries included):
 * - events has no secondary index, so one stored event = one written row;
 * - an ingest batch adds one `batches` row, one `counters` row per non-zero counter and one `relays`
 *   row, all in one statement batch; `recordBatch` predicts that count and it is asserted in tests.
 * - events are inserted with one bound JSON parameter per statement (`json_each(?1)`), chunked so that
 *   the parameter stays under D1's 2 MB value limit: a typical 1000-line batch is one statement.
 */
import type { EcsEvent } from "../ecs.ts";
import type { EventTimes } from "../parse/index.ts";
import { ipKey, parseIPv4 } from "../parse/ip.ts";
import { D1_MAX_VALUE_BYTES } from "../constants.ts";
import { expandDoc } from "./doc.ts";
import { isSearchTimeDoc, searchTimeDoc, searchTimeEvent, writeIndexColumns, type IndexColumns } from "./search-time.ts";
import { buildEventsQuery, type EventsQuery } from "./events-query.ts";

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

export interface Store {
  /**
   * One round trip before ingest: the stored response of batch `key` (if it completed), the pending
   * record of an earlier attempt that stored events but failed later, and the parse settings' version.
   */
  ingestPreflight(key: string): Promise<{ response: IngestResponse | null; pending: PendingBatch | null; settingsVersion: string }>;
  /** Records an attempt that stored events but did not complete (one written row). */
  markPending(key: string, pending: PendingBatch): Promise<void>;
  /** INSERT OR IGNORE: a row whose id exists is skipped. `stored` counts the rows actually inserted. */
  insertEvents(rows: readonly EventRow[]): Promise<{ stored: number; rowsWritten: number }>;
  /** The batch's idempotency row, counters and relay row, in one statement batch. Returns rows written. */
  recordBatch(rec: BatchRecord): Promise<{ rowsWritten: number }>;
  /** Deletes `batches` rows received before `beforeMs` (each deleted row is a written row). */
  pruneBatches(beforeMs: number): Promise<{ rowsWritten: number }>;
  /** Counts a replayed batch (one written row). */
  countDuplicateBatch(): Promise<void>;
  queryEvents(q: EventsQuery): Promise<EventRow[]>;
  getEvent(id: string): Promise<EventRow | null>;
  counters(): Promise<Record<string, number>>;
  relays(): Promise<RelayRow[]>;

  createToken(row: TokenRow, hash: string): Promise<void>;
  listTokens(): Promise<TokenRow[]>;
  deleteToken(id: string): Promise<boolean>;

  settingsVersion(): Promise<string>;
  /** Sources and enabled-or-not extractors, with the version `ingestPreflight` reports. */
  parseSettings(): Promise<{ version: string; sources: SourceRow[]; extractors: ExtractorRow[] }>;
  listExtractors(): Promise<ExtractorRow[]>;
  getExtractor(id: string): Promise<ExtractorRow | null>;
  putExtractor(row: ExtractorRow): Promise<void>;
  deleteExtractor(id: string): Promise<boolean>;
  listSources(): Promise<SourceRow[]>;
  getSource(key: string): Promise<SourceRow | null>;
  putSource(row: SourceRow): Promise<void>;
  deleteSource(key: string): Promise<boolean>;
}

// --- Event rows

/**
 * ipKey of the addresses of a batch. IPv4 (most addresses at home) is computed in place: the dotted
 * quad's 8 hex digits written after the fixed IPv4-mapped prefix. That is cheaper in workerd
 * than a Map lookup keyed by each line's fresh substring (its hash is computed anew every time). IPv6
 * goes through ipKey, memoized per isolate (bounded).
 */
const ipKeys = new Map<string, string | null>();
const IP_KEYS_MAX = 4096;

/** ipKey of every IPv4 address starts so (IPv4-mapped IPv6); the wire carries only the last 8 digits. */
const V4_KEY_PREFIX = "00000000000000000000ffff";

const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
const keyCodes: number[] = Array.from(V4_KEY_PREFIX + "00000000", (c) => c.charCodeAt(0));

/**
 * The key of an IPv4 address as uint32: its 8 hex digits (unsigned shifts: no double arithmetic) after
 * V4_KEY_PREFIX, as one flat string, so keyOnWire's slice of it is a plain copy (a concatenated key
 * would be a rope, flattened again for every row).
 */
function v4Key(v: number): string {
  const c = keyCodes;
  for (let i = 31; i >= 24; i--, v >>>= 4) c[i] = HEX_CODES[v & 15]!;
  // Spelled out: a fixed-arity call is about twice as fast as a spread (as isoTime in parse/index.ts).
  return String.fromCharCode(c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!, c[14]!, c[15]!,
    c[16]!, c[17]!, c[18]!, c[19]!, c[20]!, c[21]!, c[22]!, c[23]!, c[24]!, c[25]!, c[26]!, c[27]!, c[28]!, c[29]!, c[30]!, c[31]!);
}

function cachedIpKey(ip: string): string | null {
  if (ip.indexOf(":") < 0) {
    const v = parseIPv4(ip);
    return v < 0 ? null : v4Key(v);
  }
  let k = ipKeys.get(ip);
  if (k === undefined) {
    if (ipKeys.size >= IP_KEYS_MAX) ipKeys.clear();
    k = ipKey(ip);
    ipKeys.set(ip, k);
  }
  return k;
}

/**
 * An ip key column as sent: an IPv4 address's 8 digits (SQL puts V4_KEY_PREFIX back), else the key.
 * The key of an address without ":" is always V4_KEY_PREFIX + 8 digits (cachedIpKey).
 */
const keyOnWire = (ip: string | null, key: string | null): string | null =>
  ip !== null && key !== null && ip.indexOf(":") < 0 ? key.slice(24) : key;

// ms of the last few "YYYY-MM-DDTHH:MM:SS" prefixes seen: lines of a batch share a few seconds.
const TS_SLOTS = 4;
const tsPrefixes: string[] = new Array<string>(TS_SLOTS).fill("");
const tsBases = new Float64Array(TS_SLOTS);
let tsNext = 0;

/** Date.parse for RFC 3339 text, ms (NaN when invalid); normalize's "…:SS.mmmZ" form takes a cached path. */
function isoMs(s: string): number {
  if (s.length !== 24 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90) return Date.parse(s);
  const d0 = s.charCodeAt(20) - 48, d1 = s.charCodeAt(21) - 48, d2 = s.charCodeAt(22) - 48;
  if (d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return Date.parse(s);
  const ms = d0 * 100 + d1 * 10 + d2;
  for (let i = 0; i < TS_SLOTS; i++) {
    const p = tsPrefixes[i]!;
    if (p.length === 19 && s.startsWith(p)) return tsBases[i]! + ms;
  }
  const t = Date.parse(s);
  if (Number.isFinite(t)) {
    tsPrefixes[tsNext] = s.slice(0, 19);
    tsBases[tsNext] = t - ms;
    tsNext = (tsNext + 1) % TS_SLOTS;
  }
  return t;
}

/** Maps a normalized event to its row: the typed columns are copies, `doc` the compacted rest. */
export function eventRow(e: EcsEvent): EventRow {
  return rowOf(e, isoMs(e["@timestamp"]), isoMs(e.received_at));
}

/** eventRow with the times normalize() reported for this very event (saves parsing its texts back). */
export function eventRowTimed(e: EcsEvent, times: EventTimes): EventRow {
  return rowOf(e, times.ts, times.receivedAt);
}

function rowOf(e: EcsEvent, tsMs: number, recMs: number): EventRow {
  const message = e.message;
  // One literal with every key (one object shape for all rows), then the index columns in place.
  const row: EventRow = {
    id: e.id,
    ts: Number.isFinite(tsMs) ? tsMs : 0,
    received_at: Number.isFinite(recMs) ? recMs : 0,
    host: null, program: null, dataset: "unparsed", src_ip: null, dst_ip: null, src_ip_key: null, dst_ip_key: null,
    src_port: null, dst_port: null, protocol: null, user: null, action: null, outcome: null, severity: null, class_bits: null,
    message: typeof message === "string" ? message : null,
    raw: e.raw,
    doc: searchTimeDoc(e) as Record<string, unknown>,
  };
  writeIndexColumns(e, row);
  if (row.src_ip !== null) row.src_ip_key = cachedIpKey(row.src_ip);
  if (row.dst_ip !== null) row.dst_ip_key = cachedIpKey(row.dst_ip);
  return row;
}

/**
 * The API shape of a stored row (the event it was made from): envelope first, then the ECS document
 * (search-time fields derived from `raw` again; a 0.1 document expanded), `raw` last. Every read of
 * events goes through here.
 */
export function apiEvent(r: EventRow): ApiEvent {
  return (isSearchTimeDoc(r.doc) ? searchTimeEvent(r) : expandDoc(r)) as ApiEvent;
}

/**
 * The columns in the order rows are sent: those every row has first, the often-NULL ones last, so a
 * row's trailing NULLs can be left out (json_extract of a missing element is NULL).
 */
const WIRE_COLUMNS = [
  "id", "ts", "received_at", "dataset", "raw", "message", "doc", "severity", "program", "host", "action", "class_bits",
  "src_ip", "src_ip_key", "outcome", "dst_ip", "dst_ip_key", "protocol", "src_port", "dst_port", "user",
] as const satisfies readonly (keyof EventRow)[];


/**
 * Each row is a JSON array (no key names) in WIRE_COLUMNS order, and shortcuts keep the JSON we build
 * (and the D1 binding re-encodes) short:
 * - `ts` and `received_at` are offsets from the statement's ?2 and ?3 (the first row's values): lines
 *   of a batch lie close together, so a few digits instead of 13.
 * - `doc` is an index into the JSON array ?4 of the batch's distinct docs: relayed lines share a few
 *   senders, so one digit instead of ≈30 characters.
 * - `message` is usually the tail of `raw` (the syslog MSG after the header); then the row carries only
 *   its length N and SQL takes the last N characters of raw (≈15% less JSON). SQLite counts characters
 *   in code points, JS in UTF-16 units, so the shortcut is used only when the message has no surrogates
 *   (and raw no NUL, which ends text for SQL functions).
 * - an IPv4 key is sent as its last 8 hex digits and SQL puts V4_KEY_PREFIX back (48 characters less per
 *   IPv4 row).
 * - trailing NULLs are left out.
 */
const INSERT_EVENTS_SQL = (() => {
  const at = (c: (typeof WIRE_COLUMNS)[number]) => `json_extract(value, '$[${WIRE_COLUMNS.indexOf(c)}]')`;
  const expr = (c: (typeof WIRE_COLUMNS)[number]): string => {
    const i = WIRE_COLUMNS.indexOf(c);
    switch (c) {
      case "ts": return `?2 + ${at(c)}`;
      case "received_at": return `?3 + ${at(c)}`;
      case "doc": return `json_extract(?4, '$[' || ${at(c)} || ']')`;
      case "message": return `CASE json_type(value, '$[${i}]') WHEN 'integer' THEN substr(${at("raw")}, -${at(c)}) ELSE ${at(c)} END`;
      case "src_ip_key":
      case "dst_ip_key": return `CASE length(${at(c)}) WHEN 8 THEN '${V4_KEY_PREFIX}' || ${at(c)} ELSE ${at(c)} END`;
      default: return at(c);
    }
  };
  return `INSERT OR IGNORE INTO events (${WIRE_COLUMNS.map((c) => `"${c}"`).join(", ")}) SELECT ${WIRE_COLUMNS.map(expr).join(", ")} FROM json_each(?1)`;
})();

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * The message column as sent: its length when it is a plain tail of raw, else itself. SQL's substr
 * counts code points from the end, so only the tail itself must be free of surrogates (a pair before it
 * does not shift it); a NUL anywhere in raw ends the text for SQL functions. Checked with a slice
 * compare and indexOf: `endsWith` and a regex over raw cost ≈1 ms per 1000 rows in V8, this ≈0.05.
 */
function messageOnWire(message: string | null, raw: string): string | number | null {
  if (message === null) return null;
  const n = message.length;
  if (n === 0 || n > raw.length || raw.slice(raw.length - n) !== message || raw.indexOf("\0") >= 0 || SURROGATE.test(message)) return message;
  return n;
}

/** Bytes of a statement parameter at most (a little under D1's value limit). */
export const INSERT_MAX_BYTES = Math.floor(D1_MAX_VALUE_BYTES * 0.95);

const NON_ASCII = /[^\x00-\x7f]/;

/** UTF-8 bytes of `s` (JSON.stringify leaves non-ASCII unescaped, lone surrogates escaped). */
function utf8Bytes(s: string): number {
  if (!NON_ASCII.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * The INSERT statements for `rows`: one JSON array of rows per statement (see INSERT_EVENTS_SQL), each
 * under INSERT_MAX_BYTES. One JSON.stringify per statement (no per-row strings to join); a typical
 * 1000-line batch is one statement. A parameter over the limit is split by rows and built again, which
 * is rare: the first split is sized from the whole.
 */
export function insertEventStatements(rows: readonly EventRow[]): SqlStatement[] {
  const out: SqlStatement[] = [];
  if (rows.length === 0) return out;
  const baseTs = rows[0]!.ts, baseRec = rows[0]!.received_at;
  // Distinct docs by identity: searchTimeDoc hands out one frozen object per (sender, transport, cut).
  const docIndex = new Map<object, number>();
  const docs: object[] = [];
  const wire: unknown[][] = new Array<unknown[]>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    let d = docIndex.get(r.doc);
    if (d === undefined) {
      d = docs.length;
      docs.push(r.doc);
      docIndex.set(r.doc, d);
    }
    // In WIRE_COLUMNS order. Packed arrays grown by push up to the last non-NULL column: shortening
    // an array (length = n) leaves it in a shape that V8's JSON.stringify serializes on its slow path.
    const w: unknown[] = [r.id, r.ts - baseTs, r.received_at - baseRec, r.dataset, r.raw, messageOnWire(r.message, r.raw), d];
    const last = r.user !== null ? 20 : r.dst_port !== null ? 19 : r.src_port !== null ? 18 : r.protocol !== null ? 17
      : r.dst_ip !== null ? 16 : r.outcome !== null ? 14 : r.src_ip !== null ? 13 : r.class_bits !== null ? 11
      : r.action !== null ? 10 : r.host !== null ? 9 : r.program !== null ? 8 : r.severity !== null ? 7 : 6;
    if (last >= 7) w.push(r.severity);
    if (last >= 8) w.push(r.program);
    if (last >= 9) w.push(r.host);
    if (last >= 10) w.push(r.action);
    if (last >= 11) w.push(r.class_bits);
    if (last >= 13) w.push(r.src_ip, keyOnWire(r.src_ip, r.src_ip_key));
    if (last >= 14) w.push(r.outcome);
    if (last >= 16) w.push(r.dst_ip, keyOnWire(r.dst_ip, r.dst_ip_key));
    if (last >= 17) w.push(r.protocol);
    if (last >= 18) w.push(r.src_port);
    if (last >= 19) w.push(r.dst_port);
    if (last >= 20) w.push(r.user);
    wire[i] = w;
  }
  const docsJson = JSON.stringify(docs);
  const pending: unknown[][][] = [wire];
  while (pending.length > 0) {
    const part = pending.shift()!;
    const json = JSON.stringify(part);
    // n UTF-16 units are at most 3n UTF-8 bytes: a typical batch skips the scan for non-ASCII.
    const bytes = json.length * 3 <= INSERT_MAX_BYTES ? json.length : utf8Bytes(json);
    if (bytes <= INSERT_MAX_BYTES || part.length === 1) {
      out.push({ sql: INSERT_EVENTS_SQL, params: [json, baseTs, baseRec, docsJson] });
      continue;
    }
    // Split into as many equal parts as the size asks for (plus margin), keeping row order.
    const n = Math.min(part.length, Math.ceil((bytes * 1.1) / INSERT_MAX_BYTES));
    const per = Math.ceil(part.length / n);
    const parts: unknown[][][] = [];
    for (let i = 0; i < part.length; i += per) parts.push(part.slice(i, i + per));
    pending.unshift(...parts);
  }
  return out;
}

function rowToEvent(r: Record<string, unknown>): EventRow {
  let doc: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(String(r.doc));
    if (parsed && typeof parsed === "object") doc = parsed as Record<string, unknown>;
  } catch {
    doc = { porchlight: { parse_error: "stored document is not JSON" } };
  }
  return {
    id: String(r.id),
    ts: Number(r.ts),
    received_at: Number(r.received_at),
    host: (r.host as string | null) ?? null,
    program: (r.program as string | null) ?? null,
    dataset: String(r.dataset),
    src_ip: (r.src_ip as string | null) ?? null,
    dst_ip: (r.dst_ip as string | null) ?? null,
    src_ip_key: (r.src_ip_key as string | null) ?? null,
    dst_ip_key: (r.dst_ip_key as string | null) ?? null,
    src_port: r.src_port == null ? null : Number(r.src_port),
    dst_port: r.dst_port == null ? null : Number(r.dst_port),
    protocol: (r.protocol as string | null) ?? null,
    user: (r.user as string | null) ?? null,
    action: (r.action as string | null) ?? null,
    outcome: (r.outcome as string | null) ?? null,
    severity: r.severity == null ? null : Number(r.severity),
    class_bits: r.class_bits == null ? null : Number(r.class_bits),
    message: (r.message as string | null) ?? null,
    raw: String(r.raw),
    doc,
  };
}

/** A stored row (as any SQL client returns it) → the API/ECS event. Use it wherever events are read back. */
export function storedEvent(r: Record<string, unknown>): ApiEvent {
  return apiEvent(rowToEvent(r));
}

// --- Settings version

/** Changes whenever a source or extractor is added, changed or removed (count and latest update). */
const SETTINGS_VERSION_SQL =
  "SELECT (SELECT count(*) || ':' || coalesce(max(updated_at), 0) FROM sources) || '/' || " +
  "(SELECT count(*) || ':' || coalesce(max(updated_at), 0) FROM extractors) AS v";

// --- The SQL implementation

const extractorRow = (r: Record<string, unknown>): ExtractorRow => ({
  id: String(r.id),
  name: String(r.name),
  pattern: String(r.pattern),
  program: (r.program as string | null) ?? null,
  host: (r.host as string | null) ?? null,
  enabled: Boolean(Number(r.enabled)),
  created_at: Number(r.created_at),
  updated_at: Number(r.updated_at),
});

const sourceRow = (r: Record<string, unknown>): SourceRow => ({
  key: String(r.key),
  timezone: String(r.timezone),
  updated_at: Number(r.updated_at),
});

const tokenRow = (r: Record<string, unknown>): TokenRow => ({
  id: String(r.id),
  name: String(r.name),
  scopes: JSON.parse(String(r.scopes)) as string[],
  created_at: Number(r.created_at),
  last_used_at: r.last_used_at == null ? null : Number(r.last_used_at),
});

export class SqlStore implements Store {
  readonly sql: Sql;
  constructor(sql: Sql) {
    this.sql = sql;
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

  async insertEvents(rows: readonly EventRow[]) {
    if (rows.length === 0) return { stored: 0, rowsWritten: 0 };
    const results = await this.sql.batch(insertEventStatements(rows));
    let stored = 0, rowsWritten = 0;
    for (const r of results) {
      stored += r.changes;
      rowsWritten += r.rowsWritten;
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
    const predicted = 1 + (rec.relay ? 1 : 0) + counters.length;
    const rw = counters.findIndex(([k]) => k === "rows_written");
    if (rw >= 0) counters[rw] = ["rows_written", counters[rw]![1] + predicted];
    if (counters.length > 0) {
      stmts.push({
        sql:
          "INSERT INTO counters (name, value) SELECT key, value FROM json_each(?1) WHERE true " +
          "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
        params: [JSON.stringify(Object.fromEntries(counters))],
      });
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
    const { sql, params } = buildEventsQuery(q);
    return (await this.one(sql, ...params)).rows.map(rowToEvent);
  }

  async getEvent(id: string) {
    const r = await this.one(`SELECT * FROM events WHERE id = ?1`, id);
    return r.rows[0] ? rowToEvent(r.rows[0]) : null;
  }

  async counters() {
    const r = await this.one("SELECT name, value FROM counters ORDER BY name");
    return Object.fromEntries(r.rows.map((x) => [String(x.name), Number(x.value)]));
  }

  async relays() {
    const r = await this.one("SELECT * FROM relays ORDER BY last_seen_at DESC");
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
