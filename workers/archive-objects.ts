/**
 * The R2 archive's objects of one ingest batch (workers/archive.ts writes them): per UTC event day, the
 * key, the gzip NDJSON body of the day's rows and the metadata a restore filters on. Pure; apart so
 * that the workerd bench times exactly what ingest does.
 */
import { gzipSync } from "node:zlib";
import type { EventRow } from "./store/types.ts";

export interface ArchiveObject {
  key: string;
  body: Uint8Array;
  customMetadata: { min_ts: string; max_ts: string; lines: string };
}

export const DAY_MS = 86_400_000;
/** The UTC day of a time (ms), YYYY-MM-DD: the archive's day prefix. */
export const dayText = (ms: number) => new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64) || "unknown";

/**
 * gzip (zlib's default level) in one native call. Byte for byte what CompressionStream("gzip") makes of
 * the same text in workerd (test/workers/archive.test.ts), without the stream pipeline around it
 * (≈0.35 ms of a 1000-line batch's CPU). The compression itself is most of the archive's cost.
 */
export function gzipText(text: string): Uint8Array {
  const z = gzipSync(text);
  return new Uint8Array(z.buffer, z.byteOffset, z.byteLength);
}

/** `raw/<YYYY-MM-DD>/<source>/<batch key>.ndjson.gz` per event day of the rows, with its body and time range. */
export async function archiveObjects(batchKey: string, source: string, rows: readonly EventRow[]): Promise<ArchiveObject[]> {
  const byDay = new Map<string, EventRow[]>();
  for (const r of rows) {
    const d = dayText(r.ts);
    const list = byDay.get(d);
    if (list) list.push(r);
    else byDay.set(d, [r]);
  }
  const out: ArchiveObject[] = [];
  for (const [day, list] of byDay) {
    let min = Infinity;
    let max = -Infinity;
    for (const r of list) {
      if (r.ts < min) min = r.ts;
      if (r.ts > max) max = r.ts;
    }
    out.push({
      key: `raw/${day}/${safe(source)}/${safe(batchKey)}.ndjson.gz`,
      body: gzipText(list.map((r) => JSON.stringify(r)).join("\n") + "\n"),
      customMetadata: { min_ts: String(min), max_ts: String(max), lines: String(list.length) },
    });
  }
  return out;
}
