/**
 * Contracts of the parsing stage. Parsing is pure: no Workers APIs and no I/O, so the same code runs
 * in workerd, in Node tests and in Node benchmarks.
 *
 * Stages: framing (one line = one message, done by the caller) → format (`SyslogMessage`: RFC 5424,
 * RFC 3164 and real-world variants) → program parser (fills ECS fields from the message text by
 * program name) → user extractors → `EcsEvent`.
 */
import type { EcsEvent } from "../ecs.ts";

/** One raw message as it arrives at ingest (text/plain line or one NDJSON object). */
export interface RawInput {
  raw: string;
  /** Receive time, ms since epoch (relay's clock when given, else the edge's). */
  receivedAt: number;
  sourceIp?: string;
  transport?: "udp" | "tcp" | "tls" | "relp" | "file" | "stdin" | "http";
  /** The sender cut the message before sending it (the relay's max-message-bytes): the event is flagged `porchlight.truncated`. */
  truncated?: boolean;
}

/** Result of the syslog format stage. Absent fields were absent (or NILVALUE) in the line. */
export interface SyslogMessage {
  format: "rfc5424" | "rfc3164" | "openwrt" | "iso" | "none";
  pri?: number;
  facility?: number;
  severity?: number;
  version?: number;
  /** Event time, ms since epoch, when the line carried one (after year and zone inference for 3164). */
  timestamp?: number;
  hostname?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  structuredData?: Record<string, Record<string, string>>;
  /** The message text (MSG), without BOM. */
  msg: string;
  /** `message repeated N times: [ ... ]` → N, with `msg` set to the inner message. */
  repeatCount?: number;
  /** Sub-millisecond part of the timestamp, µs (0-999), when the line carried more than 3 fraction digits. */
  timestampMicros?: number;
  /** UTC offset written in the line, minutes east of UTC (absent when the line had no zone). */
  tzOffset?: number;
  /** Device message counter of Cisco-style lines (`<189>123: *Mar  1 ...` → 123). */
  sequence?: number;
}

/** A compiled user extractor (siemstress "helper"): named groups become `labels.<name>`. */
export interface CompiledExtractor {
  id: string;
  name: string;
  program?: string;
  host?: string;
  regex: RegExp;
}

export interface ParseContext {
  /** IANA zone for RFC 3164 timestamps (no zone in the line), by hostname or sender IP; default "UTC". */
  timezoneFor(hostname: string | undefined, sourceIp: string | undefined): string;
  extractors: readonly CompiledExtractor[];
}

/**
 * Fields a program parser contributes; merged into the event. `dataset` is required when it matched.
 * Of `porchlight` a parser sets only `fields`: the other keys describe the line's transport and parse
 * outcome, which normalize() owns.
 */
export type ProgramFields = Partial<Omit<EcsEvent, "id" | "@timestamp" | "received_at" | "raw" | "porchlight">> & {
  event: EcsEvent["event"];
  porchlight?: Pick<NonNullable<EcsEvent["porchlight"]>, "fields">;
};

/** A program parser: returns the fields it recognised, or null when the message is not its kind. */
export type ProgramParser = (msg: string, syslog: SyslogMessage) => ProgramFields | null;

/**
 * A SyslogMessage with every field present (absent ones undefined), always in this order: the format
 * stage builds each message with this one shape, so the code reading messages (normalize, program
 * parsers) sees one hidden class instead of one per combination of fields a line happened to carry.
 * Undefined fields read, spread and serialize as absent. The order is the one in which RFC 5424 fills
 * them, so the defined keys enumerate as before (its strict-mode `partial` lists them).
 */
export function newSyslogMessage(format: SyslogMessage["format"], msg: string): SyslogMessage {
  return {
    format, msg, pri: undefined, facility: undefined, severity: undefined, version: undefined, timestamp: undefined,
    tzOffset: undefined, timestampMicros: undefined, hostname: undefined, appName: undefined, procId: undefined,
    msgId: undefined, structuredData: undefined, repeatCount: undefined, sequence: undefined,
  };
}
