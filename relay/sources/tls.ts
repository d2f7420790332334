/**
 * Syslog over TLS (RFC 5425): the TCP handler behind a TLS server. With --tls-ca the relay asks for
 * a client certificate and refuses clients without one signed by that CA (mutual TLS).
 */
import { readFileSync } from "node:fs";
import { createServer, type TLSSocket } from "node:tls";
import type { Socket } from "node:net";
import type { HostPort } from "../config.ts";
import { bindServer, handleStream, stopServer } from "./tcp.ts";
import { initCounters, type Source, type SourceContext } from "./source.ts";

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string | null;
}

export async function listenTls(ctx: SourceContext, at: HostPort, files: TlsFiles): Promise<Source & { address: string }> {
  const open = new Set<Socket>();
  initCounters(ctx.metrics, "tls");
  const mutual = files.ca !== null;
  const server = createServer(
    {
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      ...(mutual ? { ca: readFileSync(files.ca!), requestCert: true, rejectUnauthorized: true } : {}),
      minVersion: "TLSv1.2",
    },
    (s: TLSSocket) => handleStream(ctx, s, "tls", open),
  );
  server.on("tlsClientError", (e: NodeJS.ErrnoException) => {
    ctx.metrics.inc("porchlight_relay_errors_total", { component: "tls", reason: "handshake" });
    ctx.log.warn("TLS handshake failed", { component: "tls", error: e.message });
  });
  const address = await bindServer(ctx, server, at, "tls", { mutual });
  return { address, stop: () => stopServer(server, open) };
}
