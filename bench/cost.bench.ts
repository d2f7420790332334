/**
 * What a home costs: the real Worker under `wrangler dev` (local D1, local R2, Durable Objects) ingests
 * 20 batches of 1000 lines of the bench corpus (bench/corpus.ts: an OpenWrt router, a pfSense box and a
 * NAS), and the cost meter (GET /v1/usage, D1's own meta figures) reports what that spent: D1 rows
 * written and read, queries, Worker and Durable Object requests, R2 operations and database bytes per
 * event. Then the overview's reads, a retention sweep's cost per deleted event, and the archive's gzip
 * bytes per event. The last lines project these per-event figures to a home of 500,000 lines a day under
 * each storage policy, against the Free plan. docs/cost.md quotes the output.
 *
 * Run: `node bench/cost.bench.ts` (Node >= 22.12).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { generateCorpus } from "./corpus.ts";
import { freePort } from "./workerd/harness.ts";

const root = resolve(import.meta.dirname, "..");
const BATCHES = 20;
const LINES = 1000;
const HOME_LINES_PER_DAY = 500_000;

type Usage = Record<string, number>;

const dir = mkdtempSync(join(tmpdir(), "porchlight-cost-"));
const wrangler = join(root, "node_modules/.bin/wrangler");
const admin = "cost-admin-token-0123456789";
if (spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", dir], { cwd: root, stdio: "ignore", env: { ...process.env, CI: "true" } }).status !== 0) throw new Error("migrations failed");
const port = await freePort();
const dev = spawn(wrangler, ["dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", dir, "--var", `ADMIN_TOKEN:${admin}`, "--show-interactive-dev-session=false", "--inspector-port", "0", "--log-level", "error"], { cwd: root, stdio: "ignore", detached: true });
const base = `http://127.0.0.1:${port}`;
const auth = { authorization: `Bearer ${admin}` };
try {
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error("wrangler dev did not start");
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  // Today's ledger straight from GET /v1/usage; each read is itself one metered request (counted next time).
  const usage = async (): Promise<Usage> => ((await (await fetch(`${base}/v1/usage`, { headers: auth })).json()) as { today: Usage }).today;
  const delta = (a: Usage, b: Usage) => Object.fromEntries(Object.keys(b).filter((k) => typeof b[k] === "number").map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));

  // The ingest requests' own D1 writes (the rows_written counter: D1's meta of each batch's statements).
  const ownWritten = async (): Promise<number> => ((await (await fetch(`${base}/v1/metrics`, { headers: auth })).json()) as { counters: Record<string, number> }).counters.rows_written ?? 0;
  const own0 = await ownWritten();
  const u0 = await usage();
  let stored = 0;
  let gz = 0;
  for (let b = 0; b < BATCHES; b++) {
    const lines = generateCorpus(LINES, 7000 + b);
    const body = gzipSync(lines.join("\n") + "\n");
    const res = await fetch(`${base}/v1/ingest`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain", "content-encoding": "gzip", "idempotency-key": `cost-${b}`, "x-porchlight-relay": "bench" },
      body,
    });
    if (!res.ok) throw new Error(`ingest ${res.status}: ${await res.text()}`);
    stored += ((await res.json()) as { stored: number }).stored;
    // The archive object of this batch: the request body as it arrived (workers/archive.ts).
    gz += body.byteLength;
  }
  const u1 = await usage();
  const own1 = await ownWritten();
  const ing = delta(u0, u1);
  const requests = ing.worker_requests! - 1; // less the first GET /v1/usage
  const per = (k: string) => ing[k]! / stored;
  console.log(`ingest of ${stored} events in ${BATCHES} batches of ${LINES} lines (bench corpus), per event:`);
  console.log(`  D1 rows written ${per("d1_rows_written").toFixed(4)}, rows read ${per("d1_rows_read").toFixed(4)}, queries ${per("d1_queries").toFixed(4)}`);
  // The rest of the written rows: the ledger rows, and what Durable Objects wrote (NetworkState's sessions and devices).
  console.log(`  of the rows written: the ingest requests' own ${((own1 - own0) / stored).toFixed(4)}, usage ledger and Durable Objects (sessions, devices) ${(ing.d1_rows_written! / stored - (own1 - own0) / stored).toFixed(4)}`);
  console.log(`  Worker requests ${(requests / stored).toFixed(4)}, Durable Object requests ${per("do_requests").toFixed(4)}, R2 class A ${per("r2_class_a").toFixed(4)}`);
  const bytesPerEvent = (u1.d1_bytes! - u0.d1_bytes!) / stored;
  console.log(`  D1 database bytes ${bytesPerEvent.toFixed(0)} (growth of D1's size_after: ${u0.d1_bytes} → ${u1.d1_bytes} bytes)`);
  console.log(`  archive (the request bodies as they arrived, gzip text, in R2) bytes ${(gz / stored).toFixed(0)}`);

  const o0 = await usage();
  await fetch(`${base}/v1/stats/overview?last=7d`, { headers: auth });
  const o1 = await usage();
  console.log(`overview (7 days, from rollups): ${delta(o0, o1).d1_rows_read! } D1 rows read for the request (and the usage read before it)`);

  await fetch(`${base}/v1/retention`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ default: "7d", datasets: {} }) });
  let deleted = 0;
  let deletedSessions = 0;
  let written = 0;
  let scanned = 0;
  const r0 = await usage();
  for (let i = 0; i < 20; i++) {
    const rep = (await (await fetch(`${base}/v1/retention/run`, { method: "POST", headers: auth })).json()) as { deleted_total: number; deleted_by_table: Record<string, number>; rows_written: number; scanned: number; complete: boolean };
    deleted += rep.deleted_total;
    deletedSessions += rep.deleted_by_table.flow_sessions ?? 0;
    written += rep.rows_written;
    scanned += rep.scanned;
    if (rep.complete) break;
  }
  const r1 = await usage();
  const ret = delta(r0, r1);
  console.log(`retention sweep: ${deleted - deletedSessions} events and ${deletedSessions} network sessions deleted; per deleted row ${(ret.d1_rows_written! / deleted).toFixed(3)} D1 rows written, ${(ret.d1_rows_read! / deleted).toFixed(3)} rows read (sweep report: ${written} written, ${scanned} scanned)`);

  // Late lines: a relay's spool delivers a batch from before the sweep's cursor (the same 2026-11-20
  // minutes, a new seed). Its insert leaves a late mark; the next run goes back for it.
  const late0 = await usage();
  const lateRes = await fetch(`${base}/v1/ingest`, {
    method: "POST",
    headers: { ...auth, "content-type": "text/plain", "content-encoding": "gzip", "idempotency-key": "cost-late", "x-porchlight-relay": "bench" },
    body: gzipSync(generateCorpus(LINES, 7500).join("\n") + "\n"),
  });
  const lateStored = ((await lateRes.json()) as { stored: number }).stored;
  const late1 = await usage();
  let lateDeleted = 0;
  let lateSessions = 0;
  for (let i = 0; i < 20; i++) {
    const rep = (await (await fetch(`${base}/v1/retention/run`, { method: "POST", headers: auth })).json()) as { deleted_total: number; deleted_by_table: Record<string, number>; complete: boolean };
    lateDeleted += rep.deleted_total;
    lateSessions += rep.deleted_by_table.flow_sessions ?? 0;
    if (rep.complete) break;
  }
  const late2 = await usage();
  const lateIn = delta(late0, late1), lateSweep = delta(late1, late2);
  console.log(`late batch (behind the sweep's cursor): ${lateStored} stored, per event ${(lateIn.d1_rows_written! / lateStored).toFixed(4)} D1 rows written, ${(lateIn.d1_rows_read! / lateStored).toFixed(4)} read; the next run deleted ${lateDeleted - lateSessions} events and ${lateSessions} sessions: per deleted row ${(lateSweep.d1_rows_written! / lateDeleted).toFixed(3)} written, ${(lateSweep.d1_rows_read! / lateDeleted).toFixed(3)} read`);

  // Archive-only for everything but sshd: what D1 still writes per line received.
  await fetch(`${base}/v1/retention`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ default: "archive", datasets: { sshd: "30d" } }) });
  const a0 = await usage();
  let accepted = 0;
  let storedA = 0;
  for (let b = 0; b < BATCHES; b++) {
    const res = await fetch(`${base}/v1/ingest`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain", "content-encoding": "gzip", "idempotency-key": `cost-a-${b}`, "x-porchlight-relay": "bench" },
      body: gzipSync(generateCorpus(LINES, 9000 + b).join("\n") + "\n"),
    });
    const body = (await res.json()) as { accepted: number; stored: number };
    accepted += body.accepted;
    storedA += body.stored;
  }
  const a1 = await usage();
  const arch = delta(a0, a1);
  const wArch = arch.d1_rows_written! / accepted;
  console.log(`policy {"default": "archive", "datasets": {"sshd": "30d"}}: ${storedA} of ${accepted} lines stored in D1; per line received ${wArch.toFixed(4)} D1 rows written, ${(arch.d1_rows_read! / accepted).toFixed(4)} read`);

  // The same policy with conntrack logging left off at the router: no network sessions are written.
  const conntrack = /ulogd\[\d+\]: \[(NEW|UPDATE|DESTROY)\]/;
  const b0 = await usage();
  let acceptedB = 0;
  let storedB = 0;
  let generatedB = 0;
  for (let b = 0; b < BATCHES; b++) {
    const all = generateCorpus(LINES, 11000 + b);
    const lines = all.filter((l) => !conntrack.test(l));
    generatedB += all.length;
    const res = await fetch(`${base}/v1/ingest`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain", "content-encoding": "gzip", "idempotency-key": `cost-b-${b}`, "x-porchlight-relay": "bench" },
      body: gzipSync(lines.join("\n") + "\n"),
    });
    const body = (await res.json()) as { accepted: number; stored: number };
    acceptedB += body.accepted;
    storedB += body.stored;
  }
  const b1 = await usage();
  const noCt = delta(b0, b1);
  const wNoCt = noCt.d1_rows_written! / acceptedB;
  console.log(`same policy without conntrack lines (${generatedB - acceptedB} of ${generatedB} left at the router): ${storedB} of ${acceptedB} lines stored; per line received ${wNoCt.toFixed(4)} D1 rows written, ${(noCt.d1_rows_read! / acceptedB).toFixed(4)} read`);

  // --- Projection to a home of 500,000 lines a day
  const w = per("d1_rows_written");
  const rd = per("d1_rows_read");
  // Per stored line at steady state: its event and its share of network sessions expire.
  const delPerLine = deleted / stored;
  const delW = (ret.d1_rows_written! / deleted) * delPerLine;
  const delR = (ret.d1_rows_read! / deleted) * delPerLine;
  const day = HOME_LINES_PER_DAY;
  const reqPerDay = (day / LINES) * (requests / BATCHES);
  console.log(`\nprojection for ${day.toLocaleString("en-US")} lines a day in ${LINES}-line batches (steady state: as many deleted as stored each day):`);
  for (const [name, keepDays, archive] of [["store every line, keep 30 d", 30, false], ["store every line, keep 7 d", 7, false], ["store every line 7 d + R2 archive 365 d", 7, true]] as const) {
    const writes = day * (w + delW);
    const reads = day * (rd + delR);
    const gb = (day * keepDays * bytesPerEvent) / 1e9;
    const r2gb = archive ? (day * 365 * gz) / stored / 1e9 : 0;
    console.log(`  ${name}: D1 ${Math.round(writes).toLocaleString("en-US")} rows written/day (Free: 100,000), ${Math.round(reads).toLocaleString("en-US")} read/day (Free: 5,000,000), ${gb.toFixed(2)} GB stored (Free: 0.5 GB/db), ${Math.round(reqPerDay)} Worker requests/day${archive ? `, R2 ${r2gb.toFixed(2)} GB, ${Math.round(reqPerDay * 30)} class A ops/month` : ""}`);
  }
  {
    const share = storedA / accepted;
    // Sessions stay (an archive-only default gives them no period): only the stored events expire.
    const writes = day * (wArch + (share * delW) / delPerLine);
    const gb = (day * 30 * share * bytesPerEvent) / 1e9;
    console.log(`  sshd in D1 30 d, everything else archive only (R2 365 d): D1 ${Math.round(writes).toLocaleString("en-US")} rows written/day (Free: 100,000), ${gb.toFixed(2)} GB stored, R2 ${((day * 365 * gz) / stored / 1e9).toFixed(2)} GB`);
  }
  {
    const lines = day * (acceptedB / generatedB);
    const share = storedB / acceptedB;
    const writes = lines * (wNoCt + (share * delW) / delPerLine);
    console.log(`  the same without conntrack logging (${Math.round(lines).toLocaleString("en-US")} lines a day): D1 ${Math.round(writes).toLocaleString("en-US")} rows written/day (Free: 100,000), ${((lines * 30 * share * bytesPerEvent) / 1e9).toFixed(2)} GB stored at 30 d (${((lines * 14 * share * bytesPerEvent) / 1e9).toFixed(2)} GB at 14 d)`);
  }
  const freeLines = Math.floor(100_000 / (w + delW));
  console.log(`  the Free plan's 100,000 written rows a day hold at most ${freeLines.toLocaleString("en-US")} stored lines a day at steady state`);
  console.log(`command: node bench/cost.bench.ts   (wrangler dev, local D1 and R2 in a temp dir; figures from the cost meter, i.e. D1's meta.rows_written/rows_read/size_after)`);
} finally {
  if (dev.pid) process.kill(-dev.pid, "SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dir, { recursive: true, force: true });
}
