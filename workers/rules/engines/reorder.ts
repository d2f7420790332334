/**
 * Order-independent windows: a rule with `lateness: d` runs its engine behind a per-group reorder
 * buffer. Matches wait in the buffer, sorted by (event time, id), until the group's watermark (the
 * latest event time seen) has passed them by d; then they reach the engine in event-time order. So
 * any arrival order in which no event comes more than d after a later-stamped one of its group gives
 * the engine the same sequence, hence the same firings (count, first and last seen, event ids).
 * An event older than watermark - d is late: it is not buffered and the host counts it (`late`).
 * The buffer also drains by wall time: onDue releases what the group's watermark would have passed
 * (the wall clock mapped to event time through the offset at the group's latest event), so a quiet
 * group still fires about d after its last event.
 * Cost: each group holds the projected matches of the last d of event time (a projection is the
 * group_by/distinct/template fields, ~100-300 bytes of JSON), and firings come d later.
 */
import { durationMs } from "../duration.ts";
import type { Engine, MatchedEvent, RuleDef, StepResult } from "../types.ts";

export interface ReorderState {
  /** The engine's own state (absent while it has none). */
  i?: unknown;
  /** The engine's own deadline (wall ms). */
  id?: number;
  /** Buffered matches, ascending by (ts, id). */
  buf: MatchedEvent[];
  /** Watermark: the latest event time seen in the group (ms). */
  wm: number;
  /** Wall time minus event time at the watermark's event (ms). */
  off: number;
}

const before = (a: MatchedEvent, b: MatchedEvent) => a.ts < b.ts || (a.ts === b.ts && a.id < b.id);

function insert(buf: MatchedEvent[], ev: MatchedEvent): void {
  let i = buf.length;
  while (i > 0 && before(ev, buf[i - 1]!)) i--;
  buf.splice(i, 0, ev);
}

/** Wraps `inner` so that it sees each group's matches in event-time order, within the rule's lateness. */
export function reordered<S>(inner: Engine<S>): Engine<ReorderState> {
  /** Feeds the engine every buffered match stamped at or before `upTo` (event ms). */
  const release = (rule: RuleDef, st: ReorderState, upTo: number, nowMs: number, out: StepResult<ReorderState>["firings"]): number => {
    let late = 0;
    while (st.buf.length && st.buf[0]!.ts <= upTo) {
      const ev = st.buf.shift()!;
      const r = inner.step(rule, st.i as S | undefined, ev, nowMs);
      if (r.late) late++;
      out.push(...r.firings);
      st.i = r.state;
      st.id = r.state === undefined ? undefined : r.dueAt;
    }
    return late;
  };
  const result = (st: ReorderState, firings: StepResult<ReorderState>["firings"], lateness: number, late: boolean): StepResult<ReorderState> => {
    if (st.i === undefined && st.buf.length === 0) return { state: undefined, firings, ...(late ? { late } : {}) };
    const dues = [st.id, st.buf.length ? st.buf[0]!.ts + lateness + st.off : undefined].filter((x): x is number => x !== undefined);
    return { state: st, firings, dueAt: dues.length ? Math.min(...dues) : undefined, ...(late ? { late } : {}) };
  };
  return {
    step(rule, state, ev, nowMs) {
      const lateness = durationMs(rule.lateness, "lateness");
      const st: ReorderState = state ?? { buf: [], wm: ev.ts, off: nowMs - ev.ts };
      if (ev.ts < st.wm - lateness) return { ...result(st, [], lateness, false), late: true };
      insert(st.buf, ev);
      if (ev.ts >= st.wm) {
        st.wm = ev.ts;
        st.off = nowMs - ev.ts;
      }
      const firings: StepResult<ReorderState>["firings"] = [];
      const late = release(rule, st, st.wm - lateness, nowMs, firings);
      return result(st, firings, lateness, late > 0);
    },
    onDue(rule, st, nowMs) {
      const lateness = durationMs(rule.lateness, "lateness");
      const firings: StepResult<ReorderState>["firings"] = [];
      release(rule, st, nowMs - st.off - lateness, nowMs, firings);
      if (st.i !== undefined && st.id !== undefined && st.id <= nowMs && inner.onDue) {
        const r = inner.onDue(rule, st.i as S, nowMs);
        firings.push(...r.firings);
        st.i = r.state;
        st.id = r.state === undefined ? undefined : r.dueAt;
      }
      return result(st, firings, lateness, false);
    },
  };
}
