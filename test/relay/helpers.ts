/**
 * Test harness for the relay: a real local HTTP receiver that behaves like the edge's ingest
 * (gunzips, records lines, dedupes by Idempotency-Key, can be told to fail), the relay spawned as a
 * child process (`node relay/main.ts ...`), and small socket helpers. Everything on loopback.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import { parsePrometheus } from "../../relay/metrics.ts";

export const ROOT = resolve(import.meta.dirname, "../..");
export const TOKEN = "pl_test_relaytoken";

export interface Line {
  raw: string;
  received_at: string;
  source_ip?: string;
  transport: string;
  truncated?: boolean;
}

export type Responder = (req: IncomingMessage, lines: Line[]) => { status: number; headers?: Record<string, string>; body?: string } | null;

export class Receiver {
  server!: Server;
  url = "";
  /** Lines stored once per Idempotency-Key, in arrival order. */
  lines: Line[] = [];
  keys = new Set<string>();
  requests: { key: string; status: number; lines: number; at: number; relay: string | undefined }[] = [];
  duplicates = 0;
  /** Whether every body so far came gzip-encoded as NDJSON. */
  gzipped = true;
  /** Returns a response to fail the request, or null to accept it. */
  respond: Responder | null = null;
  delayMs = 0;
  /** Awaited before a request is answered (hold a batch back); a request whose client went away meanwhile is dropped. */
  gate: ((key: string) => Promise<void> | null) | null = null;
  /** Requests being handled now, and the most at once. */
  concurrent = 0;
  maxConcurrent = 0;

  /** Listens on `port` (0 = any free port; a port given again after stop() = the edge coming back). */
  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      this.maxConcurrent = Math.max(this.maxConcurrent, ++this.concurrent);
      res.on("close", () => this.concurrent--);
      req.on("end", () => {
        void (async () => {
          if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
          const key = String(req.headers["idempotency-key"] ?? "");
          const held = this.gate?.(key);
          if (held) {
            await held;
            if (req.socket.destroyed) return;
          }
          let body = Buffer.concat(chunks);
          if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
          else this.gzipped = false;
          if (req.headers["content-type"] !== "application/x-ndjson") this.gzipped = false;
          const lines = body.toString("utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line);
          const relay = req.headers["x-porchlight-relay"] as string | undefined;
          if (req.headers.authorization !== `Bearer ${TOKEN}`) {
            this.requests.push({ key, status: 401, lines: lines.length, at: Date.now(), relay });
            res.writeHead(401).end('{"error":{"code":"unauthorized","message":"bad token"}}');
            return;
          }
          const r = this.respond?.(req, lines) ?? null;
          if (r) {
            this.requests.push({ key, status: r.status, lines: lines.length, at: Date.now(), relay });
            res.writeHead(r.status, r.headers).end(r.body ?? "");
            return;
          }
          const duplicate = this.keys.has(key);
          if (duplicate) this.duplicates++;
          else {
            this.keys.add(key);
            this.lines.push(...lines);
          }
          this.requests.push({ key, status: 200, lines: lines.length, at: Date.now(), relay });
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ accepted: lines.length, stored: duplicate ? 0 : lines.length, parse_errors: 0, duplicate }));
        })();
      });
    });
    await new Promise<void>((r) => this.server.listen(port, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A free TCP port on loopback (for a server that must come back on the same port). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export function tmp(prefix = "relay-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export class Relay {
  proc!: ChildProcess;
  logs: Record<string, unknown>[] = [];
  stderr = "";
  addresses: Record<string, string> = {};
  exit: Promise<number | null>;
  /** Wall time the process was spawned (ms): requests at or after it come from this process. */
  startedAt = Date.now();
  private resolveExit!: (c: number | null) => void;

  /** `opts.command`: what runs the relay (default: this Node on relay/main.ts), before `args`. */
  constructor(args: string[], opts: { stdin?: boolean; env?: Record<string, string>; command?: string[] } = {}) {
    this.exit = new Promise((r) => (this.resolveExit = r));
    const [cmd, ...pre] = opts.command ?? [process.execPath, "relay/main.ts"];
    this.proc = spawn(cmd!, [...pre, ...args], {
      cwd: ROOT,
      stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
      env: { ...process.env, ...opts.env },
    });
    let buf = "";
    this.proc.stderr!.on("data", (c: Buffer) => {
      this.stderr += c.toString();
      buf += c.toString();
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const j = JSON.parse(l) as Record<string, unknown>;
          this.logs.push(j);
          if (j.msg === "listening") this.addresses[j.component as string] = j.address as string;
        } catch {
          /* not JSON: kept in stderr */
        }
      }
    });
    this.proc.on("exit", (c) => this.resolveExit(c));
  }

  /** Waits until every named component logged its listening address. */
  async ready(components: string[], ms = 20_000): Promise<this> {
    await waitFor(() => components.every((c) => this.addresses[c]), ms, () => `relay not ready: ${this.stderr.slice(-2000)}`);
    return this;
  }

  port(component: string): number {
    return Number(this.addresses[component]!.split(":").pop());
  }

  async metrics(): Promise<Map<string, number>> {
    const r = await fetch(`http://${this.addresses.metrics}/metrics`);
    return parsePrometheus(await r.text());
  }

  async kill(sig: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    this.proc.kill(sig);
    return this.exit;
  }
}

export function relayArgs(r: Receiver, spool: string, extra: string[] = []): string[] {
  return ["--endpoint", r.url, "--token", TOKEN, "--spool", spool, "--metrics", "127.0.0.1:0", "--batch-wait-ms", "100", "--spool-fsync-ms", "20", "--log-level", "info", ...extra];
}

export async function waitFor(cond: () => unknown, ms = 20_000, why: () => string = () => "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${why()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Opens a TCP connection, writes `data` (respecting backpressure), ends it, resolves on close. */
export function tcpSend(port: number, data: Buffer | string | (Buffer | string)[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", async () => {
      for (const d of Array.isArray(data) ? data : [data]) {
        if (!s.write(d)) await new Promise((r) => s.once("drain", r));
      }
      s.end();
    });
    s.on("error", reject);
    s.on("close", () => resolve());
  });
}

/**
 * Resolves once the relay holds nothing more to deliver: every appended line written and
 * acknowledged by the edge (backlog 0) and no batch in flight. For sources that have finished
 * reading, nothing more arrives at the edge after this.
 */
export async function drained(relay: Relay, ms = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const h = (await (await fetch(`http://${relay.addresses.metrics}/healthz`)).json()) as { backlog_bytes: number };
      return h.backlog_bytes === 0 && metric(await relay.metrics(), "porchlight_relay_inflight_batches") === 0;
    },
    ms,
    () => "relay not drained",
  );
}

/** Sorts lines `<prefix> <n>` (n the last number in raw) by n: batches in flight may arrive in any order. */
export function bySeq(lines: Line[]): string[] {
  const n = (raw: string) => Number(/(\d+)\D*$/.exec(raw)?.[1] ?? NaN);
  return lines.map((l) => l.raw).sort((a, b) => n(a) - n(b));
}

export function metric(m: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  const k = Object.keys(labels).sort().map((l) => `${l}="${labels[l]}"`).join(",");
  return m.get(k ? `${name}{${k}}` : name) ?? 0;
}
