/**
 * The R2 archive's objects of one ingest batch (workers/archive.ts writes them): per UTC event day, the
 * key, the gzip NDJSON body of the day's rows and the metadata a restore filters on. Pure but for the
 * compression stream; apart so that the workerd bench times exactly what ingest does.
 */
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

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
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
      body: await gzip(list.map((r) => JSON.stringify(r)).join("\n") + "\n"),
      customMetadata: { min_ts: String(min), max_ts: String(max), lines: String(list.length) },
    });
  }
  return out;
}
