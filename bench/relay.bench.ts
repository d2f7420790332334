/**
 * Relay throughput and memory (issue 3 targets), with the relay as a real child process, the spool
 * on disk and a local HTTP receiver as the edge:
 *   1. TCP intake ≥ 50,000 msg/s on one core (spool on, forwarding): wall rate, and messages per
 *      CPU-second of the relay process (utime+stime from /proc) — the "one core" figure.
 *   2. UDP at 20,000 msg/s for 10 s: zero loss (relay count vs datagrams sent).
 *   3. RSS with a large backlog (edge down while the spool fills, then drained): RSS sampled as the
 *      backlog grows must stay flat and under 150 MB. BENCH_RELAY_BACKLOG_MB (default 1024).
 *   4. RELP (issue 10): Debian's rsyslog reading a file (imfile) and forwarding with omrelp to the
 *      relay's --relp, every message acknowledged after its fsync: lines/s from the first line to
 *      the last delivered, with omrelp's default window (128) and windowSize="1024". Skipped
 *      without rsyslog-relp.
 * Run: npm run bench -- relay   (or: node bench/relay.bench.ts)
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { createServer } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";

const ROOT = resolve(import.meta.dirname, "..");
const CMD = "npm run bench -- relay";
const BACKLOG_MB = Number(process.env.BENCH_RELAY_BACKLOG_MB ?? 1024);
const TICK = 100; // clock ticks per second (/proc stat units; Linux USER_HZ)
/** The relay runs as in the container: compiled JS, with the Dockerfile's Node flags and malloc setting. */
const NODE_FLAGS = ["--max-semi-space-size=4"];
const RELAY_ENV = { MALLOC_ARENA_MAX: "2" };
const DIST = mkdtempSync(join(tmpdir(), "relay-bench-dist-"));
execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "relay/tsconfig.build.json", "--outDir", DIST], { cwd: ROOT, stdio: "inherit" });
console.log(`relay: compiled JS, node ${NODE_FLAGS.join(" ")}, MALLOC_ARENA_MAX=2 (as relay/Dockerfile); ${process.version}`);

// ----------------------------------------------------------------------------- Harness

class Edge {
  lines = 0;
  keys = new Set<string>();
  down = false;
  url = "";
  private server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (this.down) return void res.writeHead(503).end();
      const key = String(req.headers["idempotency-key"]);
      if (!this.keys.has(key)) {
        this.keys.add(key);
        const body = gunzipSync(Buffer.concat(chunks));
        for (let i = body.indexOf(10); i !== -1; i = body.indexOf(10, i + 1)) this.lines++;
      }
      res.writeHead(200, { "content-type": "application/json" }).end('{"accepted":0,"stored":0,"parse_errors":0,"duplicate":false}');
    });
  });
  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  stop(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

class RelayProc {
  proc: ChildProcess;
  addr: Record<string, string> = {};
  spool = mkdtempSync(join(tmpdir(), "relay-bench-"));
  constructor(edge: Edge, extra: string[]) {
    this.proc = spawn(process.execPath, [...NODE_FLAGS, join(DIST, "main.js"), "--endpoint", edge.url, "--token", "bench", "--spool", this.spool, "--metrics", "127.0.0.1:0", ...extra], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...RELAY_ENV } });
    let buf = "";
    this.proc.stderr!.on("data", (c: Buffer) => {
      buf += c.toString();
      for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
        try {
          const j = JSON.parse(buf.slice(0, i)) as { msg: string; component: string; address: string };
          if (j.msg === "listening") this.addr[j.component] = j.address;
        } catch {
          /* ignore */
        }
      }
    });
  }
  async ready(c: string[]): Promise<this> {
    while (!c.every((x) => this.addr[x])) await sleep(20);
    return this;
  }
  port(c: string): number {
    return Number(this.addr[c]!.split(":").pop());
  }
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`http://${this.addr.metrics}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(name + " "));
    return line ? Number(line.slice(name.length + 1)) : 0;
  }
  /** CPU seconds used so far (user + system). */
  cpu(): number {
    const f = readFileSync(`/proc/${this.proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / TICK;
  }
  rssMb(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.proc.pid}/status`, "utf8"));
    return Number(m![1]) / 1024;
  }
  async stop(): Promise<void> {
    this.proc.kill("SIGKILL");
    await new Promise((r) => this.proc.once("exit", r));
    rmSync(this.spool, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** A realistic home-router line, ~150 bytes. */
const line = (i: number) => `<4>Nov 22 19:40:01 OpenWrt kernel: [123456.789] DROP(src wan)IN=eth1 OUT= MAC=aa:bb SRC=203.0.113.${i % 250} DST=192.0.2.1 LEN=60 PROTO=TCP SPT=${40000 + (i % 20000)} DPT=22 SEQ=${i}\n`;

/** Writes messages [0, n) over `conns` TCP connections as fast as the relay reads them. */
async function tcpBlast(port: number, n: number, conns: number): Promise<void> {
  const per = Math.ceil(n / conns);
  await Promise.all(
    Array.from({ length: conns }, (_, c) =>
      new Promise<void>((res, rej) => {
        const s = connect(port, "127.0.0.1", async () => {
          for (let i = c * per; i < Math.min(n, (c + 1) * per); ) {
            let chunk = "";
            for (const end = Math.min(n, (c + 1) * per, i + 500); i < end; i++) chunk += line(i);
            if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
          }
          s.end(res);
        });
        s.on("error", rej);
      }),
    ),
  );
}

// ----------------------------------------------------------------------------- 1. TCP intake

async function tcpIntake(): Promise<void> {
  const edge = await new Edge().start();
  const relay = await new RelayProc(edge, ["--tcp", "127.0.0.1:0"]).ready(["tcp", "metrics"]);
  const N = 1_000_000;
  const cpu0 = relay.cpu();
  const t0 = performance.now();
  await tcpBlast(relay.port("tcp"), N, 4);
  while ((await relay.metric('porchlight_relay_spooled_total{component="tcp"}')) < N) await sleep(20);
  const tIn = (performance.now() - t0) / 1000;
  const cpuIn = relay.cpu() - cpu0;
  while (edge.lines < N) await sleep(20);
  const tAll = (performance.now() - t0) / 1000;
  const cpuAll = relay.cpu() - cpu0;
  console.log(`TCP intake, spool on (fsynced), 4 connections, ${fmt(N)} msgs of ~150 B:`);
  console.log(`  intake ${fmt(N / tIn)} msg/s wall; ${fmt(N / cpuIn)} msg per relay CPU-second   [${CMD}]`);
  console.log(`  delivered to the local edge: ${fmt(N / tAll)} msg/s end to end; whole path ${fmt(N / cpuAll)} msg per relay CPU-second (gzip included)   [${CMD}]`);
  await relay.stop();
  edge.stop();
}

// ----------------------------------------------------------------------------- 2. UDP 20k/s

function udpDrops(): number {
  const t = readFileSync("/proc/net/snmp", "utf8").split("\n").filter((l) => l.startsWith("Udp:"));
  const h = t[0]!.split(/\s+/);
  const v = t[1]!.split(/\s+/);
  return Number(v[h.indexOf("RcvbufErrors")]);
}

async function udpRate(): Promise<void> {
  const edge = await new Edge().start();
  const relay = await new RelayProc(edge, ["--udp", "127.0.0.1:0"]).ready(["udp", "metrics"]);
  const rate = 20_000;
  const seconds = 10;
  const s = createSocket("udp4");
  const drops0 = udpDrops();
  const t0 = performance.now();
  let sent = 0;
  for (let tick = 0; tick < seconds * 100; tick++) {
    // 200 datagrams every 10 ms, catching up if a tick ran late.
    const due = Math.min(rate * seconds, Math.floor(((performance.now() - t0) / 1000) * rate) + 200);
    while (sent < due) {
      const m = Buffer.from(line(sent));
      s.send(m, relay.port("udp"), "127.0.0.1");
      sent++;
    }
    await sleep(Math.max(0, t0 + (tick + 1) * 10 - performance.now()));
  }
  while (sent < rate * seconds) s.send(Buffer.from(line(sent++)), relay.port("udp"), "127.0.0.1");
  const elapsed = (performance.now() - t0) / 1000;
  await sleep(1000);
  const got = await relay.metric('porchlight_relay_received_total{component="udp"}');
  while (edge.lines < got) await sleep(20);
  s.close();
  console.log(`UDP at ${fmt(sent / elapsed)} msg/s for ${elapsed.toFixed(1)} s: sent ${fmt(sent)}, relay received ${fmt(got)}, delivered ${fmt(edge.lines)}, loss ${fmt(sent - got)} (kernel RcvbufErrors +${udpDrops() - drops0})   [${CMD}]`);
  await relay.stop();
  edge.stop();
}

// ----------------------------------------------------------------------------- 3. RSS vs backlog

async function rssBacklog(): Promise<void> {
  const edge = await new Edge().start();
  edge.down = true;
  const relay = await new RelayProc(edge, ["--tcp", "127.0.0.1:0", "--spool-max-bytes", String(2 * BACKLOG_MB * 1024 * 1024), "--retry-max-ms", "2000"]).ready(["tcp", "metrics"]);
  await sleep(300);
  const samples: [number, number][] = [[0, relay.rssMb()]];
  const target = BACKLOG_MB * 1024 * 1024;
  const step = 200_000;
  let total = 0;
  let maxRss = 0;
  while ((await relay.metric("porchlight_relay_spool_bytes")) < target) {
    await tcpBlast(relay.port("tcp"), step, 1);
    total += step;
    const bytes = await relay.metric("porchlight_relay_spool_bytes");
    const rss = relay.rssMb();
    maxRss = Math.max(maxRss, rss);
    if (bytes / 1048576 - samples[samples.length - 1]![0] >= BACKLOG_MB / 8) samples.push([bytes / 1048576, rss]);
  }
  while ((await relay.metric('porchlight_relay_spooled_total{component="tcp"}')) < total) await sleep(50);
  const backlog = (await relay.metric("porchlight_relay_spool_bytes")) / 1048576;
  samples.push([backlog, relay.rssMb()]);
  console.log(`RSS vs backlog (edge down, ${fmt(total)} msgs): ` + samples.map(([b, r]) => `${b.toFixed(0)} MB → ${r.toFixed(0)} MB`).join(", ") + `; peak while filling ${maxRss.toFixed(0)} MB   [${CMD}]`);
  edge.down = false;
  const t0 = performance.now();
  let drainMax = 0;
  while (edge.lines < total) {
    drainMax = Math.max(drainMax, relay.rssMb());
    await sleep(250);
  }
  const t = (performance.now() - t0) / 1000;
  maxRss = Math.max(maxRss, drainMax);
  console.log(`Backlog of ${backlog.toFixed(0)} MB drained in ${t.toFixed(1)} s (${fmt(total / t)} msg/s); peak RSS while draining ${drainMax.toFixed(0)} MB; peak overall ${maxRss.toFixed(0)} MB (target < 150 MB)   [BENCH_RELAY_BACKLOG_MB=${BACKLOG_MB} ${CMD}]`);
  await relay.stop();
  edge.stop();
}

// ----------------------------------------------------------------------------- 4. RELP from rsyslog

async function relpFromRsyslog(window: number | null, n: number): Promise<void> {
  const edge = await new Edge().start();
  const relay = await new RelayProc(edge, ["--relp", "127.0.0.1:0"]).ready(["relp", "metrics"]);
  const dir = mkdtempSync(join(tmpdir(), "relay-bench-rsyslog-"));
  mkdirSync(join(dir, "work"));
  writeFileSync(join(dir, "in.log"), Array.from({ length: n }, (_, i) => line(i)).join(""));
  writeFileSync(
    join(dir, "rsyslog.conf"),
    `global(workDirectory="${dir}/work")
module(load="imfile")
module(load="omrelp")
input(type="imfile" file="${dir}/in.log" tag="bench:" ruleset="fwd" freshStartTail="off")
ruleset(name="fwd") { action(type="omrelp" target="127.0.0.1" port="${relay.port("relp")}"${window ? ` windowSize="${window}"` : ""}) }
`,
  );
  const t0 = performance.now();
  const rs = spawn("/usr/sbin/rsyslogd", ["-n", "-f", join(dir, "rsyslog.conf"), "-i", join(dir, "pid")], { stdio: "ignore" });
  while (edge.lines < n) await sleep(20);
  const t = (performance.now() - t0) / 1000;
  console.log(`RELP from rsyslog (imfile → omrelp${window ? ` windowSize=${window}` : ", default window 128"}): ${fmt(n)} lines delivered in ${t.toFixed(1)} s = ${fmt(n / t)} lines/s, each acknowledged after its fsync   [BENCH_RELAY_ONLY=relp ${CMD}]`);
  rs.kill("SIGKILL");
  await new Promise((r) => rs.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
  await relay.stop();
  edge.stop();
}

const only = process.env.BENCH_RELAY_ONLY;
if (!only || only === "tcp") await tcpIntake();
if (!only || only === "udp") await udpRate();
if (!only || only === "rss") await rssBacklog();
if (!only || only === "relp") {
  if (!existsSync("/usr/sbin/rsyslogd")) console.log("RELP from rsyslog: SKIPPED (apt-get install rsyslog rsyslog-relp)");
  else {
    await relpFromRsyslog(null, 10_000);
    await relpFromRsyslog(1024, 200_000);
  }
}
rmSync(DIST, { recursive: true, force: true });
