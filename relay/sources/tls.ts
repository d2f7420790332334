/**
 * Syslog over TLS (RFC 5425): the TCP handler behind a TLS server. With --tls-ca the relay asks for
 * a client certificate and refuses clients without one signed by that CA (mutual TLS).
 */
import { readFileSync } from "node:fs";
import { createServer, type TLSSocket } from "node:tls";
import type { AddressInfo, Socket } from "node:net";
import { formatAddress } from "../metrics.ts";
import type { HostPort } from "../config.ts";
import { handleStream, stopServer } from "./tcp.ts";
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
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: at.host, port: at.port }, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = formatAddress(a.address, a.port);
  ctx.log.info("listening", { component: "tls", address, mutual });
  return { address, stop: () => stopServer(server, open) };
}
