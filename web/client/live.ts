/**
 * The console's live channel: a WebSocket to /live (authenticated by the session cookie, fanned out by
 * the LiveHub Durable Object). A message means "alerts changed": the page re-reads the API. Reconnects
 * with capped exponential backoff and refreshes on reconnect (updates may have been missed meanwhile).
 */
/** Backoff bounds for reconnects, ms. */
const MIN_BACKOFF = 1000;
const MAX_BACKOFF = 30_000;
/** Keep-alive ping interval, ms (answered by the hub's auto-response without waking it). */
const PING_MS = 25_000;

export function connectLive(status: HTMLElement | null, onChange: () => void): void {
  let backoff = MIN_BACKOFF;
  let ping: ReturnType<typeof setInterval> | undefined;
  let everOpen = false;
  const say = (s: string, cls: string) => {
    if (!status) return;
    status.textContent = s;
    status.className = `hint live-${cls}`;
  };
  const open = () => {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/live`);
    ws.addEventListener("open", () => {
      backoff = MIN_BACKOFF;
      say("Live: new alerts appear here as they happen", "on");
      if (everOpen) onChange();
      everOpen = true;
      ping = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), PING_MS);
    });
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string" || e.data === "pong") return;
      try {
        const m = JSON.parse(e.data) as { type?: string };
        if (m.type === "alerts") onChange();
      } catch {
        // not ours
      }
    });
    ws.addEventListener("close", () => {
      clearInterval(ping);
      say(navigator.onLine ? "Live updates paused: reconnecting…" : "Offline: live updates paused", "off");
      setTimeout(open, backoff);
      backoff = Math.min(MAX_BACKOFF, backoff * 2);
    });
  };
  open();
  window.addEventListener("online", () => onChange());
}
