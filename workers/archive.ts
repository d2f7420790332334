/**
 * The raw archive in R2 (binding ARCHIVE; optional: without it nothing is archived). Every accepted
 * ingest batch is written as gzip NDJSON of its stored rows (the EventRow: typed columns, `raw` and
 * `doc`, so a restore is the same row again), one object per UTC event day of the batch:
 *
 *   raw/<YYYY-MM-DD>/<source>/<batch key>.ndjson.gz   customMetadata {min_ts, max_ts, lines}
 *
 * `source` is the relay's name (sanitised). The object listing of a day prefix, with its metadata, is
 * the index: a restore lists the days of its range, skips objects whose [min_ts, max_ts] misses it, and
 * inserts the rows inside it (INSERT OR IGNORE: restoring twice stores nothing twice). Objects are keyed
 * by batch key, so a retried batch rewrites the same object. The bucket's own lifecycle rule bounds the
 * archive's retention (docs/operations.md).
 */
import { archiveObjects, DAY_MS, dayText } from "./archive-objects.ts";
import { ARCHIVE_RESTORE_MAX_OBJECTS } from "./constants.ts";
import type { Env } from "./env.ts";
import type { EventRow, Store } from "./store/store.ts";
import type { Meter } from "./usage.ts";

async function gunzipText(body: ReadableStream): Promise<string> {
  return new Response(body.pipeThrough(new DecompressionStream("gzip"))).text();
}

/** Writes the batch's rows (one object per event day: workers/archive-objects.ts). Returns the keys written. */
export async function archiveBatch(env: Pick<Env, "ARCHIVE">, batchKey: string, source: string, rows: readonly EventRow[], meter?: Meter): Promise<string[]> {
  const bucket = env.ARCHIVE;
  if (!bucket || rows.length === 0) return [];
  const keys: string[] = [];
  for (const o of await archiveObjects(batchKey, source, rows)) {
    await bucket.put(o.key, o.body, {
      httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
      customMetadata: o.customMetadata,
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
        const got = await bucket.get(obj.key);
        meter?.add("r2_class_b");
        report.objects++;
        report.cursor = obj.key;
        if (!got) continue; // deleted meanwhile (lifecycle)
        const rows = (await gunzipText(got.body))
          .split("\n")
          .filter((l) => l)
          .map((l) => JSON.parse(l) as EventRow)
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
