/**
 * `heartbeat`: per group, a matching event (a beat) at least every `timeout`; on wall time.
 * - A beat's time is its event time, capped at the wall time it arrives (clocks ahead are not
 *   trusted). Only a beat newer than the last one moves the deadline: deadline = last beat + timeout.
 * - onDue at or after the deadline raises once ("missed"), at that wall time; the state is kept.
 * - The next newer beat after a miss clears the alert and re-arms the deadline.
 * A group only exists once it has beaten: a host that never sent a beat is not watched.
 */
import { durationMs } from "../duration.ts";
import { firingVars, groupObject, groupValues } from "../project.ts";
import type { Engine, StepResult } from "../types.ts";

export interface HeartbeatState {
  g: string[];
  /** Last beat (ms, event time capped at arrival wall time). */
  last: number;
  /** Id of the last beat. */
  id: string;
  /** Set while the alert for a missed beat is raised. */
  missed?: true;
}

export const heartbeat: Engine<HeartbeatState> = {
  step(rule, state, ev, nowMs): StepResult<HeartbeatState> {
    const timeout = durationMs(rule.timeout, "timeout");
    const beat = Math.min(ev.ts, nowMs);
    if (state && beat <= state.last) return { state, firings: [], dueAt: state.missed ? undefined : state.last + timeout };
    const st: HeartbeatState = { g: state?.g ?? groupValues(rule, ev), last: beat, id: ev.id };
    const firings = state?.missed
      ? [{ action: "clear" as const, group: groupObject(rule, st.g), count: 1, eventIds: [ev.id], at: ev.ts, vars: firingVars(rule, ev, { count: 1, last: beat }) }]
      : [];
    return { state: st, firings, dueAt: beat + timeout };
  },

  onDue(rule, state, nowMs) {
    const timeout = durationMs(rule.timeout, "timeout");
    const deadline = state.last + timeout;
    if (state.missed) return { state, firings: [] };
    if (nowMs < deadline) return { state, firings: [], dueAt: deadline };
    return {
      state: { ...state, missed: true },
      firings: [{ action: "raise", group: groupObject(rule, state.g), count: 0, eventIds: [state.id], at: nowMs, vars: firingVars(rule, { id: state.id, ts: state.last, fields: groupObject(rule, state.g) }, { count: 0, last: state.last, timeout: rule.timeout }) }],
    };
  },
};
