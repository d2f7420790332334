/**
 * Loopback receivers for the notification tests (a vitest globalSetup: runs in Node, beside workerd).
 * One real HTTP server on 127.0.0.1 (free port) speaking what Porchlight's channels call:
 * - ntfy's JSON publish (POST / → {"id","event":"message",...}),
 * - Telegram's Bot API (POST /bot<token>/sendMessage → {"ok":true,"result":{...}}; setWebhook),
 * - a webhook (any other POST → "ok").
 * Paths: /s/<codes>/<box>/<rest>: requests are recorded in mailbox <box>; the n-th answer has the n-th
 * status of <codes> (comma-separated, the last repeats; "429" answers with Retry-After: 120, "hang"
 * never answers). GET /__log/<box>?count=n answers the box's requests once it holds n (an event, not
 * a sleep; gives up after 10 s and answers what it has).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { TestProject } from "vitest/node";

interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  body_b64: string;
}

/** The Web Push host of the tests: vitest.workers.config.ts routes it to this receiver. */
export const PUSH_TEST_HOST = "push.porchlight.test";

declare module "vitest" {
  export interface ProvidedContext {
    receiverUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const boxes = new Map<string, Recorded[]>();
  const waiters = new Set<() => void>();
  const hanging = new Set<ServerResponse>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const log = /^\/__log\/([^/]+)$/.exec(url.pathname);
      if (log) {
        const want = Number(url.searchParams.get("count") ?? "1");
        const started = Date.now();
        const check = () => {
          const got = boxes.get(log[1]!) ?? [];
          if (got.length >= want || Date.now() - started > 10_000) {
            waiters.delete(check);
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(got));
            return true;
          }
          return false;
        };
        if (!check()) {
          waiters.add(check);
          setTimeout(check, 10_100);
        }
        return;
      }
      const m = /^\/s\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
      if (!m) {
        res.writeHead(404).end("no such receiver");
        return;
      }
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : (v ?? "");
      const list = boxes.get(m[2]!) ?? [];
      boxes.set(m[2]!, list);
      list.push({ method: req.method ?? "", path: (m[3] ?? "/") + url.search, headers, body: body.toString("utf8"), body_b64: body.toString("base64") });
      for (const w of [...waiters]) w();
      const codes = m[1]!.split(",");
      const code = codes[Math.min(list.length - 1, codes.length - 1)]!;
      if (code === "hang") {
        hanging.add(res);
        return;
      }
      const status = Number(code);
      const rest = m[3] ?? "/";
      const extra: Record<string, string> = status === 429 ? { "retry-after": "120" } : {};
      if (status >= 300) {
        res.writeHead(status, { "content-type": "application/json", ...extra }).end(JSON.stringify(rest.includes("/bot") ? { ok: false, error_code: status, description: "receiver says no" } : { error: "receiver says no" }));
      } else if (/\/bot[^/]+\/sendMessage$/.test(rest)) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, result: { message_id: list.length, chat: { id: JSON.parse(body.toString()).chat_id }, date: Math.floor(Date.now() / 1000) } }));
      } else if (/\/bot[^/]+\/setWebhook$/.test(rest)) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, result: true, description: "Webhook was set" }));
      } else if (rest === "/" && headers["content-type"] === "application/json") {
        const b = JSON.parse(body.toString()) as { topic?: string; message?: string };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: `n${list.length}`, time: Math.floor(Date.now() / 1000), event: "message", topic: b.topic, message: b.message }));
      } else {
        res.writeHead(status, { "content-type": "text/plain" }).end("ok");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  project.provide("receiverUrl", `http://127.0.0.1:${port}`);
  // Read by the outbound hook in vitest.workers.config.ts (same process), which maps PUSH_TEST_HOST here.
  process.env.PORCHLIGHT_TEST_RECEIVER = `http://127.0.0.1:${port}`;
  return async () => {
    for (const r of hanging) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
