/**
 * Worker-side CPU of an ingest batch in real workerd (`npm run bench -- workerd`). The headline figure
 * for the targets "a 1000-line ingest batch uses less than 10 ms of CPU in the Worker" and "… with 10
 * stateful rules matching"; bench/ingest.bench.ts shows where the time goes, in Node.
 *
 * bench/workerd/entry.ts (the production modules of the ingest path, one route per scenario) is bundled
 * by `wrangler deploy --dry-run` as a deploy would bundle it, with the compatibility date and flags of
 * the root wrangler.toml, and served by wrangler's own workerd binary, `workerd serve`, with no wrangler,
 * inspector or proxy in the process; one such process (one isolate) per scenario. 1000-line gzip
 * batches are posted one at a time; the CPU per request is the scenario's workerd process's
 * utime + stime (/proc/<pid>/stat) over its requests,
 * divided by their number: what the isolate runs (JS, gunzip, JSON, GC) plus workerd's HTTP handling.
 * The `empty` scenario (read the body, answer) is that per-request overhead: net = gross − empty.
 * Workers bill CPU time excluding I/O waits; the bench does no I/O besides the request itself.
 *
 * Warm-up (150 requests per scenario), then ROUNDS rounds, each measuring every scenario over REQUESTS
 * requests, interleaved in blocks of BLOCK requests; the median of the rounds is printed.
 * `node bench/workerd.bench.ts [requests] [rounds]` (defaults 300 and 5). Where the time goes inside
 * the isolate: `node bench/workerd/profile.ts` (a CPU profile of one scenario).
 *
 * A/B: with PORCHLIGHT_BENCH_BASE=<another checkout of the repository, with node_modules> every scenario
 * also runs on that checkout's bench Worker ("base: …", its own workerd processes), interleaved block by
 * block with this tree's, so both sides see the same stretches of a noisy machine; the end of the output
 * compares each scenario's medians and its paired per-round differences.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { generateCorpus, relayNdjson } from "./corpus.ts";
import { bundle, freePort, productionCompat, root, workerdBinary, writeConfig } from "./workerd/harness.ts";

const REQUESTS = Number(process.argv[2] ?? 300);
/** Five rounds: on this shared machine a round can run 30% slow, and the median of five shrugs off two such. */
const ROUNDS = Number(process.argv[3] ?? 5);
const WARMUP = 150;
/**
 * Requests per scenario in a row. A round goes through the scenarios block by block, so that a busy
 * stretch of this shared machine falls on all of them alike. /proc/<pid>/stat counts in 10 ms ticks: at
 * most 0.2 ms per request of a block, and these reading errors average out over a round's blocks.
 */
/** The checkout to compare with (A/B), or undefined. */
const BASE = process.env.PORCHLIGHT_BENCH_BASE || undefined;
/**
 * A/B: each scenario's two sides run next to each other in blocks of 20, so that a pair is measured
 * within a second or two of each other (other load on this shared machine comes and goes in seconds).
 */
const BLOCK = BASE ? 20 : 50;
const COMMAND = `node bench/workerd.bench.ts${process.argv.length > 2 ? " " + process.argv.slice(2).join(" ") : ""}`;

// --- Measuring

/** utime + stime in ms from a proc(5) stat file (fields 14 and 15; ticks of CLK_TCK). */
function statCpuMs(path: string, clkTck: number): number {
  const stat = readFileSync(path, "utf8");
  // After "(comm) " the state is index 0, so utime and stime are 11 and 12.
  const f = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / clkTck;
}

/**
 * CPU ms of workerd so far: the whole process (all threads, exited ones included), and its main thread,
 * where `workerd serve` runs the isolate; the rest is V8's background threads (concurrent GC, compilation).
 */
function workerdCpu(pid: number, clkTck: number): { total: number; main: number } {
  return { total: statCpuMs(`/proc/${pid}/stat`, clkTck), main: statCpuMs(`/proc/${pid}/task/${pid}/stat`, clkTck) };
}

interface Scenario {
  name: string;
  what: string;
  path: string;
  body: Uint8Array<ArrayBuffer>;
  type: string;
  /** The bundled module that serves it (this tree's, or the A/B base's). */
  module?: string;
  /** Not run on the A/B base (a scenario the base's bench Worker may not have). */
  noBase?: boolean;
}

async function post(base: string, s: Scenario): Promise<Record<string, unknown>> {
  const res = await fetch(base + s.path, { method: "POST", body: s.body, headers: { "content-type": s.type, "content-encoding": "gzip" } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${s.name}: ${res.status} ${text.slice(0, 2000)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** The commit measured, and whether the Worker's sources differ from it (the bench bundles the working tree). */
function treeState(): string {
  const git = (...args: string[]) => spawnSync("git", args, { cwd: root, encoding: "utf8" }).stdout?.trim() ?? "";
  const head = git("rev-parse", "--short", "HEAD") || "unknown";
  const changed = git("status", "--porcelain", "--", "workers", "bench/workerd").split("\n").filter(Boolean).length;
  return changed ? `${head} + ${changed} uncommitted file(s) in workers/ or bench/workerd/` : head;
}

const signed = (x: number) => `${x < 0 ? "−" : "+"}${Math.abs(x).toFixed(2)}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "porchlight-workerd-bench-"));
  const children: ChildProcess[] = [];
  let log = "";
  // Also on an uncaught error or Ctrl-C (process.exit skips `finally`): workerd must not outlive the bench.
  const stop = () => {
    for (const child of children) if (child.pid && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", stop);
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));
  try {
    const compat = productionCompat();
    const workerd = workerdBinary();
    const module = bundle(dir, compat);
    /**
     * One workerd (one isolate) per scenario: a deployed isolate sees one relay's batches, all alike,
     * and V8 optimizes for what it has seen; one isolate running every scenario in turn measured the
     * relay's own path 2 ms slower than it runs alone. Requests still alternate between the processes
     * in blocks, so a busy stretch of the machine falls on every scenario alike.
     */
    const baseModule = BASE ? bundle(dir, compat, { from: BASE, name: "base" }) : undefined;
    const start = async (i: number, mod = module) => {
      const port = await freePort();
      const config = writeConfig(dir, `workerd-${i}.capnp`, mod, `127.0.0.1:${port}`, compat);
      const child = spawn(workerd.bin, ["serve", config], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      // Kept for an error report only: workerd warns on every start that nodejs_compat (production's
      // flag) is now implied by the compatibility date.
      const keep = (d: Buffer) => (log = (log + d.toString()).slice(-4000));
      child.stdout!.on("data", keep);
      child.stderr!.on("data", keep);
      return { child, pid: child.pid!, base: `http://127.0.0.1:${port}`, args: ["serve", config] };
    };

    const lines = generateCorpus(1000);
    const textGz = gzipSync(lines.join("\n") + "\n");
    // The same lines as the relay sends them: NDJSON records (relay/sources/source.ts) received over one
    // second, each with its own received_at.
    const ndjson = relayNdjson(lines);
    const ndGz = gzipSync(ndjson);
    const TEXT = "text/plain", ND = "application/x-ndjson";

    const ready = async (w: Awaited<ReturnType<typeof start>>) => {
      for (let i = 0; ; i++) {
        if (w.child.exitCode !== null) throw new Error(`workerd exited with ${w.child.exitCode}`);
        if (i > 150) throw new Error("workerd did not start");
        try {
          await post(w.base, { name: "start", what: "", path: "/empty", body: textGz, type: TEXT });
          return w;
        } catch { /* starting */ }
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const first = await ready(await start(0));

    // 10 stateful rules that all match: the pack's stateful rules that the bench corpus never triggers
    // (when written: dropbear, sudo, router web login, backup heartbeat) are counted by a probe, and as
    // many more bench thresholds (they match the corpus's sshd failures) are enabled; checked below.
    const probe = await post(first.base, { name: "probe", what: "", path: "/evaluate?stateful=10", body: textGz, type: TEXT });
    const silent = (probe.statefulEnabled as number) - (probe.statefulMatching as number);
    const scenarios: Scenario[] = [
      { name: "empty", what: "read the body, answer (per-request baseline)", path: "/empty", body: textGz, type: TEXT },
      { name: "ingest text", what: "1000 lines text/plain gzip: decode, prepareBatch, INSERT JSON, D1 encoding, default-pack planning", path: "/ingest", body: textGz, type: TEXT },
      { name: "ingest ndjson", what: "the same lines as NDJSON gzip, as the relay sends them", path: "/ingest", body: ndGz, type: ND },
      { name: "ingest + evaluate", what: "text ingest + evaluateBatch's Worker side, rules of bench/evaluate.bench.ts (10 stateful enabled)", path: "/evaluate?stateful=10", body: textGz, type: TEXT },
      { name: "ingest + 10 matching", what: `text ingest + evaluateBatch's Worker side, ${10 + silent} stateful enabled of which 10 match`, path: `/evaluate?stateful=${10 + silent}`, body: textGz, type: TEXT },
      { name: "ndjson + 10 matching", what: "the same with the NDJSON the relay sends: the relay's path with 10 stateful rules matching", path: `/evaluate?stateful=${10 + silent}`, body: ndGz, type: ND },
      { name: "ndjson + 10 + archive", what: "the same and the R2 archive's object (the body as it arrived, and its metadata), which ingest writes when ARCHIVE is bound (wrangler.toml binds it)", path: `/evaluate?stateful=${10 + silent}&archive=1`, body: ndGz, type: ND, noBase: true },
    ];
    const ours = scenarios.length;
    // The empty request runs the same code on both sides: measured once. Each base scenario right
    // after its twin, so that the pair is measured back to back.
    if (baseModule) {
      for (let i = ours - 1; i >= 1; i--) {
        const s = scenarios[i]!;
        if (s.noBase) continue;
        scenarios.splice(i + 1, 0, { ...s, name: `base: ${s.name}`, what: `${s.what} (A/B base ${BASE})`, module: baseModule });
      }
    }

    // The probe's process serves the first scenario; each other scenario gets its own.
    const procs = [first];
    for (let i = 1; i < scenarios.length; i++) procs.push(await ready(await start(i, scenarios[i]!.module)));
    const proc = new Map(scenarios.map((s, i) => [s.name, procs[i]!]));
    const summaries = new Map<string, Record<string, unknown>>();
    // Warm-up in the same interleaved order as the rounds: the scenarios share code (text and NDJSON,
    // several rule sets), and V8 re-optimizes it once it has seen them all.
    for (let done = 0; done < WARMUP; done += BLOCK) {
      for (const s of scenarios) for (let i = 0; i < BLOCK; i++) summaries.set(s.name, await post(proc.get(s.name)!.base, s));
    }
    for (const name of ["ingest + 10 matching", ...(baseModule ? ["base: ingest + 10 matching"] : [])]) {
      const all = summaries.get(name)!;
      if (all.statefulMatching !== 10) throw new Error(`${name}: expected 10 matching stateful rules, got ${JSON.stringify(all)}`);
    }
    const clkTck = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
    const rounds = new Map<string, number[]>(scenarios.map((s) => [s.name, []]));
    const mainThread = new Map<string, number[]>(scenarios.map((s) => [s.name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      const total = new Map<string, number>(), main = new Map<string, number>();
      for (let done = 0; done < REQUESTS; done += BLOCK) {
        for (const s of scenarios) {
          const w = proc.get(s.name)!;
          const c0 = workerdCpu(w.pid, clkTck);
          for (let i = 0; i < Math.min(BLOCK, REQUESTS - done); i++) await post(w.base, s);
          const c1 = workerdCpu(w.pid, clkTck);
          total.set(s.name, (total.get(s.name) ?? 0) + c1.total - c0.total);
          main.set(s.name, (main.get(s.name) ?? 0) + c1.main - c0.main);
        }
      }
      for (const s of scenarios) {
        rounds.get(s.name)!.push(total.get(s.name)! / REQUESTS);
        mainThread.get(s.name)!.push(main.get(s.name)! / REQUESTS);
      }
    }

    const empty = median(rounds.get("empty")!);
    const emptyMain = median(mainThread.get("empty")!);
    console.log(`Worker-side CPU per request in workerd ${workerd.version} (process utime + stime over ${REQUESTS} requests, median of ${ROUNDS} interleaved rounds, one workerd per scenario; net = gross − empty):`);
    for (const s of scenarios) {
      const xs = rounds.get(s.name)!;
      const gross = median(xs);
      const main = median(mainThread.get(s.name)!);
      const net = s.name === "empty" ? "".padEnd(15) : `  net ${(gross - empty).toFixed(2).padStart(5)} ms`;
      const mainNet = s.name === "empty" ? "" : `, net ${(main - emptyMain).toFixed(2)}`;
      // What evaluation adds to the same batch's ingest.
      const base = (s.module ? "base: " : "") + (s.type === ND ? "ingest ndjson" : "ingest text");
      const over = s.path.startsWith("/evaluate") ? `; ${signed(gross - median(rounds.get(base)!))} ms over ${base}` : "";
      // The least disturbed round too: other load on the machine only ever adds CPU time.
      console.log(`  ${s.name.padEnd(22)} gross ${gross.toFixed(2).padStart(5)} ms${net}   (rounds ${xs.map((x) => x.toFixed(2)).join(", ")}, min ${Math.min(...xs).toFixed(2)}; main thread ${main.toFixed(2)}${mainNet}${over})`);
      console.log(`  ${"".padEnd(22)} ${s.what}`);
    }
    const sum = (name: string) => summaries.get(name)!;
    const text = sum("ingest text"), nd = sum("ingest ndjson");
    console.log(`  batch: ${text.accepted} lines accepted (${text.parseErrors} parse errors), ${text.statements} INSERT statement(s), ${text.d1Bytes} B D1 request JSON; ` +
      `${textGz.length} B gzip text, ${ndGz.length} B gzip NDJSON (${nd.accepted} accepted)`);
    console.log(`  ndjson + 10 + archive: ${sum("ndjson + 10 + archive").archived} B archived per batch (the body as it arrived)`);
    for (const name of ["ingest + evaluate", "ingest + 10 matching", "ndjson + 10 matching"]) {
      const e = sum(name);
      console.log(`  ${name}: ${e.statefulMatching} of ${e.statefulEnabled} stateful rules match, ${e.calls} RuleState calls carrying ${e.matched} matches, ${e.alertInputs} alert inputs rendered`);
    }
    if (baseModule) {
      console.log(`A/B against ${BASE} (gross ms, ${ROUNDS} interleaved rounds; diff = this tree − base, per round, then the median):`);
      for (const s of scenarios.filter((x) => x.name !== "empty" && !x.module && !x.noBase)) {
        const a = rounds.get(s.name)!, b = rounds.get(`base: ${s.name}`)!;
        const diffs = a.map((x, i) => x - b[i]!);
        console.log(`  ${s.name.padEnd(22)} this ${median(a).toFixed(2).padStart(5)}  base ${median(b).toFixed(2).padStart(5)}  diff ${signed(median(diffs))} ms (per round ${diffs.map(signed).join(", ")}; faster in ${diffs.filter((d) => d < 0).length} of ${diffs.length})`);
      }
    }
    console.log(`  RPC payloads are structuredClone'd (serialize + deserialize) as a stand-in for the V8 serialization of a Durable Object RPC: an upper bound for the Worker's share.`);
    console.log(`  gross includes workerd's HTTP handling and V8's background threads (concurrent GC, compilation), which the main thread's figure leaves out; load average ${loadavg()[0]!.toFixed(1)}, node ${process.version}`);
    console.log(`  workerd: ${workerd.bin} ${first.args.join(" ")} (and one such process per scenario; package ${workerd.dir})`);
    console.log(`  tree: ${treeState()}`);
    console.log(`  command: ${COMMAND}`);
  } catch (err) {
    if (log) console.error(`workerd output (last 4000 characters):\n${log}`);
    throw err;
  } finally {
    stop();
  }
}

await main();
