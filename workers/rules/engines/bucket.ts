/**
 * `bucket`: CrowdSec's leaky bucket, per group (CrowdSec's stackkey = our group_by), on event time
 * (CrowdSec's "time machine" mode, used by its hub tests). Port of pkg/leakybucket:
 * - The bucket is golang.org/x/time/rate's limiter, rate = 1 per `leakspeed`, burst = `capacity`,
 *   created full of tokens at the first pour. Each pour counts (Total_count) and takes a token; a pour
 *   that finds less than one token overflows. Tokens are kept as integer ms (tokens × leakspeed) so
 *   boundary cases are exact (ssh-slow-bf: the 19th pour finds exactly one token, the 20th overflows).
 * - An overflow raises with count = pours into this bucket and the latest capacity + 1 events, then
 *   destroys the bucket: the next pour creates a fresh one.
 * - A bucket with no pour for (capacity + 1) × leakspeed underflows (is destroyed; count restarts).
 * - `distinct: field` (CrowdSec's uniq processor, `distinct:` in scenarios): a pour whose value was
 *   already poured into this bucket is discarded (not counted).
 * - `blackhole: d`: an overflow within d after the previous emitted overflow of the group is
 *   discarded (its bucket is still destroyed); the blackhole is not extended by discarded overflows.
 * - `capacity: 0` is CrowdSec's `trigger`: every pour overflows (subject to the blackhole).
 * Out of order: a pour older than the group's watermark is poured at the watermark (no extra leak);
 *   one older than watermark - (capacity + 1) × leakspeed (the bucket's lifetime) is dropped (`late`).
 */
import { durationMs } from "../duration.ts";
import { firingVars, groupObject, groupValues, pushBounded, type EngineFiring } from "../project.ts";
import type { Engine, RuleDef, StepResult } from "../types.ts";

export interface BucketState {
  g: string[];
  /** Live bucket (absent between an overflow/underflow and the next pour). */
  b?: {
    /** Tokens × leakspeed, ms (integer). Full = capacity × leakspeed. */
    tok: number;
    /** Time of the last pour (event ms). */
    last: number;
    /** First pour (event ms). */
    first: number;
    /** Pours counted (CrowdSec Total_count). */
    n: number;
    /** Ids of the latest capacity + 1 pours. */
    ids: string[];
    /** distinct: values poured. */
    d?: string[];
  };
  /** Blackhole end (event ms): overflows before it are discarded. */
  bh?: number;
  wm: number;
  off: number;
}

function opts(rule: RuleDef) {
  const capacity = rule.capacity as number;
  const leak = capacity > 0 ? durationMs(rule.leakspeed, "leakspeed") : 0;
  return {
    capacity,
    leak,
    life: (capacity + 1) * leak,
    blackhole: rule.blackhole === undefined ? 0 : durationMs(rule.blackhole, "blackhole"),
    distinct: rule.distinct as string | undefined,
    keep: Math.min(typeof rule.cache_size === "number" ? rule.cache_size : capacity + 1, 20),
  };
}
type Opts = ReturnType<typeof opts>;

function dueOf(st: BucketState, o: Opts): number | undefined {
  const ends: number[] = [];
  if (st.b) ends.push(st.b.last + o.life + 1);
  if (st.bh !== undefined) ends.push(st.bh);
  return ends.length ? Math.max(...ends) + st.off : undefined;
}

/** Drops what is over at clock `ref`. Returns undefined when nothing remains. */
function expire(st: BucketState, ref: number, o: Opts): BucketState | undefined {
  if (st.b && ref - st.b.last > o.life) delete st.b;
  if (st.bh !== undefined && st.bh <= ref) delete st.bh;
  return st.b || st.bh !== undefined ? st : undefined;
}

export const bucket: Engine<BucketState> = {
  step(rule, state, ev, nowMs): StepResult<BucketState> {
    const o = opts(rule);
    if (state && o.capacity > 0 && ev.ts < state.wm - o.life) return { state, firings: [], dueAt: dueOf(state, o), late: true };
    const ref = state ? Math.max(ev.ts, state.wm) : ev.ts;
    let st = state ? expire(state, ref, o) : undefined;
    st ??= { g: groupValues(rule, ev), wm: ref, off: nowMs - ref };
    if (ref >= st.wm) {
      st.wm = ref;
      st.off = nowMs - ref;
    }
    let value: string | undefined;
    if (o.distinct) {
      const v = ev.fields[o.distinct];
      value = v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
      if (st.b?.d?.includes(value)) return { state: st, firings: [], dueAt: dueOf(st, o) };
    }
    const b = (st.b ??= { tok: o.capacity * o.leak, last: ref, first: ref, n: 0, ids: [] });
    if (value !== undefined) (b.d ??= []).push(value);
    b.tok = Math.min(o.capacity * o.leak, b.tok + (ref - b.last));
    b.last = ref;
    b.n++;
    pushBounded(b.ids, ev.id, o.keep);
    const firings: EngineFiring[] = [];
    if (o.capacity > 0 && b.tok >= o.leak) {
      b.tok -= o.leak;
    } else {
      // overflow: the bucket is destroyed whether or not the blackhole discards the alert
      delete st.b;
      if (st.bh === undefined || st.bh <= ref) {
        firings.push({ action: "raise", group: groupObject(rule, st.g), count: b.n, eventIds: b.ids, at: ev.ts, vars: firingVars(rule, ev, { count: b.n, first: b.first, last: ref }) });
        if (o.blackhole > 0) st.bh = ref + o.blackhole;
      }
      if (st.bh === undefined) return { state: undefined, firings };
    }
    return { state: st, firings, dueAt: dueOf(st, o) };
  },

  onDue(rule, state, nowMs) {
    const o = opts(rule);
    const st = expire(state, nowMs - state.off, o);
    return { state: st, firings: [], dueAt: st ? dueOf(st, o) : undefined };
  },
};
