/**
 * The HTTPS sink: takes batches from the spool and POSTs each to the edge's /v1/ingest as gzip'd
 * NDJSON with `Idempotency-Key` = the batch id (derived from its spool range, so a batch re-sent
 * after a crash carries the same key). One batch is in flight at a time, in spool order.
 *   2xx                   → acknowledged: the range leaves the spool.
 *   408, 429, 5xx, network → retried with exponential backoff and full jitter, bounded by
 *                           --retry-max-ms; `Retry-After` (seconds or HTTP date) on 429/503 is
 *                           honoured up to 10 min. Retries never end while the batch is spooled:
 *                           the spool bound, not a retry count, limits what waits.
 *   other 4xx             → permanent: the batch goes to <spool>/dead-letter/, counted and logged.
 */
import { gzip, constants as zc } from "node:zlib";
import { promisify } from "node:util";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Batch, Spool } from "../spool.ts";
import { wakeableSleep } from "../timer.ts";

const gzipP = promisify(gzip);
const RETRY_AFTER_MAX_MS = 600_000;
const C = "https";

export interface SinkOptions {
  endpoint: string;
  token: string;
  name: string;
  batchLines: number;
  batchBytes: number;
  batchWaitMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  requestTimeoutMs: number;
  unhealthyAfterS: number;
}

export function parseRetryAfter(v: string | null, now = Date.now()): number | null {
  if (!v) return null;
  if (/^\s*\d+\s*$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

export class HttpsSink {
  private o: SinkOptions;
  private spool: Spool;
  private m: Metrics;
  private log: Logger;
  private stopping = false;
  /** stop() was called: deliver what is spooled while the edge answers 2xx, give up at the first failure. */
  private draining = false;
  private abort = new AbortController();
  private sleepCancel: (() => void) | null = null;
  /** Since when the edge has failed without a success in between (ms), or 0. */
  failingSince = 0;
  lastSuccess = 0;
  running: Promise<void> = Promise.resolve();

  constructor(o: SinkOptions, spool: Spool, metrics: Metrics, log: Logger) {
    this.o = o;
    this.spool = spool;
    this.m = metrics;
    this.log = log;
    for (const n of ["porchlight_relay_received_total", "porchlight_relay_sent_total"]) metrics.inc(n, { component: C }, 0);
    metrics.inc("porchlight_relay_retried_total", { component: C }, 0, "POST attempts retried (408, 429, 5xx, network).");
    metrics.inc("porchlight_relay_rejected_total", { component: C }, 0, "Lines the edge rejected permanently (moved to dead-letter/).");
    metrics.inc("porchlight_relay_batches_total", { component: C, outcome: "delivered" }, 0, "Batches by outcome.");
    metrics.set("porchlight_relay_last_delivery_timestamp_seconds", {}, 0, "Wall time of the last 2xx from the edge (Unix s).");
    metrics.set("porchlight_relay_edge_up", {}, 1, "0 while the edge is failing.");
  }

  start(): void {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    for (;;) {
      try {
        const b = await this.spool.nextBatch(this.o.batchLines, this.o.batchBytes, this.o.batchWaitMs);
        if (!b) return;
        const done = await this.deliver(b);
        if (!done) return; // stopping with the batch still spooled
      } catch (e) {
        // A local failure (spool read, cursor or dead-letter write): the batch stays spooled; retry.
        this.m.inc("porchlight_relay_errors_total", { component: C, reason: (e as NodeJS.ErrnoException).code ?? "internal" });
        this.log.error("sink error; retrying in 1 s", { error: String(e) });
        if (this.draining) return;
        await this.sleep(1000);
      }
    }
  }

  private async sleep(ms: number): Promise<void> {
    const z = wakeableSleep(ms);
    this.sleepCancel = z.wake;
    await z.done;
    this.sleepCancel = null;
  }

  /** Delivers or dead-letters one batch; false if interrupted by stop() (the batch stays spooled). */
  private async deliver(b: Batch): Promise<boolean> {
    // Off the event loop (the thread pool), so UDP reads never wait on compression; one large
    // output chunk instead of many 16 KiB ones keeps RSS flat while draining a backlog.
    const body = await gzipP(b.body, { level: zc.Z_BEST_SPEED, chunkSize: 256 * 1024 });
    for (let attempt = 0; ; attempt++) {
      if (this.stopping && this.abort.signal.aborted) return false;
      let status = 0;
      let retryAfter: number | null = null;
      let text = "";
      try {
        const res = await fetch(this.o.endpoint, {
          method: "POST",
          headers: {
            authorization: `Bearer ${this.o.token}`,
            "content-type": "application/x-ndjson",
            "content-encoding": "gzip",
            "idempotency-key": b.key,
            "x-porchlight-relay": this.o.name,
          },
          body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.requestTimeoutMs)]),
        });
        status = res.status;
        text = await res.text();
        if (status === 429 || status === 503) retryAfter = parseRetryAfter(res.headers.get("retry-after"));
      } catch (e) {
        if (this.abort.signal.aborted) return false;
        text = (e as Error).cause ? String((e as Error & { cause: unknown }).cause) : String(e);
      }
      if (status >= 200 && status < 300) {
        await this.spool.ack(b);
        const now = Date.now();
        this.lastSuccess = now;
        this.failingSince = 0;
        this.m.inc("porchlight_relay_sent_total", { component: C }, b.lines);
        this.m.inc("porchlight_relay_batches_total", { component: C, outcome: "delivered" });
        this.m.set("porchlight_relay_last_delivery_timestamp_seconds", {}, now / 1000);
        this.m.set("porchlight_relay_edge_up", {}, 1);
        this.m.observeLatency((now - b.cutAt) / 1000);
        this.log.debug("batch delivered", { key: b.key, lines: b.lines, status, attempts: attempt + 1 });
        return true;
      }
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        const file = await this.spool.deadLetter(b, { status, response: text.slice(0, 4096), endpoint: this.o.endpoint });
        await this.spool.ack(b);
        this.m.inc("porchlight_relay_rejected_total", { component: C }, b.lines);
        this.m.inc("porchlight_relay_batches_total", { component: C, outcome: "dead_letter" });
        this.log.error("edge rejected a batch permanently; moved to dead-letter", { key: b.key, lines: b.lines, status, response: text.slice(0, 500), file });
        // A 401/403 means every batch will fail (bad or revoked token): report unhealthy.
        if (status === 401 || status === 403) {
          if (this.failingSince === 0) this.failingSince = Date.now();
        } else this.failingSince = 0;
        return true;
      }
      // Retryable.
      if (this.failingSince === 0) this.failingSince = Date.now();
      this.m.set("porchlight_relay_edge_up", {}, 0);
      this.m.inc("porchlight_relay_retried_total", { component: C });
      this.m.inc("porchlight_relay_errors_total", { component: C, reason: status ? `http_${status}` : "network" });
      const exp = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.min(attempt, 30));
      let delay = exp / 2 + Math.random() * (exp / 2); // "equal jitter": never less than half the step
      if (retryAfter !== null) delay = Math.min(RETRY_AFTER_MAX_MS, Math.max(delay, retryAfter));
      this.log.warn("delivery failed; will retry", { key: b.key, status: status || undefined, error: status ? text.slice(0, 200) : text, attempt: attempt + 1, retry_in_ms: Math.round(delay) });
      if (this.stopping || this.draining) return false; // shutting down: no waiting on a failing edge
      await this.sleep(delay);
      if (this.stopping) return false;
    }
  }

  /** Healthy unless the edge has been failing for longer than --unhealthy-after-s. */
  healthy(now = Date.now()): boolean {
    return this.failingSince === 0 || now - this.failingSince < this.o.unhealthyAfterS * 1000;
  }

  /**
   * Graceful stop: keep delivering what is spooled until `timeoutMs`, then abort the request in
   * flight; whatever is not acknowledged stays in the spool for the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.spool.stop();
    this.draining = true;
    const timer = setTimeout(() => {
      this.stopping = true;
      this.abort.abort();
      this.sleepCancel?.();
    }, timeoutMs);
    // A sleeping retry means the edge is failing: no point waiting for it during shutdown.
    if (this.sleepCancel) {
      this.stopping = true;
      this.sleepCancel();
    }
    await this.running;
    clearTimeout(timer);
  }
}
