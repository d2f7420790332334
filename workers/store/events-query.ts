/**
 * Event search filters → one SQL statement over the events table. Pure: the route parses and validates
 * the query string into an `EventsQuery`; this module only renders SQL and bound parameters.
 *
 * Invariants: the time range and the cursor are primary-key ranges on `id` (ids start with the event
 * time, see workers/parse/id.ts), so every query walks the primary key newest first and stops after
 * `limit` rows; other filters are evaluated on the rows walked (the table has no secondary index, by
 * design). Repeats of a field are OR-ed, fields are AND-ed, a negated condition also keeps rows where
 * the column is NULL ("not host X" includes events without a host). Substring search uses
 * `instr(lower(message), ?)`: D1 refuses LIKE patterns over 50 bytes, and instr needs no escaping.
 */
import { D1_MAX_BOUND_PARAMS } from "../constants.ts";
import { PorchlightError } from "../errors.ts";

export type EventColumn =
  | "host" | "program" | "dataset" | "protocol" | "user" | "action" | "outcome" | "severity"
  | "src_port" | "dst_port" | "src_ip_key" | "dst_ip_key" | "message";

export type Condition =
  | { kind: "in"; column: EventColumn; values: (string | number)[]; negate: boolean }
  /** Inclusive ranges (`BETWEEN lo AND hi`): CIDRs on the IP keys, port ranges. */
  | { kind: "range"; column: EventColumn; ranges: [string | number, string | number][]; negate: boolean }
  /** Case-insensitive substring of the message; `values` must already be lower-case. */
  | { kind: "contains"; column: "message"; values: string[]; negate: boolean };

export interface EventsQuery {
  /** Inclusive lower bound on id (`lowerBound(fromMs)`). */
  fromId?: string | undefined;
  /** Exclusive upper bound on id (`lowerBound(toMs + 1)` for an inclusive `to`). */
  toId?: string | undefined;
  /** Cursor: only ids strictly below it (the last id of the previous page). */
  before?: string | undefined;
  conditions: Condition[];
  limit: number;
}

/** Parameters left for filters after the bounds and the limit. */
export const MAX_FILTER_PARAMS = D1_MAX_BOUND_PARAMS - 4;

export function buildEventsQuery(q: EventsQuery): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.fromId !== undefined) {
    params.push(q.fromId);
    where.push("id >= ?");
  }
  if (q.toId !== undefined) {
    params.push(q.toId);
    where.push("id < ?");
  }
  if (q.before !== undefined) {
    params.push(q.before);
    where.push("id < ?");
  }
  const filterStart = params.length;
  for (const c of q.conditions) where.push(renderCondition(c, params));
  if (params.length - filterStart > MAX_FILTER_PARAMS) {
    throw new PorchlightError(
      "validation_failed",
      `Too many filter values: ${params.length - filterStart} (at most ${MAX_FILTER_PARAMS}; a CIDR or port range counts 2)`,
    );
  }
  params.push(q.limit);
  const sql =
    "SELECT * FROM events" + (where.length ? " WHERE " + where.join(" AND ") : "") + " ORDER BY id DESC LIMIT ?";
  return { sql, params };
}

function renderCondition(c: Condition, params: unknown[]): string {
  const col = `"${c.column}"`;
  let positive: string;
  switch (c.kind) {
    case "in":
      params.push(...c.values);
      positive = c.values.length === 1 ? `${col} = ?` : `${col} IN (${c.values.map(() => "?").join(", ")})`;
      break;
    case "range":
      positive = c.ranges
        .map(([lo, hi]) => {
          params.push(lo, hi);
          return `${col} BETWEEN ? AND ?`;
        })
        .join(" OR ");
      break;
    case "contains":
      positive = c.values
        .map((v) => {
          params.push(v);
          return `instr(lower(${col}), ?) > 0`;
        })
        .join(" OR ");
      break;
  }
  return c.negate ? `(${col} IS NULL OR NOT (${positive}))` : `(${positive})`;
}
