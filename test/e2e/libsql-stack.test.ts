/**
 * A whole stack on libSQL: real `wrangler dev` (Worker, Durable Objects) with LIBSQL_URL and
 * LIBSQL_AUTH_TOKEN from an env file (never a command line), against a libSQL server on loopback
 * (test/hrana-server.ts over a libSQL `file:` database). Local D1 is left without migrations: any call
 * that reached D1 would fail with "no such table", so a passing ingest → alert → search proves the
 * routes and the RuleState objects all went to libSQL, and the rows are read back from its file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHranaServer, type HranaServer } from "../hrana-server.ts";
import { freePort, ROOT as root } from "./stack.ts";

const ADMIN = "e2e-libsql-admin-" + Math.random().toString(36).slice(2);
const DB_TOKEN = "libsql-token-" + Math.random().toString(36).slice(2);

let dir: string;
let server: HranaServer;
let child: ChildProcess;
let output = "";
let base: string;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, ...(init.headers as object) } });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "porchlight-libsql-stack-"));
  server = await startHranaServer({ file: join(dir, "porchlight.db"), authToken: DB_TOKEN });
  const migrations = join(root, "migrations");
  for (const f of readdirSync(migrations).filter((f) => f.endsWith(".sql")).sort()) {
    await server.client.executeMultiple(readFileSync(join(migrations, f), "utf8").replaceAll("--> statement-breakpoint", ""));
  }
  const envFile = join(dir, "stack.env");
  writeFileSync(envFile, `ADMIN_TOKEN="${ADMIN}"\nLIBSQL_URL="${server.url}"\nLIBSQL_AUTH_TOKEN="${DB_TOKEN}"\n`, { mode: 0o600 });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(join(root, "node_modules", ".bin", "wrangler"), ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", join(dir, "state"), "--env-file", envFile, "--inspector-port", String(await freePort())], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited:\n${output.slice(-3000)}`);
    if (Date.now() - started > 110_000) throw new Error(`wrangler dev not ready:\n${output.slice(-3000)}`);
    const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 300));
  }
});

afterAll(async () => {
  if (child?.pid && child.exitCode === null) {
    process.kill(-child.pid, "SIGTERM");
    await new Promise((r) => { child.on("exit", r); setTimeout(r, 15_000); });
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* already gone */ }
  }
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a stack on libSQL", () => {
  it("ingests, alerts and searches with every row in the libSQL database", async () => {
    const rule = { name: "libsql stack brute force", type: "threshold", match: { "event.category": "authentication", "event.outcome": "failure" }, group_by: ["source.ip"], threshold: 3, window: "5m", title: "Brute force from {{source.ip}}" };
    const created = await api("/v1/rules", { method: "POST", body: JSON.stringify(rule), headers: { "content-type": "application/json" } });
    expect(created.status, await created.clone().text()).toBe(201);

    const now = Date.now();
    const lines = [0, 1, 2, 3].map((i) => `<38>1 ${new Date(now - 4000 + i * 1000).toISOString()} nas sshd 1 - - Failed password for root from 198.51.100.77 port ${40000 + i} ssh2`);
    const res = await api("/v1/ingest", { method: "POST", body: lines.join("\n") + "\n", headers: { "content-type": "text/plain", "idempotency-key": "libsql-stack-1" } });
    const body = (await res.json()) as { stored: number; alerts: number };
    expect(res.status, JSON.stringify(body) + output.slice(-2000)).toBe(200);
    expect(body.stored).toBe(4);

    const alerts = (await (await api("/v1/alerts")).json()) as { alerts: { title: string }[] };
    expect(alerts.alerts.map((a) => a.title)).toContain("Brute force from 198.51.100.77");
    const events = (await (await api("/v1/events?src_ip=198.51.100.77&last=1h")).json()) as { events: unknown[] };
    expect(events.events).toHaveLength(4);

    // The rows are in the libSQL file, written through the server.
    const n = await server.client.execute("SELECT (SELECT COUNT(*) FROM events WHERE src_ip = '198.51.100.77') AS events, (SELECT COUNT(*) FROM alerts) AS alerts, (SELECT COUNT(*) FROM rules) AS rules");
    expect(Number(n.rows[0]!.events)).toBe(4);
    expect(Number(n.rows[0]!.alerts)).toBeGreaterThanOrEqual(1);
    expect(Number(n.rows[0]!.rules)).toBe(1);
    expect(server.requests()).toBeGreaterThan(3);
  });
});
