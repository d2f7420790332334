/**
 * Syslog over TCP (RFC 6587): one decoder per connection detects octet counting vs newline framing
 * (framing/octet-counting.ts). When the spool is full the socket is paused — TCP backpressure
 * reaches the sender — and resumed when space frees; nothing is dropped. Also serves TLS
 * connections (sources/tls.ts) with the same handler.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { SyslogStreamDecoder, type Frame } from "../framing/octet-counting.ts";
import { formatAddress } from "../metrics.ts";
import type { HostPort } from "../config.ts";
import { appendFrames, cleanIp, countReceived, initCounters, type Source, type SourceContext, type Transport } from "./source.ts";

/** Connections beyond this are refused: a home relay has a handful of senders. */
const MAX_CONNECTIONS = 1024;

export function handleStream(ctx: SourceContext, socket: Socket, component: Transport, open: Set<Socket>): void {
  const decoder = new SyslogStreamDecoder(ctx.maxMessageBytes);
  const ip = cleanIp(socket.remoteAddress);
  let waiting: Frame[] = [];
  let ended = false;
  let malformedSeen = 0;
  open.add(socket);
  ctx.metrics.set("porchlight_relay_connections", { component }, open.size, "Open connections.");

  const deliver = (frames: Frame[]): void => {
    if (waiting.length) {
      waiting.push(...frames);
      return;
    }
    const left = appendFrames(ctx, component, frames, ip);
    if (left.length === 0) return;
    waiting = left;
    socket.pause();
    ctx.metrics.inc("porchlight_relay_backpressure_total", { component }, 1, "Times a source paused because the spool was full.");
    const retry = (): void => {
      void ctx.spool.whenSpace().then(() => {
        const rest = appendFrames(ctx, component, waiting, ip);
        waiting = rest;
        if (rest.length) return retry();
        if (!ended) socket.resume();
      });
    };
    retry();
  };
  const account = (frames: Frame[]): void => {
    countReceived(ctx, component, frames);
    if (decoder.malformed > malformedSeen) {
      ctx.metrics.inc("porchlight_relay_errors_total", { component, reason: "malformed_frame" }, decoder.malformed - malformedSeen);
      malformedSeen = decoder.malformed;
    }
    deliver(frames);
  };
  socket.on("data", (chunk: Buffer) => account(decoder.push(chunk)));
  socket.on("end", () => {
    ended = true;
    account(decoder.end());
  });
  socket.on("error", (e: NodeJS.ErrnoException) => {
    ctx.metrics.inc("porchlight_relay_errors_total", { component, reason: e.code ?? "socket" });
    ctx.log.debug("connection error", { component, peer: ip, error: e.message });
  });
  socket.on("close", () => {
    open.delete(socket);
    ctx.metrics.set("porchlight_relay_connections", { component }, open.size);
  });
}

export async function listenTcp(ctx: SourceContext, at: HostPort): Promise<Source & { address: string }> {
  const open = new Set<Socket>();
  initCounters(ctx.metrics, "tcp");
  const server: Server = createServer({ noDelay: true }, (s) => handleStream(ctx, s, "tcp", open));
  const address = await bindServer(ctx, server, at, "tcp");
  return { address, stop: () => stopServer(server, open) };
}

/** Listens on host:port (at most MAX_CONNECTIONS at once) and logs the bound address, which it returns. */
export async function bindServer(ctx: SourceContext, server: Server, at: HostPort, component: string, fields: Record<string, unknown> = {}): Promise<string> {
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: at.host, port: at.port, backlog: 511 }, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = formatAddress(a.address, a.port);
  ctx.log.info("listening", { component, address, ...fields });
  return address;
}

/** Closes the listener, then ends each connection after what it already sent was read. */
export function stopServer(server: { close(cb: () => void): unknown }, open: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const s of open) s.end();
    setTimeout(() => {
      for (const s of open) s.destroy();
    }, 2000).unref();
  });
}
