/**
 * Network visibility benchmark (`npm run bench -- network`). Three figures, CPU time (process.cpuUsage):
 * (a) sessions paired per second by the pairing logic the NetworkState object runs: pairFlows over an
 *     in-memory FlowTable, and over the object's own SQLite statements (sqlFlowTable) on node:sqlite,
 *     one transaction per 1,000-record batch as the object runs a batch (workerd's SQLite and its
 *     storage layer are not this one: the figure is the SQL work, not the object's I/O);
 * (b) GeoIP + ASN lookups per second (lookupIp on random public IPv4 and IPv6 addresses), and the
 *     CPU of loading the tables from disk and viewing them (parseTable; the load in workerd, through
 *     the ASSETS binding, is bench/network-tables.bench.ts's figure);
 * (c) D1 rows written per 1,000 conntrack lines (500 NEW/DESTROY pairs), raw storage vs sessions-only:
 *     the real statements (insertEventStatements, sessionInserts) run against libSQL in memory with the
 *     real migrations; tables have no secondary index, so rows changed = rows D1 bills.
 */
import { createClient } from "@libsql/client";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { prepareBatch } from "../workers/ingest/batch.ts";
import { DEFAULT_CONTEXT } from "../workers/parse/index.ts";
import { extractNetwork } from "../workers/network/extract.ts";
import { loadIpTables, lookupIp } from "../workers/network/geoip.ts";
import { diskTables } from "../test/network-tables.ts";
import { sessionRow } from "../workers/network/session-doc.ts";
import { DEFAULT_TIMEOUTS, MemoryFlowTable, pairFlows, type FlowRecord } from "../workers/network/sessions.ts";
import { FLOW_TABLES, sqlFlowTable, type SqlExec } from "../durable-objects/flow-table.ts";
import { DatabaseSync } from "node:sqlite";
import { libsqlSql, libsqlStore } from "../workers/store/libsql.ts";
import { sessionInserts } from "../workers/store/network.ts";
import { cpuMs, medianP95 } from "./cpu.ts";

const root = resolve(import.meta.dirname, "..");
const cmd = "npm run bench -- network";

function records(pairs: number, t0: number): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < pairs; i++) {
    const base = { transport: i % 3 ? "tcp" : "udp", srcIp: `192.168.${(i >> 8) & 255}.${i & 255}`, dstIp: `8.8.${(i >> 4) & 255}.${i & 15}`, srcPort: 30000 + (i % 30000), dstPort: 443, zone: 0 };
    out.push({ ...base, kind: "new", ts: t0 + i, srcBytes: null, srcPackets: null, dstBytes: null, dstPackets: null });
    out.push({ ...base, kind: "destroy", ts: t0 + i + 5000, srcBytes: 1000, srcPackets: 10, dstBytes: 20000, dstPackets: 20 });
  }
  // Interleaved as a router logs them: NEWs run ahead of their DESTROYs.
  return out.sort((a, b) => a.ts - b.ts);
}

// Measured first: every later lookup reuses the loaded tables (CPU of reading and viewing them; the
// file reads are I/O, as the ASSETS fetch is in workerd).
const cpu0 = process.cpuUsage();
const tables = await loadIpTables(diskTables, [4, 6]);
const loadCpu = process.cpuUsage(cpu0);
const decodeMs = (loadCpu.user + loadCpu.system) / 1000;

// --- (a) pairing
{
  const recs = records(50_000, 1_700_000_000_000);
  const xs: number[] = [];
  for (let round = 0; round < 7; round++) xs.push(cpuMs(() => pairFlows(recs, new MemoryFlowTable(), DEFAULT_TIMEOUTS)));
  const { median } = medianP95(xs);
  console.log(`(a) sessions paired: ${Math.round(50_000 / (median / 1000)).toLocaleString("en")} sessions/s (100,000 records, median of 7 rounds ${median.toFixed(1)} ms CPU)   [${cmd}]`);
  // The same pairing on the object's SQLite statements (node:sqlite, one transaction per 1,000-record batch as the object runs it).
  const db = new DatabaseSync(":memory:");
  for (const q of FLOW_TABLES) db.exec(q);
  const stmts = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  const exec: SqlExec = (q, ...p) => {
    let st = stmts.get(q);
    if (!st) stmts.set(q, (st = db.prepare(q)));
    return st.all(...p) as Record<string, unknown>[];
  };
  const table = sqlFlowTable(exec);
  const sqlRecs = recs.slice(0, 40_000);
  const sqlMs = cpuMs(() => {
    for (let i = 0; i < sqlRecs.length; i += 1000) {
      db.exec("BEGIN");
      pairFlows(sqlRecs.slice(i, i + 1000), table, DEFAULT_TIMEOUTS);
      db.exec("COMMIT");
    }
  });
  console.log(`    on the object's SQLite statements (node:sqlite): ${Math.round(20_000 / (sqlMs / 1000)).toLocaleString("en")} sessions/s (40,000 records in 1,000-record batches)`);
  const rowsMs = cpuMs(() => { for (const s of pairFlows(recs.slice(0, 20_000), new MemoryFlowTable(), DEFAULT_TIMEOUTS)) sessionRow("r", s, null, null, tables); });
  console.log(`    pairing + enrichment into D1 rows: ${Math.round(10_000 / (rowsMs / 1000)).toLocaleString("en")} sessions/s`);
}

// --- (b) GeoIP
{
  let seed = 1;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const ips: string[] = [];
  for (let i = 0; i < 100_000; i++) {
    if (i % 5 === 4) ips.push(`2a0${1 + Math.floor(rand() * 9)}:${Math.floor(rand() * 65535).toString(16)}:${Math.floor(rand() * 65535).toString(16)}::1`);
    else ips.push(`${1 + Math.floor(rand() * 222)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`);
  }
  let found = 0;
  const xs: number[] = [];
  for (let round = 0; round < 5; round++) xs.push(cpuMs(() => { for (const ip of ips) if (lookupIp(tables, ip).country) found++; }));
  const { median } = medianP95(xs);
  console.log(`(b) GeoIP+ASN lookups: ${Math.round(100_000 / (median / 1000)).toLocaleString("en")} lookups/s (100,000 addresses, 1/5 IPv6, ${Math.round((found / 5 / 100_000) * 100)}% with a country); one-time table load (IPv4 + IPv6 + names, from disk) ${decodeMs.toFixed(1)} ms CPU   [${cmd}]`);
}

// --- (c) D1 rows per 1,000 conntrack lines
{
  const t0 = Date.parse("2026-12-01T10:00:00Z");
  const lines: string[] = [];
  for (let i = 0; i < 500; i++) {
    const t = (ms: number) => new Date(ms).toISOString();
    const tuple = `src=192.168.1.${10 + (i % 40)} dst=8.8.${i >> 8}.${i & 255} sport=${40000 + i} dport=443`;
    lines.push(`<14>1 ${t(t0 + i * 100)} router ulogd 1 - - [NEW] tcp 6 120 SYN_SENT ${tuple} [UNREPLIED] src=8.8.${i >> 8}.${i & 255} dst=203.0.113.5 sport=443 dport=${40000 + i}`);
    lines.push(`<14>1 ${t(t0 + i * 100 + 30_000)} router ulogd 1 - - [DESTROY] tcp 6 ${tuple} packets=10 bytes=1000 src=8.8.${i >> 8}.${i & 255} dst=203.0.113.5 sport=443 dport=${40000 + i} packets=12 bytes=30000 [ASSURED]`);
  }
  lines.sort((a, b) => a.slice(7, 31).localeCompare(b.slice(7, 31)));
  const batch = prepareBatch(lines.join("\n"), "text", { ctx: DEFAULT_CONTEXT, batchKey: "bench", nowMs: t0 });
  const x = extractNetwork(batch.events);
  const flows = x.routers.get("router")!.flows;
  const sessions = pairFlows(flows, new MemoryFlowTable(), DEFAULT_TIMEOUTS).map((s) => sessionRow("router", s, null, null, tables));
  const measure = async (keepRaw: boolean): Promise<number> => {
    const client = createClient({ url: ":memory:" });
    const dir = join(root, "migrations");
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".sql")).sort()) {
      for (const stmt of readFileSync(join(dir, f), "utf8").split("--> statement-breakpoint")) if (stmt.trim()) await client.executeMultiple(stmt);
    }
    let rows = 0;
    if (keepRaw) rows += (await libsqlStore(client).insertEvents(batch.rows)).rowsWritten;
    for (const r of await libsqlSql(client).batch(sessionInserts(sessions))) rows += r.rowsWritten;
    client.close();
    return rows;
  };
  const raw = await measure(true), only = await measure(false);
  console.log(`(c) D1 rows per 1,000 conntrack lines (${sessions.length} sessions): raw ${raw} (events + sessions), sessions-only ${only}   [${cmd}]`);
}
