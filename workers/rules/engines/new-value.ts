/**
 * `new_value`: raises the first time a value (or tuple of `fields`) is seen in a group, after an
 * optional `learning` period during which values are learned silently.
 * - Learning starts at `rule.learning_from` (ms; the rules API may set it when the rule is created or
 *   enabled) or else at the group's first event; events before start + learning are learned.
 * - Events lacking any of the fields carry no value and are ignored.
 * - Bounded state: at most `max_values` (default 1000) values per group; beyond that the tenth seen
 *   least recently is forgotten at once (those would alert again if they came back). `x` counts them.
 * No deadlines; out-of-order events are fine (there is no window).
 */
import { parseDuration } from "../duration.ts";
import { firingVars, groupObject, groupValues } from "../project.ts";
import { RULE_LIMITS } from "../validate.ts";
import type { Engine, StepResult } from "../types.ts";
import { getOwn, setOwn } from "../../table.ts";

export interface NewValueState {
  g: string[];
  /** Learning starts here (event ms). */
  f: number;
  /** Value → last seen (event ms). Keys: the value, or a JSON array for a tuple. */
  v: Record<string, number>;
  /** Number of values forgotten to stay under max_values. */
  x?: number;
  /** Number of keys in v (kept to avoid counting them per event). */
  k?: number;
}

function valueKey(fields: string[], values: Record<string, unknown>): string | undefined {
  const parts: string[] = [];
  for (const f of fields) {
    const v = values[f];
    if (v === undefined || v === null || v === "") return undefined;
    parts.push(typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  return parts.length === 1 ? parts[0] : JSON.stringify(parts);
}

export const newValue: Engine<NewValueState> = {
  step(rule, state, ev): StepResult<NewValueState> {
    const fields = rule.fields as string[];
    const key = valueKey(fields, ev.fields);
    if (key === undefined) return { state, firings: [] };
    const st: NewValueState = state ?? { g: groupValues(rule, ev), f: typeof rule.learning_from === "number" ? rule.learning_from : ev.ts, v: {} };
    // v is keyed by values from the log (a user named "constructor") and comes back from storage with
    // Object.prototype: own keys only.
    const seen = getOwn(st.v, key);
    if (seen !== undefined) {
      if (ev.ts > seen) setOwn(st.v, key, ev.ts);
      return { state: st, firings: [] };
    }
    setOwn(st.v, key, ev.ts);
    st.k = (st.k ?? Object.keys(st.v).length - 1) + 1;
    const max = (rule.max_values as number | undefined) ?? RULE_LIMITS.defaultMaxValues;
    if (st.k > max) {
      // forget the least recently seen tenth at once (amortized O(log n) per new value)
      const drop = Math.max(1, Math.ceil(max / 10));
      const victims = Object.entries(st.v).filter(([k]) => k !== key).sort((a, b) => a[1] - b[1]).slice(0, drop);
      for (const [k] of victims) delete st.v[k];
      st.k -= victims.length;
      st.x = (st.x ?? 0) + victims.length;
    }
    const learning = rule.learning === undefined ? 0 : parseDuration(rule.learning) ?? 0;
    if (ev.ts < st.f + learning) return { state: st, firings: [] };
    const value = fields.map((f) => String(ev.fields[f])).join(" / ");
    return { state: st, firings: [{ action: "raise", group: groupObject(rule, st.g), count: 1, eventIds: [ev.id], at: ev.ts, vars: firingVars(rule, ev, { count: 1, first: ev.ts, last: ev.ts, value }) }] };
  },
};
