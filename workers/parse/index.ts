/**
 * The parsing stage's entry point: one raw input line → one normalized ECS event (syslog format stage,
 * then the program parser, then user extractors). Pure (no Workers APIs): runs in workerd, Node tests
 * and Node benchmarks alike. Used by ingest (`POST /v1/ingest`, `POST /v1/parse`), backtests, benches.
 *
 * What counts as a parse error (`porchlight.parse_error` set; ingest counts it in `parse_errors`):
 * exactly the lines stored with `event.dataset = "unparsed"`: the syslog header was not recognised
 * (format "none") AND no program parser recognised the text — e.g. empty or binary junk, or a bare
 * line from an unknown program. A line with a valid header whose program we do not know is NOT an
 * error: it is dataset "syslog" with the generic fields. A known program's unknown message gets that
 * program's dataset (e.g. "sshd") with no classification. Never throws: an internal fault also yields
 * "unparsed" with the reason, and `raw` is always kept.
 */
import type { EcsEvent } from "../ecs.ts";
import type { ParseContext, ProgramFields, RawInput, SyslogMessage } from "./types.ts";
import { eventId, newEventId } from "./id.ts";
import { parseSyslog } from "./syslog.ts";
import { facilityName, severityName } from "./names.ts";
import { parseProgram, sniffTag } from "./programs/index.ts";
import { applyExtractors } from "./extractors.ts";
import { digitsValue } from "./number.ts";
import { INGEST_MAX_LINE_BYTES } from "../constants.ts";

/** A context with UTC everywhere and no extractors (tests, benchmarks). */
export const DEFAULT_CONTEXT: ParseContext = { timezoneFor: () => "UTC", extractors: [] };

const MAX_TS = 2 ** 48 - 1;

/**
 * Normalizes one line. `batchKey`/`index` (the ingest Idempotency-Key and line number) make the id
 * deterministic so a retried batch stores nothing twice; without them the id is random. The event's
 * times are whole ms (sub-ms digits of a timestamp are dropped).
 */
export function normalize(input: RawInput, ctx: ParseContext, batchKey?: string, index?: number): EcsEvent {
  const receivedAt = Math.floor(Number.isFinite(input.receivedAt) && input.receivedAt >= 0 && input.receivedAt <= MAX_TS ? input.receivedAt : Date.now());
  let raw = typeof input.raw === "string" ? input.raw : String(input.raw);
  let truncated = false;
  // Cheap pre-check: a UTF-16 string of n units is at most 3n UTF-8 bytes.
  if (raw.length * 3 > INGEST_MAX_LINE_BYTES && utf8Length(raw) > INGEST_MAX_LINE_BYTES) {
    raw = truncateUtf8(raw, INGEST_MAX_LINE_BYTES);
    truncated = true;
  }
  try {
    return build(raw, receivedAt, input, ctx, batchKey, index, truncated);
  } catch (e) {
    return {
      id: batchKey !== undefined ? eventId(receivedAt, batchKey, index ?? 0) : newEventId(receivedAt),
      "@timestamp": receivedAt,
      received_at: receivedAt,
      raw,
      message: raw,
      event: { dataset: "unparsed", kind: "event" },
      porchlight: { parse_error: `internal parser fault: ${String((e as Error)?.message ?? e).slice(0, 200)}`, ...(truncated || input.truncated ? { truncated: true } : {}) },
    };
  }
}

// Pure cache of timezoneOf: the callback of the last (context, sender).
let tzCtx: ParseContext | null = null;
let tzSourceIp: string | undefined;
let tzFn: (hostname: string | undefined) => string = () => "UTC";

/**
 * The parser's timezone callback for lines of `sourceIp` under `ctx`: `(host) => ctx.timezoneFor(host,
 * sourceIp)`, made once per run of lines from one sender instead of once per line (the bundler wraps each
 * named closure in a call that sets its name, Object.defineProperty, so a closure per line cost ≈0.2 ms
 * per 1000 lines in workerd). It calls ctx.timezoneFor at each use, so it answers as a fresh one would.
 */
export function timezoneOf(ctx: ParseContext, sourceIp: string | undefined): (hostname: string | undefined) => string {
  if (ctx !== tzCtx || sourceIp !== tzSourceIp) {
    tzCtx = ctx;
    tzSourceIp = sourceIp;
    tzFn = (host) => ctx.timezoneFor(host, sourceIp);
  }
  return tzFn;
}

function build(
  raw: string, receivedAt: number, input: RawInput, ctx: ParseContext, batchKey: string | undefined, index: number | undefined,
  truncated: boolean,
): EcsEvent {
  const sourceIp = input.sourceIp;
  const syslog = parseSyslog(raw, { receivedAt, timezone: timezoneOf(ctx, sourceIp) });
  let ts = syslog.timestamp;
  if (ts === undefined || !Number.isFinite(ts) || ts < 0 || ts > MAX_TS) ts = receivedAt;
  ts = Math.floor(ts); // whole ms: a timestamp's µs are not kept
  const ev: EcsEvent = {
    id: batchKey !== undefined ? eventId(ts, batchKey, index ?? 0) : newEventId(ts),
    "@timestamp": ts,
    received_at: receivedAt,
    raw,
    message: syslog.msg,
    event: { dataset: "syslog", kind: "event" },
  };
  const log = syslogFields(syslog);
  if (log) ev.log = { syslog: log };
  if (syslog.severity !== undefined) ev.event.severity = syslog.severity;
  if (syslog.repeatCount !== undefined) ev.event.count = syslog.repeatCount;

  // A headerless line's `host prog[pid]: ` tag naming a program we know stands in for the header's fields.
  const tag = raw.length === 0 ? null : sniffTag(syslog);
  const fields = raw.length === 0 ? null : parseProgram(syslog, tag);
  let program = syslog.appName;
  let hostname = syslog.hostname;
  let pid = syslog.procId;
  if (tag) {
    program = tag.program;
    if (tag.pid) pid = tag.pid;
    if (tag.hostname && !hostname) hostname = tag.hostname;
  }
  if (hostname) ev.host = { hostname };
  if (program) {
    const pidNo = pid ? digitsValue(pid, 10) : -1; // 1 to 10 digits: fits the ECS long and means a number
    ev.process = pidNo >= 0 ? { name: program, pid: pidNo } : { name: program };
  }

  const pl: NonNullable<EcsEvent["porchlight"]> = {};
  if (sourceIp) pl.source_ip = sourceIp;
  if (input.transport) pl.transport = input.transport;
  if (truncated) pl.truncated = true;

  if (fields) merge(ev, fields, pl);
  else if (syslog.format === "none") {
    ev.event.dataset = "unparsed";
    pl.parse_error = raw.length === 0 ? "empty line" : "no syslog header and no program parser recognised the line";
  }

  if (ctx.extractors.length > 0 && syslog.msg) {
    const labels = applyExtractors(ctx.extractors, syslog.msg, program, hostname);
    if (labels) ev.labels = { ...(ev.labels ?? {}), ...labels };
  }
  // Cut by the sender: flagged like our own cut (last, where the stored documents have always had it).
  if (input.truncated === true && !pl.truncated) pl.truncated = true;
  if (pl.source_ip !== undefined || pl.transport !== undefined || pl.truncated || pl.parse_error !== undefined || pl.fields !== undefined) {
    ev.porchlight = pl;
  }
  return ev;
}

// The {code, name} pairs are shared by all events (frozen: nothing downstream may edit them in place).
const FACILITIES = Array.from({ length: 24 }, (_, c) => Object.freeze({ code: c, name: facilityName(c) ?? String(c) }));
const SEVERITIES = Array.from({ length: 8 }, (_, c) => Object.freeze({ code: c, name: severityName(c) ?? String(c) }));

function syslogFields(s: SyslogMessage): NonNullable<NonNullable<EcsEvent["log"]>["syslog"]> | undefined {
  if (s.format === "none") return undefined;
  const out: NonNullable<NonNullable<EcsEvent["log"]>["syslog"]> = {};
  if (s.pri !== undefined) out.priority = s.pri;
  if (s.facility !== undefined) out.facility = FACILITIES[s.facility] ?? { code: s.facility, name: String(s.facility) };
  if (s.severity !== undefined) out.severity = SEVERITIES[s.severity] ?? { code: s.severity, name: String(s.severity) };
  if (s.hostname !== undefined) out.hostname = s.hostname;
  if (s.appName !== undefined) out.appname = s.appName;
  if (s.procId !== undefined) out.procid = s.procId;
  if (s.msgId !== undefined) out.msgid = s.msgId;
  if (s.version !== undefined) out.version = String(s.version);
  if (s.structuredData !== undefined) out.structured_data = s.structuredData;
  return out;
}

/**
 * Merges a program parser's fields into the event: `event`, `process`, `host` and `porchlight` merge;
 * the others replace. Named stores (not a loop over keys) keep this monomorphic on the hot path; a new
 * ProgramFields key must be added here (the type check below fails otherwise).
 */
function merge(ev: EcsEvent, f: ProgramFields, pl: NonNullable<EcsEvent["porchlight"]>): void {
  const e = f.event;
  const t = ev.event;
  if (e.dataset !== undefined) t.dataset = e.dataset;
  if (e.category !== undefined) t.category = e.category;
  if (e.type !== undefined) t.type = e.type;
  if (e.action !== undefined) t.action = e.action;
  if (e.outcome !== undefined) t.outcome = e.outcome;
  if (e.kind !== undefined) t.kind = e.kind;
  if (e.severity !== undefined) t.severity = e.severity;
  if (e.count !== undefined) t.count = e.count;
  if (e.module !== undefined) t.module = e.module;
  if (f.process) ev.process = ev.process ? Object.assign(ev.process, f.process) : f.process;
  if (f.host) ev.host = ev.host ? Object.assign(ev.host, f.host) : f.host;
  if (f.porchlight && f.porchlight.fields !== undefined) pl.fields = f.porchlight.fields; // its only key (ProgramFields)
  if (f.source) ev.source = f.source;
  if (f.destination) ev.destination = f.destination;
  if (f.network) ev.network = f.network;
  if (f.user) ev.user = f.user;
  if (f.dns) ev.dns = f.dns;
  if (f.rule) ev.rule = f.rule;
  if (f.observer) ev.observer = f.observer;
  if (f.related) ev.related = f.related;
  if (f.labels) ev.labels = f.labels;
  if (f.message !== undefined) ev.message = f.message;
  if (f.log) ev.log = f.log;
}

// Every ProgramFields key is handled by merge(): adding one to the type without merging it fails here.
type Merged = "event" | "process" | "host" | "porchlight" | "source" | "destination" | "network" | "user" | "dns" | "rule" | "observer" | "related" | "labels" | "message" | "log";
const _allMerged: Exclude<keyof ProgramFields, Merged> extends never ? true : never = true;
void _allMerged;

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

/** Longest prefix of `s` whose UTF-8 encoding fits in `max` bytes, never splitting a surrogate pair. */
function truncateUtf8(s: string, max: number): string {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length;
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (n + w > max) return s.slice(0, i);
    n += w;
    if (pair) i++;
  }
  return s;
}
