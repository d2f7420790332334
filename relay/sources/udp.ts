/**
 * Syslog over UDP (RFC 5426): one datagram is one message (up to 64 KB, truncated and flagged above
 * --max-message-bytes). A large SO_RCVBUF absorbs bursts while the event loop is busy. UDP has no
 * backpressure, so when the spool is full the configured policy applies: drop-oldest deletes the
 * oldest spool segment to make room (default: recent events matter most), drop-newest drops the
 * datagram. Every drop is counted.
 */
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { formatAddress } from "../metrics.ts";
import type { HostPort } from "../config.ts";
import { cleanIp, initCounters, record, type Source, type SourceContext } from "./source.ts";
import { trimEol } from "../framing/newline.ts";

export async function listenUdp(ctx: SourceContext, at: HostPort, policy: "drop-oldest" | "drop-newest", recvBuffer: number): Promise<Source & { address: string }> {
  const m = ctx.metrics;
  initCounters(m, "udp");
  m.inc("porchlight_relay_dropped_total", { component: "udp", reason: "spool_full" }, 0, "Messages dropped, per component and reason.");
  const sock: Socket = createSocket({ type: isIPv6(at.host) ? "udp6" : "udp4", recvBufferSize: recvBuffer, reuseAddr: false });
  sock.on("message", (msg, rinfo) => {
    m.inc("porchlight_relay_received_total", { component: "udp" });
    const truncated = msg.length > ctx.maxMessageBytes;
    const data = trimEol(truncated ? msg.subarray(0, ctx.maxMessageBytes) : msg);
    if (truncated) m.inc("porchlight_relay_truncated_total", { component: "udp" });
    if (data.length === 0) {
      m.inc("porchlight_relay_dropped_total", { component: "udp", reason: "empty" });
      return;
    }
    const line = record(data, cleanIp(rinfo.address), "udp", truncated);
    let ok = ctx.spool.append(line, "udp");
    if (!ok && policy === "drop-oldest") {
      while (!ok && ctx.spool.dropOldest() >= 0) ok = ctx.spool.append(line, "udp");
    }
    if (ok) m.inc("porchlight_relay_sent_total", { component: "udp" });
    else m.inc("porchlight_relay_dropped_total", { component: "udp", reason: "spool_full" });
  });
  sock.on("error", (e) => {
    m.inc("porchlight_relay_errors_total", { component: "udp", reason: (e as NodeJS.ErrnoException).code ?? "socket" });
    ctx.log.error("udp socket error", { error: e.message });
  });
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(at.port, at.host, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  const a = sock.address();
  const address = formatAddress(a.address, a.port);
  const got = sock.getRecvBufferSize();
  ctx.log.info("listening", { component: "udp", address, recv_buffer: got });
  // Linux reports twice the usable size; below the request means net.core.rmem_max capped it.
  if (got < recvBuffer) ctx.log.warn("UDP receive buffer smaller than requested; raise net.core.rmem_max", { requested: recvBuffer, got });
  return { address, stop: () => new Promise<void>((r) => sock.close(() => r())) };
}
