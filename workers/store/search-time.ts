/**
 * Index-time columns, search-time fields. An events row stores the original line (`raw`), the typed
 * columns queries filter on (fixed when the line is ingested: the index), and in `doc` only what
 * parsing `raw` again cannot give back. Every other ECS field is derived again from `raw` by the
 * running parsers when the event is read (Splunk's search-time field extraction; Loki works alike).
 *
 * Why: building, compacting and twice JSON-encoding a per-event document was a third of the Worker's CPU
 * per ingest batch (the Free plan allows 10 ms per request) and two thirds of each row's bytes in D1
 * (Free: 5 GB). Reading re-parses only the page asked for (≈4 µs an event); parser fixes reach old events.
 *
 * Invariants:
 * - normalize() is a pure function of (raw, received_at, source_ip, transport, extractors, timezone);
 *   the timezone only moves @timestamp, which is a column, so re-parsing uses UTC and no extractors, and
 *   `doc` keeps the rest: `s` = porchlight.source_ip, `t` = porchlight.transport, `x` = 1 when the line
 *   was cut (by the relay or by us: `raw` is then already the cut text), `l` = the extractors' labels
 *   as they were at ingest (an extractor edited later does not rewrite history; no program parser
 *   sets labels).
 * - searchTimeEvent(row of eventRow(e)) deep-equals e (key order aside) for every event e that
 *   normalize() makes: test/unit/doc-roundtrip.test.ts checks it over the corpora and arbitrary lines.
 * - The columns stay what was indexed. If a newer parser reads a stored line differently, the API shows
 *   the new reading and `porchlight.index_drift` lists each column whose stored value differs, with
 *   that value, so a filter's result stays explainable.
 * - A doc with `~` or `event` is a compacted or full document from 0.1 builds: it is read by
 *   workers/store/doc.ts as before (new docs never have those keys).
 */
import type { EcsEvent } from "../ecs.ts";
import { DEFAULT_CONTEXT, normalize } from "../parse/index.ts";
import type { RawInput } from "../parse/types.ts";

/** The search-time part of a stored row: what re-parsing `raw` cannot restore. */
export interface SearchTimeDoc {
  s?: string;
  t?: NonNullable<RawInput["transport"]>;
  x?: 1;
  l?: Record<string, string>;
}

/** The columns an event is indexed under (`class_bits`: see classBits). */
export interface IndexColumns {
  host: string | null;
  program: string | null;
  dataset: string;
  src_ip: string | null;
  dst_ip: string | null;
  src_port: number | null;
  dst_port: number | null;
  protocol: string | null;
  user: string | null;
  action: string | null;
  outcome: string | null;
  severity: number | null;
  class_bits: number | null;
}

// --- event.category / event.type as one integer column

/**
 * ECS's allowed values of event.category and event.type (ECS 8.x), by bit: categories in bits 0..19,
 * types from bit 20 on. SQL aggregates test a bit instead of parsing JSON (workers/routes/stats.ts), and
 * future filters can. Stored in D1: never reorder, only append (2^53 leaves room for 16 more).
 * A value outside ECS's lists is not indexed (the event still shows it: the field is search-time).
 */
export const ECS_CATEGORIES = [
  "api", "authentication", "configuration", "database", "driver", "email", "file", "host", "iam", "intrusion_detection",
  "library", "malware", "network", "package", "process", "registry", "session", "threat", "vulnerability", "web",
] as const;
export const ECS_TYPES = [
  "access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "end", "error",
  "group", "indicator", "info", "installation", "protocol", "start", "user",
] as const;
const TYPE_BASE = 2 ** 20;

// Bit of each value within its own 32-bit half (categories < 2^20, types < 2^17): bitwise ORs ignore repeats.
const categoryBit = new Map<string, number>(ECS_CATEGORIES.map((c, i) => [c, 1 << i]));
const typeBit = new Map<string, number>(ECS_TYPES.map((t, i) => [t, 1 << i]));

/** The bit of a category or type value (for SQL: `(class_bits & bit) != 0`). */
export const categoryMask = (c: (typeof ECS_CATEGORIES)[number]): number => categoryBit.get(c)!;
export const typeMask = (t: (typeof ECS_TYPES)[number]): number => typeBit.get(t)! * TYPE_BASE;

/** The bits of the event's categories plus TYPE_BASE × the bits of its types (over 32 bits: arithmetic); null when none. */
export function classBits(category: readonly string[] | undefined, type: readonly string[] | undefined): number | null {
  let c = 0, t = 0;
  if (category) for (let i = 0; i < category.length; i++) c |= categoryBit.get(category[i]!) ?? 0;
  if (type) for (let i = 0; i < type.length; i++) t |= typeBit.get(type[i]!) ?? 0;
  return c === 0 && t === 0 ? null : c + t * TYPE_BASE;
}

// --- Index columns of an event

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const int = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) ? v : null);

/** The typed columns of an event, as ingest writes them and the drift check compares them. */
export function indexColumns(e: EcsEvent): IndexColumns {
  const c: IndexColumns = {
    host: null, program: null, dataset: "unparsed", src_ip: null, dst_ip: null, src_port: null, dst_port: null,
    protocol: null, user: null, action: null, outcome: null, severity: null, class_bits: null,
  };
  writeIndexColumns(e, c);
  return c;
}

/** Sets the index columns of `out` (a row being built: no intermediate object per event). */
export function writeIndexColumns(e: EcsEvent, out: IndexColumns): void {
  const ev = e.event;
  const syslog = e.log?.syslog;
  out.host = str(e.host?.hostname) ?? str(syslog?.hostname);
  out.program = str(e.process?.name) ?? str(syslog?.appname);
  out.dataset = str(ev?.dataset) ?? "unparsed";
  out.src_ip = str(e.source?.ip);
  out.dst_ip = str(e.destination?.ip);
  out.src_port = int(e.source?.port);
  out.dst_port = int(e.destination?.port);
  out.protocol = str(e.network?.transport) ?? str(e.network?.protocol);
  out.user = str(e.user?.name);
  out.action = str(ev?.action);
  out.outcome = str(ev?.outcome);
  out.severity = int(ev?.severity) ?? int(syslog?.severity?.code);
  out.class_bits = ev ? classBits(ev.category, ev.type) : null;
}

// --- Ingest: the stored doc

const EMPTY: SearchTimeDoc = Object.freeze({});

/**
 * Docs without labels, by sender/transport/cut: the lines of a batch come from a few senders, so they
 * share a few frozen objects, and the INSERT sends each distinct doc once (store.ts). A small ring of
 * recent docs compared field by field: no key string to build and hash per event. A pure cache: a
 * ring hit is equal field by field to the doc newDoc would build.
 */
const RING = 16;
const ring: (SearchTimeDoc | undefined)[] = new Array<SearchTimeDoc | undefined>(RING).fill(undefined);
let ringNext = 0;

/** The doc stored for an event: `{}`, or the sender and transport of relayed lines (frozen, shared). */
export function searchTimeDoc(e: EcsEvent): SearchTimeDoc {
  const pl = e.porchlight;
  const s = pl?.source_ip, t = pl?.transport, x = pl?.truncated === true ? 1 : undefined;
  // Labels come from the user's extractors and differ per line: such a doc is never shared.
  if (e.labels !== undefined) return newDoc(s, t, x, e.labels);
  if (s === undefined && t === undefined && x === undefined) return EMPTY;
  for (let i = 0; i < RING; i++) {
    const d = ring[i];
    if (d !== undefined && d.s === s && d.t === t && d.x === x) return d;
  }
  const d = newDoc(s, t, x, undefined);
  ring[ringNext] = d;
  ringNext = (ringNext + 1) % RING;
  return d;
}

function newDoc(s: string | undefined, t: SearchTimeDoc["t"], x: 1 | undefined, l: Record<string, string> | undefined): SearchTimeDoc {
  const d: SearchTimeDoc = {};
  if (s !== undefined) d.s = s;
  if (t !== undefined) d.t = t;
  if (x !== undefined) d.x = x;
  if (l !== undefined) d.l = l;
  return Object.freeze(d);
}

/** Whether a stored doc is in this format (not a 0.1 compacted or full document). */
export const isSearchTimeDoc = (doc: Record<string, unknown>): boolean => !("~" in doc) && !("event" in doc);

// --- Read: the event again


const TRANSPORTS = new Set<string>(["udp", "tcp", "tls", "file", "stdin", "http", "relp"]);

/** What searchTimeEvent needs of a row (an EventRow, workers/store/store.ts). */
type StoredEventRow = IndexColumns & { id: string; ts: number; received_at: number; message: string | null; raw: string; doc: Record<string, unknown> };

/**
 * The event a row stands for: the envelope (id, @timestamp, received_at, message) from its columns, the
 * fields the running parsers derive from `raw`, what the doc kept, `raw` last.
 */
export function searchTimeEvent(r: StoredEventRow): Record<string, unknown> {
  const d = r.doc as SearchTimeDoc;
  const input: RawInput = { raw: r.raw, receivedAt: r.received_at };
  if (typeof d.s === "string") input.sourceIp = d.s;
  if (typeof d.t === "string" && TRANSPORTS.has(d.t)) input.transport = d.t;
  // A fixed batch key: the id normalize makes is replaced by the stored one (no random id to draw).
  // UTC (only @timestamp depends on the zone, and it comes from its column), no extractors (`l` kept them).
  const e = normalize(input, DEFAULT_CONTEXT, "", 0);
  const out: Record<string, unknown> = {
    id: r.id,
    "@timestamp": r.ts,
    received_at: r.received_at,
  };
  if (r.message !== null) out.message = r.message;
  for (const k in e) {
    if (k !== "id" && k !== "@timestamp" && k !== "received_at" && k !== "message" && k !== "raw") out[k] = (e as unknown as Record<string, unknown>)[k];
  }
  if (d.l !== null && typeof d.l === "object") out.labels = { ...(e.labels ?? {}), ...d.l };
  if (d.x === 1) out.porchlight = { ...(e.porchlight ?? {}), truncated: true };
  const drift = indexDrift(r, indexColumns(e));
  if (drift !== null) out.porchlight = { ...((out.porchlight as object | undefined) ?? {}), index_drift: drift };
  out.raw = r.raw;
  return out;
}

const DRIFT_COLUMNS = [
  "host", "program", "dataset", "src_ip", "dst_ip", "src_port", "dst_port", "protocol", "user", "action", "outcome", "severity", "class_bits",
] as const satisfies readonly (keyof IndexColumns)[];

/**
 * The stored columns that differ from what the running parsers derive (a parser changed since the
 * line was ingested), with their stored values; null when none do. A row from before class_bits
 * existed (NULL there) is not flagged for it.
 */
function indexDrift(stored: IndexColumns, now: IndexColumns): Record<string, unknown> | null {
  let out: Record<string, unknown> | null = null;
  for (const c of DRIFT_COLUMNS) {
    const was = stored[c] ?? null;
    if (c === "class_bits" && was === null) continue;
    if (was !== (now[c] ?? null)) (out ??= {})[c] = was;
  }
  return out;
}
