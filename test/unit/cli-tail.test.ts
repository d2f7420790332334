/**
 * `porchlight tail` reconnects: a loopback socket speaking the LiveHub's protocol (hello, then alert
 * messages) drops the first connection; the CLI reconnects with its bearer token and prints the alert
 * sent on the second. The real hub is exercised by test/e2e/cli.test.ts; dropping its socket on cue
 * is what only a loopback server can do.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { WebSocketServer } from "ws";

const CLI = join(resolve(import.meta.dirname, "../.."), "cli/bin/porchlight.js");
let server: Server;
let port = 0;
const auth: string[] = [];

beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server, path: "/live" });
  let n = 0;
  wss.on("connection", (ws, req) => {
    auth.push(String(req.headers.authorization));
    ws.send(JSON.stringify({ type: "hello", at: Date.now() }));
    if (++n === 1) {
      ws.close(1012, "restarting");
      return;
    }
    ws.send(JSON.stringify({ type: "alerts", at: Date.now(), alerts: [{ id: "al_1", rule_id: "r", resource: "nas", severity: "high", status: "open", title: "After the reconnect", duplicate_count: 2, last_seen: "2026-12-06T12:00:00.000Z" }] }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

it("reconnects after the socket drops and prints the next alert, one line", async () => {
  const child = spawn(process.execPath, [CLI, "tail", "--once"], { env: { ...process.env, PORCHLIGHT_URL: `http://127.0.0.1:${port}`, PORCHLIGHT_TOKEN: "pl_tailtest_secret", PORCHLIGHT_PROFILE: "", NO_COLOR: "1" } });
  let out = "", err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  expect(code, err).toBe(0);
  expect(err).toMatch(/connected to http:\/\/127\.0\.0\.1:\d+, waiting for alerts\n.*reconnected/s);
  expect(out).toBe("2026-12-06T12:00:00.000Z high     open    al_1 r nas After the reconnect (x3)\n");
  expect(auth).toEqual(["Bearer pl_tailtest_secret", "Bearer pl_tailtest_secret"]);
});
