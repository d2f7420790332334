/**
 * The raw archive in R2 (binding ARCHIVE; optional: without it nothing is archived). Every accepted
 * ingest batch is kept as it arrived, its request body unchanged (the relay's gzip NDJSON), under the
 * day of its earliest event, with a pointer object for each other day its events fall on
 * (workers/archive-objects.ts has the layout). The object listing of a day prefix, with its metadata,
 * is the index: a restore lists the days of its range, skips objects whose [min_ts, max_ts] misses it,
 * parses each body again as ingest did (same batch key, receive time and sender, so the same event ids;
 * parse settings as they are now) and inserts the events inside the range (INSERT OR IGNORE: restoring
 * twice stores nothing twice). Objects are keyed by batch key, so a retried batch rewrites the same
 * objects. The bucket's own lifecycle rule bounds the archive's retention (docs/operations.md).
 * Objects of earlier builds (the rows as gzip NDJSON, no `kind` in their metadata) still restore.
 */
import { archiveObjects, DAY_MS, dayText, type ArchivedBody } from "./archive-objects.ts";
import { ARCHIVE_RESTORE_MAX_OBJECTS } from "./constants.ts";
import type { Env } from "./env.ts";
import { prepareBatch } from "./ingest/batch.ts";
import { decodeUtf8, readBodyBytes, type BodyKind } from "./ingest/body.ts";
import { parseContextFor } from "./ingest/context.ts";
import type { EventRow, Store } from "./store/store.ts";
import type { Meter } from "./usage.ts";

/**
 * Writes the batch's body as it arrived (`bytes`, gzip or not as `body.gzip` says) and a pointer for each
 * other event day of its rows. Returns the keys written.
 */
export async function archiveBatch(env: Pick<Env, "ARCHIVE">, source: string, body: ArchivedBody, bytes: ArrayBuffer, rows: readonly EventRow[], meter?: Meter): Promise<string[]> {
  const bucket = env.ARCHIVE;
  if (!bucket || rows.length === 0) return [];
  const keys: string[] = [];
  for (const o of archiveObjects(source, body, rows)) {
    await bucket.put(o.key, o.ref === null ? bytes : new Uint8Array(0), {
      httpMetadata: o.ref === null ? { contentType: body.kind === "ndjson" ? "application/x-ndjson" : "text/plain; charset=utf-8", ...(o.gzip ? { contentEncoding: "gzip" } : {}) } : {},
      customMetadata: { ...o.customMetadata },
    });
    meter?.add("r2_class_a");
    keys.push(o.key);
  }
  return keys;
}

export interface RestoreReport {
  from: string;
  to: string;
  /** Archive objects read, and the rows in them inside the range. */
  objects: number;
  rows: number;
  /** Rows inserted; the rest were in search already. */
  restored: number;
  already_stored: number;
  /** False when the object budget ran out: call again with `cursor`. */
  complete: boolean;
  cursor: string | null;
}

/**
 * Restores the archived events with event time in [from, to] (ms, inclusive) into search. `cursor`
 * (from a previous incomplete answer) is the last object key read.
 */
export async function restoreRange(bucket: R2Bucket, store: Store, from: number, to: number, cursor: string | null, meter?: Meter, maxObjects = ARCHIVE_RESTORE_MAX_OBJECTS): Promise<RestoreReport> {
  const report: RestoreReport = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), objects: 0, rows: 0, restored: 0, already_stored: 0, complete: true, cursor: null };
  const read = new Set<string>();
  let ctx: ReturnType<typeof parseContextFor> | undefined;
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day <= to; day += DAY_MS) {
    const prefix = `raw/${dayText(day)}/`;
    if (cursor && cursor.slice(0, prefix.length) > prefix) continue; // days before the cursor's are done
    let listCursor: string | undefined;
    do {
      const page = await bucket.list({ prefix, cursor: listCursor, include: ["customMetadata"], ...(cursor && cursor.startsWith(prefix) ? { startAfter: cursor } : {}) });
      meter?.add("r2_class_a");
      for (const obj of page.objects) {
        const min = Number(obj.customMetadata?.min_ts ?? -Infinity);
        const max = Number(obj.customMetadata?.max_ts ?? Infinity);
        if (max < from || min > to) continue;
        if (report.objects >= maxObjects) {
          report.complete = false;
          return report;
        }
        // A pointer names the body; a body reached from two days of one range is read once per call.
        const bodyKey = obj.customMetadata?.ref ?? obj.key;
        report.cursor = obj.key;
        if (read.has(bodyKey)) continue;
        read.add(bodyKey);
        const got = await bucket.get(bodyKey);
        meter?.add("r2_class_b");
        report.objects++;
        if (!got) continue; // deleted meanwhile (lifecycle)
        const rows = (await archivedRows(got, () => (ctx ??= store.settingsVersion().then((v) => parseContextFor(store, v)))))
          .filter((r) => r.ts >= from && r.ts <= to);
        report.rows += rows.length;
        if (rows.length) {
          // Not marked late for the retention sweep: a restore is asked for, so it stays until the policy is saved.
          const r = await store.insertEvents(rows, { restored: true });
          report.restored += r.stored;
          report.already_stored += rows.length - r.stored;
        }
      }
      listCursor = page.truncated ? page.cursor : undefined;
    } while (listCursor);
  }
  report.cursor = null;
  return report;
}

/** The rows of one archived object: its body parsed again as ingest did, or an earlier build's rows. */
async function archivedRows(got: R2ObjectBody, context: () => ReturnType<typeof parseContextFor>): Promise<EventRow[]> {
  const meta = got.customMetadata ?? {};
  // Ingest's own body reader; no size cap: an earlier build's rows of a 5000-line batch exceed ingest's.
  const bytes = await readBodyBytes(got.body, got.httpMetadata?.contentEncoding === "gzip" ? "gzip" : "identity", null, Infinity);
  const text = decodeUtf8(bytes);
  if (meta.kind === undefined) return text.split("\n").filter((l) => l).map((l) => JSON.parse(l) as EventRow);
  const batch = prepareBatch(text, meta.kind as BodyKind, {
    ctx: await context(),
    batchKey: meta.batch_key ?? "",
    nowMs: Number(meta.now_ms),
    ...(meta.client_ip ? { clientIp: meta.client_ip } : {}),
  });
  return batch.rows;
}
