/**
 * The R2 archive's objects of one ingest batch (workers/archive.ts writes them): the request body as it
 * arrived (the relay's gzip NDJSON, or text), so archiving costs the Worker no compression: gzip of the
 * rows' NDJSON was ≈ 8.7 ms of CPU per 1000 lines, over the Free plan's 10 ms with the rest of ingest.
 *
 *   raw/<YYYY-MM-DD>/<source>/<batch key>.<ndjson|txt>[.gz]   the body; its day is the day of the
 *                                                             batch's earliest event
 *   raw/<YYYY-MM-DD>/<source>/<batch key>.ref                 empty, one per other event day of the
 *                                                             batch, pointing at the body (`ref`)
 *
 * Each object's customMetadata holds the time range of the batch's events on that day (`min_ts`,
 * `max_ts`: a restore skips what misses its range) and what re-parsing needs: the exact batch key (event
 * ids are derived from it), the receive time ingest used for lines without a time, the sender's address
 * and the body's kind. Pure; apart so that the workerd bench times exactly what ingest does.
 */
import type { BodyKind } from "./ingest/body.ts";
import type { EventRow } from "./store/types.ts";

export const DAY_MS = 86_400_000;
/** The UTC day of a time (ms), YYYY-MM-DD: the archive's day prefix. */
export const dayText = (ms: number) => new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 64) || "unknown";

/** How to parse an archived body again (customMetadata values are strings). */
export interface ArchiveMeta {
  min_ts: string;
  max_ts: string;
  lines: string;
  kind: BodyKind;
  batch_key: string;
  now_ms: string;
  client_ip: string;
}

export interface ArchiveObject {
  key: string;
  /** The body object, or a pointer (`ref`: the body's key) for another event day. */
  ref: string | null;
  gzip: boolean;
  customMetadata: ArchiveMeta & { ref?: string };
}

/** The batch as it arrived: what archiveObjects needs besides its rows. */
export interface ArchivedBody {
  kind: BodyKind;
  gzip: boolean;
  batchKey: string;
  nowMs: number;
  clientIp: string | null;
}

/** The objects of one batch: its body under the day of its earliest event, a pointer for each other day. */
export function archiveObjects(source: string, body: ArchivedBody, rows: readonly EventRow[]): ArchiveObject[] {
  const byDay = new Map<string, { min: number; max: number; n: number }>();
  for (const r of rows) {
    const d = dayText(r.ts);
    const x = byDay.get(d);
    if (!x) byDay.set(d, { min: r.ts, max: r.ts, n: 1 });
    else {
      if (r.ts < x.min) x.min = r.ts;
      if (r.ts > x.max) x.max = r.ts;
      x.n++;
    }
  }
  const days = [...byDay].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  if (days.length === 0) return [];
  const name = `${safe(source)}/${safe(body.batchKey)}`;
  const bodyKey = `raw/${days[0]![0]}/${name}.${body.kind === "ndjson" ? "ndjson" : "txt"}${body.gzip ? ".gz" : ""}`;
  return days.map(([day, x], i) => {
    const meta: ArchiveMeta = {
      min_ts: String(x.min), max_ts: String(x.max), lines: String(x.n), kind: body.kind,
      batch_key: body.batchKey, now_ms: String(body.nowMs), client_ip: body.clientIp ?? "",
    };
    return i === 0
      ? { key: bodyKey, ref: null, gzip: body.gzip, customMetadata: meta }
      : { key: `raw/${day}/${name}.ref`, ref: bodyKey, gzip: false, customMetadata: { ...meta, ref: bodyKey } };
  });
}
