/**
 * What every source shares: the context it runs in, the NDJSON record it appends to the spool
 * (the ingest contract's `{"raw","received_at","source_ip","transport"}`, plus `"truncated":true`
 * when the message was cut at --max-message-bytes), and its counters:
 * received (messages decoded), sent (appended to the spool), dropped{reason}, errors{reason}.
 */
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Spool } from "../spool.ts";
import type { Frame } from "../framing/newline.ts";

export type Transport = "udp" | "tcp" | "tls" | "relp" | "file" | "stdin";

export interface SourceContext {
  spool: Spool;
  metrics: Metrics;
  log: Logger;
  maxMessageBytes: number;
}

export interface Source {
  /** Stops accepting new data (servers closed, files no longer polled). */
  stop(): Promise<void>;
}

/** Source addresses arrive as IPv4-mapped IPv6 on dual-stack sockets; the edge wants plain IPv4. */
export function cleanIp(a: string | undefined): string | null {
  if (!a) return null;
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

export function record(raw: Buffer, sourceIp: string | null, transport: Transport, truncated: boolean): string {
  return (
    `{"raw":${JSON.stringify(raw.toString("utf8"))},"received_at":"${new Date().toISOString()}"` +
    (sourceIp ? `,"source_ip":${JSON.stringify(sourceIp)}` : "") +
    `,"transport":"${transport}"${truncated ? ',"truncated":true' : ""}}\n`
  );
}

/**
 * Appends decoded frames in order. When the spool is full it stops at the first frame that does
 * not fit and returns the frames left, for the caller to pause its input and retry after
 * `spool.whenSpace()` (backpressure: nothing is dropped).
 */
export function appendFrames(ctx: SourceContext, component: Transport, frames: Frame[], ip: string | null): Frame[] {
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (!ctx.spool.append(record(f.data, ip, component, f.truncated), component)) return frames.slice(i);
    ctx.metrics.inc("porchlight_relay_sent_total", { component });
  }
  return [];
}

export function countReceived(ctx: SourceContext, component: Transport, frames: Frame[]): void {
  if (frames.length === 0) return;
  ctx.metrics.inc("porchlight_relay_received_total", { component }, frames.length);
  let t = 0;
  for (const f of frames) if (f.truncated) t++;
  if (t) ctx.metrics.inc("porchlight_relay_truncated_total", { component }, t, "Messages cut at --max-message-bytes (flagged \"truncated\":true).");
}

/** Registers a source's counters at 0 so /metrics shows them before any traffic. */
export function initCounters(m: Metrics, component: string): void {
  m.inc("porchlight_relay_received_total", { component }, 0, "Messages (sources) or spooled lines (sink) taken in, per component.");
  m.inc("porchlight_relay_sent_total", { component }, 0, "Messages appended to the spool (sources) or lines delivered with a 2xx (sink).");
  m.inc("porchlight_relay_spooled_total", { component }, 0, "Lines appended to the spool and fsynced, per source.");
}
