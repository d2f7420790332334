/**
 * Fans live alert updates out to the web view's WebSockets. One object (named "alerts") holds every
 * console socket through the WebSocket Hibernation API: `ctx.acceptWebSocket` lets the object sleep
 * between updates without dropping sockets, and pings are answered by the runtime's auto-response
 * without waking it. The Worker authenticates the upgrade (session cookie) before forwarding it here;
 * this object trusts whatever reaches its fetch.
 * Docs: https://developers.cloudflare.com/durable-objects/best-practices/websockets/
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env.ts";

/** The single hub's name: a home has one console audience. */
export const LIVE_HUB_NAME = "alerts";
/** Sockets accepted per hub; beyond it the oldest are closed (a phone that reconnects in a loop cannot exhaust the object). */
const MAX_SOCKETS = 200;

/** Headers by which the Worker tells the hub whose socket it is (set by web/routes.tsx, never by a client: the hub is not reachable from outside). */
export const SESSION_HEADER = "x-porchlight-session";
export const EXPIRES_HEADER = "x-porchlight-session-expires";

interface SocketInfo {
  /** ms since epoch; the socket is closed at the first publish after it. */
  expiresAt: number;
}

/** What a console socket receives: JSON of this shape, one message per publish. */
export interface LiveMessage {
  type: "alerts";
  /** ms since epoch when the hub sent it. */
  at: number;
  alerts: unknown[];
}

export class LiveHub extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Answered by the runtime without waking the object: keeps idle phone sockets alive cheaply.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    const sockets = this.ctx.getWebSockets();
    for (const old of sockets.slice(0, Math.max(0, sockets.length - MAX_SOCKETS + 1))) {
      try {
        old.close(1013, "too many sockets");
      } catch {
        // already closing
      }
    }
    const pair = new WebSocketPair();
    // The Worker names the session (hash of its id) and its expiry: logout closes the session's sockets
    // by tag, and publish() closes sockets whose session has expired.
    const session = request.headers.get(SESSION_HEADER) ?? "";
    const expiresAt = Number(request.headers.get(EXPIRES_HEADER)) || Date.now() + 3600_000;
    this.ctx.acceptWebSocket(pair[1], session ? [session] : []);
    pair[1].serializeAttachment({ expiresAt } satisfies SocketInfo);
    pair[1].send(JSON.stringify({ type: "hello", at: Date.now() }));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** Closes every socket of a session (logout). Returns how many were closed. */
  async closeSession(sessionHash: string): Promise<number> {
    const sockets = this.ctx.getWebSockets(sessionHash);
    for (const ws of sockets) {
      try {
        ws.close(4001, "logged out");
      } catch {
        // already closing
      }
    }
    return sockets.length;
  }

  /** Sends one message with all `alerts` to every connected socket; returns how many sockets got it. */
  async publish(alerts: unknown[]): Promise<number> {
    const msg = JSON.stringify({ type: "alerts", at: Date.now(), alerts } satisfies LiveMessage);
    let sent = 0;
    const now = Date.now();
    for (const ws of this.ctx.getWebSockets()) {
      try {
        const info = ws.deserializeAttachment() as SocketInfo | null;
        if (info && info.expiresAt <= now) {
          ws.close(4001, "session expired");
          continue;
        }
        ws.send(msg);
        sent++;
      } catch {
        // A socket that is closing; its webSocketClose will follow.
      }
    }
    return sent;
  }

  /** Number of connected sockets (tests, diagnostics). */
  async connections(): Promise<number> {
    return this.ctx.getWebSockets().length;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Clients only ping (handled by the auto-response); anything else gets a small answer, never an echo.
    if (message !== "ping") ws.send(JSON.stringify({ type: "error", message: "this socket only receives" }));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    try {
      ws.close(1011, "error");
    } catch {
      // already closed
    }
  }
}
