/**
 * `threshold`: SEC's SingleWithThreshold (and SingleWith2Thresholds with `clear_after`), per group,
 * on event time. Semantics, from sec(1) and SEC's process_singlewiththreshold_rule:
 * - An operation starts at the first match; its window starts there. A match at time t first slides
 *   the window when t - start > window (strictly): occurrence times older than t - window are dropped
 *   and the window restarts at the earliest remaining one (no remaining → the operation ends and a new
 *   one starts with this match). So the counted set is always the matches in [t - window, t].
 * - When the count reaches `threshold`, it fires once and enters suppress mode: later matches are
 *   absorbed until the window [start, start + window] is over; the first match after it starts a
 *   new operation (counting afresh).
 * - `distinct: field`: counts distinct values of the field instead of matches (each value counts at
 *   its latest occurrence; matches without the field are not counted).
 * - `clear_after: d` (SingleWith2Thresholds with thresh2 = 0, window2 = d): after firing, every match
 *   restarts a quiet period of d; when a quiet period completes (clock - last > d), a `clear`
 *   firing closes the alert and the operation ends.
 * Out of order / lateness: the group clock is its watermark (latest event time). A match older than
 *   watermark - window cannot fall in any open window: it is dropped (`late`). Other out-of-order
 *   matches are inserted in time order and counted as if on time.
 * Deadlines (clear, garbage collection) are event times mapped to wall time with the offset
 *   (arrival wall time - watermark) recorded at the group's latest event.
 */
import { durationMs } from "../duration.ts";
import { firingVars, groupObject, groupValues, MAX_EVENT_IDS, pushBounded, type EngineFiring } from "../project.ts";
import type { Engine, MatchedEvent, RuleDef, StepResult } from "../types.ts";

export interface ThresholdState {
  /** Group values. */
  g: string[];
  /** Counted occurrence times (event ms), ascending. */
  t: number[];
  /** distinct mode: the value counted at t[i]. */
  v?: string[];
  /** Ids of the latest counted matches. */
  ids: string[];
  /** Suppress mode: start of the window that fired (event ms). */
  s?: number;
  /** Clear mode (clear_after): start of the current quiet period (event ms). */
  c?: number;
  /** Matches absorbed since the firing. */
  n?: number;
  /** Watermark: latest event time seen (event ms). */
  wm: number;
  /** Wall ms - watermark at the latest event: maps event-time deadlines to wall time. */
  off: number;
}

function opts(rule: RuleDef) {
  return {
    w: durationMs(rule.window, "window"),
    n: rule.threshold as number,
    clear: rule.clear_after === undefined ? undefined : durationMs(rule.clear_after, "clear_after"),
    distinct: rule.distinct as string | undefined,
  };
}

function distinctValue(ev: MatchedEvent, field: string): string | undefined {
  const v = ev.fields[field];
  if (v === undefined || v === null || v === "") return undefined;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** The next event-time deadline of a state, in wall ms. */
function dueOf(st: ThresholdState, o: ReturnType<typeof opts>): number {
  let end: number;
  if (st.c !== undefined) end = st.c + o.clear!;
  else if (st.s !== undefined) end = st.s + o.w;
  else end = st.t[st.t.length - 1]! + o.w;
  return end + 1 + st.off;
}

/** Ends what is over at clock `ref`; returns the surviving state (or undefined) and a clear firing if due. */
function expire(rule: RuleDef, st: ThresholdState, ref: number, o: ReturnType<typeof opts>, at: number | undefined): { st: ThresholdState | undefined; clear?: EngineFiring } {
  if (st.c !== undefined) {
    if (ref - st.c <= o.clear!) return { st };
    const end = st.c + o.clear!;
    return {
      st: undefined,
      clear: { action: "clear", group: groupObject(rule, st.g), count: st.n ?? 0, eventIds: [], at: at ?? end, vars: firingVars(rule, { id: "", ts: st.c, fields: groupObject(rule, st.g) }, { count: st.n ?? 0, last: st.c, quiet: rule.clear_after }) },
    };
  }
  if (st.s !== undefined) return { st: ref - st.s > o.w ? undefined : st };
  const cut = ref - o.w;
  let k = 0;
  while (k < st.t.length && st.t[k]! < cut) k++;
  if (k === st.t.length) return { st: undefined };
  if (k > 0) {
    st.t.splice(0, k);
    st.v?.splice(0, k);
  }
  return { st };
}

export const threshold: Engine<ThresholdState> = {
  step(rule, state, ev, nowMs): StepResult<ThresholdState> {
    const o = opts(rule);
    if (state && ev.ts < state.wm - o.w) return { state, firings: [], dueAt: dueOf(state, o), late: true };
    const firings: EngineFiring[] = [];
    const ref = state ? Math.max(ev.ts, state.wm) : ev.ts;
    let st = state;
    if (st) {
      const r = expire(rule, st, ref, o, undefined);
      if (r.clear) firings.push(r.clear);
      st = r.st;
    }
    if (!st) st = { g: groupValues(rule, ev), t: [], ids: [], wm: ref, off: nowMs - ref };
    if (ref >= st.wm) {
      st.wm = ref;
      st.off = nowMs - ref;
    }
    if (st.c !== undefined) {
      // falling-threshold pass: every match restarts the quiet period
      st.c = Math.max(st.c, ev.ts);
      st.n = (st.n ?? 0) + 1;
      return { state: st, firings, dueAt: dueOf(st, o) };
    }
    if (st.s !== undefined) {
      st.n = (st.n ?? 0) + 1;
      return { state: st, firings, dueAt: dueOf(st, o) };
    }
    let value: string | undefined;
    if (o.distinct) {
      value = distinctValue(ev, o.distinct);
      if (value === undefined) return { state: st.t.length ? st : undefined, firings, dueAt: st.t.length ? dueOf(st, o) : undefined };
      st.v ??= [];
      const at = st.v.indexOf(value);
      if (at >= 0) {
        if (st.t[at]! >= ev.ts) return { state: st, firings, dueAt: dueOf(st, o) };
        st.t.splice(at, 1);
        st.v.splice(at, 1);
      }
    }
    // insert in time order (almost always an append)
    let i = st.t.length;
    while (i > 0 && st.t[i - 1]! > ev.ts) i--;
    st.t.splice(i, 0, ev.ts);
    if (value !== undefined) st.v!.splice(i, 0, value);
    pushBounded(st.ids, ev.id, MAX_EVENT_IDS);
    if (st.t.length >= o.n) {
      const count = st.t.length;
      firings.push({
        action: "raise",
        group: groupObject(rule, st.g),
        count,
        eventIds: [...st.ids],
        at: ev.ts,
        vars: firingVars(rule, ev, { count, first: st.t[0]!, last: st.t[count - 1]!, ...(o.distinct ? { distinct_count: count } : {}) }),
      });
      if (o.clear !== undefined) st.c = ref;
      else st.s = st.t[0]!;
      st.n = 0;
      st.t = [];
      st.ids = [];
      delete st.v;
    }
    return { state: st, firings, dueAt: dueOf(st, o) };
  },

  onDue(rule, state, nowMs) {
    const o = opts(rule);
    const clock = nowMs - state.off;
    if (state.c === undefined && state.s === undefined) {
      // counting: only drop the whole group once its last match is out of the window (event times
      // inside the window are left to the next step, which slides on event time)
      if (clock - state.t[state.t.length - 1]! > o.w) return { state: undefined, firings: [] };
      return { state, firings: [], dueAt: dueOf(state, o) };
    }
    const r = expire(rule, state, clock, o, nowMs);
    if (!r.st) return { state: undefined, firings: r.clear ? [r.clear] : [] };
    return { state: r.st, firings: [], dueAt: dueOf(r.st, o) };
  },
};
