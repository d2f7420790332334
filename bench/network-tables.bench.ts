/**
 * The network lookup tables in real workerd (`npm run bench -- network-tables`): the cold load of each
 * table (forget the isolate's cache, fetch through the ASSETS binding, copy, view as typed arrays) and
 * the cost of a lookup once loaded. bench/workerd/tables-entry.ts is bundled as a deploy would bundle
 * it and served by wrangler's workerd (`workerd serve`, bench/workerd/tables.capnp), with ASSETS bound
 * to web/public through workerd's disk service, standing in for Cloudflare's asset service.
 *
 * CPU is the workerd process's utime + stime (/proc, 10 ms ticks) over many requests, per request,
 * minus an empty request's: it includes the disk service reading the file in the same process, so it
 * is an upper bound of what the isolate is billed. Wall time is the client's median request time minus
 * an empty request's. Lookup cost is CPU per lookup, minus making the same addresses without lookups.
 * `node bench/network-tables.bench.ts [loads]` (default 60 cold loads per table).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NETWORK_DATA } from "../workers/network/data/manifest.ts";
import { bundle, freePort, productionCompat, root, workerdBinary, writeConfig } from "./workerd/harness.ts";

const LOADS = Number(process.argv[2] ?? 60);
const LOOKUPS = 200_000;
const COMMAND = `node bench/network-tables.bench.ts${process.argv[2] ? ` ${process.argv[2]}` : ""}`;

function cpuMs(pid: number, clkTck: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / clkTck;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "porchlight-tables-bench-"));
  let child: ChildProcess | null = null;
  const stop = () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", stop);
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => process.exit(130));
  const compat = productionCompat();
  const workerd = workerdBinary();
  const module = bundle(dir, compat, { entry: "bench/workerd/tables-entry.ts" });
  const port = await freePort();
  const config = writeConfig(dir, "workerd.capnp", module, `127.0.0.1:${port}`, compat, "bench/workerd/tables.capnp", { assets: join(root, "web/public") });
  let log = "";
  child = spawn(workerd.bin, ["serve", config], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  const get = async (path: string): Promise<{ ms: number; body: Record<string, number> }> => {
    const t0 = performance.now();
    const res = await fetch(base + path);
    const text = await res.text();
    if (!res.ok) throw new Error(`${path}: ${res.status} ${text.slice(0, 500)}\n${log}`);
    return { ms: performance.now() - t0, body: JSON.parse(text) as Record<string, number> };
  };
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`workerd exited: ${log}`);
    if (i > 150) throw new Error(`workerd did not start: ${log}`);
    try {
      await get("/empty");
      break;
    } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  const clkTck = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
  const pid = child.pid!;
  /** CPU ms per request and the median wall ms of `n` requests of `path`. */
  const measure = async (path: string, n: number) => {
    const walls: number[] = [];
    const c0 = cpuMs(pid, clkTck);
    for (let i = 0; i < n; i++) walls.push((await get(path)).ms);
    return { cpu: (cpuMs(pid, clkTck) - c0) / n, wall: median(walls) };
  };

  // Warm-up: JIT of the loader and lookups, so that "cold" is the table's, not the code's.
  for (const name of Object.keys(NETWORK_DATA.files)) for (let i = 0; i < 5; i++) await get(`/load?table=${name}`);
  for (let i = 0; i < 3; i++) await get(`/ip?n=${LOOKUPS}`), await get(`/mac?n=${LOOKUPS}`);

  const empty = await measure("/empty", LOADS * 2);
  console.log(`Network tables in workerd ${workerd.version}, ASSETS through workerd's disk service (${COMMAND}):`);
  console.log(`  cold load of one table (${LOADS} loads each; CPU = process CPU per load − an empty request's ${empty.cpu.toFixed(2)} ms; wall = median − ${empty.wall.toFixed(2)} ms):`);
  for (const [name, file] of Object.entries(NETWORK_DATA.files)) {
    const m = await measure(`/load?table=${name}`, LOADS);
    const bytes = NETWORK_DATA.bytes[name as keyof typeof NETWORK_DATA.bytes];
    console.log(`    ${name.padEnd(10)} ${(bytes / 1024).toFixed(0).padStart(5)} KiB  CPU ${(m.cpu - empty.cpu).toFixed(2).padStart(5)} ms   wall ${(m.wall - empty.wall).toFixed(2).padStart(5)} ms   (${file})`);
  }
  const rounds = 5;
  for (const [what, path] of [["lookupIp (1 in 5 IPv6)", "/ip"], ["macVendor", "/mac"]] as const) {
    const per: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const real = await measure(`${path}?n=${LOOKUPS}`, 3), dry = await measure(`${path}?n=${LOOKUPS}&dry=1`, 3);
      per.push(((real.cpu - dry.cpu) / LOOKUPS) * 1000);
    }
    console.log(`  ${what}: ${median(per).toFixed(2)} µs CPU per lookup (median of ${rounds} rounds of 3 × ${LOOKUPS.toLocaleString("en")}, tables loaded)`);
  }
  stop();
}

await main();
