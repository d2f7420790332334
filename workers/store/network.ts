/**
 * D1 side of network visibility: session and device rows written by the NetworkState Durable Objects,
 * and the queries behind /v1/sessions, /v1/devices and the destinations aggregates, reached through the
 * Store (NetworkStore) over the `Sql` port.
 *
 * Writers: flow_sessions and the observed columns of devices are written only by the NetworkState
 * object of their router (`writeNetwork`, from its outbox); the devices API writes only a device's
 * user columns (name, tags; `patchDevice`), which the objects never overwrite (a fold copies them onto
 * a target that has none); network_settings is written only by PUT /v1/network/settings.
 *
 * Write cost: a session is one written row (flow_sessions has no secondary index); a device upsert is
 * one row. Rows go in with one bound JSON parameter per statement (`json_each(?1)`), chunked under D1's
 * value limit. Reads: sessions walk the primary key (time-sortable by start) newest first within the
 * time range, other filters are evaluated on the rows walked, as for events.
 */
import { D1_MAX_BOUND_PARAMS } from "../constants.ts";
import { PorchlightError } from "../errors.ts";
import { INSERT_MAX_BYTES } from "./wire.ts";
import { DEVICE_HOURS_UPSERT, lateMark } from "./retention.ts";
import { lowerBound } from "../parse/id.ts";
import type { Sql, SqlStatement } from "./types.ts";
import type { ApiDevice } from "../api-types.ts";
export type { ApiDevice };

// --- Types

/** One flow_sessions row (snake_case, as stored). Times in ms. */
export interface SessionRow {
  id: string;
  start: number;
  end: number;
  router: string;
  zone: number;
  transport: string;
  src_ip: string;
  dst_ip: string;
  src_ip_key: string;
  dst_ip_key: string;
  src_port: number | null;
  dst_port: number | null;
  src_bytes: number | null;
  src_packets: number | null;
  dst_bytes: number | null;
  dst_packets: number | null;
  device_id: string | null;
  src_country: string | null;
  src_asn: number | null;
  src_org: string | null;
  dst_country: string | null;
  dst_asn: number | null;
  dst_org: string | null;
  dst_domain: string | null;
  end_reason: string;
}

const SESSION_COLUMNS = [
  "id", "start", "end", "router", "zone", "transport", "src_ip", "dst_ip", "src_ip_key", "dst_ip_key", "src_port", "dst_port",
  "src_bytes", "src_packets", "dst_bytes", "dst_packets", "device_id", "src_country", "src_asn", "src_org", "dst_country", "dst_asn",
  "dst_org", "dst_domain", "end_reason",
] as const satisfies readonly (keyof SessionRow)[];

/** A devices row as the objects write it (no user fields). Times in ms. */
export interface DeviceWrite {
  id: string;
  router: string;
  mac: string | null;
  macs: string[];
  ips: string[];
  hostname: string | null;
  client_id: string | null;
  vendor: string | null;
  randomized: boolean;
  first_seen: number;
  last_seen: number;
  left: boolean;
  /** Part of the inventory learned in its router's first hour (not alerted as new). */
  learned: boolean;
}

/** A device counts as online when seen within this window (and not since left), ms. */
export const ONLINE_WINDOW_MS = 15 * 60_000;

// --- Writes

/** JSON arrays of `rows`, each under the statement value limit. */
function jsonChunks(rows: readonly unknown[]): string[] {
  const out: string[] = [];
  let cur: string[] = [], bytes = 2;
  for (const r of rows) {
    const j = JSON.stringify(r);
    if (cur.length && bytes + j.length + 1 > INSERT_MAX_BYTES) {
      out.push(`[${cur.join(",")}]`);
      cur = [];
      bytes = 2;
    }
    cur.push(j);
    bytes += j.length + 1;
  }
  if (cur.length) out.push(`[${cur.join(",")}]`);
  return out;
}

const SESSION_INSERT = `INSERT OR IGNORE INTO flow_sessions (${SESSION_COLUMNS.map((c) => `"${c}"`).join(", ")}) SELECT ${SESSION_COLUMNS.map((c) => `json_extract(value, '$.${c}')`).join(", ")} FROM json_each(?1)`;

export function sessionInserts(rows: readonly SessionRow[]): SqlStatement[] {
  return jsonChunks(rows).map((p) => ({ sql: SESSION_INSERT, params: [p] }));
}

/** Adds an inserted device_hours row into an existing one (the SELECT before it ends in WHERE, as an upsert must). */
const DEVICE_HOURS_ADD = `AND true ${DEVICE_HOURS_UPSERT}`;

const DEVICE_COLS = ["id", "router", "mac", "macs", "ips", "hostname", "client_id", "vendor", "randomized", "first_seen", "last_seen", "left", "learned"] as const;
const DEVICE_UPSERT =
  `INSERT INTO devices (${DEVICE_COLS.map((c) => `"${c}"`).join(", ")}) SELECT ${DEVICE_COLS.map((c) => `json_extract(value, '$.${c}')`).join(", ")} FROM json_each(?1) WHERE true ` +
  // The user's name and tags are never touched; first_seen only moves back.
  `ON CONFLICT (id) DO UPDATE SET router = excluded.router, mac = excluded.mac, macs = excluded.macs, ips = excluded.ips, hostname = excluded.hostname, ` +
  `client_id = excluded.client_id, vendor = excluded.vendor, randomized = excluded.randomized, first_seen = min(first_seen, excluded.first_seen), ` +
  `last_seen = max(last_seen, excluded.last_seen), "left" = excluded."left", learned = excluded.learned`;

function deviceUpserts(rows: readonly DeviceWrite[]): SqlStatement[] {
  const wire = rows.map((r) => ({ ...r, macs: JSON.stringify(r.macs), ips: JSON.stringify(r.ips), randomized: r.randomized ? 1 : 0, left: r.left ? 1 : 0, learned: r.learned ? 1 : 0 }));
  return jsonChunks(wire).map((p) => ({ sql: DEVICE_UPSERT, params: [p] }));
}

/**
 * An IP-only device merged into a MAC device: its sessions move over, the user's name and tags are kept
 * when the target has none, and the row goes.
 */
function deviceFold(from: string, to: string): SqlStatement[] {
  return [
    { sql: "UPDATE flow_sessions SET device_id = ?2 WHERE device_id = ?1", params: [from, to] },
    {
      sql: `INSERT INTO device_hours (device_id, hour, bytes_out, bytes_in, sessions) SELECT ?2, hour, bytes_out, bytes_in, sessions FROM device_hours WHERE device_id = ?1 ${DEVICE_HOURS_ADD}`,
      params: [from, to],
    },
    { sql: "DELETE FROM device_hours WHERE device_id = ?1", params: [from] },
    {
      sql: "UPDATE devices SET name = coalesce(name, (SELECT name FROM devices WHERE id = ?1)), tags = CASE WHEN tags = '[]' THEN coalesce((SELECT tags FROM devices WHERE id = ?1), '[]') ELSE tags END WHERE id = ?2",
      params: [from, to],
    },
    { sql: "DELETE FROM devices WHERE id = ?1", params: [from] },
  ];
}

// --- Devices

function apiDevice(r: Record<string, unknown>, nowMs: number): ApiDevice {
  const last = Number(r.last_seen);
  return {
    id: String(r.id),
    mac: (r.mac as string | null) ?? null,
    ips: JSON.parse(String(r.ips)) as string[],
    hostname: (r.hostname as string | null) ?? null,
    vendor: (r.vendor as string | null) ?? null,
    name: (r.name as string | null) ?? null,
    tags: JSON.parse(String(r.tags)) as string[],
    randomized_mac: Boolean(r.randomized),
    first_seen: new Date(Number(r.first_seen)).toISOString(),
    last_seen: new Date(last).toISOString(),
    online: !r.left && nowMs - last <= ONLINE_WINDOW_MS,
    macs: JSON.parse(String(r.macs)) as string[],
    router: String(r.router),
    learned: Boolean(r.learned),
  };
}

/** Every device, newest first (first seen), for the inventory page. Home networks hold tens to hundreds. */
async function listDevices(sql: Sql, nowMs: number): Promise<ApiDevice[]> {
  const [r] = await sql.batch([{ sql: "SELECT * FROM devices ORDER BY first_seen DESC, id LIMIT 5000", params: [] }]);
  return r!.rows.map((row) => apiDevice(row, nowMs));
}

async function getDevice(sql: Sql, id: string, nowMs: number): Promise<ApiDevice | null> {
  const [r] = await sql.batch([{ sql: "SELECT * FROM devices WHERE id = ?1", params: [id] }]);
  const row = r!.rows[0];
  return row ? apiDevice(row, nowMs) : null;
}

async function patchDevice(sql: Sql, id: string, patch: { name?: string | null | undefined; tags?: string[] | undefined }, nowMs: number): Promise<ApiDevice | null> {
  const sets: string[] = [];
  const params: unknown[] = [id];
  if (patch.name !== undefined) {
    params.push(patch.name);
    sets.push(`name = ?${params.length}`);
  }
  if (patch.tags !== undefined) {
    params.push(JSON.stringify(patch.tags));
    sets.push(`tags = ?${params.length}`);
  }
  const stmts: SqlStatement[] = [];
  if (sets.length) stmts.push({ sql: `UPDATE devices SET ${sets.join(", ")} WHERE id = ?1`, params });
  stmts.push({ sql: "SELECT * FROM devices WHERE id = ?1", params: [id] });
  const res = await sql.batch(stmts);
  const row = res[res.length - 1]!.rows[0];
  return row ? apiDevice(row, nowMs) : null;
}

// --- Sessions

export type SessionCondition =
  | { kind: "in"; columns: SessionColumn[]; values: (string | number)[] }
  | { kind: "range"; columns: SessionColumn[]; ranges: [string | number, string | number][] }
  /** The name or any subdomain of it (lower case). */
  | { kind: "domain"; values: string[] };

export type SessionColumn =
  | "device_id" | "src_ip_key" | "dst_ip_key" | "src_country" | "dst_country" | "src_asn" | "dst_asn" | "src_port" | "dst_port"
  | "transport" | "router" | "end_reason";

export interface SessionsQuery {
  fromId?: string | undefined;
  toId?: string | undefined;
  before?: string | undefined;
  conditions: SessionCondition[];
  limit: number;
}

function renderSessionCondition(c: SessionCondition, params: unknown[]): string {
  const alt: string[] = [];
  if (c.kind === "domain") {
    for (const v of c.values) {
      params.push(v);
      const p = params.length;
      alt.push(`dst_domain = ?${p} OR substr(dst_domain, -length(?${p}) - 1) = '.' || ?${p}`);
    }
  } else if (c.kind === "in") {
    for (const col of c.columns) {
      const ps = c.values.map((v) => {
        params.push(v);
        return `?${params.length}`;
      });
      alt.push(`"${col}" IN (${ps.join(", ")})`);
    }
  } else {
    for (const col of c.columns) {
      for (const [lo, hi] of c.ranges) {
        params.push(lo, hi);
        alt.push(`"${col}" BETWEEN ?${params.length - 1} AND ?${params.length}`);
      }
    }
  }
  return `(${alt.join(" OR ")})`;
}

export function buildSessionsQuery(q: SessionsQuery): SqlStatement {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.fromId !== undefined) {
    params.push(q.fromId);
    where.push(`id >= ?${params.length}`);
  }
  if (q.toId !== undefined) {
    params.push(q.toId);
    where.push(`id < ?${params.length}`);
  }
  if (q.before !== undefined) {
    params.push(q.before);
    where.push(`id < ?${params.length}`);
  }
  for (const c of q.conditions) where.push(renderSessionCondition(c, params));
  if (params.length > D1_MAX_BOUND_PARAMS - 1) {
    throw new PorchlightError("validation_failed", `Too many filter values (at most ${D1_MAX_BOUND_PARAMS - 4} parameters; a CIDR or port range counts 2, and once per side)`);
  }
  params.push(q.limit);
  return { sql: `SELECT * FROM flow_sessions${where.length ? " WHERE " + where.join(" AND ") : ""} ORDER BY id DESC LIMIT ?${params.length}`, params };
}

async function querySessions(sql: Sql, q: SessionsQuery): Promise<SessionRow[]> {
  const [r] = await sql.batch([buildSessionsQuery(q)]);
  return r!.rows as unknown as SessionRow[];
}

// --- Aggregates

export type DestinationBy = "country" | "asn" | "domain" | "port";

const BY_EXPR: Record<DestinationBy, string> = { country: "dst_country", asn: "dst_asn", domain: "dst_domain", port: "dst_port" };

export interface Bucket {
  key: string | number;
  sessions: number;
  bytes_out: number;
  bytes_in: number;
  first_seen: string;
  last_seen: string;
}

export interface TalkerBucket extends Bucket {
  device: string;
}

const bucketOf = (r: Record<string, unknown>): Bucket => ({
  key: r.key as string | number,
  sessions: Number(r.sessions),
  bytes_out: Number(r.bytes_out ?? 0),
  bytes_in: Number(r.bytes_in ?? 0),
  first_seen: new Date(Number(r.first_seen)).toISOString(),
  last_seen: new Date(Number(r.last_seen)).toISOString(),
});

/**
 * Where one device's sessions went since `fromId`, grouped by `by`: bytes_out = what the device sent
 * (source.bytes of its outbound sessions), bytes_in = what it received. Most bytes first, at most `limit`.
 */
async function deviceDestinations(sql: Sql, deviceId: string, by: DestinationBy, fromId: string, limit: number): Promise<Bucket[]> {
  const col = BY_EXPR[by];
  const [r] = await sql.batch([{
    sql:
      `SELECT ${col} AS key, count(*) AS sessions, sum(coalesce(src_bytes, 0)) AS bytes_out, sum(coalesce(dst_bytes, 0)) AS bytes_in, ` +
      `min(start) AS first_seen, max("end") AS last_seen FROM flow_sessions WHERE id >= ?1 AND device_id = ?2 AND ${col} IS NOT NULL ` +
      `GROUP BY ${col} ORDER BY bytes_out + bytes_in DESC, sessions DESC LIMIT ?3`,
    params: [fromId, deviceId, limit],
  }]);
  return r!.rows.map(bucketOf);
}

/** The reverse: which devices talked to `key` (a country, an AS number, a domain or its subdomains, a port) since `fromId`. */
async function destinationTalkers(sql: Sql, by: DestinationBy, key: string | number, fromId: string, limit: number): Promise<TalkerBucket[]> {
  const col = BY_EXPR[by];
  const match = by === "domain" ? `(dst_domain = ?2 OR substr(dst_domain, -length(?2) - 1) = '.' || ?2)` : `${col} = ?2`;
  const [r] = await sql.batch([{
    sql:
      `SELECT device_id AS device, ?2 AS key, count(*) AS sessions, sum(coalesce(src_bytes, 0)) AS bytes_out, sum(coalesce(dst_bytes, 0)) AS bytes_in, ` +
      `min(start) AS first_seen, max("end") AS last_seen FROM flow_sessions WHERE id >= ?1 AND ${match} AND device_id IS NOT NULL ` +
      `GROUP BY device_id ORDER BY bytes_out + bytes_in DESC, sessions DESC LIMIT ?3`,
    params: [fromId, key, limit],
  }]);
  return r!.rows.map((row) => ({ device: String(row.device), ...bucketOf(row) }));
}

/**
 * Bytes per hour (of session start) of one device, for the hours that start at or after `fromMs`'s hour:
 * [{hour (ms), bytes_out, bytes_in, sessions}] ascending. The sessions still stored, plus device_hours,
 * where the retention sweep adds the sessions it deletes (store/retention.ts): the history outlives them.
 */
async function deviceHourly(sql: Sql, deviceId: string, fromMs: number): Promise<{ hour: number; bytes_out: number; bytes_in: number; sessions: number }[]> {
  const hour = Math.floor(fromMs / 3_600_000) * 3_600_000;
  const [r] = await sql.batch([{
    sql:
      "SELECT hour, sum(bytes_out) AS bytes_out, sum(bytes_in) AS bytes_in, sum(sessions) AS sessions FROM (" +
      "SELECT hour, bytes_out, bytes_in, sessions FROM device_hours WHERE device_id = ?2 AND hour >= ?1 UNION ALL " +
      "SELECT (start / 3600000) * 3600000 AS hour, sum(coalesce(src_bytes, 0)), sum(coalesce(dst_bytes, 0)), count(*) " +
      "FROM flow_sessions WHERE id >= ?3 AND start >= ?1 AND device_id = ?2 GROUP BY 1) GROUP BY hour ORDER BY hour",
    params: [hour, deviceId, lowerBound(hour)],
  }]);
  return r!.rows.map((x) => ({ hour: Number(x.hour), bytes_out: Number(x.bytes_out), bytes_in: Number(x.bytes_in), sessions: Number(x.sessions) }));
}

// --- Settings

async function readNetworkSetting(sql: Sql, key: string): Promise<unknown> {
  const [r] = await sql.batch([{ sql: "SELECT value FROM network_settings WHERE key = ?1", params: [key] }]);
  const v = r!.rows[0]?.value;
  return typeof v === "string" ? JSON.parse(v) : undefined;
}

async function writeNetworkSetting(sql: Sql, key: string, value: unknown, nowMs: number): Promise<void> {
  await sql.batch([{
    sql: "INSERT INTO network_settings (key, value, updated_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    params: [key, JSON.stringify(value), nowMs],
  }]);
}

// --- Interface

/** A NetworkState object's outbox flush: written in one transaction, devices before sessions, folds last. */
export interface NetworkWrite {
  devices: readonly DeviceWrite[];
  sessions: readonly SessionRow[];
  /** IP-only devices merged into MAC devices (`from` goes, its sessions and user fields move to `to`). */
  folds: readonly { from: string; to: string }[];
}

export interface NetworkStore {
  /**
   * The NetworkState objects' one write (see the writers in this module's header): device upserts (name
   * and tags untouched, first_seen only moves back, last_seen only forward), sessions (INSERT OR IGNORE
   * by id), then folds. One transaction: on failure nothing is written and the outbox keeps the rows.
   */
  writeNetwork(w: NetworkWrite): Promise<void>;
  /** Every device, newest first (first seen), at most 5000; `online` relative to `nowMs`. */
  listDevices(nowMs: number): Promise<ApiDevice[]>;
  getDevice(id: string, nowMs: number): Promise<ApiDevice | null>;
  /** Sets the user's name and/or tags (the only user columns); null when no such device. */
  patchDevice(id: string, patch: { name?: string | null | undefined; tags?: string[] | undefined }, nowMs: number): Promise<ApiDevice | null>;
  /** Sessions newest first (by id) within the id bounds, filtered, at most `limit`. */
  querySessions(q: SessionsQuery): Promise<SessionRow[]>;
  /** Where one device's sessions since `fromId` went, grouped by `by`, most bytes first. */
  deviceDestinations(deviceId: string, by: DestinationBy, fromId: string, limit: number): Promise<Bucket[]>;
  /** Which devices talked to `key` since `fromId` (a domain matches its subdomains). */
  destinationTalkers(by: DestinationBy, key: string | number, fromId: string, limit: number): Promise<TalkerBucket[]>;
  /** Bytes and sessions per hour of one device since `fromId`, ascending; `hour` in ms. */
  deviceHourly(deviceId: string, fromMs: number): Promise<{ hour: number; bytes_out: number; bytes_in: number; sessions: number }[]>;
  /** The stored JSON value of a network setting, undefined when never written. */
  readNetworkSetting(key: string): Promise<unknown>;
  writeNetworkSetting(key: string, value: unknown, nowMs: number): Promise<void>;
}

export const networkQueries = (sql: Sql): NetworkStore => ({
  async writeNetwork(w) {
    const stmts = [...deviceUpserts(w.devices), ...sessionInserts(w.sessions), ...w.folds.flatMap((f) => deviceFold(f.from, f.to))];
    // A session is written when it ends, often after the sweep passed its start: retention.ts's late mark.
    if (w.sessions.length) stmts.push(lateMark("flow_sessions", w.sessions, (s) => s.start, Date.now()));
    if (stmts.length) await sql.batch(stmts);
  },
  listDevices: (nowMs) => listDevices(sql, nowMs),
  getDevice: (id, nowMs) => getDevice(sql, id, nowMs),
  patchDevice: (id, patch, nowMs) => patchDevice(sql, id, patch, nowMs),
  querySessions: (q) => querySessions(sql, q),
  deviceDestinations: (deviceId, by, fromId, limit) => deviceDestinations(sql, deviceId, by, fromId, limit),
  destinationTalkers: (by, key, fromId, limit) => destinationTalkers(sql, by, key, fromId, limit),
  deviceHourly: (deviceId, fromMs) => deviceHourly(sql, deviceId, fromMs),
  readNetworkSetting: (key) => readNetworkSetting(sql, key),
  writeNetworkSetting: (key, value, nowMs) => writeNetworkSetting(sql, key, value, nowMs),
});
