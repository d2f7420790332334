/**
 * Contracts of the rules stage (owned by the rule-engine work; changes here must stay additive).
 *
 * Flow: the Worker matches every stored event against enabled rules (stateless `match`), projects
 * the matches, and sends ONE RPC per (rule, shard) Durable Object per batch carrying all its matches
 * (one shard per rule unless the rule sets `shards`: plan.ts).
 * The object runs the rule's engine — a pure reducer over per-group state — stores the states in its
 * SQLite, arms one alarm at the earliest due time, and returns firings. Firings become alerts in D1
 * (workers/store/alerts.ts: de-duplication, lifecycle), from the Worker or from the object's alarm.
 */

import type { Severity } from "../api-types.ts";

export type { Severity };
export type RuleType = "single" | "threshold" | "bucket" | "sequence" | "heartbeat" | "new_value" | "suppress";

/** A condition over ECS fields (see docs/rules.md): field → value | {in} | {cidr} | {regex} | {gt,gte,lt,lte} | {exists}; or {not}, {any}, {all}. */
export type Condition = { [field: string]: unknown };

/** A rule as the API takes and returns it. Durations are strings like "90s", "15m", "26h". */
export interface RuleDef {
  id: string;
  name: string;
  type: RuleType;
  enabled: boolean;
  match: Condition;
  group_by?: string[];
  severity: Severity;
  resource?: string;
  title?: string;
  text?: string;
  tags?: string[];
  /** Alert auto-expires after this quiet time (Alerta timeout). */
  timeout?: string;
  /** Stateful types: objects its groups are spread over, 1-4 (default 1; plan.ts ruleShards). */
  shards?: number;
  [option: string]: unknown;
}

/** What the Worker sends to a rule's object for one matched event (a projection, not the whole event). */
export interface MatchedEvent {
  id: string;
  /** @timestamp, ms (event time). */
  ts: number;
  /** Values of the fields the rule needs (group_by, distinct, template variables), by dotted path. */
  fields: Record<string, unknown>;
  /** Named regex captures from `match`. */
  captures?: Record<string, string>;
  /** For `sequence`: which step this event matched ("a" | "b"). */
  step?: string;
}

/** A firing of a rule for one group. Deterministic `id` (rule, group, batch, seq) makes alert upserts idempotent on retries. */
export interface Firing {
  id: string;
  ruleId: string;
  action: "raise" | "clear";
  group: Record<string, string>;
  count: number;
  eventIds: string[];
  /** ms; event time for event-driven firings, wall time for deadlines (heartbeat, absent-B). */
  at: number;
  /** Template variables: count, window, and the last event's fields. */
  vars: Record<string, unknown>;
}

/** Result of one reducer step. `state: undefined` deletes the group; `dueAt` (wall ms) asks for `onDue`. */
export interface StepResult<S> {
  state: S | undefined;
  firings: Omit<Firing, "id" | "ruleId">[];
  dueAt?: number;
  /** True when the event was older than the rule's lateness tolerance and was ignored (the host counts these). */
  late?: boolean;
}

/** An engine: a pure reducer per group key. Runs in Node and in the Durable Object unchanged. */
export interface Engine<S> {
  step(rule: RuleDef, state: S | undefined, ev: MatchedEvent, nowMs: number): StepResult<S>;
  onDue?(rule: RuleDef, state: S, nowMs: number): StepResult<S>;
}
