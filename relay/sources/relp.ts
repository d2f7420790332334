/**
 * RELP source (the Reliable Event Logging Protocol that rsyslog's omrelp and librelp clients speak;
 * framing in framing/relp.ts). Unlike plain TCP syslog, every message is acknowledged: the
 * `TXNR rsp 6 200 OK` for a `syslog` command is written only after the message is in the spool and
 * fsynced (Spool.sync), so a message the sender saw acknowledged survives kill -9 and power loss,
 * and one it did not see acknowledged is re-sent by the sender after it reconnects.
 *
 * Session: `open` (offers: relp_version, commands=syslog) → `syslog`* → `close` (answered with an
 * empty rsp, then the connection ends). Responses leave in command order. On shutdown the relay
 * stops reading, answers what it spooled, sends the `0 serverclose 0` hint and closes.
 *
 * Re-sends: a sender re-sends, in order and first thing after reconnecting, the messages whose
 * acknowledgement it did not read, some of which the relay had spooled (acknowledgement lost with
 * the connection, or written to the segment but killed before the fsync). Stored again they would
 * be new spool lines, hence new edge events. So each peer address keeps the messages it sent last
 * (the last RESEND_WINDOW of a session that ended without `close`, or the previous process's spool
 * tail after a restart), and a new session's leading messages that match them in order are
 * acknowledged without being spooled again (counted as dropped{reason="resent_duplicate"}). The
 * match ends at the first message that is not among them, so new traffic is never compared.
 * Records carry `"transport":"relp"` (an edge that does not know it yet reports an unknown transport and
 * still stores the line).
 */
import { createServer, type Server, type Socket } from "node:net";
import type { HostPort } from "../config.ts";
import { encodeRelpFrame, parseOffers, RelpDecoder, RelpFramingError, type RelpFrame } from "../framing/relp.ts";
import { trimEol } from "../framing/newline.ts";
import { bindServer } from "./tcp.ts";
import { cleanIp, initCounters, record, type Source, type SourceContext } from "./source.ts";

const C = "relp";
/**
 * Messages remembered per session for re-send matching: at least a sender's window of unacknowledged
 * frames (omrelp's windowSize, librelp default 128), with room to spare.
 */
const RESEND_WINDOW = 1024;
/** How long stop() waits for the spool to make answered messages durable before closing anyway, ms. */
const STOP_TIMEOUT_MS = 2000;
const OK = "200 OK";
const SERVER_OFFERS = `${OK}\nrelp_version=0\nrelp_software=porchlight-relay,1,https://github.com/porchlight\ncommands=syslog`;

/** The last `size` strings pushed, oldest first. */
class Ring {
  private items: string[] = [];
  private next = 0;
  private size: number;
  constructor(size: number) {
    this.size = size;
  }
  push(s: string): void {
    if (this.items.length < this.size) this.items.push(s);
    else {
      this.items[this.next] = s;
      this.next = (this.next + 1) % this.size;
    }
  }
  toArray(): string[] {
    return [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

/** What a peer sent last, for matching its re-sends after a reconnect (keyed by source address). */
type Recent = Map<string, string[]>;

/** Groups the previous process's spool tail by sender address (records only; non-JSON lines skipped). */
function recentFromSpoolTail(lines: string[]): Recent {
  const by: Recent = new Map();
  for (const l of lines) {
    let r: { raw?: unknown; source_ip?: unknown; transport?: unknown };
    try {
      r = JSON.parse(l) as typeof r;
    } catch {
      continue;
    }
    if (typeof r.raw !== "string" || typeof r.source_ip !== "string" || (r.transport !== "relp" && r.transport !== "tcp")) continue; // "tcp": spools written before RELP had its own transport
    let a = by.get(r.source_ip);
    if (!a) by.set(r.source_ip, (a = []));
    a.push(r.raw);
  }
  for (const [k, a] of by) if (a.length > RESEND_WINDOW) by.set(k, a.slice(-RESEND_WINDOW));
  return by;
}

class Session {
  private decoder: RelpDecoder;
  private ip: string | null;
  private opened = false;
  private closing = false; // `close` received or stop(): no more commands are read
  cleanEnd = false;
  /** Responses produced since the last flush, in command order. */
  private out: Buffer[] = [];
  /** Ordered chain: each flush waits for the spool to make its messages durable, then writes. */
  chain: Promise<void> = Promise.resolve();
  private waiting: RelpFrame[] = [];
  private sent = new Ring(RESEND_WINDOW);
  /** Re-send matching: the peer's last messages, and the position after the last match; null when over. */
  private resend: { cands: string[]; pos: number } | null = null;

  private ctx: SourceContext;
  readonly socket: Socket;
  private recent: Recent;

  constructor(ctx: SourceContext, socket: Socket, recent: Recent) {
    this.ctx = ctx;
    this.socket = socket;
    this.recent = recent;
    this.decoder = new RelpDecoder(ctx.maxMessageBytes);
    this.ip = cleanIp(socket.remoteAddress);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    let frames: RelpFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      if (!(e instanceof RelpFramingError)) throw e;
      // librelp's rule: a framing error ends the session; unanswered commands are re-sent.
      this.ctx.metrics.inc("porchlight_relay_errors_total", { component: C, reason: "malformed_frame" });
      this.ctx.log.warn("RELP framing error; closing the session", { component: C, peer: this.ip, error: e.message });
      this.closing = true;
      this.flush();
      void this.chain.then(() => this.socket.destroy());
      return;
    }
    if (this.waiting.length) this.waiting.push(...frames);
    else this.process(frames);
  }

  /** Handles frames in order until the spool is full; the rest waits (socket paused) for space. */
  private process(frames: RelpFrame[]): void {
    let i = 0;
    for (; i < frames.length && !this.closing; i++) if (!this.handle(frames[i]!)) break;
    this.flush();
    if (i < frames.length && !this.closing) {
      this.waiting = frames.slice(i);
      this.socket.pause();
      this.ctx.metrics.inc("porchlight_relay_backpressure_total", { component: C }, 1, "Times a source paused because the spool was full.");
      void this.ctx.spool.whenSpace().then(() => {
        if (this.socket.destroyed) return; // gone: the sender re-sends what was never answered
        const w = this.waiting;
        this.waiting = [];
        this.process(w);
        if (this.waiting.length === 0 && !this.closing) this.socket.resume();
      });
    }
  }

  private respond(txnr: number, data: string): void {
    this.out.push(encodeRelpFrame(txnr, "rsp", data));
  }

  /** Returns false (nothing done) when the spool is full. */
  private handle(f: RelpFrame): boolean {
    switch (f.command) {
      case "open": {
        if (this.opened) return this.abort(f.txnr, "500 protocol error: connection already open");
        const offers = parseOffers(f.data);
        if (!offers.has("relp_version")) return this.abort(f.txnr, "500 no relp_version offered");
        if (!(offers.get("commands") ?? []).includes("syslog")) return this.abort(f.txnr, "500 required command not supported by client");
        this.opened = true;
        const cands = this.ip ? this.recent.get(this.ip) : undefined;
        this.resend = cands?.length ? { cands, pos: 0 } : null;
        this.respond(f.txnr, SERVER_OFFERS);
        return true;
      }
      case "syslog":
        if (!this.opened) return this.abort(f.txnr, "500 session not open");
        return this.syslog(f);
      case "close":
        this.respond(f.txnr, "");
        this.closing = true;
        this.cleanEnd = true;
        this.flush();
        void this.chain.then(() => this.socket.end());
        return true;
      default:
        if (f.txnr === 0) return true; // a hint from the client: never answered
        this.ctx.metrics.inc("porchlight_relay_errors_total", { component: C, reason: "unsupported_command" });
        this.respond(f.txnr, "500 command not supported");
        return true;
    }
  }

  private abort(txnr: number, why: string): boolean {
    this.ctx.metrics.inc("porchlight_relay_errors_total", { component: C, reason: "protocol" });
    this.ctx.log.warn("RELP protocol error; closing the session", { component: C, peer: this.ip, error: why });
    this.respond(txnr, why);
    this.closing = true;
    this.flush();
    void this.chain.then(() => this.socket.end());
    return true;
  }

  private syslog(f: RelpFrame): boolean {
    const m = this.ctx.metrics;
    const data = trimEol(f.data);
    const raw = data.toString("utf8");
    if (this.resend) {
      const at = this.resend.cands.indexOf(raw, this.resend.pos);
      if (at >= 0) {
        this.resend.pos = at + 1;
        m.inc("porchlight_relay_received_total", { component: C });
        m.inc("porchlight_relay_dropped_total", { component: C, reason: "resent_duplicate" }, 1, "Messages not spooled, by reason.");
        this.sent.push(raw);
        this.respond(f.txnr, OK);
        return true;
      }
      this.resend = null;
    }
    if (!this.ctx.spool.append(record(data, this.ip, "relp", f.truncated), C)) return false;
    m.inc("porchlight_relay_received_total", { component: C });
    if (f.truncated) m.inc("porchlight_relay_truncated_total", { component: C }, 1, 'Messages cut at --max-message-bytes (flagged "truncated":true).');
    m.inc("porchlight_relay_sent_total", { component: C });
    this.sent.push(raw);
    this.respond(f.txnr, OK);
    return true;
  }

  /** Sends the responses gathered so far once every message appended before them is durable. */
  flush(): void {
    if (this.out.length === 0) return;
    const out = Buffer.concat(this.out);
    this.out = [];
    this.chain = this.chain
      .then(() => this.ctx.spool.sync())
      .then(() => {
        if (!this.socket.destroyed) this.socket.write(out);
      });
  }

  /** Graceful stop: read no more, answer what was spooled, send the serverclose hint, close. */
  async stop(): Promise<void> {
    this.closing = true;
    this.socket.pause();
    this.flush();
    const timeout = new Promise<void>((r) => setTimeout(r, STOP_TIMEOUT_MS).unref());
    await Promise.race([this.chain, timeout]);
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end(encodeRelpFrame(0, "serverclose"));
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, STOP_TIMEOUT_MS).unref();
    });
  }

  /** What this session sent last: a later session from the same peer may re-send it. */
  remember(): void {
    if (this.ip && !this.cleanEnd) {
      const last = this.sent.toArray();
      if (last.length) this.recent.set(this.ip, last);
    }
  }
}

export async function listenRelp(ctx: SourceContext, at: HostPort): Promise<Source & { address: string }> {
  initCounters(ctx.metrics, C);
  ctx.metrics.inc("porchlight_relay_dropped_total", { component: C, reason: "resent_duplicate" }, 0, "Messages not spooled, by reason.");
  const recent = recentFromSpoolTail(ctx.spool.takeStartupTail());
  const sessions = new Set<Session>();
  const server: Server = createServer({ noDelay: true }, (socket) => {
    const s = new Session(ctx, socket, recent);
    sessions.add(s);
    ctx.metrics.set("porchlight_relay_connections", { component: C }, sessions.size, "Open connections.");
    socket.on("error", (e: NodeJS.ErrnoException) => {
      ctx.metrics.inc("porchlight_relay_errors_total", { component: C, reason: e.code ?? "socket" });
      ctx.log.debug("connection error", { component: C, peer: socket.remoteAddress, error: e.message });
    });
    socket.on("close", () => {
      s.remember();
      sessions.delete(s);
      ctx.metrics.set("porchlight_relay_connections", { component: C }, sessions.size);
    });
  });
  const address = await bindServer(ctx, server, at, C);
  return {
    address,
    stop: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      await Promise.all([...sessions].map((s) => s.stop()));
      await closed;
    },
  };
}
