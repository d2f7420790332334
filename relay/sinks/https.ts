/**
 * The HTTPS sink: takes batches from the spool and POSTs each to the edge's /v1/ingest as gzip'd
 * NDJSON with `Idempotency-Key` = the batch id (derived from its spool range, so a batch re-sent
 * after a crash carries the same key). Pipelined: up to `--inflight` batches are in flight at
 * once, cut in spool order; the spool acknowledges them in order (a crash re-sends exactly the
 * unacknowledged ones). Flow control: the window of batches in flight halves on every retryable
 * failure and grows by one after a window's worth of successes, so a slow edge that answers keeps
 * the full window (its best sustainable rate), while 429/503 also holds every sender back for the
 * delay (Retry-After when given).
 *   2xx                   → acknowledged: the range leaves the spool.
 *   408, 429, 5xx, network → retried with exponential backoff and full jitter, bounded by
 *                           --retry-max-ms; `Retry-After` (seconds or HTTP date) on 429/503 is
 *                           honoured up to 10 min. Retries never end while the batch is spooled:
 *                           the spool bound, not a retry count, limits what waits.
 *   other 4xx             → permanent: the batch goes to <spool>/dead-letter/, counted and logged.
 */
import { gunzipSync, gzip, constants as zc } from "node:zlib";
import { promisify } from "node:util";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { Batch, Spool } from "../spool.ts";
import { wakeableSleep } from "../timer.ts";

const gzipP = promisify(gzip);
const RETRY_AFTER_MAX_MS = 600_000;
/** Cut batches (in flight or acknowledged out of turn) allowed after the acknowledged position, in windows. */
const CUT_SPAN = 4;
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
  /** Most batches in flight at once (the flow-control window's ceiling). */
  inflight: number;
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
  private sleeps = new Set<() => void>();
  /** Deliveries in flight. */
  private inflight = new Set<Promise<void>>();
  /** Flow-control window: batches allowed in flight now, 1..o.inflight. */
  private window: number;
  private okInWindow = 0;
  /** No attempt starts before this wall time (ms): set from 429/503 for every sender. */
  private holdUntil = 0;
  private slotWaiters: (() => void)[] = [];
  /** A delivery was interrupted by stop(): cut no more batches. */
  private halted = false;
  /** Since when the edge has failed without a success in between (ms), or 0. */
  failingSince = 0;
  lastSuccess = 0;
  running: Promise<void> = Promise.resolve();

  constructor(o: SinkOptions, spool: Spool, metrics: Metrics, log: Logger) {
    this.o = o;
    this.spool = spool;
    this.m = metrics;
    this.log = log;
    this.window = o.inflight;
    for (const n of ["porchlight_relay_received_total", "porchlight_relay_sent_total"]) metrics.inc(n, { component: C }, 0);
    metrics.inc("porchlight_relay_retried_total", { component: C }, 0, "POST attempts retried (408, 429, 5xx, network).");
    metrics.inc("porchlight_relay_rejected_total", { component: C }, 0, "Lines the edge rejected permanently (moved to dead-letter/).");
    metrics.inc("porchlight_relay_batches_total", { component: C, outcome: "delivered" }, 0, "Batches by outcome.");
    metrics.set("porchlight_relay_last_delivery_timestamp_seconds", {}, 0, "Wall time of the last 2xx from the edge (Unix s).");
    metrics.set("porchlight_relay_edge_up", {}, 1, "0 while the edge is failing.");
    this.gauges();
  }

  private gauges(): void {
    this.m.set("porchlight_relay_inflight_batches", {}, this.inflight.size, "Batches being delivered now.");
    this.m.set("porchlight_relay_inflight_window", {}, this.window, "Batches allowed in flight now (flow control; at most --inflight).");
  }

  start(): void {
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    for (;;) {
      // A slot in the window, and a bounded span of cut batches: a batch stuck in retries holds the
      // acknowledged position, so the others may run ahead of it by at most CUT_SPAN windows.
      while ((this.inflight.size >= this.window || this.spool.cutSpan() >= CUT_SPAN * this.o.inflight) && !this.halted) {
        await new Promise<void>((r) => this.slotWaiters.push(r));
      }
      if (this.halted) break;
      try {
        const b = await this.spool.nextBatch(this.o.batchLines, this.o.batchBytes, this.o.batchWaitMs);
        if (!b) break;
        // Compressed before the next cut: the spool reuses the buffer b.body points into. Off the
        // event loop (the thread pool), so UDP reads never wait on compression; one large output
        // chunk instead of many 16 KiB ones keeps RSS flat while draining a backlog.
        const gz = await gzipP(b.body, { level: zc.Z_BEST_SPEED, chunkSize: 256 * 1024 });
        const p: Promise<void> = this.deliver(b, gz)
          .then((done) => {
            if (!done) this.halted = true; // stopping with the batch still spooled
          })
          .catch((e: unknown) => {
            // A local failure (dead-letter write): the batch stays unacknowledged; resent after a restart.
            this.m.inc("porchlight_relay_errors_total", { component: C, reason: (e as NodeJS.ErrnoException).code ?? "internal" });
            this.log.error("sink error; the batch stays spooled", { key: b.key, error: String(e) });
            this.halted = true;
          })
          .finally(() => {
            this.inflight.delete(p);
            this.gauges();
            this.wakeSlot();
          });
        this.inflight.add(p);
        this.gauges();
      } catch (e) {
        // A local failure (spool read, cursor write): nothing was cut; retry.
        this.m.inc("porchlight_relay_errors_total", { component: C, reason: (e as NodeJS.ErrnoException).code ?? "internal" });
        this.log.error("sink error; retrying in 1 s", { error: String(e) });
        if (this.draining) break;
        await this.sleep(1000);
      }
    }
    await Promise.all(this.inflight);
  }

  private wakeSlot(): void {
    for (const w of this.slotWaiters.splice(0)) w();
  }

  private async sleep(ms: number): Promise<void> {
    const z = wakeableSleep(ms);
    this.sleeps.add(z.wake);
    await z.done;
    this.sleeps.delete(z.wake);
  }

  /** Delivers or dead-letters one batch; false if interrupted by stop() (the batch stays spooled). */
  private async deliver(b: Batch, body: Buffer<ArrayBuffer>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (this.stopping && this.abort.signal.aborted) return false;
      const hold = this.holdUntil - Date.now();
      if (hold > 0) {
        if (this.stopping || this.draining) return false;
        await this.sleep(hold);
        if (this.stopping) return false;
      }
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
        const now = Date.now();
        this.lastSuccess = now;
        this.failingSince = 0;
        // Additive increase: one more batch in flight after a window's worth of successes.
        if (++this.okInWindow >= this.window && this.window < this.o.inflight) {
          this.window++;
          this.okInWindow = 0;
          this.gauges();
          this.wakeSlot();
        }
        this.m.inc("porchlight_relay_sent_total", { component: C }, b.lines);
        this.m.inc("porchlight_relay_batches_total", { component: C, outcome: "delivered" });
        this.m.set("porchlight_relay_last_delivery_timestamp_seconds", {}, now / 1000);
        this.m.set("porchlight_relay_edge_up", {}, 1);
        this.m.observeLatency((now - b.cutAt) / 1000);
        this.log.debug("batch delivered", { key: b.key, lines: b.lines, status, attempts: attempt + 1 });
        await this.acknowledge(b);
        return true;
      }
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        const file = await this.spool.deadLetter(b, gunzipSync(body), { status, response: text.slice(0, 4096), endpoint: this.o.endpoint });
        await this.acknowledge(b);
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
      // Multiplicative decrease of the window.
      this.window = Math.max(1, Math.floor(this.window / 2));
      this.okInWindow = 0;
      this.gauges();
      const exp = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.min(attempt, 30));
      let delay = exp / 2 + Math.random() * (exp / 2); // "equal jitter": never less than half the step
      if (retryAfter !== null) delay = Math.min(RETRY_AFTER_MAX_MS, Math.max(delay, retryAfter));
      // The edge said it is overloaded: every sender holds off, not only this batch.
      if (status === 429 || status === 503) this.holdUntil = Math.max(this.holdUntil, Date.now() + delay);
      this.log.warn("delivery failed; will retry", { key: b.key, status: status || undefined, error: status ? text.slice(0, 200) : text, attempt: attempt + 1, retry_in_ms: Math.round(delay) });
      if (this.stopping || this.draining) return false; // shutting down: no waiting on a failing edge
      await this.sleep(delay);
      if (this.stopping) return false;
    }
  }

  /** Acknowledges in the spool; a cursor that cannot be written now is written with the next one. */
  private async acknowledge(b: Batch): Promise<void> {
    try {
      await this.spool.ack(b);
    } catch (e) {
      this.m.inc("porchlight_relay_errors_total", { component: "spool", reason: (e as NodeJS.ErrnoException).code ?? "cursor" });
      this.log.warn("could not persist an acknowledgement (it is kept in memory and written with the next)", { key: b.key, error: String(e) });
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
      this.halted = true;
      this.abort.abort();
      for (const w of this.sleeps) w();
      this.wakeSlot();
    }, timeoutMs);
    // A sleeping retry means the edge is failing: no point waiting for it during shutdown.
    if (this.sleeps.size) {
      this.stopping = true;
      for (const w of this.sleeps) w();
    }
    await this.running;
    clearTimeout(timer);
  }
}
