/**
 * Notification benchmark (issue 11). Two figures, each printed with the command that reproduces it:
 *
 * (a) Alert → receiver latency: the real Worker under `wrangler dev` (local D1 and Durable Objects in a
 *     temp dir) with 100 webhook channels pointing at a local receiver (Node HTTP on 127.0.0.1), 100
 *     `single` rules (one per channel, each channel's filter names its rule), and ONE ingest batch of
 *     1,000 lines that raises 1,000 alerts (10 per rule). Latency per delivery = arrival at the receiver
 *     − the alert's updated_at (the instant its D1 write began); p50, p95 and max over the 1,000. Also the
 *     ingest request's wall time (it must not wait for any send), and then single alerts one at a time.
 * (b) Added Worker CPU per ingest batch: what the ingest Worker does for notifications (summaries of the
 *     changed alerts and the structured-clone serialization of the Notifier RPC's argument), for a batch
 *     that changes 1,000 alerts; measured in Node with process.cpuUsage, median and p95 over 200 calls.
 *     The Notifier's own work runs in its Durable Object, outside the ingest request's CPU budget.
 *
 * `node bench/notify.bench.ts latency` or `... cpu` runs one part.
 */
import { createServer as createHttpServer } from "node:http";
import { serialize } from "node:v8";
import { medianP95 } from "./cpu.ts";
import { summarizeAlert, type AlertSummary } from "../workers/notify/model.ts";
import { startWranglerDev } from "./wrangler-dev.ts";

const parts = process.argv.slice(2);
const run = (p: string) => parts.length === 0 || parts.includes(p);
const CHANNELS = 100;
const ALERTS = 1000;
/** Single alerts timed after the burst. */
const SINGLES = 9;

// --- (b) CPU

function cpuBench(): void {
  const now = Date.now();
  const alerts = Array.from({ length: ALERTS }, (_, i) => ({
    id: `al_${i.toString(16).padStart(24, "0")}`, rule_id: `bench-${i % CHANNELS}`, resource: "nas", group: { "source.ip": `198.51.100.${i % 250}` },
    severity: "high", previous_severity: null, status: "open", title: `Login of bench${i % CHANNELS} from 198.51.100.${i % 250}`, text: "Accepted password for bench over ssh2",
    duplicate_count: 0, count: 1, event_ids: [`01J${i}`], magnitude: 0, tags: ["ssh"], attributes: {}, first_seen: new Date(now).toISOString(),
    last_seen: new Date(now).toISOString(), shelved_until: null, expires_at: null, updated_at: new Date(now).toISOString(),
  }));
  const f = () => serialize(alerts.map((a) => summarizeAlert(a as unknown as AlertSummary)));
  for (let i = 0; i < 20; i++) f();
  const xs: number[] = [];
  for (let i = 0; i < 200; i++) {
    const a = process.cpuUsage();
    f();
    const d = process.cpuUsage(a);
    xs.push((d.user + d.system) / 1000);
  }
  const { median, p95 } = medianP95(xs);
  console.log(`Added ingest-Worker CPU for notifications, batch changing ${ALERTS} alerts: median ${median.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms (summaries + RPC argument serialization)`);
  console.log(`  command: node bench/notify.bench.ts cpu`);
}

// --- (a) latency

async function latencyBench(): Promise<void> {
  const arrivals: number[] = [];
  let done: () => void = () => {};
  let want = ALERTS;
  let all = new Promise<void>((r) => (done = r));
  const receiver = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { alert?: { updated_at: string } };
      if (body.alert) arrivals.push(at - Date.parse(body.alert.updated_at));
      res.writeHead(200).end("ok");
      if (arrivals.length >= want) done();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const recv = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

  const admin = "bench-admin-token-0123456789";
  const { base, stop } = await startWranglerDev({ ADMIN_TOKEN: admin, NOTIFY_KEY: "YmVuY2gtbm90aWZ5LWtleS0wMTIzNDU2Nzg5YWJjZGVm", PUBLIC_URL: (b) => b });
  const auth = { authorization: `Bearer ${admin}`, "content-type": "application/json" };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(base + path, { method: "POST", headers: auth, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  };
  try {
    for (let j = 0; j < CHANNELS; j++) {
      await post("/v1/rules", { id: `bench-${j}`, name: `bench ${j}`, type: "single", match: { "user.name": `bench${j}` }, group_by: ["source.ip"], severity: "high", title: "Login of {{user.name}} from {{source.ip}}" });
      await post("/v1/channels", { name: `ch${j}`, type: "webhook", config: { url: `${recv}/c${j}` }, filter: { rules: [`bench-${j}`] } });
    }
    const lines = Array.from({ length: ALERTS }, (_, i) => `<38>Nov 22 10:00:01 nas sshd[811]: Accepted password for bench${i % CHANNELS} from 198.51.${Math.floor(i / CHANNELS)}.${i % CHANNELS} port 52141 ssh2`);
    const t0 = Date.now();
    const res = await fetch(`${base}/v1/ingest`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "text/plain" }, body: lines.join("\n") + "\n" });
    const ingestMs = Date.now() - t0;
    const body = (await res.json()) as { alerts: number };
    if (!res.ok || body.alerts !== ALERTS) throw new Error(`ingest: ${res.status} ${JSON.stringify(body)}`);
    const timeout = setTimeout(done, 120_000);
    await all;
    clearTimeout(timeout);
    const sorted = [...arrivals].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
    console.log(`Alert → receiver, ${ALERTS} alerts over ${CHANNELS} webhook channels from one 1,000-line ingest batch: p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${sorted.at(-1)} ms (${arrivals.length} delivered); ingest request ${ingestMs} ms wall`);
    // One alert on its own, the burst drained: what a single alert costs end to end (median of SINGLES).
    const singles: number[] = [];
    for (let k = 0; k < SINGLES; k++) {
      want = arrivals.length + 1;
      all = new Promise<void>((r) => (done = r));
      const line = `<38>Nov 22 10:00:02 nas sshd[811]: Accepted password for bench${k} from 203.0.113.${k + 1} port 52141 ssh2`;
      const r1 = await fetch(`${base}/v1/ingest`, { method: "POST", headers: { authorization: `Bearer ${admin}`, "content-type": "text/plain" }, body: line + "\n" });
      if (!r1.ok) throw new Error(`ingest: ${r1.status}`);
      const t = setTimeout(done, 30_000);
      await all;
      clearTimeout(t);
      singles.push(arrivals.at(-1)!);
    }
    singles.sort((a, b) => a - b);
    console.log(`Alert → receiver, one alert at a time (${SINGLES} alerts): median ${singles[Math.floor(SINGLES / 2)]} ms, max ${singles.at(-1)} ms`);
    console.log(`  command: node bench/notify.bench.ts latency   (wrangler dev + local D1/Durable Objects in a temp dir, receiver on 127.0.0.1)`);
  } finally {
    receiver.close();
    await stop();
  }
}

if (run("cpu")) cpuBench();
if (run("latency")) await latencyBench();
