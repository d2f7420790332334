/**
 * `sequence`: A then B within a window per group — SEC's PairWithWindow, with an optional count on A.
 * - While fewer than `a.count` (default 1) A matches lie within `window` of each other, they are
 *   counted like SEC's SingleWithThreshold (sliding). When the count is reached the operation is
 *   armed: its lifetime is [s, s + window] where s is the earliest counted A (for count 1: the A that
 *   started it, as in SEC). Further A matches are absorbed.
 * - Default form: a B inside the lifetime raises (count = A matches; the B's fields are the template
 *   variables, e.g. the user who finally logged in) and ends the operation. B without an armed
 *   operation is ignored (SEC: pattern2 is only looked for by running operations).
 * - `absent: true`: a B inside the lifetime ends the operation silently; when the lifetime ends
 *   without B it raises ("B never came"). The end is noticed by the next event of the group (event
 *   time) or by onDue at the wall time the deadline maps to (deadline + the group's offset between
 *   arrival wall time and event time at its latest event).
 * A match is inside when t - s <= window (the boundary is inside, as in SEC). Matches older than the
 * group's watermark - window are dropped (`late`); a B stamped before s does not count.
 */
import { durationMs } from "../duration.ts";
import { firingVars, groupObject, groupValues, pushBounded, type EngineFiring } from "../project.ts";
import type { Engine, MatchedEvent, RuleDef, StepResult } from "../types.ts";

export interface SequenceState {
  g: string[];
  /** Counting: A times (event ms, ascending) while fewer than a.count. */
  t: number[];
  ids: string[];
  /** Armed: lifetime start (event ms). */
  s?: number;
  /** Armed: A matches in the operation. */
  n?: number;
  /** Fields of the first A of the operation (template variables of an absent firing). */
  f?: Record<string, unknown>;
  wm: number;
  off: number;
}

function opts(rule: RuleDef) {
  const a = rule.a as { count?: number };
  return { w: durationMs(rule.window, "window"), count: a.count ?? 1, absent: rule.absent === true };
}
type Opts = ReturnType<typeof opts>;

function dueOf(st: SequenceState, o: Opts): number {
  const end = st.s !== undefined ? st.s + o.w : st.t[st.t.length - 1]! + o.w;
  return end + 1 + st.off;
}

function absentFiring(rule: RuleDef, st: SequenceState, at: number, o: Opts): EngineFiring {
  const last: MatchedEvent = { id: st.ids[st.ids.length - 1] ?? "", ts: st.s!, fields: st.f ?? {} };
  return { action: "raise", group: groupObject(rule, st.g), count: st.n ?? 0, eventIds: [...st.ids], at, vars: firingVars(rule, last, { count: st.n ?? 0, first: st.s!, last: st.s! + o.w }) };
}

/** Ends what is over at clock `ref`: an expired armed operation (absent form: fires), stale A times. */
function expire(rule: RuleDef, st: SequenceState, ref: number, o: Opts, at: number | undefined, firings: EngineFiring[]): SequenceState | undefined {
  if (st.s !== undefined) {
    if (ref - st.s <= o.w) return st;
    if (o.absent) firings.push(absentFiring(rule, st, at ?? st.s + o.w, o));
    return undefined;
  }
  const cut = ref - o.w;
  let k = 0;
  while (k < st.t.length && st.t[k]! < cut) k++;
  if (k === st.t.length) return undefined;
  st.t.splice(0, k);
  return st;
}

export const sequence: Engine<SequenceState> = {
  step(rule, state, ev, nowMs): StepResult<SequenceState> {
    const o = opts(rule);
    if (state && ev.ts < state.wm - o.w) return { state, firings: [], dueAt: dueOf(state, o), late: true };
    const firings: EngineFiring[] = [];
    const ref = state ? Math.max(ev.ts, state.wm) : ev.ts;
    let st = state ? expire(rule, state, ref, o, undefined, firings) : undefined;
    if (ev.step === "b") {
      if (!st || st.s === undefined || ev.ts < st.s) return { state: st, firings, dueAt: st ? dueOf(st, o) : undefined };
      if (!o.absent) {
        pushBounded(st.ids, ev.id);
        const count = st.n ?? 0;
        firings.push({ action: "raise", group: groupObject(rule, st.g), count, eventIds: [...st.ids], at: ev.ts, vars: firingVars(rule, ev, { count, first: st.s, last: ev.ts }) });
      }
      return { state: undefined, firings };
    }
    if (ev.step !== "a") return { state: st, firings, dueAt: st ? dueOf(st, o) : undefined };
    st ??= { g: groupValues(rule, ev), t: [], ids: [], wm: ref, off: nowMs - ref };
    if (ref >= st.wm) {
      st.wm = ref;
      st.off = nowMs - ref;
    }
    pushBounded(st.ids, ev.id);
    if (st.s !== undefined) {
      st.n = (st.n ?? 0) + 1;
      return { state: st, firings, dueAt: dueOf(st, o) };
    }
    let i = st.t.length;
    while (i > 0 && st.t[i - 1]! > ev.ts) i--;
    st.t.splice(i, 0, ev.ts);
    if (st.t.length >= o.count) {
      st.s = st.t[0]!;
      st.n = st.t.length;
      st.f = ev.fields;
      st.t = [];
    }
    return { state: st, firings, dueAt: dueOf(st, o) };
  },

  onDue(rule, state, nowMs) {
    const o = opts(rule);
    const clock = nowMs - state.off;
    if (state.s === undefined) {
      // counting A's: drop the group only once its last A is out of the window
      if (clock - state.t[state.t.length - 1]! > o.w) return { state: undefined, firings: [] };
      return { state, firings: [], dueAt: dueOf(state, o) };
    }
    const firings: EngineFiring[] = [];
    const st = expire(rule, state, clock, o, nowMs, firings);
    return { state: st, firings, dueAt: st ? dueOf(st, o) : undefined };
  },
};
