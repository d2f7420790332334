/**
 * The engines by rule type, and the group key the host stores each state under. Every engine is a
 * pure reducer (types.ts `Engine`): the host (durable-objects/) loads a group's state from JSON, calls
 * `step` for each matched event of a batch in event-time order, stores the returned state (undefined =
 * delete the group), arms its alarm at the earliest `dueAt` (wall ms) and calls `onDue` when it is due.
 * onDue tolerates early and repeated calls: it compares nowMs with the state and does nothing early.
 * Engines may mutate the state they are given (the host parses a fresh copy from JSON each time).
 */
import { groupKeyOf } from "../project.ts";
import type { Engine, RuleType } from "../types.ts";
import { bucket } from "./bucket.ts";
import { heartbeat } from "./heartbeat.ts";
import { newValue } from "./new-value.ts";
import { sequence } from "./sequence.ts";
import { single } from "./single.ts";
import { suppress } from "./suppress.ts";
import { threshold } from "./threshold.ts";
import { reordered } from "./reorder.ts";
import type { RuleDef } from "../types.ts";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const ENGINES: Record<RuleType, Engine<any>> = {
  single,
  threshold,
  bucket,
  sequence,
  heartbeat,
  new_value: newValue,
  suppress,
};

/** The engine that runs `rule`: its type's, behind a reorder buffer when the rule sets `lateness` (reorder.ts). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function engineFor(rule: RuleDef): Engine<any> | undefined {
  const e = ENGINES[rule.type];
  if (!e || rule.lateness === undefined || !STATEFUL.has(rule.type) || rule.type === "heartbeat") return e;
  return reordered(e);
}

/** Rule types whose engine keeps per-group state (the others need no Durable Object round trip). */
export const STATEFUL: ReadonlySet<RuleType> = new Set(["threshold", "bucket", "sequence", "heartbeat", "new_value"]);

export { groupKeyOf };
