/**
 * The relay against the real Worker: `wrangler dev` with local D1 (migrations applied to a temp
 * persist dir) and the relay as a child process. Lines sent with util-linux `logger` over UDP and
 * TCP must be found through GET /v1/events?q=... with the admin token.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Relay, waitFor } from "../relay/helpers.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const ADMIN = "e2e-admin-token-" + Math.random().toString(36).slice(2);
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

function freePort(): Promise<number> {
  return new Promise((r) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
}

let wrangler: ChildProcess | null = null;
let relay: Relay | null = null;
let base = "";
let wlog = "";

beforeAll(async () => {
  const persist = mkdtempSync(join(tmpdir(), "relay-e2e-"));
  const env = { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" };
  execFileSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], { cwd: ROOT, env, stdio: "pipe" });
  const port = await freePort();
  const inspector = await freePort();
  wrangler = spawn(WRANGLER, ["dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--persist-to", persist, "--var", `ADMIN_TOKEN:${ADMIN}`, "--show-interactive-dev-session=false"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  wrangler.stdout!.on("data", (c: Buffer) => (wlog += c.toString()));
  wrangler.stderr!.on("data", (c: Buffer) => (wlog += c.toString()));
  base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, 90_000, () => `wrangler dev did not start:\n${wlog.slice(-3000)}`);
});

afterAll(async () => {
  if (relay && relay.proc.exitCode === null) await relay.kill("SIGTERM");
  if (wrangler?.pid) {
    try {
      process.kill(-wrangler.pid, "SIGTERM"); // the process group: wrangler and its workerd
    } catch {
      /* already gone */
    }
  }
});

it("syslog sent with logger over UDP and TCP reaches D1 through the relay and is searchable", async () => {
  const res = await fetch(`${base}/v1/tokens`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: JSON.stringify({ name: "e2e relay", scopes: ["ingest"] }) });
  expect(res.status).toBe(201);
  const { token } = (await res.json()) as { token: string };
  const spool = mkdtempSync(join(tmpdir(), "relay-e2e-spool-"));
  relay = await new Relay(["--endpoint", base, "--token", token, "--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--spool", spool, "--metrics", "127.0.0.1:0", "--batch-wait-ms", "200", "--name", "e2e-relay"]).ready(["udp", "tcp", "metrics"]);
  const tag = "porchlight-e2e-" + Date.now().toString(36);
  execFileSync("logger", ["-n", "127.0.0.1", "-P", String(relay.port("udp")), "-d", "-t", "e2etest", `${tag} over udp`]);
  execFileSync("logger", ["-n", "127.0.0.1", "-P", String(relay.port("tcp")), "-T", "-t", "e2etest", `${tag} over tcp`]);
  execFileSync("logger", ["-n", "127.0.0.1", "-P", String(relay.port("tcp")), "-T", "--octet-count", "--rfc3164", "-t", "e2etest", `${tag} octet counted`]);
  type Ev = { raw: string; message?: string; log?: { syslog?: { transport?: string } }; porchlight?: { transport?: string; source_ip?: string } };
  let events: Ev[] = [];
  await waitFor(
    async () => {
      const r = await fetch(`${base}/v1/events?q=${encodeURIComponent(tag)}&last=1h`, { headers: { authorization: `Bearer ${ADMIN}` } });
      if (!r.ok) return false;
      events = ((await r.json()) as { events: Ev[] }).events;
      return events.length >= 3;
    },
    30_000,
    () => `found ${events.length}; relay: ${relay!.stderr.slice(-1500)}`,
  );
  const raws = events.map((e) => e.raw).sort();
  expect(raws.some((r) => r.endsWith(`${tag} over udp`))).toBe(true);
  expect(raws.some((r) => r.endsWith(`${tag} over tcp`))).toBe(true);
  expect(raws.some((r) => r.endsWith(`${tag} octet counted`))).toBe(true);
  expect(events).toHaveLength(3);
  // Events are searchable once their INSERT commits; the relay counts them as sent only after the
  // edge's 2xx, which follows rule evaluation. Wait (bounded) for the acknowledgement.
  let m = await relay.metrics();
  await waitFor(
    async () => (m = await relay!.metrics()).get('porchlight_relay_sent_total{component="https"}') === 3,
    10_000,
    () => `sent_total ${m.get('porchlight_relay_sent_total{component="https"}')}`,
  );
  expect(m.get('porchlight_relay_sent_total{component="https"}')).toBe(3);
  expect(m.get('porchlight_relay_rejected_total{component="https"}')).toBe(0);
});
