/**
 * `porchlight tail`: new and changed alerts as they happen, one line each, over the web view's live
 * socket (`/live`, authenticated with the token as a bearer; the hub sends `{"type": "hello"}` on
 * connect and `{"type": "alerts", "at", "alerts": [summary...]}` per change). Reconnects with backoff
 * (1 s doubling to 30 s) when the socket drops; the server also closes a bearer socket after an hour,
 * and the reconnect checks the token again.
 */
import WebSocket from "ws";
import { clientOf, examples } from "../context.js";
import { CliError } from "../errors.js";
import { note, out, severityColor, pc } from "../output.js";

/** Keep-alive ping, ms (answered by the hub's auto-response without waking it). */
const PING_MS = 30_000;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

/** One alert summary as a line: time, severity, status, id, rule, resource, title, repeats. @param {any} a @param {number} at */
export function alertLine(a, at) {
  const time = typeof a.last_seen === "string" ? a.last_seen : new Date(at).toISOString();
  const dup = a.duplicate_count ? ` (x${a.duplicate_count + 1})` : "";
  return `${pc.dim(time)} ${severityColor(String(a.severity ?? "?").padEnd(8))} ${String(a.status ?? "?").padEnd(7)} ${a.id} ${a.rule_id ?? ""} ${a.resource ?? ""} ${pc.bold(String(a.title ?? ""))}${dup}`;
}

/** @param {import("commander").Command} program */
export function registerTail(program) {
  const cmd = program
    .command("tail")
    .description("Follow new and changed alerts live, one line each (reconnects by itself; Ctrl-C stops)")
    .option("--json", "one JSON object per alert change (NDJSON)")
    .option("--severity <list>", "only these severities, comma-separated")
    .option("--once", "exit after the first alert change (scripts: wait for something to happen)")
    .action(async (opts) => {
      const client = clientOf(cmd);
      const url = client.url.replace(/^http/, "ws") + "/live";
      const severities = opts.severity ? new Set(String(opts.severity).split(",").map((s) => s.trim())) : null;
      let backoff = BACKOFF_FIRST_MS;
      let connectedOnce = false;
      await new Promise((resolve, reject) => {
        let stopping = false;
        /** @type {WebSocket | undefined} */
        let current;
        const stop = () => {
          stopping = true;
          current?.close(1000, "bye");
          resolve(undefined);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        const connect = () => {
          const ws = new WebSocket(url, { headers: { authorization: `Bearer ${client.token}`, "user-agent": "porchlight-cli" } });
          current = ws;
          /** @type {NodeJS.Timeout | undefined} */
          let ping;
          ws.on("unexpected-response", (_req, res) => {
            // The upgrade was refused: 401/403 will not heal by retrying.
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => {
              let msg = `${res.statusCode}`;
              try {
                const e = JSON.parse(body).error;
                msg = `${e.code}: ${e.message}`;
              } catch {
                // not JSON
              }
              if (res.statusCode === 401 || res.statusCode === 403) {
                stopping = true;
                ws.terminate();
                // A server from before bearer sockets asks for a browser session instead.
                const why = /Log in first/.test(msg)
                  ? " (this server's /live takes only browser sessions: it predates `porchlight tail`; upgrade it)"
                  : res.statusCode === 401 ? " (the server refused the token: check PORCHLIGHT_TOKEN or run `porchlight login`)" : "";
                reject(new CliError(`${msg}${why}`));
              } else {
                note(`porchlight: live socket refused (${msg}); retrying`);
                ws.terminate();
              }
            });
          });
          ws.on("open", () => {
            backoff = BACKOFF_FIRST_MS;
            ping = setInterval(() => ws.send("ping"), PING_MS);
          });
          ws.on("message", async (data) => {
            const text = String(data);
            if (text === "pong") return;
            let msg;
            try {
              msg = JSON.parse(text);
            } catch {
              return;
            }
            if (msg.type === "hello") {
              note(pc.dim(`porchlight: ${connectedOnce ? "reconnected" : "connected"} to ${client.url}, waiting for alerts`));
              connectedOnce = true;
              return;
            }
            if (msg.type !== "alerts" || !Array.isArray(msg.alerts)) return;
            const alerts = msg.alerts.filter((/** @type {any} */ a) => !severities || severities.has(a.severity));
            if (!alerts.length) return;
            await out(alerts.map((/** @type {any} */ a) => (opts.json ? JSON.stringify({ ...a, at: new Date(msg.at).toISOString() }) : alertLine(a, msg.at)) + "\n").join(""));
            if (opts.once) {
              stopping = true;
              ws.close(1000, "done");
              resolve(undefined);
            }
          });
          ws.on("error", (e) => {
            // terminate() after a refused upgrade reports an error of its own: not news.
            if (stopping) return;
            if (!connectedOnce && backoff === BACKOFF_FIRST_MS) note(`porchlight: cannot reach ${url}: ${/** @type {any} */ (e).code ?? e.message}; retrying`);
          });
          ws.on("close", () => {
            clearInterval(ping);
            if (stopping) return;
            setTimeout(connect, backoff);
            backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
          });
        };
        connect();
      });
    });
  examples(cmd, [
    "porchlight tail",
    "porchlight tail --severity high,critical --json | jq .title",
    "porchlight tail --once && notify-send 'Porchlight alert'",
  ]);
}
