/**
 * `POST /v1/ingest` (ingest scope): a batch of syslog lines → normalized events in D1 → rule evaluation.
 *
 * Idempotency: the batch key is the `Idempotency-Key` header (random when absent). Event ids are
 * deterministic per (key, line), events are INSERT OR IGNORE, and the `batches` row is written last, so
 * a retry after any failure stores nothing twice, and a retry after success returns the first response
 * with `"duplicate": true`. If rule evaluation fails the answer is 503 and the `batches` row is not
 * written: the relay retries the same key and evaluation (idempotent per key) runs again.
 */
import type { Hono } from "hono";
import { requireScope, type AppEnv } from "../auth.ts";
import { INGEST_IDEMPOTENCY_MS, INGEST_PRUNE_EVERY } from "../constants.ts";
import { PorchlightError } from "../errors.ts";
import { batchKeyOf, prepareBatch } from "../ingest/batch.ts";
import { readIngestBody } from "../ingest/body.ts";
import { parseContextFor } from "../ingest/context.ts";
import { evaluateBatch } from "../rules/evaluate.ts";
import { storeOf } from "../store/d1.ts";
import { rollupsOf } from "../store/rollups.ts";
import { archiveBatch } from "../archive.ts";
import { rowsToStore } from "../retention.ts";
import { meterOf } from "../usage.ts";
import type { IngestResponse } from "../store/store.ts";
import { ingestNetwork } from "../network/hook.ts";

/** Ingest requests this isolate has served: a schedule (prune every INGEST_PRUNE_EVERY-th), not a result. */
let ingestsInIsolate = 0;
const RELAY_RE = /^[\x21-\x7e][\x20-\x7e]{0,63}$/;

/** The relay's name for the relays table: X-Porchlight-Relay, else the User-Agent, cut to 64 characters. */
function relayName(header: string | undefined, userAgent: string | undefined): string {
  if (header && RELAY_RE.test(header.trim())) return header.trim();
  const ua = (userAgent ?? "").replace(/[^\x20-\x7e]/g, "").trim().slice(0, 64);
  return ua || "unknown";
}

export function registerIngestRoutes(app: Hono<AppEnv>): void {
  app.post("/v1/ingest", requireScope("ingest"), async (c) => {
    const key = batchKeyOf(c.req.header("idempotency-key"));
    const store = storeOf(c.env);
    const pre = await store.ingestPreflight(key);
    if (pre.response) {
      await store.countDuplicateBatch();
      return c.json({ ...pre.response, duplicate: true });
    }
    // A retry of an attempt that stored its events reuses that attempt's receive time: lines without a
    // timestamp of their own take it as event time, and ids start with the event time.
    const nowMs = pre.pending?.received_at ?? Date.now();

    // The archive keeps the body as it arrived (compressed, no work of ours): a copy of the stream,
    // read only when the archive is written.
    const archiveCopy = c.env.ARCHIVE ? c.req.raw.clone() : null;
    const body = await readIngestBody(c.req.raw);
    const ctx = await parseContextFor(store, pre.settingsVersion);
    const clientIp = c.req.header("cf-connecting-ip");
    const relay = relayName(c.req.header("x-porchlight-relay"), c.req.header("user-agent"));
    const batch = prepareBatch(body.text, body.kind, { ctx, batchKey: key, nowMs, clientIp });
    // Sessions, passive DNS and devices (one RPC per router); conntrack lines of sessions-only sources are not stored.
    const net = await ingestNetwork(c.env, key, batch.events, pre.settingsVersion);
    // Archive-only datasets (retention policy "archive") skip D1 as well; rules, rollups and the archive see all.
    const kept = net.drop.size ? batch.rows.filter((_, i) => !net.drop.has(i)) : batch.rows;
    const toStore = await rowsToStore(store, kept, pre.settingsVersion);
    const archivedOnly = kept.length - toStore.length;
    const inserted = await store.insertEvents(toStore);

    const stored = inserted.stored + (pre.pending?.stored ?? 0);
    const rowsWritten = inserted.rowsWritten + (pre.pending?.rows_written ?? 0);

    let evaluated: { alerts: number; suppressed: number; late: number; lateByRule?: Record<string, number> };
    try {
      evaluated = await evaluateBatch(c.env, key, net.events.length ? [...batch.events, ...net.events] : batch.events);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", where: "evaluateBatch", requestId: c.get("requestId"), error: String(err) }));
      // +1: the pending record itself. Best effort: without it a retry still stores nothing twice for
      // lines that carry their own timestamp.
      const pending = { pending: true as const, received_at: nowMs, stored, rows_written: rowsWritten + 1 };
      await store.markPending(key, pending).catch(() => {});
      throw new PorchlightError(
        "unavailable",
        "Events are stored but rule evaluation failed; retry with the same Idempotency-Key",
      );
    }

    // Forget Idempotency-Keys older than any relay retry, now and then (the scan is billed as rows read).
    let pruned = 0;
    if (++ingestsInIsolate % INGEST_PRUNE_EVERY === 0) {
      pruned = (await store.pruneBatches(Date.now() - INGEST_IDEMPOTENCY_MS)).rowsWritten;
    }

    const response: IngestResponse = {
      accepted: batch.accepted,
      stored,
      parse_errors: batch.parseErrors,
      empty: batch.empty,
      duplicate: false,
      errors: batch.errors,
      alerts: evaluated.alerts,
      suppressed: evaluated.suppressed,
      late: evaluated.late,
    };
    await store.recordBatch({
      key,
      receivedAt: nowMs,
      response,
      counters: {
        received: batch.accepted,
        stored,
        parse_errors: batch.parseErrors,
        empty_lines: batch.empty,
        // Lines that were already stored (same id) by something other than this batch's attempts.
        duplicates: batch.accepted - stored - net.drop.size - archivedOnly,
        // Conntrack lines kept only as their sessions (network storage "sessions").
        flow_lines_as_sessions: net.drop.size,
        archived_only: archivedOnly,
        line_errors: batch.errors.length,
        // From rule evaluation: alerts created or changed, events kept out of alerting by suppress
        // rules, and matches the stateful engines ignored as too late for their rule's window.
        alerts: evaluated.alerts,
        suppressed: evaluated.suppressed,
        late_matches: evaluated.late,
        // per rule too (GET /v1/metrics): a late match is never dropped without a trace of whose it was
        ...Object.fromEntries(Object.entries(evaluated.lateByRule ?? {}).map(([id, n]) => [`late_matches.rule.${id}`, n])),
        rows_written: rowsWritten + pruned,
      },
      relay: {
        name: relay,
        ip: clientIp ?? null,
        lines: batch.accepted,
        bytes: body.bytes,
      },
      rollups: rollupsOf(batch.rows),
    });
    // The raw archive (when ARCHIVE is bound) after the batch is recorded; a failed write is logged and
    // counted, never a failed ingest: the events are stored.
    const archived = archiveCopy
      ? archiveCopy.arrayBuffer().then((bytes) => archiveBatch(c.env, relay, { kind: body.kind, gzip: body.encoding === "gzip", batchKey: key, nowMs, clientIp: clientIp ?? null }, bytes, batch.rows, meterOf(c)))
      : Promise.resolve([]);
    await archived.catch((err: unknown) => {
      console.error(JSON.stringify({ level: "error", where: "archive", requestId: c.get("requestId"), error: String(err) }));
      return store.addCounters({ archive_errors: 1 }).catch(() => {});
    });
    return c.json(response);
  });
}
