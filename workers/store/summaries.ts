/**
 * Per-hour search summaries (SummaryStore, table `search_hours`): what lets an events search skip the
 * hours in which an address or a piece of text never appears, so a search for a rare address over a
 * month reads the summaries of its hours and the events of the few hours that may match, not every
 * event (D1 bills each scanned row; the events table has no secondary index, by design: schema.ts).
 *
 * One summary per UTC hour (event time) is a bit set of SUMMARY_BITS bits:
 * - bits [0, TRIGRAMS): the exact set of the hour's message trigrams, over a 40-letter alphabet
 *   (ASCII lower-cased as SQLite's lower() does; a-z, 0-9, space, '.', '-', and one class for every
 *   other character). `q=` is `instr(lower(message), v) > 0`; a message containing v contains every
 *   trigram of v, so an hour lacking one of them cannot match. Values under 3 characters do not prune.
 * - bits [TRIGRAMS, SUMMARY_BITS): a Bloom filter (ADDRESS_BITS, ADDRESS_HASHES) of the hour's source and
 *   destination addresses (both directions in one set: a superset is still correct), each also as its
 *   /24 and /16 (IPv4) or /64 and /48 (IPv6) prefix, so a CIDR search prunes at the widest prefix level
 *   it contains, and of the hour's user names (`user=`). A false positive only costs a scan, never a result.
 *
 * Invariant (tested: test/unit/summaries.test.ts, test/workers/search-summaries.test.ts): an hour is
 * skipped only when its summary covers every stored event of the hour and fails the probe, so pruning
 * never changes a search's results. Coverage holds because
 * - every events insert writes its hours' summary parts in the same statement batch (one transaction:
 *   sql-store.ts insertEvents), so no event is stored without its summary;
 * - an hour is only tested when it has its merged row (part `*`) and no other part (parts not yet
 *   merged make the hour a candidate), and only from `complete_from` on (search_meta: set by migration
 *   0008 to the next hour when events were already stored, since older events have no summary).
 *
 * Cost: a batch writes one part per hour it touches (sparse: delta-coded bit positions), the cron
 * merges closed hours into one dense row each (SUMMARY_BYTES: 73,536 bytes). A search adds one query reading one row
 * per hour of its range (plus the parts of recent hours).
 */
import { PorchlightError } from "../errors.ts";
import type { Condition } from "./events-query.ts";
import { isWriteConflict, stmt } from "./sql.ts";
import type { EventRow, Sql, SqlStatement } from "./types.ts";

const HOUR_MS = 3_600_000;
/** Letters of the trigram alphabet. */
const ALPHABET = 40;
/** Trigram bits: every trigram of the alphabet has its own bit (exact, no hashing). */
export const TRIGRAMS = ALPHABET * ALPHABET * ALPHABET;
/**
 * Address Bloom filter bits (a power of two) and hashes. Each address is 3 tokens (whole, and two
 * prefixes). A router whose WAN sees 25,000 distinct scanners an hour (bench/corpus.ts: every public
 * address random) makes ≈ 50,000 tokens: 32 % of the bits set, ≈ 1 % false positives; a quieter home's
 * few thousand addresses give far fewer. (2^17 bits and 3 hashes measured 54 % set, and a rare address
 * passed 60 % of the hours: bench/search.bench.ts.)
 */
export const ADDRESS_BITS = 1 << 19;
const ADDRESS_HASHES = 4;
export const SUMMARY_BITS = TRIGRAMS + ADDRESS_BITS;
export const SUMMARY_BYTES = SUMMARY_BITS / 8;

/**
 * UTF-8 byte → trigram letter: ASCII letters folded as SQLite's lower() does, digits, space, '.', '-';
 * every other byte (punctuation, and each byte of a non-ASCII character) is one letter. Text is read as
 * UTF-8, as SQLite's instr() compares it: a substring of characters is a substring of bytes.
 */
const LETTER = new Uint8Array(256).fill(ALPHABET - 1);
for (let c = 0; c < 26; c++) {
  LETTER[97 + c] = c;
  LETTER[65 + c] = c;
}
for (let c = 0; c < 10; c++) LETTER[48 + c] = 26 + c;
LETTER[32] = 36;
LETTER[46] = 37;
LETTER[45] = 38;

const utf8 = new TextEncoder();
/** Scratch for one text's UTF-8, grown on demand; used only within one synchronous call. */
let scratch = new Uint8Array(4096);
function bytesOf(text: string): number {
  // A UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3);
  return utf8.encodeInto(text, scratch).written;
}

/** Sets the bits of every trigram of `text` in `bits`. */
export function addTrigrams(bits: Uint8Array, text: string): void {
  if (text.length === 0) return;
  const n = bytesOf(text);
  if (n < 3) return;
  const u = scratch;
  let a = LETTER[u[0]!]! * (ALPHABET * ALPHABET);
  let b = LETTER[u[1]!]! * ALPHABET;
  for (let i = 2; i < n; i++) {
    const c = LETTER[u[i]!]!;
    const t = a + b + c;
    bits[t >> 3]! |= 1 << (t & 7);
    a = b * ALPHABET;
    b = c * ALPHABET;
  }
}

/** The distinct trigram bit positions of `text`, ascending (a query value's probe). */
export function trigramPositions(text: string): number[] {
  const n = bytesOf(text);
  const u = scratch;
  const set = new Set<number>();
  for (let i = 2; i < n; i++) set.add((LETTER[u[i - 2]!]! * ALPHABET + LETTER[u[i - 1]!]!) * ALPHABET + LETTER[u[i]!]!);
  return [...set].sort((x, y) => x - y);
}

/** The IPv4-mapped prefix of an address key (parse/ip.ts ipKey: 32 hex digits). */
const V4_MAPPED = "00000000000000000000ffff";
/** Prefix levels kept per family, in hex digits of the key: whole, /24, /16 and whole, /64, /48. */
const V4_LEVELS = [32, 30, 28] as const;
const V6_LEVELS = [32, 16, 12] as const;

/** Address tokens of one key: the key at each prefix level (tokens of different levels differ in length). */
export function addressTokens(key: string): string[] {
  const levels = key.startsWith(V4_MAPPED) ? V4_LEVELS : V6_LEVELS;
  return levels.map((n) => key.slice(0, n));
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** murmur3's finalizer: every output bit depends on every input bit (FNV-1a's low bits do not). */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The Bloom positions of a token whose FNV-1a hash is `fnv` (double hashing), into `bits` or `out`. */
function bloom(fnv: number, bits: Uint8Array | null, out: number[] | null): void {
  const h = fmix(fnv);
  const g = fmix(h ^ 0x9e3779b9) | 1;
  for (let i = 0; i < ADDRESS_HASHES; i++) {
    const p = TRIGRAMS + (((h + Math.imul(i, g)) >>> 0) & (ADDRESS_BITS - 1));
    if (bits) bits[p >> 3]! |= 1 << (p & 7);
    else out!.push(p);
  }
}

function fnvOf(token: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), FNV_PRIME);
  return h;
}

/** Bloom positions of a token, absolute bit numbers (a query's probe). */
export function tokenPositions(token: string): number[] {
  const out: number[] = [];
  bloom(fnvOf(token), null, out);
  return out;
}

/** A user name's token (`user.name`, compared exactly as `user=` is); never 32 hex digits like an address's. */
export const userToken = (user: string): string => `u:${user}`;

/**
 * Sets the Bloom bits of every token of a key (addressTokens) in one pass: each token is a prefix of
 * the key, so the key's running FNV-1a hash at a level's length is that token's hash (property test:
 * the same bits as tokenPositions of each of addressTokens).
 */
export function addAddress(bits: Uint8Array, key: string): void {
  const [l1, l2, l3] = key.startsWith(V4_MAPPED) ? V4_LEVELS : V6_LEVELS;
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) {
    h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
    const n = i + 1;
    if (n === l1 || n === l2 || n === l3) bloom(h, bits, null);
  }
}

// --- A batch's parts (pure)

export interface SummaryPart {
  /** UTC hour start, ms (event time). */
  hour: number;
  /** The smallest event id of the part's rows: the same rows (a retried batch) give the same part. */
  part: string;
  /** Dense bit set, SUMMARY_BYTES long. */
  bits: Uint8Array;
}

/** One part per UTC hour the rows fall in: the trigrams of their messages and their addresses. */
export function summariesOf(rows: readonly EventRow[]): SummaryPart[] {
  const byHour = new Map<number, { part: string; bits: Uint8Array; keys: Set<string>; users: Set<string>; messages: string[] }>();
  let lastHour = NaN;
  let cur: { part: string; bits: Uint8Array; keys: Set<string>; users: Set<string>; messages: string[] } | undefined;
  for (const r of rows) {
    const hour = Math.floor(r.ts / HOUR_MS) * HOUR_MS;
    if (hour !== lastHour || cur === undefined) {
      cur = byHour.get(hour);
      if (!cur) byHour.set(hour, (cur = { part: r.id, bits: new Uint8Array(SUMMARY_BYTES), keys: new Set(), users: new Set(), messages: [] }));
      lastHour = hour;
    }
    if (r.id < cur.part) cur.part = r.id;
    if (r.message !== null) cur.messages.push(r.message);
    // A batch repeats its addresses: each distinct one is hashed once.
    if (r.src_ip_key !== null) cur.keys.add(r.src_ip_key);
    if (r.dst_ip_key !== null) cur.keys.add(r.dst_ip_key);
    if (r.user !== null) cur.users.add(r.user);
  }
  const out: SummaryPart[] = [];
  for (const [hour, c] of byHour) {
    // One pass over the hour's messages joined by newlines (one UTF-8 encoding, not one per message):
    // the trigrams that span two messages only add bits, which never hides a match.
    addTrigrams(c.bits, c.messages.join("\n"));
    for (const k of c.keys) addAddress(c.bits, k);
    for (const u of c.users) bloom(fnvOf(userToken(u)), c.bits, null);
    out.push({ hour, part: c.part, bits: c.bits });
  }
  return out;
}

// --- Encodings

/** A part's set bits as base64 of LEB128 deltas between ascending positions (parts are sparse). */
export function encodeSparse(bits: Uint8Array): string {
  let out = new Uint8Array(16384);
  let n = 0;
  let prev = 0;
  // Four bytes at a time (most are zero in a part); the set bits of a word lowest first.
  for (let i = 0; i < bits.length; i += 4) {
    let w = (bits[i]! | (bits[i + 1]! << 8) | (bits[i + 2]! << 16) | (bits[i + 3]! << 24)) >>> 0;
    if (w === 0) continue;
    // A word has at most 32 set bits, each delta at most 3 LEB128 bytes (deltas < 2^21).
    if (n + 96 > out.length) {
      const grown = new Uint8Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    while (w !== 0) {
      const low = w & -w;
      const p = i * 8 + 31 - Math.clz32(low);
      w = (w ^ low) >>> 0;
      let d = p - prev;
      prev = p;
      while (d >= 0x80) {
        out[n++] = (d & 0x7f) | 0x80;
        d >>>= 7;
      }
      out[n++] = d;
    }
  }
  let s = "";
  for (let i = 0; i < n; i += 8192) s += String.fromCharCode.apply(null, out.subarray(i, Math.min(n, i + 8192)) as unknown as number[]);
  return btoa(s);
}

/** The plain reference of encodeSparse (bit by bit, a number array): the same text (property test). */
export function encodeSparseReference(bits: Uint8Array): string {
  const out: number[] = [];
  let prev = 0;
  for (let p = 0; p < bits.length * 8; p++) {
    if ((bits[p >> 3]! & (1 << (p & 7))) === 0) continue;
    let d = p - prev;
    prev = p;
    while (d >= 0x80) {
      out.push((d & 0x7f) | 0x80);
      d >>>= 7;
    }
    out.push(d);
  }
  return btoa(out.map((c) => String.fromCharCode(c)).join(""));
}

/** ORs an encodeSparse text into `into`. Throws on a malformed text (a bit beyond the set). */
export function orSparse(into: Uint8Array, text: string): void {
  const s = atob(text);
  let p = 0, d = 0, shift = 0;
  for (let i = 0; i < s.length; i++) {
    const b = s.charCodeAt(i);
    d += (b & 0x7f) * 2 ** shift;
    if (b & 0x80) {
      shift += 7;
      continue;
    }
    p += d;
    if (p >= SUMMARY_BITS) throw new PorchlightError("internal", `search summary part has bit ${p} beyond ${SUMMARY_BITS}`);
    into[p >> 3]! |= 1 << (p & 7);
    d = 0;
    shift = 0;
  }
}

const HEX = "0123456789ABCDEF";

/** Upper-case hex, as SQLite's hex() writes it (the merged row is written with unhex()). */
export function toHex(bits: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bits.length; i++) s += HEX[bits[i]! >> 4]! + HEX[bits[i]! & 15]!;
  return s;
}

export function orHex(into: Uint8Array, hex: string): void {
  const n = Math.min(into.length, hex.length >> 1);
  for (let i = 0; i < n; i++) into[i]! |= parseInt(hex.slice(2 * i, 2 * i + 2), 16);
}

// --- Probes: what a search needs an hour to contain

/**
 * A search's probe in conjunctive form: every clause must hold, a clause holds when one of its
 * alternatives has all its bits set. Null when no condition can prune (negations, short text, wide CIDRs,
 * fields the summary does not hold).
 */
export type Probe = number[][][];

/** The widest prefix level a key range [lo, hi] lies within, as the token of that level; null if none. */
function rangeToken(lo: string, hi: string): string | null {
  let common = 0;
  while (common < 32 && lo[common] === hi[common]) common++;
  const levels = lo.startsWith(V4_MAPPED) && hi.startsWith(V4_MAPPED) ? V4_LEVELS : V6_LEVELS;
  for (const n of levels) if (n <= common) return lo.slice(0, n);
  return null;
}

/**
 * Most bit tests one probe renders (≈ 110 bytes of SQL each: 200 stay far under
 * D1_MAX_STATEMENT_BYTES). Any subset of an alternative's bits is still a condition every matching hour
 * meets, so a long `q` or many values keep fewer bits each, never a wrong answer.
 */
export const MAX_PROBE_BITS = 200;

export function probeOf(conditions: readonly Condition[]): Probe | null {
  const clauses = probeClauses(conditions);
  const alts = clauses.reduce((n, c) => n + c.length, 0);
  if (alts === 0) return null;
  if (alts > MAX_PROBE_BITS) {
    // Too many alternatives to keep a bit of each: keep the clauses that fit, whole.
    const kept: Probe = [];
    let used = 0;
    for (const c of clauses) if (used + c.length <= MAX_PROBE_BITS) {
      kept.push(c.map((ps) => ps.slice(0, 1)));
      used += c.length;
    }
    return kept.length > 0 ? kept : null;
  }
  const each = Math.max(1, Math.floor(MAX_PROBE_BITS / alts));
  return clauses.map((c) => c.map((ps) => (ps.length > each ? spread(ps, each) : ps)));
}

/** `n` of `ps` spread over its length (a value's trigrams from start to end, not just its start). */
const spread = (ps: number[], n: number): number[] => Array.from({ length: n }, (_, i) => ps[Math.floor((i * ps.length) / n)]!);

function probeClauses(conditions: readonly Condition[]): Probe {
  const clauses: Probe = [];
  for (const c of conditions) {
    if (c.negate) continue;
    let alts: number[][] | null = null;
    if (c.kind === "contains") {
      alts = c.values.every((v) => v.length >= 3) ? c.values.map(trigramPositions) : null;
    } else if (c.column === "user") {
      if (c.kind === "in") alts = c.values.map((v) => tokenPositions(userToken(String(v))));
    } else if (c.column === "src_ip_key" || c.column === "dst_ip_key") {
      if (c.kind === "in") alts = c.values.map((v) => tokenPositions(String(v)));
      else {
        const tokens = c.ranges.map(([lo, hi]) => rangeToken(String(lo), String(hi)));
        alts = tokens.every((t) => t !== null) ? tokens.map((t) => tokenPositions(t!)) : null;
      }
    }
    if (alts && alts.length > 0) clauses.push(alts);
  }
  return clauses;
}

/** The probe evaluated on a dense bit set (the reference of probeSql). */
export function probeHolds(probe: Probe, bits: Uint8Array): boolean {
  return probe.every((alts) => alts.some((ps) => ps.every((p) => (bits[p >> 3]! & (1 << (p & 7))) !== 0)));
}

/**
 * The probe as an SQL condition on the merged row's `dense` BLOB: bit p is in byte p>>3, whose hex()
 * is two upper-case digits, the high nibble first. Only integers are rendered (no user text).
 */
export function probeSql(probe: Probe, column = "dense"): string {
  const bit = (p: number) =>
    `((instr('${HEX}', substr(hex(substr(${column}, ${(p >> 3) + 1}, 1)), ${(p & 7) < 4 ? 2 : 1}, 1)) - 1) & ${1 << (p & 3)})`;
  return probe.map((alts) => "(" + alts.map((ps) => "(" + ps.map((p) => `${bit(p)} <> 0`).join(" AND ") + ")").join(" OR ") + ")").join(" AND ");
}

// --- Writing and reading

/** Inserts a batch's parts, one written row each; a replay of the same rows is ignored. */
export function summaryStatements(parts: readonly SummaryPart[]): SqlStatement[] {
  return parts.map((p) => stmt("INSERT OR IGNORE INTO search_hours (hour, part, sparse) VALUES (?1, ?2, ?3)", p.hour, p.part, encodeSparse(p.bits)));
}

export interface SummaryStore {
  /**
   * The hours in [fromHour, toHour] (ms, hour starts) that cannot hold an event matching the probe:
   * merged, with no unmerged part, at or after complete_from, and failing the probe. Ascending.
   */
  hoursWithout(probe: Probe, fromHour: number, toHour: number): Promise<number[]>;
  /**
   * Merges the parts of hours before `beforeHour` (ms) into each hour's dense row, oldest hour first,
   * in at most `maxSteps` steps of SUMMARY_PARTS_PER_STEP parts (one read and one write transaction
   * each: the parts a step deletes are in the row it writes). First deletes the summaries of hours
   * before `dropBefore` (ms: their events expired under every retention period). Returns the hours
   * finished, parts merged and rows written; the next call goes on where this one stopped.
   */
  compactSummaries(beforeHour: number, maxSteps: number, dropBefore: number): Promise<{ hours: number; parts: number; rowsWritten: number }>;
}

/** Parts merged per step: bounds one step's read (the 72 KB dense row plus ≤ 500 parts of 1–15 KB). */
export const SUMMARY_PARTS_PER_STEP = 500;

export const summaryQueries = (sql: Sql): SummaryStore => ({
  async hoursWithout(probe, fromHour, toHour) {
    const [r] = await sql.batch([
      stmt(
        "SELECT s.hour AS hour FROM search_hours s WHERE s.hour >= ?1 AND s.hour <= ?2 AND s.part = '*' " +
          "AND s.hour >= (SELECT value FROM search_meta WHERE key = 'complete_from') " +
          "AND NOT EXISTS (SELECT 1 FROM search_hours p WHERE p.hour = s.hour AND p.part <> '*') " +
          `AND NOT (${probeSql(probe, "s.dense")}) ORDER BY s.hour`,
        fromHour,
        toHour,
      ),
    ]);
    return r!.rows.map((x) => Number(x.hour));
  },

  async compactSummaries(beforeHour, maxSteps, dropBefore) {
    let rowsWritten = 0, hours = 0, parts = 0, steps = 0;
    const [d] = await sql.batch([stmt("DELETE FROM search_hours WHERE hour < ?1", dropBefore)]);
    rowsWritten += d!.rowsWritten;
    const [h] = await sql.batch([
      stmt("SELECT DISTINCT hour FROM search_hours WHERE hour < ?1 AND part <> '*' ORDER BY hour LIMIT ?2", beforeHour, maxSteps),
    ]);
    for (const x of h!.rows) {
      const hour = Number(x.hour);
      let done = false;
      while (steps < maxSteps) {
        steps++;
        const [cur, ps] = await sql.batch([
          stmt("SELECT hex(dense) AS d, gen FROM search_hours WHERE hour = ?1 AND part = '*'", hour),
          stmt("SELECT part, sparse FROM search_hours WHERE hour = ?1 AND part <> '*' ORDER BY part LIMIT ?2", hour, SUMMARY_PARTS_PER_STEP),
        ]);
        if (ps!.rows.length === 0) {
          done = true;
          break;
        }
        const bits = new Uint8Array(SUMMARY_BYTES);
        const merged = cur!.rows[0];
        if (merged) orHex(bits, String(merged.d));
        for (const p of ps!.rows) orSparse(bits, String(p.sparse));
        const gen = merged ? Number(merged.gen) : null;
        const names = JSON.stringify(ps!.rows.map((p) => String(p.part)));
        let res;
        try {
          res = await sql.batch([
            // Another compaction wrote the merged row since we read it: roll back (its bits would be lost).
            stmt("SELECT CASE WHEN (SELECT gen FROM search_hours WHERE hour = ?1 AND part = '*') IS ?2 THEN 0 ELSE abs(-9223372036854775808) END", hour, gen),
            stmt("DELETE FROM search_hours WHERE hour = ?1 AND part IN (SELECT value FROM json_each(?2))", hour, names),
            stmt(
              "INSERT INTO search_hours (hour, part, dense, gen) VALUES (?1, '*', unhex(?2), 1) " +
                "ON CONFLICT (hour, part) DO UPDATE SET dense = excluded.dense, gen = gen + 1",
              hour,
              toHex(bits),
            ),
          ]);
        } catch (err) {
          if (isWriteConflict(err)) continue;
          throw err;
        }
        rowsWritten += res.reduce((n, r) => n + r.rowsWritten, 0);
        parts += ps!.rows.length;
        if (ps!.rows.length < SUMMARY_PARTS_PER_STEP) {
          done = true;
          break;
        }
      }
      if (!done) break;
      hours++;
    }
    return { hours, parts, rowsWritten };
  },
});
