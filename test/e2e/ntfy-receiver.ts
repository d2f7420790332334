/**
 * A loopback ntfy server for end-to-end tests: a real HTTP server on 127.0.0.1 (free port) speaking
 * ntfy's JSON publish (POST to the base URL with `{"topic","title","message",...}`, answered with the
 * message event). Every publish is recorded with its Authorization header, so a test can check both
 * what Porchlight sent and with which token.
 */
import { createServer } from "node:http";

export interface Publish {
  topic: string;
  title: string;
  message: string;
  priority: number;
  click: string;
  actions?: { url: string }[];
}

export interface NtfyReceiver {
  /** The server's base URL, `http://127.0.0.1:<port>`: a channel's `config.url`. */
  url: string;
  /** Publishes received so far, in order. */
  published: Publish[];
  /** The Authorization header of each publish, same order. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

export async function startNtfyReceiver(): Promise<NtfyReceiver> {
  const published: Publish[] = [];
  const authorizations: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const msg = JSON.parse(Buffer.concat(chunks).toString()) as Publish;
      published.push(msg);
      authorizations.push(req.headers.authorization);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: `m${published.length}`, event: "message", topic: msg.topic }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    published,
    authorizations,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
