/**
 * The parsing stage's entry point: one raw input line → one normalized ECS event.
 * Pure (no Workers APIs): runs in workerd, Node tests and Node benchmarks alike.
 *
 * PLACEHOLDER until the parsers land: every line becomes a generic event. The signature is the
 * contract used by ingest (`POST /v1/ingest`, `POST /v1/parse`), backtests and benchmarks.
 */
import type { EcsEvent } from "../ecs.ts";
import type { ParseContext, RawInput } from "./types.ts";
import { newEventId } from "./id.ts";

/** Normalizes one line. Never throws: a line no parser understands becomes `event.dataset = "unparsed"`. */
export function normalize(input: RawInput, _ctx: ParseContext): EcsEvent {
  const ts = input.receivedAt;
  return {
    id: newEventId(ts),
    "@timestamp": new Date(ts).toISOString(),
    received_at: new Date(input.receivedAt).toISOString(),
    raw: input.raw,
    message: input.raw,
    event: { dataset: "unparsed" },
    porchlight: { parse_error: "no parser yet" },
  };
}

/** A context with UTC everywhere and no extractors (tests, benchmarks). */
export const DEFAULT_CONTEXT: ParseContext = { timezoneFor: () => "UTC", extractors: [] };
