/**
 * The matches of one RuleState.apply call as columns: one array of ids, one of times, one per field
 * path, instead of two objects per match. A Durable Object RPC V8-serializes its arguments in the
 * calling Worker, on the Worker's CPU clock, and the cost grows with the number of objects: a batch's
 * ≈1000 matches were ≈2000 objects. The object unpacks them on its own clock.
 *
 * Invariant: unpackMatches(packMatches(xs)) deep-equals xs (an absent field stays absent); a plain
 * MatchedEvent[] is accepted too (tests and older callers).
 */
import type { MatchedEvent } from "./types.ts";

export interface PackedMatches {
  packed: 1;
  id: string[];
  ts: number[];
  /** Field paths, and for each the values by match (undefined where a match has none). */
  paths: string[];
  cols: unknown[][];
  captures?: (Record<string, string> | undefined)[];
  step?: (string | undefined)[];
}

export function packMatches(events: readonly MatchedEvent[]): PackedMatches {
  const n = events.length;
  const id = new Array<string>(n), ts = new Array<number>(n);
  const paths: string[] = [], cols: unknown[][] = [];
  let captures: (Record<string, string> | undefined)[] | undefined;
  let step: (string | undefined)[] | undefined;
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    id[i] = e.id;
    ts[i] = e.ts;
    const f = e.fields;
    for (const p in f) {
      let c = paths.indexOf(p);
      if (c < 0) {
        c = paths.push(p) - 1;
        cols.push(new Array<unknown>(n).fill(undefined));
      }
      cols[c]![i] = f[p];
    }
    if (e.captures !== undefined) (captures ??= new Array(n).fill(undefined))[i] = e.captures;
    if (e.step !== undefined) (step ??= new Array(n).fill(undefined))[i] = e.step;
  }
  const out: PackedMatches = { packed: 1, id, ts, paths, cols };
  if (captures) out.captures = captures;
  if (step) out.step = step;
  return out;
}

export function unpackMatches(p: readonly MatchedEvent[] | PackedMatches): MatchedEvent[] {
  if (Array.isArray(p)) return p as MatchedEvent[];
  const packed = p as PackedMatches;
  const out = new Array<MatchedEvent>(packed.id.length);
  for (let i = 0; i < out.length; i++) {
    const fields: Record<string, unknown> = {};
    for (let c = 0; c < packed.paths.length; c++) {
      const v = packed.cols[c]![i];
      if (v !== undefined) fields[packed.paths[c]!] = v;
    }
    const m: MatchedEvent = { id: packed.id[i]!, ts: packed.ts[i]!, fields };
    const cap = packed.captures?.[i];
    if (cap !== undefined) m.captures = cap;
    const st = packed.step?.[i];
    if (st !== undefined) m.step = st;
    out[i] = m;
  }
  return out;
}
