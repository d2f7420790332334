/**
 * Search at scale (issue 14): the real Worker under `wrangler dev` searches a local D1 holding
 * BENCH_SEARCH_EVENTS events (default 10,000,000: about 16 days of a busy home router at 7 lines a
 * second, ending at the hour the database was filled), with and without the per-hour search summaries
 * (workers/store/summaries.ts). For each search it prints p50/p95 over its runs and the D1 rows the
 * search read (the X-Porchlight-Rows-Read header: what D1 bills).
 *
 * Filling through HTTP ingest would take hours, so the database is filled directly: the bench corpus
 * (bench/corpus.ts) through the real ingest code (prepareBatch, insertEventStatements, summariesOf,
 * rollupsOf), written with node:sqlite into the very SQLite file wrangler's local D1 uses, after
 * `wrangler d1 migrations apply --local` created it. Each hour's summary and rollup is written merged,
 * as the cron leaves them. Three needle events carry a rare address (192.0.2.77) and a rare word
 * (zebracorn). The filled directory is kept and reused (BENCH_SEARCH_DIR, default
 * $TMPDIR/porchlight-search-<events>; delete it to fill again: later migrations are applied to it when
 * wrangler dev starts). 10,000,000 events take ≈ 5 GB.
 *
 * "Without summaries" sets search_meta.complete_from past the data: every hour is then scanned, as
 * before summaries existed.
 *
 * Run: `node bench/search.bench.ts` (Node >= 22.12; `npm run bench -- search`).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { generateCorpus } from "./corpus.ts";
import { startWranglerDev } from "./wrangler-dev.ts";
import { prepareBatch } from "../workers/ingest/batch.ts";
import { eventId } from "../workers/parse/id.ts";
import { DEFAULT_CONTEXT } from "../workers/parse/index.ts";
import { emptyCounts, mergeCounts, rollupsOf, trimHour, type RollupCounts } from "../workers/store/rollups.ts";
import { summariesOf, SUMMARY_BYTES, toHex } from "../workers/store/summaries.ts";
import type { EventRow } from "../workers/store/types.ts";
import { insertEventStatements } from "../workers/store/wire.ts";

const root = resolve(import.meta.dirname, "..");
const N = Number(process.env.BENCH_SEARCH_EVENTS ?? 10_000_000);
const dir = process.env.BENCH_SEARCH_DIR ?? join(tmpdir(), `porchlight-search-${N}`);
const RUNS = Number(process.env.BENCH_SEARCH_RUNS ?? 20);
const BASELINE_RUNS = Number(process.env.BENCH_SEARCH_BASELINE_RUNS ?? 3);
const CHUNK = 5_000; // INGEST_MAX_LINES
const STEP_MS = 137;
const HOUR = 3_600_000;
const RARE_IP = "192.0.2.77"; // bench/corpus.ts uses 198.51.100.2 and 203.0.113.2 in every hour
const RARE_WORD = "zebracorn";
const admin = "search-bench-admin-token-0123456789";
const migrations = readdirSync(join(root, "migrations")).filter((f) => f.endsWith(".sql")).sort();
/** The summaries' code as filled: a fill made by other code would not be what ingest writes now. */
const summaryCode = createHash("sha256").update(readFileSync(join(root, "workers/store/summaries.ts"))).update(readFileSync(join(root, "workers/store/rollups.ts"))).digest("hex").slice(0, 16);

interface Filled { events: number; t0: number; t1: number; migrations: string[]; needles: number[]; seconds: number; summaryCode: string }

function sqliteFile(): string {
  const d1 = join(dir, "v3", "d1", "miniflare-D1DatabaseObject");
  const files = existsSync(d1) ? readdirSync(d1).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite") : [];
  if (files.length !== 1) throw new Error(`expected one local D1 file in ${d1}, found ${files.length}`);
  return join(d1, files[0]!);
}

function fill(): Filled {
  mkdirSync(dir, { recursive: true });
  const mig = spawnSync(join(root, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", dir], { cwd: root, stdio: "ignore", env: { ...process.env, CI: "true" } });
  if (mig.status !== 0) throw new Error("migrations failed");
  const db = new DatabaseSync(sqliteFile());
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF");
  const started = performance.now();
  const t1 = Math.floor(Date.now() / HOUR) * HOUR;
  const t0 = t1 - N * STEP_MS;
  const needles = [0.12, 0.47, 0.81].map((f) => Math.floor(N * f));
  const needleSet = new Set(needles);
  const summaries = new Map<number, Uint8Array>();
  const rollups = new Map<number, RollupCounts>();
  const putSummary = db.prepare("INSERT INTO search_hours (hour, part, dense, gen) VALUES (?, '*', unhex(?), 1)");
  const putRollup = db.prepare("INSERT INTO rollups_hourly (hour, part, counts) VALUES (?, '*', ?)");
  const flush = (before: number) => {
    for (const [h, bits] of summaries) if (h < before) {
      putSummary.run(h, toHex(bits));
      summaries.delete(h);
    }
    for (const [h, c] of rollups) if (h < before) {
      putRollup.run(h, JSON.stringify(trimHour(c)));
      rollups.delete(h);
    }
  };
  const statements = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  let written = 0;
  for (let c = 0; c * CHUNK < N; c++) {
    const n = Math.min(CHUNK, N - c * CHUNK);
    const key = `fill-${c}`;
    const lines = generateCorpus(n, c + 1);
    for (let i = 0; i < n; i++) {
      const g = c * CHUNK + i;
      if (needleSet.has(g)) lines[i] = `<38>1 2026-01-01T00:00:00Z nas sshd 1 - - Failed password for ${RARE_WORD} from ${RARE_IP} port 4242 ssh2`;
    }
    const { rows } = prepareBatch(lines.join("\n"), "text", { ctx: DEFAULT_CONTEXT, batchKey: key, nowMs: t0 });
    // Event time spread evenly over the span (the corpus's own clock restarts with each seed).
    const timed: EventRow[] = rows.map((r, i) => {
      const ts = t0 + (c * CHUNK + i) * STEP_MS;
      return { ...r, ts, received_at: ts + 50, id: eventId(ts, key, i) };
    });
    db.exec("BEGIN");
    for (const s of insertEventStatements(timed)) {
      let p = statements.get(s.sql);
      if (!p) statements.set(s.sql, (p = db.prepare(s.sql)));
      written += Number(p.run(...(s.params as (string | number | null)[])).changes);
    }
    for (const part of summariesOf(timed)) {
      const acc = summaries.get(part.hour) ?? new Uint8Array(SUMMARY_BYTES);
      for (let i = 0; i < acc.length; i++) acc[i]! |= part.bits[i]!;
      summaries.set(part.hour, acc);
    }
    for (const part of rollupsOf(timed)) rollups.set(part.hour, mergeCounts(rollups.get(part.hour) ?? emptyCounts(), part.counts));
    flush(Math.floor(timed[0]!.ts / HOUR) * HOUR);
    db.exec("COMMIT");
    if (c % 50 === 0) process.stdout.write(`\r  filled ${(c * CHUNK).toLocaleString("en")} / ${N.toLocaleString("en")} events (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  db.exec("BEGIN");
  flush(Infinity);
  db.exec("COMMIT");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write("\n");
  return { events: written, t0, t1, migrations, needles, seconds, summaryCode };
}

function setComplete(from: number): void {
  const db = new DatabaseSync(sqliteFile());
  db.prepare("UPDATE search_meta SET value = ? WHERE key = 'complete_from'").run(from);
  db.close();
}

interface Figure { name: string; p50: number; p95: number; rowsRead: number; results: number }

async function measure(base: string, name: string, path: string, runs: number): Promise<Figure> {
  const times: number[] = [];
  let rowsRead = NaN, results = 0;
  for (let i = 0; i <= runs; i++) {
    const t = performance.now();
    const r = await fetch(base + path, { headers: { authorization: `Bearer ${admin}` } });
    const body = (await r.json()) as { events?: unknown[]; events_per_hour?: unknown };
    const ms = performance.now() - t;
    if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
    if (i === 0) continue; // warm-up
    times.push(ms);
    rowsRead = Number(r.headers.get("x-porchlight-rows-read") ?? NaN);
    results = body.events?.length ?? 0;
  }
  times.sort((a, b) => a - b);
  const q = (f: number) => times[Math.min(times.length - 1, Math.ceil(f * times.length) - 1)]!;
  return { name, p50: q(0.5), p95: q(0.95), rowsRead, results };
}

const marker = join(dir, "filled.json");
let filled: Filled | null = existsSync(marker) ? (JSON.parse(readFileSync(marker, "utf8")) as Filled) : null;
if (filled && filled.summaryCode !== summaryCode) {
  throw new Error(`${dir} was filled by other summaries or rollups code (workers/store/summaries.ts, rollups.ts changed): delete it to fill again`);
}
if (!filled) {
  console.log(`Filling ${N.toLocaleString("en")} events into ${dir} ...`);
  filled = fill();
  writeFileSync(marker, JSON.stringify(filled));
}
const bytes = statSync(sqliteFile()).size;
{
  const db = new DatabaseSync(sqliteFile(), { readOnly: true });
  const s = db.prepare("SELECT count(*) AS n, sum(length(dense)) AS b FROM search_hours").get() as { n: number; b: number };
  db.close();
  console.log(`${filled.events.toLocaleString("en")} events from ${new Date(filled.t0).toISOString()} to ${new Date(filled.t1).toISOString()} (filled in ${filled.seconds.toFixed(0)} s); database ${(bytes / 2 ** 30).toFixed(2)} GiB, of which summaries ${s.n} rows, ${(s.b / 2 ** 20).toFixed(1)} MiB`);
}

const day = (d: number) => new Date(filled.t0 + d * 86_400_000).toISOString();
const searches: [string, string][] = [
  ["address (rare, all time)", `/v1/events?src_ip=${RARE_IP}&limit=100`],
  ["address (never seen, all time)", `/v1/events?src_ip=192.0.2.99&limit=100`],
  ["CIDR /24 (rare, all time)", `/v1/events?src_ip=192.0.2.0/24&limit=100`],
  ["address, one day", `/v1/events?src_ip=${RARE_IP}&from=${day(1)}&to=${day(2)}&limit=100`],
  ["time-bounded: 1 hour, dataset=sshd", `/v1/events?dataset=sshd&from=${day(5)}&to=${new Date(filled.t0 + 5 * 86_400_000 + HOUR).toISOString()}&limit=100`],
  ["text, rare word (q=)", `/v1/events?q=${RARE_WORD}&limit=100`],
  ["text, common phrase (q=)", `/v1/events?q=${encodeURIComponent("failed password")}&limit=100`],
  ["newest 100 events", `/v1/events?limit=100`],
  ["overview, 7 days", `/v1/stats/overview?last=7d`],
];

const report = (title: string, figs: Figure[]) => {
  console.log(`\n${title}`);
  console.log("search".padEnd(40) + "p50 ms".padStart(9) + "p95 ms".padStart(9) + "rows read".padStart(12) + "results".padStart(9));
  for (const f of figs) console.log(f.name.padEnd(40) + f.p50.toFixed(0).padStart(9) + f.p95.toFixed(0).padStart(9) + (Number.isNaN(f.rowsRead) ? "-" : f.rowsRead.toLocaleString("en")).padStart(12) + String(f.results).padStart(9));
};

async function run(runs: number, only?: (name: string) => boolean): Promise<Figure[]> {
  const { base, stop } = await startWranglerDev({ ADMIN_TOKEN: admin }, dir);
  try {
    const out: Figure[] = [];
    for (const [name, path] of searches) if (!only || only(name)) out.push(await measure(base, name, path, runs));
    return out;
  } finally {
    await stop();
  }
}

setComplete(0);
report(`With search summaries (${RUNS} runs each after a warm-up):`, await run(RUNS));
if (BASELINE_RUNS > 0) {
  setComplete(Number.MAX_SAFE_INTEGER);
  try {
    report(`Without summaries: every hour scanned (${BASELINE_RUNS} runs each):`, await run(BASELINE_RUNS, (n) => !n.startsWith("overview") && !n.startsWith("newest") && !n.startsWith("time-bounded")));
  } finally {
    setComplete(0);
  }
}
console.log(`\nnode bench/search.bench.ts  (BENCH_SEARCH_EVENTS=${N})`);
