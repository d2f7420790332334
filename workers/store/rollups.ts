/**
 * Hourly rollups (RollupStore, table `rollups_hourly`): what the overview and the stats API count —
 * events per UTC hour by dataset, host and action, failed logins, the top sources, destinations and
 * blocked sources — kept after raw events expire (retention deletes only `events`).
 *
 * Written at ingest: `rollupsOf` turns a batch's rows into one JSON document per hour the batch touches,
 * and `rollupStatement` inserts them in the statement batch that records the ingest batch
 * (sql-store.ts recordBatch), so every batch is counted exactly once, as its events are. One written row
 * per batch and hour (≈ 0.01 rows per event for 100-line batches, 0.001 for 1000-line ones). Addresses
 * keep each batch's top ROLLUP_TOP_ADDRESSES only, and a merged hour its top ROLLUP_HOUR_TOP_ADDRESSES:
 * an address seen once in each of many batches may be undercounted (the overview's top-N is of heavy
 * hitters); everything else is exact.
 */
import { categoryMask, typeMask } from "./search-time.ts";
import { CURSOR_UPSERT } from "./retention.ts";
import { stmt } from "./sql.ts";
import type { OverviewCounts } from "./stats.ts";
import type { EventRow, Sql, SqlStatement } from "./types.ts";

/** Source, destination and blocked addresses kept per batch and hour, most frequent first. */
export const ROLLUP_TOP_ADDRESSES = 20;
/** Datasets, hosts and actions kept per batch and hour (a bound against unusual input; homes have few). */
export const ROLLUP_MAX_KEYS = 100;
/**
 * Sources, destinations and blocked sources an hour's merged row keeps, most frequent first. Readers
 * expand each key with json_each, and D1 bills every expanded key as a row read: untrimmed, an hour
 * of a router's WAN scanners merged ≈ 500 keys (each batch's top 20), and a 7-day overview read 65,651
 * rows (bench/search.bench.ts, 10,000,000 events); the overview shows the top 10.
 */
export const ROLLUP_HOUR_TOP_ADDRESSES = 50;
/** Top blocked sources the overview returns. */
const TOP_BLOCKED = 10;
const HOUR_MS = 3_600_000;

/** `event.action` values (lower-cased) that mean a firewall blocked the packet. */
export const BLOCK_ACTIONS: readonly string[] = ["drop", "dropped", "deny", "denied", "reject", "rejected", "block", "blocked"];
const BLOCKING = new Set(BLOCK_ACTIONS);

/** Keyed counts of one hour (from one batch, or summed). */
export type RollupDim = "dataset" | "host" | "action" | "src" | "dst" | "blocked";
export const ROLLUP_DIMS: readonly RollupDim[] = ["dataset", "host", "action", "src", "dst", "blocked"];

export interface RollupCounts {
  events: number;
  auth_failure: number;
  dataset: Record<string, number>;
  host: Record<string, number>;
  action: Record<string, number>;
  src: Record<string, number>;
  dst: Record<string, number>;
  blocked: Record<string, number>;
}

export interface RollupPart {
  /** UTC hour start, ms (event time). */
  hour: number;
  counts: RollupCounts;
}

export interface RollupStore {
  /** The overview's counts since `from` (ms): events from rollups, alerts from the alerts table. */
  rollupCounts(from: number): Promise<OverviewCounts>;
  /** Summed counts per hour between `from` and `to` (ms; hours whose start is in the range), by hour. */
  rollupHours(from: number, to: number): Promise<RollupPart[]>;
  /**
   * Merges the parts of the next `maxHours` hours that have parts, before `beforeHour` (ms), starting
   * where the last compaction stopped, into one row per hour (part `*`). Readers sum all parts of an hour, so a batch
   * that arrives for an hour already compacted only adds a part. Returns the hours merged and rows
   * written (each merged part deleted, plus the merged row and the watermark).
   */
  compactRollups(beforeHour: number, maxHours: number, now: number): Promise<{ hours: number; parts: number; rowsWritten: number }>;
}

/** The compaction watermark lives in retention_cursors under this key (retention periods are >= 0). */
const COMPACTION_KEY = -1;

// --- Computing a batch's rollups (pure)

/** class_bits uses bits above 2^31: test a bit with arithmetic, not `&`. */
const hasBit = (bits: number | null, mask: number) => bits !== null && Math.floor(bits / mask) % 2 === 1;
const AUTHENTICATION = categoryMask("authentication");
const DENIED = typeMask("denied");

/** Keys come from log lines (`__proto__`, `constructor`): counts live in null-prototype objects. */
const counter = () => Object.create(null) as Record<string, number>;
export const emptyCounts = (): RollupCounts => ({ events: 0, auth_failure: 0, dataset: counter(), host: counter(), action: counter(), src: counter(), dst: counter(), blocked: counter() });

function top(counts: Record<string, number>, limit: number): Record<string, number> {
  const keys = Object.keys(counts);
  if (keys.length <= limit) return counts;
  const out = counter();
  for (const k of keys.sort((a, b) => counts[b]! - counts[a]! || (a < b ? -1 : 1)).slice(0, limit)) out[k] = counts[k]!;
  return out;
}

/**
 * The plain reference of rollupsOf: null-prototype objects, a full sort for the top-N. rollupsOf must
 * return the same parts, keys in the same order (property test: test/unit/rollups-fast.test.ts).
 */
export function rollupsOfReference(rows: readonly EventRow[]): RollupPart[] {
  const byHour = new Map<number, RollupCounts>();
  const bump = (m: Record<string, number>, k: string | null) => {
    if (k !== null && k !== "") m[k] = (m[k] ?? 0) + 1;
  };
  for (const r of rows) {
    const hour = Math.floor(r.ts / HOUR_MS) * HOUR_MS;
    let c = byHour.get(hour);
    if (!c) byHour.set(hour, (c = emptyCounts()));
    c.events++;
    bump(c.dataset, r.dataset);
    bump(c.host, r.host);
    bump(c.action, r.action);
    bump(c.src, r.src_ip);
    bump(c.dst, r.dst_ip);
    if (r.outcome === "failure" && hasBit(r.class_bits, AUTHENTICATION)) c.auth_failure++;
    if (r.src_ip !== null && ((r.action !== null && BLOCKING.has(r.action.toLowerCase())) || hasBit(r.class_bits, DENIED))) bump(c.blocked, r.src_ip);
  }
  return [...byHour].map(([hour, c]) => ({
    hour,
    counts: {
      events: c.events,
      auth_failure: c.auth_failure,
      dataset: top(c.dataset, ROLLUP_MAX_KEYS),
      host: top(c.host, ROLLUP_MAX_KEYS),
      action: top(c.action, ROLLUP_MAX_KEYS),
      src: top(c.src, ROLLUP_TOP_ADDRESSES),
      dst: top(c.dst, ROLLUP_TOP_ADDRESSES),
      blocked: top(c.blocked, ROLLUP_TOP_ADDRESSES),
    },
  }));
}

interface FastCounts {
  events: number;
  auth_failure: number;
  dataset: Map<string, number>;
  host: Map<string, number>;
  action: Map<string, number>;
  src: Map<string, number>;
  dst: Map<string, number>;
  blocked: Map<string, number>;
}

function bumpMap(m: Map<string, number>, k: string | null): void {
  if (k !== null && k !== "") m.set(k, (m.get(k) ?? 0) + 1);
}

/** Most frequent first, ties by key (code-unit order): the reference's sort order. */
const before = (ka: string, na: number, kb: string, nb: number) => na > nb || (na === nb && ka < kb);

/**
 * The `limit` most frequent keys as a null-prototype object, inserted most frequent first when there are
 * more than `limit` keys (as `top` does), else in first-seen order. Selection keeps a sorted window of
 * `limit` entries: O(n·limit) worst case, ≈ O(n) on log data where few keys are frequent.
 */
function topOfMap(m: Map<string, number>, limit: number): Record<string, number> {
  const out = counter();
  if (m.size <= limit) {
    for (const [k, n] of m) out[k] = n;
    return out;
  }
  const keys: string[] = [];
  const ns: number[] = [];
  for (const [k, n] of m) {
    if (keys.length === limit && !before(k, n, keys[limit - 1]!, ns[limit - 1]!)) continue;
    let j = keys.length < limit ? keys.length : limit - 1;
    while (j > 0 && before(k, n, keys[j - 1]!, ns[j - 1]!)) {
      keys[j] = keys[j - 1]!;
      ns[j] = ns[j - 1]!;
      j--;
    }
    keys[j] = k;
    ns[j] = n;
  }
  for (let i = 0; i < keys.length; i++) out[keys[i]!] = ns[i]!;
  return out;
}

/**
 * One part per UTC hour the rows fall in. Counts in Maps (not dictionary-mode objects), a batch's few
 * `event.action` texts classified once each (lower-casing per row was most of the blocked test), and a
 * bounded selection instead of sorting every address for the top-N.
 */
export function rollupsOf(rows: readonly EventRow[]): RollupPart[] {
  const byHour = new Map<number, FastCounts>();
  const blockingAction = new Map<string, boolean>();
  let lastHour = NaN;
  let c: FastCounts | undefined;
  for (const r of rows) {
    const hour = Math.floor(r.ts / HOUR_MS) * HOUR_MS;
    if (hour !== lastHour || c === undefined) {
      c = byHour.get(hour);
      if (!c) byHour.set(hour, (c = { events: 0, auth_failure: 0, dataset: new Map(), host: new Map(), action: new Map(), src: new Map(), dst: new Map(), blocked: new Map() }));
      lastHour = hour;
    }
    c.events++;
    bumpMap(c.dataset, r.dataset);
    bumpMap(c.host, r.host);
    bumpMap(c.action, r.action);
    bumpMap(c.src, r.src_ip);
    bumpMap(c.dst, r.dst_ip);
    if (r.outcome === "failure" && hasBit(r.class_bits, AUTHENTICATION)) c.auth_failure++;
    if (r.src_ip === null) continue;
    let blocked = false;
    if (r.action !== null) {
      let b = blockingAction.get(r.action);
      if (b === undefined) blockingAction.set(r.action, (b = BLOCKING.has(r.action.toLowerCase())));
      blocked = b;
    }
    if (blocked || hasBit(r.class_bits, DENIED)) bumpMap(c.blocked, r.src_ip);
  }
  return [...byHour].map(([hour, c]) => ({
    hour,
    counts: {
      events: c.events,
      auth_failure: c.auth_failure,
      dataset: topOfMap(c.dataset, ROLLUP_MAX_KEYS),
      host: topOfMap(c.host, ROLLUP_MAX_KEYS),
      action: topOfMap(c.action, ROLLUP_MAX_KEYS),
      src: topOfMap(c.src, ROLLUP_TOP_ADDRESSES),
      dst: topOfMap(c.dst, ROLLUP_TOP_ADDRESSES),
      blocked: topOfMap(c.blocked, ROLLUP_TOP_ADDRESSES),
    },
  }));
}

/** An hour's merged counts as compaction stores them: addresses cut to ROLLUP_HOUR_TOP_ADDRESSES. */
export function trimHour(c: RollupCounts): RollupCounts {
  return {
    ...c,
    dataset: top(c.dataset, ROLLUP_MAX_KEYS),
    host: top(c.host, ROLLUP_MAX_KEYS),
    action: top(c.action, ROLLUP_MAX_KEYS),
    src: top(c.src, ROLLUP_HOUR_TOP_ADDRESSES),
    dst: top(c.dst, ROLLUP_HOUR_TOP_ADDRESSES),
    blocked: top(c.blocked, ROLLUP_HOUR_TOP_ADDRESSES),
  };
}

/** Adds `b` into `a`. */
export function mergeCounts(a: RollupCounts, b: RollupCounts): RollupCounts {
  a.events += b.events;
  a.auth_failure += b.auth_failure;
  for (const d of ROLLUP_DIMS) for (const [k, n] of Object.entries(b[d] ?? {})) a[d][k] = (a[d][k] ?? 0) + n;
  return a;
}

/** Inserts a batch's parts (one bound JSON parameter): one written row per part. A replay is ignored. */
export function rollupStatement(batchKey: string, parts: readonly RollupPart[]): SqlStatement {
  return stmt(
    "INSERT OR IGNORE INTO rollups_hourly (hour, part, counts) " +
      "SELECT json_extract(value, '$[0]'), ?2, json_extract(value, '$[1]') FROM json_each(?1)",
    JSON.stringify(parts.map((p) => [p.hour, JSON.stringify(p.counts)])),
    batchKey,
  );
}

// --- Reading

export const rollupQueries = (sql: Sql): RollupStore => ({
  async rollupCounts(from) {
    const h0 = Math.floor(from / HOUR_MS) * HOUR_MS;
    // The JSON is summed inside the database: one row per (hour, key) comes back, not one per part.
    const [perHour, logins, alerts, blocked] = await sql.batch([
      stmt("SELECT r.hour AS hour, j.key AS key, SUM(j.value) AS n FROM rollups_hourly r, json_each(r.counts, '$.dataset') j WHERE r.hour >= ?1 GROUP BY r.hour, j.key", h0),
      stmt("SELECT hour, SUM(json_extract(counts, '$.auth_failure')) AS n FROM rollups_hourly WHERE hour >= ?1 GROUP BY hour", h0),
      stmt("SELECT (first_seen / 86400000) * 86400000 AS d, COUNT(*) AS n FROM alerts WHERE first_seen >= ?1 GROUP BY d", from),
      stmt(`SELECT j.key AS key, SUM(j.value) AS n FROM rollups_hourly r, json_each(r.counts, '$.blocked') j WHERE r.hour >= ?1 GROUP BY j.key ORDER BY n DESC, j.key LIMIT ${TOP_BLOCKED}`, h0),
    ]);
    return {
      eventsPerHour: perHour!.rows.map((r) => ({ hour: Number(r.hour), dataset: String(r.key), n: Number(r.n) })),
      failedLoginsPerHour: logins!.rows.filter((r) => Number(r.n) > 0).map((r) => ({ hour: Number(r.hour), n: Number(r.n) })),
      alertsPerDay: alerts!.rows.map((r) => ({ day: Number(r.d), n: Number(r.n) })),
      topBlocked: blocked!.rows.map((r) => ({ ip: String(r.key), n: Number(r.n) })),
    };
  },

  async rollupHours(from, to) {
    const [r] = await sql.batch([stmt("SELECT hour, counts FROM rollups_hourly WHERE hour >= ?1 AND hour <= ?2 ORDER BY hour", from, to)]);
    const byHour = new Map<number, RollupCounts>();
    for (const x of r!.rows) {
      const hour = Number(x.hour);
      const c = byHour.get(hour) ?? emptyCounts();
      byHour.set(hour, mergeCounts(c, JSON.parse(String(x.counts)) as RollupCounts));
    }
    return [...byHour].map(([hour, counts]) => ({ hour, counts }));
  },

  async compactRollups(beforeHour, maxHours, now) {
    const [w] = await sql.batch([stmt("SELECT cursor FROM retention_cursors WHERE keep_ms = ?1", COMPACTION_KEY)]);
    let from = w!.rows.length ? Number(w!.rows[0]!.cursor) : -Infinity;
    let hours = 0;
    let parts = 0;
    let rowsWritten = 0;
    const mark = (next: number) => stmt(CURSOR_UPSERT, COMPACTION_KEY, String(next), now);
    // Every hour visited counts against maxHours (each costs queries), merged or not.
    for (let visited = 0; visited < maxHours; visited++) {
      // The next hour with parts after the watermark (a primary-key range: empty stretches cost nothing).
      const [n] = await sql.batch([stmt("SELECT min(hour) AS h FROM rollups_hourly WHERE hour >= ?1 AND hour < ?2", Number.isFinite(from) ? from : Number.MIN_SAFE_INTEGER, beforeHour)]);
      const h = n!.rows[0]?.h;
      if (h === null || h === undefined) {
        rowsWritten += (await sql.batch([mark(beforeHour)]))[0]!.rowsWritten;
        break;
      }
      const hour = Number(h);
      from = hour + HOUR_MS;
      const [r] = await sql.batch([stmt("SELECT counts FROM rollups_hourly WHERE hour = ?1", hour)]);
      const rows = r!.rows;
      if (rows.length <= 1) {
        rowsWritten += (await sql.batch([mark(from)]))[0]!.rowsWritten;
        continue;
      }
      const merged = emptyCounts();
      for (const x of rows) mergeCounts(merged, JSON.parse(String(x.counts)) as RollupCounts);
      const res = await sql.batch([
        stmt("DELETE FROM rollups_hourly WHERE hour = ?1", hour),
        stmt("INSERT INTO rollups_hourly (hour, part, counts) VALUES (?1, '*', ?2)", hour, JSON.stringify(trimHour(merged))),
        mark(from),
      ]);
      rowsWritten += res.reduce((sum, x) => sum + x.rowsWritten, 0);
      hours++;
      parts += rows.length;
    }
    return { hours, parts, rowsWritten };
  },
});
