/**
 * The matches of one RuleState.apply call, packed for the RPC. A Durable Object RPC V8-serializes its
 * arguments in the calling Worker, on the Worker's CPU clock, and the serializer's cost grows with the
 * number of values it visits: a batch's ≈1000 matches were ≈2000 objects as MatchedEvent[], and still
 * ≈4000 strings as columns of values. Packed, a call is a handful of values whatever its size:
 * - the ids as ONE string (event ids all have one length, so no separators; ends only when they differ),
 * - the times as a Float64Array (serialized as one block of bytes),
 * - per field path, a list of values with each run of equal values once, and a Uint32Array of codes
 *   (index + 1 into that list; 0 = the match has no value): a rule's matches come in runs from one
 *   source, user or host. (A full dictionary, a Map per path, cost as much to build as it saved.)
 * The object unpacks them on its own clock.
 *
 * Invariant: unpackMatches(packMatches(xs)) deep-equals xs (an absent field stays absent); a plain
 * MatchedEvent[] is accepted too (tests and older callers), and so is the previous column layout
 * (`packed: 1`), which a Worker of the previous release may still send during a deploy.
 */
import type { MatchedEvent } from "./types.ts";

export interface PackedMatches {
  packed: 2;
  n: number;
  /** The ids, concatenated. */
  ids: string;
  /** Length of every id when they all have one; else 0 and `ends` holds where each id ends in `ids`. */
  idLength: number;
  ends?: Uint32Array;
  ts: Float64Array;
  /** Field paths; for each, its values (a run of equal ones once) and one code per match (index + 1; 0 = absent). */
  paths: string[];
  values: unknown[][];
  codes: Uint32Array[];
  captures?: (Record<string, string> | undefined)[];
  step?: (string | undefined)[];
}

/** The layout of the previous release: one array per column. */
interface PackedMatchesV1 {
  packed: 1;
  id: string[];
  ts: number[];
  paths: string[];
  cols: unknown[][];
  captures?: (Record<string, string> | undefined)[];
  step?: (string | undefined)[];
}

export function packMatches(events: readonly MatchedEvent[]): PackedMatches {
  const n = events.length;
  const idList = new Array<string>(n);
  const ts = new Float64Array(n);
  const paths: string[] = [], values: unknown[][] = [], codes: Uint32Array[] = [];
  let captures: (Record<string, string> | undefined)[] | undefined;
  let step: (string | undefined)[] | undefined;
  let idLength = n > 0 ? events[0]!.id.length : 0;
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    idList[i] = e.id;
    if (e.id.length !== idLength) idLength = -1;
    ts[i] = e.ts;
    const f = e.fields;
    for (const p in f) {
      let c = paths.indexOf(p);
      if (c < 0) {
        c = paths.push(p) - 1;
        values.push([]);
        codes.push(new Uint32Array(n));
      }
      const v = f[p];
      if (v === undefined) continue; // absent, as it reads back
      // The previous match's value is reused (one entry per run): cheaper than hashing every value.
      const vs = values[c]!;
      const last = vs.length;
      codes[c]![i] = last > 0 && vs[last - 1] === v && !Object.is(v, -0) ? last : vs.push(v);
    }
    if (e.captures !== undefined) (captures ??= new Array(n).fill(undefined))[i] = e.captures;
    if (e.step !== undefined) (step ??= new Array(n).fill(undefined))[i] = e.step;
  }
  const out: PackedMatches = { packed: 2, n, ids: idList.join(""), idLength: Math.max(0, idLength), ts, paths, values, codes };
  if (idLength < 0) {
    const ends = new Uint32Array(n);
    let at = 0;
    for (let i = 0; i < n; i++) ends[i] = at += idList[i]!.length;
    out.ends = ends;
  }
  if (captures) out.captures = captures;
  if (step) out.step = step;
  return out;
}

export function unpackMatches(p: readonly MatchedEvent[] | PackedMatches | PackedMatchesV1): MatchedEvent[] {
  if (Array.isArray(p)) return p as MatchedEvent[];
  const packed = p as PackedMatches | PackedMatchesV1;
  if (packed.packed === 1) return unpackV1(packed);
  const n = packed.n;
  const out = new Array<MatchedEvent>(n);
  for (let i = 0; i < n; i++) {
    const fields: Record<string, unknown> = {};
    for (let c = 0; c < packed.paths.length; c++) {
      const code = packed.codes[c]![i]!;
      if (code !== 0) fields[packed.paths[c]!] = packed.values[c]![code - 1];
    }
    const id = packed.ends
      ? packed.ids.slice(i === 0 ? 0 : packed.ends[i - 1]!, packed.ends[i]!)
      : packed.ids.slice(i * packed.idLength, (i + 1) * packed.idLength);
    out[i] = withExtras({ id, ts: packed.ts[i]!, fields }, packed, i);
  }
  return out;
}

function unpackV1(packed: PackedMatchesV1): MatchedEvent[] {
  const out = new Array<MatchedEvent>(packed.id.length);
  for (let i = 0; i < out.length; i++) {
    const fields: Record<string, unknown> = {};
    for (let c = 0; c < packed.paths.length; c++) {
      const v = packed.cols[c]![i];
      if (v !== undefined) fields[packed.paths[c]!] = v;
    }
    out[i] = withExtras({ id: packed.id[i]!, ts: packed.ts[i]!, fields }, packed, i);
  }
  return out;
}

/** Match i's regex captures and sequence step, when it has them. */
function withExtras(m: MatchedEvent, packed: Pick<PackedMatches, "captures" | "step">, i: number): MatchedEvent {
  const cap = packed.captures?.[i];
  if (cap !== undefined) m.captures = cap;
  const st = packed.step?.[i];
  if (st !== undefined) m.step = st;
  return m;
}
