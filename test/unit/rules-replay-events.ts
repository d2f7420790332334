/**
 * Log lines → ECS events for the rule replays (CrowdSec hub tests, SEC on loghub, the default pack),
 * through our parsing stage: workers/parse/index.ts normalize(), as ingest does it.
 */
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";
import type { EcsEvent } from "../../workers/ecs.ts";

/** The hub/loghub files have no year; receiving them on the last day of 2025 puts them all in 2025. */
export const RECEIVED_AT = Date.UTC(2025, 11, 31, 23, 0, 0);

/** Normalizes each non-empty line, in file order. */
export function toEvents(lines: string[]): EcsEvent[] {
  return lines.filter((raw) => raw.trim() !== "").map((raw) => normalize({ raw, receivedAt: RECEIVED_AT, transport: "file" }, DEFAULT_CONTEXT));
}
