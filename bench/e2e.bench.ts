/**
 * End to end (issue 10): the real relay over TCP into the real `npm start` stack (wrangler dev,
 * local D1, rules), on loopback. Lines of the mixed home corpus (bench/corpus.ts) carry a sequence
 * number (` pl_seq=N`); stored lines are counted by reading the events table of the local D1 file
 * (distinct sequence numbers, so a line stored twice is seen).
 *   1. Drain rate by --inflight: a backlog of BENCH_E2E_DRAIN lines, time until all stored, for
 *      each value of BENCH_E2E_INFLIGHT (the default --inflight is chosen from this).
 *   2. Offered rates stepped up (BENCH_E2E_RATES, BENCH_E2E_STEP_S each): a rate is held when the
 *      spool does not grow (backlog ≤ 1 MiB at the end of the step, every line stored within 5 s
 *      after it). The stored rate is what was stored during the step (it trails the offer by the
 *      pipeline's delay, a few % of a step). Then twice the highest held rate: its stored rate must stay ≥ 90 % of the held one.
 *   3. syslog-ng on the same corpus and machine: TCP in, one JSON object per line to a file
 *      (format-json), the rate at which it writes everything. It does less work: no durable spool,
 *      no HTTP, no parsing into events, no database, no rules.
 * syslog-ng: `syslog-ng` on PATH, or SYSLOG_NG=<root>/usr/sbin/syslog-ng of an unpacked Debian
 * package (`apt-get download syslog-ng-core && dpkg-deb -x syslog-ng-core_*.deb <root>`: the package
 * conflicts with rsyslog, which the RELP test needs); skipped with a message when absent.
 * Run: npm run bench -- e2e   (about 3 minutes; everything is killed at the end)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { generateCorpus } from "./corpus.ts";
import { freePort, Relay } from "../test/relay/helpers.ts";

const ROOT = resolve(import.meta.dirname, "..");
const CMD = "npm run bench -- e2e";
const RATES = (process.env.BENCH_E2E_RATES ?? "1500,2000,2500,3000,4000,5000,6000,8000,10000,12000").split(",").map(Number);
const STEP_S = Number(process.env.BENCH_E2E_STEP_S ?? 10);
const INFLIGHTS = (process.env.BENCH_E2E_INFLIGHT ?? "1,2,4,8").split(",").map(Number);
const DRAIN = Number(process.env.BENCH_E2E_DRAIN ?? 40_000);
/** A held step ends with at most this much spooled and unacknowledged, bytes. */
const HELD_BACKLOG = 1 << 20;
/** …and every line of it stored within this long after the step, s. */
const DRAIN_TAIL_S = 5;
const CORPUS = generateCorpus(50_000, 7);
const line = (seq: number) => `${CORPUS[seq % CORPUS.length]} pl_seq=${seq}\n`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const children: ChildProcess[] = [];
const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

function cleanup(): void {
  for (const c of children) {
    if (c.exitCode !== null || c.pid === undefined) continue;
    try {
      process.kill(-c.pid, "SIGKILL"); // the process group this bench created
    } catch {
      c.kill("SIGKILL");
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

// ----------------------------------------------------------------------------- The stack

const PORT = await freePort();
const STATE = tmp("e2e-state-");
const PERSIST = tmp("e2e-d1-");
const URL_BASE = `http://127.0.0.1:${PORT}`;
console.log(`starting npm start on ${URL_BASE} (wrangler dev, local D1 in ${PERSIST}); ${process.version}`);
const stack = spawn("npm", ["start"], {
  cwd: ROOT,
  detached: true,
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, PORT: String(PORT), PERSIST_DIR: PERSIST, RELAY_PORT: "0", PORCHLIGHT_STATE_DIR: STATE, ADMIN_TOKEN: `adm_${randomBytes(16).toString("hex")}` },
});
children.push(stack);
let stackLog = "";
stack.stdout!.on("data", (c: Buffer) => (stackLog = (stackLog + c.toString()).slice(-20_000)));
stack.stderr!.on("data", (c: Buffer) => (stackLog = (stackLog + c.toString()).slice(-20_000)));
const tokenFile = join(STATE, "ingest-token");
for (const end = Date.now() + 180_000; !existsSync(tokenFile) || !readFileSync(tokenFile, "utf8").trim(); ) {
  if (Date.now() > end || stack.exitCode !== null) {
    console.error(`npm start did not come up:\n${stackLog}`);
    process.exit(1);
  }
  await sleep(250);
}
const TOKEN = readFileSync(tokenFile, "utf8").trim();
await sleep(1000); // the rule pack import follows the token; let it land before measuring

function d1File(): string {
  const dir = join(PERSIST, "v3", "d1", "miniflare-D1DatabaseObject");
  const f = readdirSync(dir).filter((n) => n.endsWith(".sqlite") && n !== "metadata.sqlite").map((n) => join(dir, n));
  return f.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
}
const db = new DatabaseSync(d1File(), { readOnly: true, timeout: 5000 });
const countStmt = db.prepare("SELECT count(*) AS n FROM events");
const rawStmt = db.prepare("SELECT raw FROM events");

/** Lines stored so far (the events table is WITHOUT ROWID: counted, then checked by sequence at the end). */
class Stored {
  distinct = 0;
  twice = 0;
  poll(): number {
    return (countStmt.get() as { n: number }).n;
  }
  /** Distinct sequence numbers among all stored lines, and how many were stored more than once. */
  check(): void {
    const seen = new Uint8Array(1 << 24);
    this.distinct = 0;
    this.twice = 0;
    for (const { raw } of rawStmt.iterate() as Iterable<{ raw: string }>) {
      const m = / pl_seq=(\d+)$/.exec(raw);
      if (!m) continue;
      const s = Number(m[1]);
      if (seen[s]) this.twice++;
      else {
        seen[s] = 1;
        this.distinct++;
      }
    }
  }
}
const stored = new Stored();

// ----------------------------------------------------------------------------- The relay and the sender

/** The relay as a child process (test/relay/helpers.ts), its token in the environment, its own spool. */
async function startRelay(inflight: number | null): Promise<Relay> {
  const relay = new Relay(["--endpoint", URL_BASE, "--tcp", "127.0.0.1:0", "--spool", tmp("e2e-spool-"), "--metrics", "127.0.0.1:0", ...(inflight ? ["--inflight", String(inflight)] : [])], { env: { PORCHLIGHT_TOKEN: TOKEN } });
  children.push(relay.proc);
  return relay.ready(["tcp", "metrics"], 30_000);
}

async function backlog(relay: Relay): Promise<number> {
  return ((await (await fetch(`http://${relay.addresses.metrics}/healthz`)).json()) as { backlog_bytes: number }).backlog_bytes;
}

function open(port: number): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(port, "127.0.0.1", () => res(s));
    s.on("error", rej);
  });
}

/** Writes lines [from, from + rate × seconds) at `rate` lines/s in 10 ms ticks; resolves with the next seq. */
async function offer(s: Socket, from: number, rate: number, seconds: number): Promise<number> {
  const t0 = performance.now();
  const total = Math.round(rate * seconds);
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    let chunk = "";
    for (; sent < due; sent++) chunk += line(from + sent);
    if (chunk && !s.write(chunk)) await new Promise((r) => s.once("drain", r));
    await sleep(10);
  }
  return from + total;
}

async function waitStored(n: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; stored.poll() < n; ) {
    if (Date.now() > end) return false;
    await sleep(200);
  }
  return true;
}

let seq = 0;

// ----------------------------------------------------------------------------- 1. Drain rate by --inflight

// Warm-up: wrangler dev compiles and the first D1 writes create pages; not measured.
{
  const relay = await startRelay(4);
  const s = await open(relay.port("tcp"));
  let chunk = "";
  for (let i = 0; i < 5000; i++) chunk += line(seq + i);
  seq += 5000;
  s.write(chunk);
  await waitStored(seq, 120_000);
  s.destroy();
  await relay.kill();
}

console.log(`\n1. Drain rate by --inflight: a backlog of ${fmt(DRAIN)} lines written at once`);
for (const inflight of INFLIGHTS) {
  const relay = await startRelay(inflight);
  const s = await open(relay.port("tcp"));
  const base = stored.poll();
  const t0 = performance.now();
  let chunk = "";
  for (let i = 0; i < DRAIN; i++) chunk += line(seq + i);
  seq += DRAIN;
  s.write(chunk);
  const ok = await waitStored(base + DRAIN, 120_000);
  const t = (performance.now() - t0) / 1000;
  console.log(`  --inflight ${inflight}: ${ok ? `${fmt(DRAIN / t)} lines/s stored` : "did not finish in 120 s"}   [BENCH_E2E_INFLIGHT=${inflight} ${CMD}]`);
  s.destroy();
  await relay.kill();
}

// ----------------------------------------------------------------------------- 2. Stepped offered rates

const stepInflight = process.env.BENCH_E2E_STEP_INFLIGHT ? Number(process.env.BENCH_E2E_STEP_INFLIGHT) : null;
const relay = await startRelay(stepInflight);
const sock = await open(relay.port("tcp"));
console.log(`\n2. Offered rates, ${STEP_S} s each (relay --inflight ${stepInflight ?? "default"}):`);
let best = 0;
let bestStored = 0;
async function step(rate: number): Promise<{ storedRate: number; backlog: number }> {
  const before = stored.poll();
  const t0 = performance.now();
  seq = await offer(sock, seq, rate, STEP_S);
  const t = (performance.now() - t0) / 1000;
  const left = await backlog(relay);
  return { storedRate: (stored.poll() - before) / t, backlog: left };
}
for (const rate of RATES) {
  const { storedRate, backlog } = await step(rate);
  // Let the spool empty before the next step; a held rate leaves at most a few batches behind.
  const t0 = performance.now();
  const drained = await waitStored(seq, 120_000);
  const tail = (performance.now() - t0) / 1000;
  const held = backlog <= HELD_BACKLOG && drained && tail <= DRAIN_TAIL_S;
  console.log(`  offered ${fmt(rate)}/s: stored ${fmt(storedRate)}/s, spool backlog at the end ${fmt(backlog / 1024)} KiB, stored in full ${tail.toFixed(1)} s later → ${held ? "held" : "not held"}`);
  if (!held) break;
  best = rate;
  bestStored = storedRate;
}
if (best > 0) {
  const { storedRate, backlog } = await step(2 * best);
  const ratio = storedRate / bestStored;
  console.log(`  offered ${fmt(2 * best)}/s (twice the best held): stored ${fmt(storedRate)}/s, spool grew to ${fmt(backlog / 1024)} KiB`);
  console.log(`Highest rate held with a non-growing spool: ${fmt(best)} lines/s (stored ${fmt(bestStored)}/s); at twice that offered: ${fmt(storedRate)} lines/s stored = ${(ratio * 100).toFixed(0)} % of it (must be ≥ 90 %)   [${CMD}]`);
  await waitStored(seq, 180_000);
} else console.log(`No offered rate was held (lowest: ${RATES[0]}/s)   [${CMD}]`);
stored.check();
console.log(`Stored ${fmt(stored.distinct)} distinct lines of ${fmt(seq)} offered; stored twice: ${stored.twice}`);
sock.destroy();
await relay.kill();
process.kill(-stack.pid!, "SIGTERM");

// ----------------------------------------------------------------------------- 3. syslog-ng

const sng = process.env.SYSLOG_NG ?? (existsSync("/usr/sbin/syslog-ng") ? "/usr/sbin/syslog-ng" : "");
if (!sng || !existsSync(sng)) {
  console.log("\n3. syslog-ng: SKIPPED (no /usr/sbin/syslog-ng and no SYSLOG_NG=<unpacked syslog-ng-core>/usr/sbin/syslog-ng)");
} else {
  const root = resolve(dirname(sng), "../..");
  const libDir = join(root, "usr/lib/syslog-ng");
  const modDir = readdirSync(libDir).map((d) => join(libDir, d)).find((d) => existsSync(join(d, "libaffile.so"))) ?? "";
  const dir = tmp("e2e-sng-");
  const port = await freePort();
  const out = join(dir, "out.json");
  writeFileSync(
    join(dir, "syslog-ng.conf"),
    `@version: 3.35
options { keep-hostname(yes); flush-lines(1000); log-fifo-size(100000); };
source s_net { network(ip("127.0.0.1") port(${port}) transport("tcp") log-iw-size(100000) max-connections(10)); };
destination d_json { file("${out}" template("$(format-json --scope rfc5424 --scope nv-pairs)\\n")); };
log { source(s_net); destination(d_json); };
`,
  );
  const p = spawn(sng, ["-F", "-f", join(dir, "syslog-ng.conf"), "-R", join(dir, "persist"), "-p", join(dir, "pid"), "-c", join(dir, "ctl"), ...(modDir ? [`--module-path=${modDir}`] : [])], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") },
  });
  children.push(p);
  let err = "";
  p.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  let s: Socket | null = null;
  for (const end = Date.now() + 10_000; !s && Date.now() < end; ) {
    try {
      s = await open(port);
    } catch {
      await sleep(100); // not listening yet
    }
  }
  if (!s) {
    console.log(`\n3. syslog-ng did not start: ${err.slice(-500)}`);
  } else {
    const N = Number(process.env.BENCH_E2E_SNG_LINES ?? 400_000);
    const t0 = performance.now();
    for (let i = 0; i < N; ) {
      let chunk = "";
      for (const end = Math.min(N, i + 1000); i < end; i++) chunk += line(i);
      if (!s.write(chunk)) await new Promise((r) => s!.once("drain", r));
    }
    // Counts the output's lines incrementally (the file grows to hundreds of MB).
    let fd = -1;
    let pos = 0;
    let n = 0;
    const buf = Buffer.allocUnsafe(1 << 20);
    const countLines = () => {
      if (fd < 0) {
        if (!existsSync(out)) return 0;
        fd = openSync(out, "r");
      }
      for (let got; (got = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += got) {
        for (let i = buf.indexOf(10); i !== -1 && i < got; i = buf.indexOf(10, i + 1)) n++;
      }
      return n;
    };
    let got = 0;
    for (const end = Date.now() + 120_000; (got = countLines()) < N && Date.now() < end; ) await sleep(250);
    const t = (performance.now() - t0) / 1000;
    console.log(`\n3. syslog-ng 3.38 (TCP in → format-json file, no spool, no HTTP, no parsing into events, no database, no rules: it does less work): ${fmt(got)} of ${fmt(N)} lines written in ${t.toFixed(1)} s = ${fmt(got / t)} lines/s   [${sng === "/usr/sbin/syslog-ng" ? "" : `SYSLOG_NG=${sng} `}${CMD}]`);
    s.destroy();
  }
}
process.exit(0);
