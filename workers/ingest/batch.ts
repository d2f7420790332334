/**
 * One ingest batch, from decoded body text to events and rows: line splitting, the per-line NDJSON
 * envelope, limits, normalization and the row mapping. Pure (no I/O), so POST /v1/ingest, POST
 * /v1/parse and the ingest benchmark run exactly the same code.
 *
 * Invariants: line numbers are 1-based positions in the body; the event of line n gets the id
 * `eventId(ts, batchKey, n - 1)` (through `normalize`), so a retried batch maps to the same rows. A
 * malformed NDJSON line is reported by number AND stored as a raw line (nothing is lost): its text
 * becomes `raw` and it is parsed like a text/plain line.
 */
import { INGEST_MAX_LINES } from "../constants.ts";
import type { EcsEvent } from "../ecs.ts";
import { PorchlightError } from "../errors.ts";
import { normalize } from "../parse/index.ts";
import { canonicalIp } from "../parse/ip.ts";
import { newIsoScan, scanIso } from "../parse/time.ts";
import type { ParseContext, RawInput } from "../parse/types.ts";
import { eventRow, type EventRow } from "../store/store.ts";
import type { BodyKind } from "./body.ts";

export interface LineError {
  line: number;
  message: string;
}

export interface PreparedBatch {
  events: EcsEvent[];
  rows: EventRow[];
  /** Non-empty lines (each becomes one event). */
  accepted: number;
  /** Events that no parser understood (`event.dataset = "unparsed"`); stored all the same. */
  parseErrors: number;
  /** Empty or whitespace-only lines, ignored. */
  empty: number;
  errors: LineError[];
}

export interface BatchOptions {
  ctx: ParseContext;
  batchKey: string;
  /** Edge receive time, ms: `received_at` of text/plain lines and of NDJSON lines without one. */
  nowMs: number;
  /** The HTTP client's address (CF-Connecting-IP): `source_ip` of text/plain lines. */
  clientIp?: string | undefined;
}

/** Most line errors listed in one response; the rest are summarized in the last entry. */
export const MAX_REPORTED_ERRORS = 100;

/**
 * The NDJSON envelope the relay sends: {"raw": string, "received_at"?: string, "source_ip"?: string,
 * "transport"?: string, "truncated"?: boolean} (relay/sources/source.ts). Unknown keys are ignored
 * (newer relays may add some). Checked by hand, not with a zod schema: this runs once per line of every
 * batch, and a schema parse cost more than the rest of the envelope handling.
 */
export interface NdjsonLine {
  raw: string;
  received_at?: string;
  source_ip?: string;
  transport?: string;
  truncated?: boolean;
}

const OPTIONAL_STRINGS = ["received_at", "source_ip", "transport"] as const;

/** What is wrong with a parsed NDJSON value as an envelope, or null when it is one. */
function envelopeProblem(v: unknown): string | null {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return "not an object";
  const o = v as Record<string, unknown>;
  if (typeof o.raw !== "string") return `"raw" must be a string`;
  for (const k of OPTIONAL_STRINGS) {
    if (o[k] !== undefined && typeof o[k] !== "string") return `"${k}" must be a string`;
  }
  if (o.truncated !== undefined && typeof o.truncated !== "boolean") return `"truncated" must be a boolean`;
  return null;
}

// Pure cache of rfc3339Ms. The relay stamps "YYYY-MM-DDTHH:MM:SS.mmmZ" and the lines of a batch share a few seconds: the ms of
// the last such second (read by scanIso once) turns the next stamps into arithmetic.
let lastSecondPrefix = "";
let lastSecondMs = NaN;

/**
 * ms (whole) of an RFC 3339 time with its zone (Z or an offset), NaN when `s` is not one: read by
 * scanIso, the parsers' reader of ISO times (lenient: `t`, a space, `z`, ±hhmm, second 60 are taken too).
 */
export function rfc3339Ms(s: string): number {
  if (s.length === 24 && s.charCodeAt(19) === 46 && s.charCodeAt(23) === 90 && lastSecondPrefix.length === 19 && s.slice(0, 19) === lastSecondPrefix) {
    const d0 = s.charCodeAt(20) - 48, d1 = s.charCodeAt(21) - 48, d2 = s.charCodeAt(22) - 48;
    if (d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) return lastSecondMs + d0 * 100 + d1 * 10 + d2;
  }
  const t = newIsoScan();
  if (!scanIso(s, 0, false, t) || t.end !== s.length || !t.hasZone) return NaN;
  const ms = t.wall - t.offsetMs;
  if (s.length === 24 && s.charCodeAt(19) === 46 && s.charCodeAt(23) === 90) {
    lastSecondPrefix = s.slice(0, 19);
    lastSecondMs = ms - Number(s.slice(20, 23));
  }
  return ms;
}

/** A transport the envelope may name (compared, not looked up in a Set: that hashes every line's fresh string). */
const isTransport = (t: string): t is "udp" | "tcp" | "tls" | "relp" | "file" | "stdin" =>
  t === "udp" || t === "tcp" || t === "tls" || t === "relp" || t === "file" || t === "stdin";

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 11 && c !== 12) return false;
  }
  return true;
}

const KEY_RE = /^[A-Za-z0-9._:~+\/=-]{1,128}$/;

/** The batch key: the Idempotency-Key header, or a fresh random key when the client sent none. */
export function batchKeyOf(header: string | undefined): string {
  if (header === undefined) return `auto-${crypto.randomUUID()}`;
  const key = header.trim();
  if (!KEY_RE.test(key)) {
    throw new PorchlightError("bad_request", "Idempotency-Key must be 1-128 characters of letters, digits and . _ : ~ + / = -");
  }
  return key;
}

export function prepareBatch(text: string, kind: BodyKind, opts: BatchOptions): PreparedBatch {
  const lines = text.split("\n");
  // A final newline ends the last line; it does not start an empty one.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length > INGEST_MAX_LINES) {
    throw new PorchlightError("payload_too_large", `Batch has ${lines.length} lines; at most ${INGEST_MAX_LINES} per request`);
  }
  const out: PreparedBatch = { events: [], rows: [], accepted: 0, parseErrors: 0, empty: 0, errors: [] };
  let errorCount = 0;
  const report = (line: number, message: string) => {
    errorCount++;
    if (out.errors.length < MAX_REPORTED_ERRORS) out.errors.push({ line, message });
  };

  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1); // CRLF bodies
    if (isBlank(line)) {
      out.empty++;
      continue;
    }
    const lineNo = i + 1;
    let input: RawInput;
    if (kind === "ndjson") input = ndjsonInput(line, lineNo, opts.nowMs, report);
    else {
      input = { raw: line, receivedAt: opts.nowMs, transport: "http" };
      if (opts.clientIp) input.sourceIp = opts.clientIp;
    }
    // normalize() also cuts lines over INGEST_MAX_LINE_BYTES and flags them `porchlight.truncated`, as
    // it flags those the relay cut (input.truncated).
    const event = normalize(input, opts.ctx, opts.batchKey, i);
    out.accepted++;
    if (event.event.dataset === "unparsed") out.parseErrors++;
    out.events.push(event);
    out.rows.push(eventRow(event));
  }
  if (errorCount > out.errors.length) {
    out.errors.push({ line: 0, message: `${errorCount - out.errors.length} more line errors not listed` });
  }
  return out;
}

/**
 * The envelope of a line in exactly the relay's layout (relay/sources/source.ts `record`):
 * {"raw":"…","received_at":"…"[,"source_ip":"…"],"transport":"…"[,"truncated":true]}, with no escape
 * sequence and no control character inside the strings; null for any other line, which then goes
 * through JSON.parse. For such a line JSON.parse gives exactly these strings, so the result is the
 * same; reading it with indexOf and slices costs a fraction of JSON.parse (≈2 µs a line in workerd).
 */
export function relayEnvelope(line: string): NdjsonLine | null {
  if (!has(line, 0, '{"raw":"')) return null;
  const rawEnd = line.indexOf('"', 8);
  if (rawEnd < 0) return null;
  const bs = line.indexOf("\\", 8);
  if (bs >= 0 && bs < rawEnd) return null;
  const raw = line.slice(8, rawEnd);
  if (CONTROL.test(raw)) return null;
  let at = rawEnd;
  const out: NdjsonLine = { raw };
  if (has(line, at, '","received_at":"')) {
    const end = line.indexOf('"', at + 17);
    if (end < 0) return null;
    const t = line.slice(at + 17, end);
    if (t.indexOf("\\") >= 0 || CONTROL.test(t)) return null;
    out.received_at = t;
    at = end;
  }
  // The rest of a relay's line is the same from line to line of one sender (only the receive time
  // changes): the last one read is kept with its fields, and an equal rest is not read again.
  const rest = line.slice(at);
  if (rest !== lastRest) {
    const fields = envelopeRest(rest);
    if (fields === null) return null;
    lastRest = rest;
    lastRestFields = fields;
  }
  const f = lastRestFields;
  if (f.source_ip !== undefined) out.source_ip = f.source_ip;
  out.transport = f.transport;
  if (f.truncated) out.truncated = true;
  return out;
}

/** The fields of an envelope's rest after raw and received_at: `"…,"transport":"…"[,"truncated":true]}`. */
interface EnvelopeRest {
  source_ip?: string;
  transport: string;
  truncated: boolean;
}

// Pure cache of envelopeRest: the last rest read and its fields.
let lastRest = "";
let lastRestFields: EnvelopeRest = { transport: "", truncated: false };

/** The fields of `rest` (which starts at the quote closing raw or received_at), or null when it is not in the relay's layout. */
function envelopeRest(rest: string): EnvelopeRest | null {
  // The short fields may hold no backslash or control character.
  if (rest.indexOf("\\") >= 0 || CONTROL.test(rest)) return null;
  let at = 0;
  let sourceIp: string | undefined;
  if (has(rest, at, '","source_ip":"')) {
    const end = rest.indexOf('"', at + 15);
    if (end < 0) return null;
    sourceIp = rest.slice(at + 15, end);
    at = end;
  }
  if (!has(rest, at, '","transport":"')) return null;
  const end = rest.indexOf('"', at + 15);
  if (end < 0) return null;
  const out: EnvelopeRest = { transport: rest.slice(at + 15, end), truncated: false };
  if (sourceIp !== undefined) out.source_ip = sourceIp;
  at = end + 1;
  if (has(rest, at, ',"truncated":true')) {
    out.truncated = true;
    at += 17;
  }
  // The closing brace ends the line.
  return at === rest.length - 1 && rest.charCodeAt(at) === 125 ? out : null;
}

/** Whether `lit` is at `at` in `line`: a slice compare, which V8 runs faster than startsWith. */
const has = (line: string, at: number, lit: string): boolean => line.slice(at, at + lit.length) === lit;

/** Characters JSON does not allow unescaped inside a string. */
const CONTROL = /[\x00-\x1f]/;

// Pure cache of canonicalIp for the last source_ip text: a relay batch mostly carries a few senders, often in runs.
let lastSourceIpText = "";
let lastSourceIp: string | null = null;

/** The RawInput of one NDJSON line (`truncated` when the relay flagged its message as cut). */
function ndjsonInput(line: string, lineNo: number, nowMs: number, report: (line: number, message: string) => void): RawInput {
  const fast = relayEnvelope(line);
  let value: unknown;
  if (fast !== null) value = fast;
  else try {
    value = JSON.parse(line);
  } catch (e) {
    report(lineNo, `invalid JSON (${(e as Error).message}); stored as a raw line`);
    return { raw: line, receivedAt: nowMs, transport: "http" };
  }
  // The fast path's envelope has the right types by construction.
  const problem = fast !== null ? null : envelopeProblem(value);
  if (problem !== null) {
    report(lineNo, `expected {"raw": string, ...}: ${problem}; stored as a raw line`);
    return { raw: line, receivedAt: nowMs, transport: "http" };
  }
  const v = value as NdjsonLine;
  const input: RawInput = { raw: v.raw, receivedAt: nowMs };
  if (v.received_at !== undefined) {
    const ms = rfc3339Ms(v.received_at);
    if (Number.isFinite(ms)) input.receivedAt = ms;
    else report(lineNo, `received_at is not an RFC 3339 time: ignored, the edge's receive time is used`);
  }
  if (v.source_ip !== undefined) {
    if (v.source_ip !== lastSourceIpText) {
      lastSourceIpText = v.source_ip;
      lastSourceIp = canonicalIp(v.source_ip);
    }
    const ip = lastSourceIp;
    if (ip) input.sourceIp = ip;
    else report(lineNo, `source_ip is not an IP address: ignored`);
  }
  if (v.transport !== undefined) {
    if (isTransport(v.transport)) input.transport = v.transport;
    else report(lineNo, `transport must be one of udp, tcp, tls, relp, file, stdin: ignored`);
  }
  if (v.truncated === true) input.truncated = true;
  return input;
}
