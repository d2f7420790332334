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
 * - `capacity: -1` with `duration: d` is CrowdSec's `counter`: pours are only counted, and the bucket
 *   overflows d after its first pour with everything counted (noticed by the group's next event or by
 *   onDue at the wall time d maps to).
 * - `capacity: -1` with `condition: {count, where?, median_interval_over?}` is CrowdSec's `conditional`
 *   for the conditions the hub writes: after each pour, the queued pours (the latest 20; only those
 *   whose event matched `where`, marked "w" by the projection) overflow the bucket when there are at
 *   least `count` of them and the median interval between the latest `count` exceeds
 *   median_interval_over (ssh-time-based-bf). The bucket lives `leakspeed` after its last pour.
 * - `cancel_on: condition` (CrowdSec's cancel_on): a matched event that also matches it (step
 *   "cancel") destroys the group's bucket without being poured; the blackhole stays.
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
    /** conditional: the latest pours as [event ms, 1 when it matched condition.where]. */
    q?: [number, number][];
    /** counter: the last pour's projected fields (template variables of the overflow at its deadline). */
    f?: Record<string, unknown>;
  };
  /** Blackhole end (event ms): overflows before it are discarded. */
  bh?: number;
  wm: number;
  off: number;
}

/** Pours a conditional bucket remembers (CrowdSec's queue for the hub's conditions: they look at a few). */
const QUEUE_MAX = 20;

function opts(rule: RuleDef) {
  const capacity = rule.capacity as number;
  const counter = capacity === -1 && rule.duration !== undefined ? durationMs(rule.duration, "duration") : 0;
  const cond = capacity === -1 ? (rule.condition as { count: number; where?: unknown; median_interval_over?: string } | undefined) : undefined;
  const leak = capacity > 0 || cond ? durationMs(rule.leakspeed, "leakspeed") : 0;
  return {
    capacity,
    leak,
    counter,
    cond: cond ? { count: cond.count, where: cond.where !== undefined, gap: cond.median_interval_over === undefined ? undefined : durationMs(cond.median_interval_over, "median_interval_over") } : undefined,
    life: counter > 0 ? counter : cond ? leak : (capacity + 1) * leak,
    blackhole: rule.blackhole === undefined ? 0 : durationMs(rule.blackhole, "blackhole"),
    distinct: rule.distinct as string | undefined,
    keep: Math.min(typeof rule.cache_size === "number" ? rule.cache_size : capacity >= 0 ? capacity + 1 : QUEUE_MAX, QUEUE_MAX),
  };
}
type Opts = ReturnType<typeof opts>;

function dueOf(st: BucketState, o: Opts): number | undefined {
  const ends: number[] = [];
  if (st.b) ends.push(o.counter > 0 ? st.b.first + o.counter : st.b.last + o.life + 1);
  if (st.bh !== undefined) ends.push(st.bh);
  return ends.length ? Math.max(...ends) + st.off : undefined;
}

/** Drops what is over at clock `ref`. Returns undefined when nothing remains. */
function expire(st: BucketState, ref: number, o: Opts): BucketState | undefined {
  if (st.b && o.counter === 0 && ref - st.b.last > o.life) delete st.b;
  if (st.bh !== undefined && st.bh <= ref) delete st.bh;
  return st.b || st.bh !== undefined ? st : undefined;
}

/** Median of the intervals between consecutive times (ms), as CrowdSec's MedianInterval. */
function medianInterval(times: number[]): number {
  const gaps = times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
  if (!gaps.length) return 0;
  const mid = gaps.length >> 1;
  return gaps.length % 2 ? gaps[mid]! : (gaps[mid - 1]! + gaps[mid]!) / 2;
}

/** A counter whose duration is over at `ref` overflows with everything it counted (then is gone). */
function counterDue(rule: RuleDef, st: BucketState, ref: number, o: Opts, firings: EngineFiring[]): void {
  const b = st.b;
  if (!b || o.counter === 0 || ref < b.first + o.counter) return;
  delete st.b;
  const at = b.first + o.counter;
  if (st.bh !== undefined && st.bh > at) return;
  const last = { id: b.ids[b.ids.length - 1] ?? "", ts: b.last, fields: b.f ?? {} };
  firings.push({ action: "raise", group: groupObject(rule, st.g), count: b.n, eventIds: b.ids, at, vars: firingVars(rule, last, { count: b.n, first: b.first, last: b.last }) });
  if (o.blackhole > 0) st.bh = at + o.blackhole;
}

export const bucket: Engine<BucketState> = {
  step(rule, state, ev, nowMs): StepResult<BucketState> {
    const o = opts(rule);
    if (state && o.capacity !== 0 && ev.ts < state.wm - o.life) return { state, firings: [], dueAt: dueOf(state, o), late: true };
    const ref = state ? Math.max(ev.ts, state.wm) : ev.ts;
    const firings: EngineFiring[] = [];
    if (state) counterDue(rule, state, ref, o, firings);
    let st = state ? expire(state, ref, o) : undefined;
    if (ev.step === "cancel") {
      if (st) delete st.b;
      st = st?.bh !== undefined ? st : undefined;
      return { state: st, firings, dueAt: st ? dueOf(st, o) : undefined };
    }
    st ??= { g: groupValues(rule, ev), wm: ref, off: nowMs - ref };
    if (ref >= st.wm) {
      st.wm = ref;
      st.off = nowMs - ref;
    }
    let value: string | undefined;
    if (o.distinct) {
      const v = ev.fields[o.distinct];
      value = v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
      if (st.b?.d?.includes(value)) return { state: st, firings, dueAt: dueOf(st, o) };
    }
    const b = (st.b ??= { tok: o.capacity * o.leak, last: ref, first: ref, n: 0, ids: [] });
    if (value !== undefined) (b.d ??= []).push(value);
    b.tok = Math.min(o.capacity * o.leak, b.tok + (ref - b.last));
    b.last = ref;
    b.n++;
    pushBounded(b.ids, ev.id, o.keep);
    let overflow: boolean;
    if (o.counter > 0) {
      b.f = ev.fields;
      overflow = false;
    } else if (o.cond) {
      const q = (b.q ??= []);
      q.push([ref, ev.step === "w" ? 1 : 0]);
      if (q.length > QUEUE_MAX) q.shift();
      const times = q.filter((x) => !o.cond!.where || x[1] === 1).map((x) => x[0]).slice(-o.cond.count);
      overflow = times.length >= o.cond.count && (o.cond.gap === undefined || medianInterval(times) > o.cond.gap);
    } else if (o.capacity > 0 && b.tok >= o.leak) {
      b.tok -= o.leak;
      overflow = false;
    } else overflow = true;
    if (overflow) {
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
    const firings: EngineFiring[] = [];
    counterDue(rule, state, nowMs - state.off, o, firings);
    const st = expire(state, nowMs - state.off, o);
    return { state: st, firings, dueAt: st ? dueOf(st, o) : undefined };
  },
};
