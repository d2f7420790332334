/**
 * NetworkState: the network memory of one router (addressed by name: the router's syslog host, see
 * workers/network/hook.ts). One RPC per ingest batch (`apply`) carries that router's conntrack records,
 * passive DNS answers and device sightings; the object pairs flows into sessions, attributes them to
 * devices, enriches them (GeoIP/ASN, the DNS name) and writes sessions and devices to D1.
 * The GeoIP/ASN and vendor tables come from the static assets (workers/network/tables.ts), loaded before
 * a transaction that needs them, only the ones it needs, and cached for the isolate's later batches.
 *
 * Storage (SQLite, created idempotently in the constructor):
 * - flows(key, doc): open flows (workers/network/sessions.ts OpenFlow) by five-tuple + zone;
 * - schedule(id, kind, payload, time): timers; kind "flow" (payload: flow key, time: its due time, ms)
 *   and "outbox" (a D1 retry). ONE alarm, at MIN(schedule.time), re-armed only when that changes;
 * - dns(ip, name, ts): the last name the resolver answered for each address (passive DNS);
 * - devices(id, doc, pushed_seen), device_keys(key, device_id): the inventory and its merge keys
 *   (workers/network/devices.ts);
 * - outbox(id, kind, body): session and device rows pending their D1 write (written in the same
 *   transaction as the state change, deleted once D1 has them: nothing is lost when D1 fails);
 * - applied(batch_key, at): batches applied, so a retried ingest batch changes nothing twice;
 * - dev_dest(device_id, kind, value, first_ts): countries and ASNs each device used (new-destination facts);
 * - dev_hours(device_id, hour, bytes, alerted) and dev_baseline(device_id, hod, doc): the upload baseline
 *   per device and hour of day (workers/network/facts.ts);
 * - facts(id, body): facts of alarm runs, handed to rule evaluation with the next batch.
 * Invariants: every state change runs in transactionSync; the alarm handler is idempotent (a second
 * run finds nothing due). Session end times are event times (a timed-out flow ends at its due time,
 * whenever the alarm runs); the schedule's times double as wall-clock alarm times.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env.ts";
import { applySighting, deviceForIp, type Device, type DeviceTable } from "../workers/network/devices.ts";
import { networkBatchOf, type NetworkBatch, type PackedNetworkBatch } from "../workers/network/payload.ts";
import { lanEnd, sessionRow } from "../workers/network/session-doc.ts";
import { DESTINATION_LEARNING_MS, INVENTORY_WINDOW_MS, ewma, isUploadAnomaly, type Baseline, type FactDevice, type NetworkFact } from "../workers/network/facts.ts";
import { DEFAULT_TIMEOUTS, pairFlows, timedOut, type FlowRecord, type FlowTable, type FlowTimeouts, type Session } from "../workers/network/sessions.ts";
import { FLOW_TABLES, sqlFlowTable } from "./flow-table.ts";
import { metered } from "../workers/usage.ts";
import type { Who } from "../workers/network/describe.ts";
import { familiesOf, loadIpTables, lookupIp, type IpTables } from "../workers/network/geoip.ts";
import { loadOuiTable, macVendor, type VendorOf } from "../workers/network/oui.ts";
import { assetTables, type TableSource } from "../workers/network/tables.ts";
import type { DeviceWrite, SessionRow } from "../workers/store/network.ts";

export type { NetworkBatch } from "../workers/network/payload.ts";

export interface NetworkApplyResult {
  duplicate: boolean;
  /** Sessions closed by this batch. */
  sessions: number;
  devicesCreated: number;
  /** Rows still waiting for D1 (0 when the write succeeded). */
  pending: number;
  /** What rules may alert on (workers/network/facts.ts), including those of alarms since the last batch. */
  facts: NetworkFact[];
}

/** Flows closed per alarm run at most; more re-arm the alarm at once (bounds one run's CPU). */
const DUE_PER_ALARM = 2000;
const OUTBOX_RETRY_MS = 30_000;
const APPLIED_RETENTION_MS = 7 * 86_400_000;
/** A device's last_seen reaches D1 when it moved by this much (ms): keeps a chatty LAN's device writes bounded. */
export const DEVICE_SEEN_PUSH_MS = 5 * 60_000;
/** Passive DNS entries older than this are not used for a session (ms): a name outlives its TTL little. */
const DNS_MAX_AGE_MS = 24 * 3_600_000;
/** D1 statements per write batch (one per outbox chunk). */
const OUTBOX_ROWS_PER_FLUSH = 5000;

export class NetworkState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private armedAt: number | null = null;
  private router = "";

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      const s = this.sql;
      s.exec("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
      for (const q of FLOW_TABLES) s.exec(q);
      s.exec("CREATE TABLE IF NOT EXISTS dns (ip TEXT PRIMARY KEY, name TEXT NOT NULL, ts INTEGER NOT NULL)");
      s.exec("CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, doc TEXT NOT NULL, pushed_seen INTEGER)");
      s.exec("CREATE TABLE IF NOT EXISTS device_keys (key TEXT PRIMARY KEY, device_id TEXT NOT NULL)");
      s.exec("CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL)");
      s.exec("CREATE TABLE IF NOT EXISTS applied (batch_key TEXT PRIMARY KEY, at INTEGER NOT NULL)");
      s.exec("CREATE TABLE IF NOT EXISTS dev_dest (device_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, first_ts INTEGER NOT NULL, PRIMARY KEY (device_id, kind, value))");
      s.exec("CREATE TABLE IF NOT EXISTS dev_hours (device_id TEXT PRIMARY KEY, hour INTEGER NOT NULL, bytes INTEGER NOT NULL, alerted INTEGER NOT NULL)");
      s.exec("CREATE TABLE IF NOT EXISTS dev_baseline (device_id TEXT NOT NULL, hod INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (device_id, hod))");
      s.exec("CREATE TABLE IF NOT EXISTS facts (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
      this.router = s.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'router'").toArray()[0]?.v ?? "";
      this.armedAt = await ctx.storage.getAlarm();
    });
  }

  /** The lookup tables (static assets); tests may replace it inside runInDurableObject. */
  tables: TableSource = assetTables(this.env.ASSETS);

  /** Wall clock (ms); tests replace it inside runInDurableObject. */
  clock: () => number = () => Date.now();

  // --- RPC

  /** One router's batch: its records, or packed by the Worker (workers/network/payload.ts; unpacked here, off the request's CPU). */
  async apply(input: NetworkBatch | PackedNetworkBatch): Promise<NetworkApplyResult> {
    const now = this.clock();
    if (this.sql.exec("SELECT 1 FROM applied WHERE batch_key = ?", input.key).toArray().length) {
      return { duplicate: true, sessions: 0, devicesCreated: 0, pending: this.outboxSize(), facts: [] };
    }
    const batch = networkBatchOf(input);
    // Sessions this batch closes are its own records' five-tuples, so their families are the batch's.
    // A load that fails throws: the hook keeps the batch's lines as raw events (nothing is lost).
    const [ipTables, oui] = await Promise.all([
      batch.flows.length ? loadIpTables(this.tables, familiesOf(batch.flows.flatMap((f) => [f.srcIp, f.dstIp]))) : null,
      batch.sightings.length ? loadOuiTable(this.tables) : null,
    ]);
    const vendorOf: VendorOf = (mac) => (oui ? macVendor(oui, mac) : null);
    // The loads awaited: another batch may have been applied meanwhile.
    if (this.sql.exec("SELECT 1 FROM applied WHERE batch_key = ?", batch.key).toArray().length) {
      return { duplicate: true, sessions: 0, devicesCreated: 0, pending: this.outboxSize(), facts: [] };
    }
    let sessions = 0, devicesCreated = 0;
    const facts: NetworkFact[] = [];
    this.ctx.storage.transactionSync(() => {
      if (batch.router !== this.router) {
        this.router = batch.router;
        this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('router', ?)", batch.router);
      }
      for (const r of this.sql.exec<{ body: string }>("SELECT body FROM facts ORDER BY id").toArray()) facts.push(JSON.parse(r.body) as NetworkFact);
      this.sql.exec("DELETE FROM facts");
      // The router's first line (event time) opens its inventory window: devices first seen in it are learned, not new.
      const times = [...batch.flows.map((f) => f.ts), ...batch.sightings.map((x) => x.ts), ...batch.dns.map((x) => x.ts)].filter(Number.isFinite);
      let firstTs = Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'first_ts'").toArray()[0]?.v ?? NaN);
      if (!Number.isFinite(firstTs) && times.length) {
        firstTs = Math.min(...times);
        this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES ('first_ts', ?)", String(firstTs));
      }
      for (const a of batch.dns) {
        this.sql.exec("INSERT INTO dns (ip, name, ts) VALUES (?1, ?2, ?3) ON CONFLICT (ip) DO UPDATE SET name = ?2, ts = ?3 WHERE ?3 >= ts", a.ip, a.name, a.ts);
      }
      const devices = this.deviceTable();
      const touched = new Map<string, Device>();
      for (const s of batch.sightings) {
        const r = applySighting(devices, s, vendorOf);
        if (r.created) {
          devicesCreated++;
          if (r.device.firstSeen >= firstTs + INVENTORY_WINDOW_MS) facts.push({ kind: "device_new", ts: r.device.firstSeen, device: factDevice(r.device) });
        }
        if (r.folded) this.enqueue(`fold:${r.folded}`, "fold", { from: r.folded, to: r.device.id });
        touched.set(r.device.id, r.device);
      }
      const closed = pairFlows(batch.flows, this.flowTable(), batch.timeouts ?? DEFAULT_TIMEOUTS);
      for (const s of closed) this.closeSession(s, devices, touched, facts, ipTables!);
      sessions = closed.length;
      for (const d of touched.values()) this.pushDevice(d, false);
      this.sql.exec("INSERT INTO applied (batch_key, at) VALUES (?, ?)", batch.key, now);
      this.sql.exec("DELETE FROM applied WHERE at < ?", now - APPLIED_RETENTION_MS);
    });
    // Flows this batch opened also hold a schedule row: the alarm may need to move earlier.
    const pending = await this.flush();
    await this.rearm(now);
    return { duplicate: false, sessions, devicesCreated, pending, facts };
  }

  /** State for tests and the settings page: open flows, outbox size, alarm. */
  async inspect(): Promise<{ router: string; openFlows: number; outbox: number; alarm: number | null; schedule: { id: string; kind: string; time: number }[] }> {
    return {
      router: this.router,
      openFlows: Number(this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM flows").one().n),
      outbox: this.outboxSize(),
      alarm: await this.ctx.storage.getAlarm(),
      schedule: this.sql.exec<{ id: string; kind: string; time: number }>("SELECT id, kind, time FROM schedule ORDER BY time LIMIT 100").toArray(),
    };
  }

  /**
   * Who each address is at its time `ts` (ms): country and AS, the passive DNS name answered within 24 h
   * before it, the device holding it. Read-only.
   */
  async describe(items: { ip: string; ts: number }[]): Promise<Who[]> {
    const list = items.slice(0, 1000);
    const families = familiesOf(list.map((x) => x.ip));
    const ipTables = families.size ? await loadIpTables(this.tables, families) : null;
    return list.map(({ ip, ts }) => {
      const w: Who = {};
      const g = ipTables ? lookupIp(ipTables, ip) : {};
      if (g.country) w.country = g.country;
      if (g.asn !== undefined) w.asn = g.asn;
      if (g.org) w.org = g.org;
      const dns = this.sql.exec<{ name: string; ts: number }>("SELECT name, ts FROM dns WHERE ip = ?", ip).toArray()[0];
      if (dns && dns.ts <= ts + 1000 && ts - dns.ts <= DNS_MAX_AGE_MS) w.domain = dns.name;
      const dev = this.sql.exec<{ device_id: string }>("SELECT device_id FROM device_keys WHERE key = ?", `ip:${ip}`).toArray()[0];
      if (dev) w.device = dev.device_id;
      return w;
    });
  }

  // --- Alarm

  override async alarm(): Promise<void> {
    this.armedAt = null;
    const now = this.clock();
    // Which family a due flow has is known only inside the transaction: load both when any is due. A
    // failed load throws, and the runtime retries the alarm.
    const anyDue = this.sql.exec("SELECT 1 FROM schedule WHERE kind = 'flow' AND time <= ? LIMIT 1", now).toArray().length > 0;
    const ipTables = anyDue ? await loadIpTables(this.tables, [4, 6]) : null;
    this.ctx.storage.transactionSync(() => {
      // Without tables (a flow fell due while they loaded) nothing closes now: the re-armed alarm runs again at once.
      const due = ipTables ? this.sql.exec<{ id: string; payload: string }>("SELECT id, payload FROM schedule WHERE kind = 'flow' AND time <= ? ORDER BY time LIMIT ?", now, DUE_PER_ALARM).toArray() : [];
      const devices = this.deviceTable();
      const touched = new Map<string, Device>();
      const table = this.flowTable();
      const facts: NetworkFact[] = [];
      for (const row of due) {
        const flow = table.get(row.payload);
        table.delete(row.payload);
        if (flow) this.closeSession(timedOut(flow), devices, touched, facts, ipTables!);
      }
      for (const f of facts) this.sql.exec("INSERT INTO facts (body) VALUES (?)", JSON.stringify(f));
      for (const d of touched.values()) this.pushDevice(d, false);
      this.sql.exec("DELETE FROM schedule WHERE kind = 'outbox'");
    });
    await this.flush();
    await this.rearm(now);
  }

  // --- Internals

  private outboxSize(): number {
    return Number(this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n);
  }

  private flowTable(): FlowTable {
    return sqlFlowTable((q, ...p) => this.sql.exec(q, ...p).toArray());
  }

  private deviceTable(): DeviceTable {
    const sql = this.sql;
    return {
      find: (key) => {
        const r = sql.exec<{ doc: string }>("SELECT d.doc FROM device_keys k JOIN devices d ON d.id = k.device_id WHERE k.key = ?", key).toArray()[0];
        return r ? (JSON.parse(r.doc) as Device) : undefined;
      },
      put: (device, keys) => {
        sql.exec("INSERT INTO devices (id, doc) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET doc = ?2", device.id, JSON.stringify(device));
        for (const k of keys) sql.exec("INSERT OR REPLACE INTO device_keys (key, device_id) VALUES (?, ?)", k, device.id);
      },
      remove: (device) => {
        sql.exec("DELETE FROM devices WHERE id = ?", device.id);
        sql.exec("DELETE FROM device_keys WHERE device_id = ?", device.id);
      },
    };
  }

  private closeSession(s: Session, devices: DeviceTable, touched: Map<string, Device>, facts: NetworkFact[], ipTables: IpTables): void {
    const lan = lanEnd(s);
    let device: Device | null = null;
    if (lan) {
      device = deviceForIp(devices, lan, s.end).device;
      touched.set(device.id, device);
    }
    const deviceId = device?.id ?? null;
    const dns = this.sql.exec<{ name: string; ts: number }>("SELECT name, ts FROM dns WHERE ip = ?", s.dstIp).toArray()[0];
    // A name answered after the session started cannot be the one the device asked for.
    const domain = dns && dns.ts <= s.start + 1000 && s.start - dns.ts <= DNS_MAX_AGE_MS ? dns.name : null;
    const row: SessionRow = sessionRow(this.router, s, domain, deviceId, ipTables);
    this.enqueue(`s:${row.id}`, "session", row);
    // Facts only for a device's own outbound sessions.
    if (device && lan === s.srcIp) this.learn(device, s, row, facts);
  }

  /** New countries and organisations after the device's learning period; the upload baseline. */
  private learn(device: Device, s: Session, row: SessionRow, facts: NetworkFact[]): void {
    const learned = device.firstSeen + DESTINATION_LEARNING_MS <= s.start;
    const seen = (kind: string, value: string): boolean => {
      const r = this.sql.exec("INSERT OR IGNORE INTO dev_dest (device_id, kind, value, first_ts) VALUES (?, ?, ?, ?)", device.id, kind, value, s.start);
      return r.rowsWritten === 0;
    };
    if (row.dst_country && !seen("country", row.dst_country) && learned) {
      facts.push({ kind: "new_country", ts: s.start, device: factDevice(device), country: row.dst_country, dstIp: s.dstIp });
    }
    if (row.dst_asn !== null && !seen("asn", String(row.dst_asn)) && learned) {
      facts.push({ kind: "new_org", ts: s.start, device: factDevice(device), asn: row.dst_asn, org: row.dst_org, dstIp: s.dstIp });
    }
    if (!s.srcBytes) return;
    const hour = Math.floor(s.start / 3_600_000);
    const cur = this.sql.exec<{ hour: number; bytes: number; alerted: number }>("SELECT hour, bytes, alerted FROM dev_hours WHERE device_id = ?", device.id).toArray()[0];
    if (cur && hour < cur.hour) return; // late data: the baseline moves forward only
    let bytes = s.srcBytes, alerted = 0;
    if (cur && cur.hour === hour) {
      bytes += cur.bytes;
      alerted = cur.alerted;
    } else if (cur) {
      const hod = cur.hour % 24;
      this.sql.exec("INSERT OR REPLACE INTO dev_baseline (device_id, hod, doc) VALUES (?, ?, ?)", device.id, hod, JSON.stringify(ewma(this.baseline(device.id, hod), cur.bytes)));
    }
    const b = this.baseline(device.id, hour % 24);
    if (!alerted && isUploadAnomaly(b, bytes)) {
      alerted = 1;
      facts.push({ kind: "upload_anomaly", ts: s.start, device: factDevice(device), bytes, mean: b!.mean, sd: Math.sqrt(b!.variance), hour: hour % 24 });
    }
    this.sql.exec("INSERT OR REPLACE INTO dev_hours (device_id, hour, bytes, alerted) VALUES (?, ?, ?, ?)", device.id, hour, bytes, alerted);
  }

  private baseline(deviceId: string, hod: number): Baseline | undefined {
    const r = this.sql.exec<{ doc: string }>("SELECT doc FROM dev_baseline WHERE device_id = ? AND hod = ?", deviceId, hod).toArray()[0];
    return r ? (JSON.parse(r.doc) as Baseline) : undefined;
  }

  /** Queues a device row for D1 when it is new, changed, or its last_seen moved by DEVICE_SEEN_PUSH_MS. */
  private pushDevice(d: Device, force: boolean): void {
    const prev = this.sql.exec<{ pushed_seen: number | null }>("SELECT pushed_seen FROM devices WHERE id = ?", d.id).toArray()[0];
    const pushed = prev?.pushed_seen ?? null;
    if (!force && pushed !== null && d.lastSeen - pushed < DEVICE_SEEN_PUSH_MS && !this.identityChanged(d)) return;
    this.sql.exec("UPDATE devices SET pushed_seen = ? WHERE id = ?", d.lastSeen, d.id);
    const w: DeviceWrite = {
      id: d.id, router: this.router, mac: d.mac, macs: d.macs, ips: d.ips, hostname: d.hostname, client_id: d.clientId, vendor: d.vendor,
      randomized: d.randomized, first_seen: d.firstSeen, last_seen: d.lastSeen, left: d.left,
      learned: d.firstSeen < Number(this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'first_ts'").toArray()[0]?.v ?? -Infinity) + INVENTORY_WINDOW_MS,
    };
    this.sql.exec("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", `pushed:${d.id}`, identity(d));
    this.enqueue(`d:${d.id}`, "device", w);
  }

  private identityChanged(d: Device): boolean {
    const r = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = ?", `pushed:${d.id}`).toArray()[0];
    return r?.v !== identity(d);
  }

  private enqueue(id: string, kind: "session" | "device" | "fold", body: unknown): void {
    this.sql.exec("INSERT OR REPLACE INTO outbox (id, kind, body) VALUES (?, ?, ?)", id, kind, JSON.stringify(body));
  }

  /**
   * Writes the outbox to D1 (devices before sessions, folds last) and deletes what was written. On a D1
   * failure the rows stay and an outbox retry is scheduled; never throws (ingest must not fail for it).
   */
  private async flush(): Promise<number> {
    const rows = this.sql.exec<{ id: string; kind: string; body: string }>("SELECT id, kind, body FROM outbox LIMIT ?", OUTBOX_ROWS_PER_FLUSH).toArray();
    if (!rows.length) return 0;
    const sessions: SessionRow[] = [], devices: DeviceWrite[] = [], folds: { from: string; to: string }[] = [];
    for (const r of rows) {
      const body = JSON.parse(r.body);
      if (r.kind === "session") sessions.push(body as SessionRow);
      else if (r.kind === "device") devices.push(body as DeviceWrite);
      else folds.push(body as { from: string; to: string });
    }
    try {
      // Metered; the ledger row is written after, off ingest's path.
      await metered(this.env, (store) => store.writeNetwork({ devices, sessions, folds }), { waitUntil: (p) => this.ctx.waitUntil(p) });
    } catch (err) {
      console.error(JSON.stringify({ level: "error", where: "NetworkState.flush", router: this.router, rows: rows.length, error: String(err) }));
      this.sql.exec("INSERT OR REPLACE INTO schedule (id, kind, payload, time) VALUES ('outbox', 'outbox', '', ?)", this.clock() + OUTBOX_RETRY_MS);
      return this.outboxSize();
    }
    this.ctx.storage.transactionSync(() => {
      for (const r of rows) this.sql.exec("DELETE FROM outbox WHERE id = ?", r.id);
    });
    const left = this.outboxSize();
    if (left) this.sql.exec("INSERT OR REPLACE INTO schedule (id, kind, payload, time) VALUES ('outbox', 'outbox', '', ?)", this.clock());
    return left;
  }

  /** Sets the one alarm at MIN(schedule.time), only when that changed. */
  private async rearm(now: number): Promise<void> {
    const next = this.sql.exec<{ t: number | null }>("SELECT min(time) AS t FROM schedule").one().t;
    const want = next === null ? null : Math.max(next, now);
    if (want === this.armedAt) return;
    this.armedAt = want;
    if (want === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(want);
  }
}

const factDevice = (d: Device): FactDevice => ({ id: d.id, mac: d.mac, ip: d.ips[0] ?? null, hostname: d.hostname, vendor: d.vendor });

/** What makes a device row worth rewriting besides last_seen. */
const identity = (d: Device): string => JSON.stringify([d.mac, d.macs, d.ips, d.hostname, d.clientId, d.vendor, d.randomized, d.left, d.firstSeen]);
