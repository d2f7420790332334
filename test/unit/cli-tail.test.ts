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
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    // A server from before bearer sockets: /live wants a browser session and says so.
    if (req.headers.authorization === "Bearer old-server") {
      const body = JSON.stringify({ error: { code: "unauthorized", message: "Log in first" } });
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });
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

const tail = (token: string) =>
  new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, "tail", "--once"], { env: { ...process.env, PORCHLIGHT_URL: `http://127.0.0.1:${port}`, PORCHLIGHT_TOKEN: token, PORCHLIGHT_PROFILE: "", NO_COLOR: "1" } });
    let out = "", err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ code, out, err }));
  });

it("says so when the server's /live predates bearer tokens, instead of blaming the token", async () => {
  const r = await tail("old-server");
  expect(r.code).toBe(1);
  expect(r.err).toBe("porchlight: unauthorized: Log in first (this server's /live takes only browser sessions: it predates `porchlight tail`; upgrade it)\n");
});

it("reconnects after the socket drops and prints the next alert, one line", async () => {
  const { code, out, err } = await tail("pl_tailtest_secret");
  expect(code, err).toBe(0);
  expect(err).toMatch(/connected to http:\/\/127\.0\.0\.1:\d+, waiting for alerts\n.*reconnected/s);
  expect(out).toBe("2026-12-06T12:00:00.000Z high     open    al_1 r nas After the reconnect (x3)\n");
  expect(auth).toEqual(["Bearer pl_tailtest_secret", "Bearer pl_tailtest_secret"]);
});
