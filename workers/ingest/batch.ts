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
import { z } from "zod";
import { INGEST_MAX_LINES } from "../constants.ts";
import type { EcsEvent } from "../ecs.ts";
import { PorchlightError } from "../errors.ts";
import { normalize } from "../parse/index.ts";
import { canonicalIp } from "../parse/ip.ts";
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

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** The NDJSON envelope the relay sends. Unknown keys are ignored (newer relays may add some). */
const NdjsonLine = z.object({
  raw: z.string(),
  received_at: z.string().optional(),
  source_ip: z.string().optional(),
  transport: z.string().optional(),
});
const TRANSPORTS = new Set(["udp", "tcp", "tls", "file", "stdin"]);

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
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (isBlank(line)) {
      out.empty++;
      continue;
    }
    const lineNo = i + 1;
    let input: RawInput;
    if (kind === "ndjson") {
      input = ndjsonInput(line, lineNo, opts.nowMs, report);
    } else {
      input = { raw: line, receivedAt: opts.nowMs, transport: "http" };
      if (opts.clientIp) input.sourceIp = opts.clientIp;
    }
    // normalize() also cuts lines over INGEST_MAX_LINE_BYTES and flags them `porchlight.truncated`.
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

function ndjsonInput(line: string, lineNo: number, nowMs: number, report: (line: number, message: string) => void): RawInput {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    report(lineNo, `invalid JSON (${(e as Error).message}); stored as a raw line`);
    return { raw: line, receivedAt: nowMs, transport: "http" };
  }
  const parsed = NdjsonLine.safeParse(value);
  if (!parsed.success) {
    report(lineNo, `expected {"raw": string, ...}: ${parsed.error.issues[0]?.message ?? "invalid"}; stored as a raw line`);
    return { raw: line, receivedAt: nowMs, transport: "http" };
  }
  const v = parsed.data;
  const input: RawInput = { raw: v.raw, receivedAt: nowMs };
  if (v.received_at !== undefined) {
    const ms = RFC3339.test(v.received_at) ? Date.parse(v.received_at) : NaN;
    if (Number.isFinite(ms)) input.receivedAt = ms;
    else report(lineNo, `received_at is not an RFC 3339 time: ignored, the edge's receive time is used`);
  }
  if (v.source_ip !== undefined) {
    const ip = canonicalIp(v.source_ip);
    if (ip) input.sourceIp = ip;
    else report(lineNo, `source_ip is not an IP address: ignored`);
  }
  if (v.transport !== undefined) {
    if (TRANSPORTS.has(v.transport)) input.transport = v.transport as RawInput["transport"];
    else report(lineNo, `transport must be one of udp, tcp, tls, file, stdin: ignored`);
  }
  return input;
}
