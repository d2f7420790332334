/**
 * The INSERT wire format of events: the batch's rows as one bound JSON parameter per statement, read
 * back by SQLite's json_each (see INSERT_EVENTS_SQL), each statement under INSERT_MAX_BYTES.
 */
import { D1_MAX_VALUE_BYTES } from "../constants.ts";
import { V4_KEY_PREFIX } from "./rows.ts";
import type { EventRow, SqlStatement } from "./types.ts";

/**
 * An ip key column as sent: an IPv4 address's 8 digits (SQL puts V4_KEY_PREFIX back), else the key.
 * The key of an address without ":" is always V4_KEY_PREFIX + 8 digits (cachedIpKey).
 */
const keyOnWire = (ip: string | null, key: string | null): string | null =>
  ip !== null && key !== null && ip.indexOf(":") < 0 ? key.slice(24) : key;

/**
 * The columns in the order rows are sent: those every row has first, the often-NULL ones last, so a
 * row's trailing NULLs can be left out (json_extract of a missing element is NULL).
 * insertEventStatements' row encoder hard-codes these positions; test/unit/store-wire.test.ts fails
 * when they drift apart (it compares the encoder with referenceWireRow, which reads this list).
 */
export const WIRE_COLUMNS = [
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

/**
 * The plain twin of the row encoder in insertEventStatements: every column by name, in WIRE_COLUMNS
 * order, then trailing NULLs dropped. `doc` is the row's index in the batch's doc list. The encoder
 * must agree with it column for column (test/unit/store-wire.test.ts, a fast-check property); it may
 * keep a trailing NULL this drops (both read back as NULL).
 */
export function referenceWireRow(r: EventRow, baseTs: number, baseRec: number, doc: number): unknown[] {
  const w: unknown[] = WIRE_COLUMNS.map((c) => {
    switch (c) {
      case "ts": return r.ts - baseTs;
      case "received_at": return r.received_at - baseRec;
      case "doc": return doc;
      case "message": return messageOnWire(r.message, r.raw);
      case "src_ip_key": return keyOnWire(r.src_ip, r.src_ip_key);
      case "dst_ip_key": return keyOnWire(r.dst_ip, r.dst_ip_key);
      default: return r[c];
    }
  });
  while (w.length > 0 && w[w.length - 1] === null) w.pop();
  return w;
}

/** Bytes of a statement's parameters at most, the rows' JSON and the docs' JSON together (a little under D1's value limit). */
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
 * with the batch's doc list under INSERT_MAX_BYTES. One JSON.stringify per statement (no per-row strings
 * to join); a typical 1000-line batch is one statement. A parameter over the limit is split by rows and built again, which
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
  // Every statement carries the whole doc list: its bytes come out of each statement's budget.
  const budget = INSERT_MAX_BYTES - (docsJson.length * 3 <= INSERT_MAX_BYTES ? docsJson.length : utf8Bytes(docsJson));
  const pending: unknown[][][] = [wire];
  while (pending.length > 0) {
    const part = pending.shift()!;
    const json = JSON.stringify(part);
    // n UTF-16 units are at most 3n UTF-8 bytes: a typical batch skips the scan for non-ASCII.
    const bytes = json.length * 3 <= budget ? json.length : utf8Bytes(json);
    if (bytes <= budget || part.length === 1) {
      out.push({ sql: INSERT_EVENTS_SQL, params: [json, baseTs, baseRec, docsJson] });
      continue;
    }
    // Split into as many equal parts as the size asks for (plus margin), keeping row order.
    const n = Math.min(part.length, Math.ceil((bytes * 1.1) / Math.max(budget, 1)));
    const per = Math.ceil(part.length / n);
    const parts: unknown[][][] = [];
    for (let i = 0; i < part.length; i += per) parts.push(part.slice(i, i + per));
    pending.unshift(...parts);
  }
  return out;
}
