/**
 * porchlight-relay entry point: reads the configuration (exit 2 with one message when invalid),
 * opens the spool, starts the sink and the sources, serves metrics, and shuts down gracefully on
 * SIGTERM/SIGINT (stop accepting, flush within --shutdown-timeout-ms, keep the rest spooled).
 * Pipeline: source → framing → spool → batch → sink; acknowledgement only after delivery.
 */
import { hostname } from "node:os";
import { ConfigError, helpText, loadConfig, type RelayConfig } from "./config.ts";
import { createLogger, type Logger } from "./log.ts";
import { Metrics, serveMetrics } from "./metrics.ts";
import { Spool } from "./spool.ts";
import { HttpsSink } from "./sinks/https.ts";
import type { Source, SourceContext } from "./sources/source.ts";
import { listenUdp } from "./sources/udp.ts";
import { listenTcp } from "./sources/tcp.ts";
import { listenTls } from "./sources/tls.ts";
import { listenRelp } from "./sources/relp.ts";
import { followFiles } from "./sources/file.ts";
import { readStdin } from "./sources/stdin.ts";

export async function run(cfg: RelayConfig, log: Logger): Promise<void> {
  const metrics = new Metrics();
  const spool = new Spool({ dir: cfg.spool, maxBytes: cfg.spoolMaxBytes, fsyncMs: cfg.spoolFsyncMs, log, metrics });
  const sink = new HttpsSink(
    {
      endpoint: cfg.endpoint,
      token: cfg.token,
      name: cfg.name,
      batchLines: cfg.batchLines,
      batchBytes: cfg.batchBytes,
      batchWaitMs: cfg.batchWaitMs,
      retryBaseMs: cfg.retryBaseMs,
      retryMaxMs: cfg.retryMaxMs,
      requestTimeoutMs: cfg.requestTimeoutMs,
      inflight: cfg.inflight,
      unhealthyAfterS: cfg.unhealthyAfterS,
    },
    spool,
    metrics,
    log,
  );
  sink.start();
  const ctx: SourceContext = { spool, metrics, log, maxMessageBytes: cfg.maxMessageBytes };
  const sources: Source[] = [];
  let metricsServer: { close(): void } | null = null;
  if (cfg.metrics) {
    const { server, address } = await serveMetrics(cfg.metrics.host, cfg.metrics.port, metrics, () => ({
      // A spool that cannot write (disk full) keeps nothing new: as unhealthy as an unreachable edge.
      healthy: sink.healthy() && spool.writeError === null,
      detail: {
        spool_write_error: spool.writeError,
        edge_failing_since: sink.failingSince ? new Date(sink.failingSince).toISOString() : null,
        last_delivery: sink.lastSuccess ? new Date(sink.lastSuccess).toISOString() : null,
        backlog_bytes: spool.backlogBytes(),
      },
    }));
    metricsServer = server;
    log.info("listening", { component: "metrics", address });
  }
  if (cfg.udp) sources.push(await listenUdp(ctx, cfg.udp, cfg.udpFullPolicy, cfg.udpRecvBuffer));
  if (cfg.tcp) sources.push(await listenTcp(ctx, cfg.tcp));
  if (cfg.tls) sources.push(await listenTls(ctx, cfg.tls, { cert: cfg.tlsCert!, key: cfg.tlsKey!, ca: cfg.tlsCa }));
  if (cfg.relp) sources.push(await listenRelp(ctx, cfg.relp));
  if (cfg.files.length) sources.push(followFiles(ctx, cfg.files, cfg.fileStart, cfg.filePollMs, cfg.spool));
  let stdinDone: Promise<void> | null = null;
  if (cfg.stdin) {
    const s = readStdin(ctx);
    sources.push(s);
    stdinDone = s.done;
  }
  log.info("relay started", { endpoint: cfg.endpoint, spool: cfg.spool, spool_id: spool.id, name: cfg.name });

  let stopping = false;
  const shutdown = async (why: string, timeoutMs: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { reason: why, timeout_ms: timeoutMs });
    await Promise.all(sources.map((s) => s.stop()));
    await spool.sync();
    await sink.stop(timeoutMs);
    await spool.close();
    metricsServer?.close();
    log.info("stopped", { backlog_bytes: spool.backlogBytes(), delivered: metrics.get("porchlight_relay_sent_total", { component: "https" }) });
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM", cfg.shutdownTimeoutMs));
  process.on("SIGINT", () => void shutdown("SIGINT", cfg.shutdownTimeoutMs));
  // stdin as the only source: end of input means deliver everything, then exit.
  if (stdinDone && sources.length === 1) void stdinDone.then(() => shutdown("end of stdin", 24 * 3600_000));
}

async function main(): Promise<void> {
  let cfg: RelayConfig | "help";
  try {
    cfg = loadConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`porchlight-relay: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (cfg === "help") {
    process.stdout.write(helpText());
    return;
  }
  if (cfg.name === "relay") cfg.name = hostname();
  const log = createLogger(cfg.logLevel);
  try {
    await run(cfg, log);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // Startup failures the user can fix (port in use, unwritable spool) are configuration errors.
    if (err.code === "EADDRINUSE" || err.code === "EACCES" || err.code === "EADDRNOTAVAIL" || err.code === "ENOENT" || err.code === "EROFS") {
      process.stderr.write(`porchlight-relay: ${err.message}\n`);
      process.exit(2);
    }
    log.error("fatal", { error: err.stack ?? String(err) });
    process.exit(1);
  }
}

await main();
