/**
 * `porchlight send` client-side throughput: a file of the bench corpus mix (bench/corpus.ts) sent by
 * the real CLI process to a loopback receiver that gunzips and counts lines and answers like
 * `POST /v1/ingest`. Measures what the client costs per line (read, NDJSON, batching, gzip, HTTP):
 * wall rate, and lines per CPU-second of the CLI process (utime+stime from /proc). The server's own
 * cost is bench/ingest and bench/workerd.
 * Run: npm run bench -- cli   (BENCH_CLI_LINES, default 200000)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { generateCorpus } from "./corpus.ts";

const ROOT = resolve(import.meta.dirname, "..");
const CMD = "npm run bench -- cli";
const LINES = Number(process.env.BENCH_CLI_LINES ?? 200_000);
const TICK = 100; // clock ticks per second (/proc stat units; Linux USER_HZ)

let received = 0, bytes = 0;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const zipped = Buffer.concat(chunks);
    bytes += zipped.length;
    const body = gunzipSync(zipped);
    let n = 0;
    for (let i = body.indexOf(10); i !== -1; i = body.indexOf(10, i + 1)) n++;
    received += n;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ accepted: n, stored: n, parse_errors: 0, empty: 0, duplicate: false, errors: [], alerts: 0 }));
  });
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const dir = mkdtempSync(join(tmpdir(), "cli-bench-"));
const file = join(dir, "mix.log");
const text = generateCorpus(LINES).join("\n") + "\n";
writeFileSync(file, text);

const cpuTicks = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime
};

const started = performance.now();
const child = spawn(process.execPath, [join(ROOT, "cli/bin/porchlight.js"), "send", file, "--json"], { env: { ...process.env, PORCHLIGHT_URL: url, PORCHLIGHT_TOKEN: "bench" }, stdio: ["ignore", "pipe", "inherit"] });
let ticks = 0;
const sampler = setInterval(() => {
  try {
    ticks = cpuTicks(child.pid!);
  } catch {
    // exited
  }
}, 20);
let out = "";
child.stdout.on("data", (d) => (out += d));
await new Promise((r) => child.on("close", r));
clearInterval(sampler);
const wallS = (performance.now() - started) / 1000;
const cpuS = ticks / TICK;
server.close();
rmSync(dir, { recursive: true, force: true });

const totals = JSON.parse(out) as { accepted: number; batches: number };
if (received !== LINES || totals.accepted !== LINES) throw new Error(`lost lines: sent ${LINES}, received ${received}, CLI counted ${totals.accepted}`);
console.log(`porchlight send, ${LINES} lines (${(text.length / 1e6).toFixed(1)} MB, ${(bytes / 1e6).toFixed(1)} MB gzipped in ${totals.batches} batches), ${process.version}:`);
console.log(`  wall ${wallS.toFixed(2)} s = ${Math.round(LINES / wallS).toLocaleString("en")} lines/s; CLI CPU ${cpuS.toFixed(2)} s (sampled, ±0.05) = ${cpuS > 0 ? Math.round(LINES / cpuS).toLocaleString("en") : "?"} lines per CPU-second`);
console.log(`  (${CMD})`);
