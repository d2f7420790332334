/**
 * Where the Worker's CPU goes inside workerd: a V8 CPU profile of one bench/workerd.bench.ts scenario.
 *
 *   node bench/workerd/profile.ts [path] [text|ndjson] [requests]
 *   (defaults: "/evaluate?stateful=14" — the relay's path with 10 stateful rules matching —, ndjson, 300)
 *
 * The bench Worker is bundled and served as the bench does it (bench/workerd/harness.ts), with workerd's
 * own inspector on; after 150 warm-up requests the profiler samples every 50 µs over `requests` requests.
 * Printed per request: the busy time (sampling adds ≈10–30% to it, so compare shares, not these ms with
 * the bench's), the pipeline stages inclusive, and the functions with the most self time (a builtin's
 * time counts as its caller's self time). The profile file opens in Chrome DevTools (Performance tab).
 * Not a `*.bench.ts`: `npm run bench` does not run it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { generateCorpus, relayNdjson } from "../corpus.ts";
import { bundle, freePort, productionCompat, workerdBinary, writeConfig } from "./harness.ts";

const path = process.argv[2] ?? "/evaluate?stateful=14";
const kind = process.argv[3] === "text" ? "text" : "ndjson";
const REQUESTS = Number(process.argv[4] ?? 300);
const WARMUP = 150;
/** The ingest path's stages as the bench Worker calls them (`ingest`'s own time is the D1 binding's JSON encoding). */
const STAGES = ["readIngestBody", "prepareBatch", "normalize", "build", "insertEventStatements", "ingest", "planBatch", "matchBatch", "packMatches", "evaluate"];

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

const dir = mkdtempSync(join(tmpdir(), "porchlight-workerd-profile-"));
const compat = productionCompat();
const module = bundle(dir, compat);
const port = await freePort(), inspector = await freePort();
const config = writeConfig(dir, "workerd.capnp", module, `127.0.0.1:${port}`, compat);
const child = spawn(workerdBinary().bin, ["serve", config, `--inspector-addr=127.0.0.1:${inspector}`], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
const stop = () => {
  if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", stop);

const lines = generateCorpus(1000);
const body = gzipSync(kind === "ndjson" ? relayNdjson(lines) : lines.join("\n") + "\n");
const type = kind === "ndjson" ? "application/x-ndjson" : "text/plain";
const post = async (p: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { method: "POST", body, headers: { "content-type": type, "content-encoding": "gzip" } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${p}: ${res.status} ${text.slice(0, 500)}`);
  return text;
};
for (let i = 0; ; i++) {
  try {
    await post("/empty");
    break;
  } catch (err) {
    if (i > 150 || child.exitCode !== null) throw err;
    await new Promise((r) => setTimeout(r, 200));
  }
}
for (let i = 0; i < WARMUP; i++) await post(path);

// Chrome DevTools Protocol over workerd's inspector (one target: the bench Worker).
const targets = (await (await fetch(`http://127.0.0.1:${inspector}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl);
await new Promise((r, j) => (ws.addEventListener("open", r), ws.addEventListener("error", j)));
let next = 0;
const waiting = new Map<number, (result: unknown) => void>();
ws.addEventListener("message", (m) => {
  const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
  if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result);
});
const send = <T>(method: string, params: object = {}) =>
  new Promise<T>((resolve) => {
    const id = ++next;
    waiting.set(id, resolve as (r: unknown) => void);
    ws.send(JSON.stringify({ id, method, params }));
  });
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 50 });
await send("Profiler.start");
const summary = await post(path);
for (let i = 1; i < REQUESTS; i++) await post(path);
const { profile } = await send<{ profile: Profile }>("Profiler.stop");
ws.close();
const file = join(tmpdir(), `porchlight-workerd-${Date.now()}.cpuprofile`);
writeFileSync(file, JSON.stringify(profile));

// Self time per node, then per function (name + line) and inclusive per stage name.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const name = (n: ProfileNode) => n.callFrame.functionName || "(anonymous)";
let busy = 0;
const selfByFunction = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const n = byId.get(id)!;
  if (name(n) === "(idle)") continue;
  busy += t;
  const key = `${name(n)} ${n.callFrame.url.split("/").pop() ?? ""}:${n.callFrame.lineNumber + 1}`;
  selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + t);
  const seen = new Set<string>(); // a recursive function counts once per sample
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = name(byId.get(cur)!);
    if (!seen.has(f)) (seen.add(f), inclusive.set(f, (inclusive.get(f) ?? 0) + t));
  }
}
const ms = (us: number) => (us / 1000 / REQUESTS).toFixed(3).padStart(7);
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
console.log(`workerd CPU profile of POST ${path} (${kind}, 1000-line gzip batch), ${REQUESTS} requests after ${WARMUP} warm-up: ${ms(busy).trim()} ms busy per request (profiler overhead included)`);
console.log(`  response: ${summary.slice(0, 200)}`);
console.log("  stages, inclusive, ms per request:");
for (const s of STAGES) if (inclusive.has(s)) console.log(`  ${ms(inclusive.get(s)!)} ${pct(inclusive.get(s)!)}  ${s}`);
console.log("  most self time, ms per request:");
for (const [k, t] of [...selfByFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${ms(t)} ${pct(t)}  ${k}`);
console.log(`  profile: ${file}`);
console.log(`  command: node bench/workerd/profile.ts ${path} ${kind} ${REQUESTS}`);
process.exit(0);
