/**
 * A user-loaded address list (PUT /v1/lists/:name: IPs and CIDRs) as sorted, merged ranges, for the
 * `in_list` condition: a membership test is a binary search (O(log n), no allocation for IPv4), so a
 * list of a few hundred thousand entries costs ~20 comparisons per tested value
 * (bench/lists.bench.ts). IPv4 entries are kept as uint32 ranges; IPv6 ones as the ordered keys of
 * parse/ip.ts (ipKey/parseCidr bounds).
 * Invariant: ranges are sorted by start and disjoint (overlapping or adjacent entries are merged).
 */
import { ipKey, parseCidr, parseIPv4 } from "../parse/ip.ts";

export interface ParsedList {
  set: IpRangeSet;
  /** Entries that are neither an address nor a CIDR, with their 1-based position. */
  invalid: { line: number; entry: string }[];
}

const V4_CIDR = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/;

export class IpRangeSet {
  /** IPv4: starts and ends (inclusive) as uint32, ascending. */
  private readonly lo4: Float64Array;
  private readonly hi4: Float64Array;
  /** IPv6 (and anything not dotted IPv4): key bounds, ascending. */
  private readonly lo6: string[];
  private readonly hi6: string[];
  /** Entries it was built from (after de-duplication of ranges: the merged count is `ranges`). */
  readonly entries: number;

  private constructor(v4: [number, number][], v6: [string, string][], entries: number) {
    this.lo4 = Float64Array.from(v4, (r) => r[0]);
    this.hi4 = Float64Array.from(v4, (r) => r[1]);
    this.lo6 = v6.map((r) => r[0]);
    this.hi6 = v6.map((r) => r[1]);
    this.entries = entries;
  }

  get ranges(): number {
    return this.lo4.length + this.lo6.length;
  }

  /** Builds the set from entries (blank lines and `#` comments ignored); invalid ones are reported, not kept. */
  static parse(entries: readonly string[]): ParsedList {
    const v4: [number, number][] = [];
    const v6: [string, string][] = [];
    const invalid: ParsedList["invalid"] = [];
    let n = 0;
    entries.forEach((raw, i) => {
      const e = raw.replace(/#.*$/, "").trim();
      if (!e) return;
      const m = V4_CIDR.exec(e);
      if (m) {
        const a = parseIPv4(m[1]!);
        const bits = m[2] === undefined ? 32 : Number(m[2]);
        if (a >= 0 && bits <= 32) {
          const size = 2 ** (32 - bits);
          const lo = Math.floor(a / size) * size;
          v4.push([lo, lo + size - 1]);
          n++;
          return;
        }
      } else {
        const r = parseCidr(e);
        if (r) {
          v6.push([r.lo, r.hi]);
          n++;
          return;
        }
      }
      invalid.push({ line: i + 1, entry: raw.slice(0, 100) });
    });
    return { set: new IpRangeSet(merge(v4, (x) => x + 1), merge(v6), n), invalid };
  }

  /** True when `v` is an address inside one of the ranges. Never throws. */
  has(v: unknown): boolean {
    if (typeof v !== "string") return false;
    const a = parseIPv4(v);
    if (a >= 0) return search(this.lo4, this.hi4, a);
    if (this.lo6.length === 0) return false;
    const k = ipKey(v);
    return k !== null && search(this.lo6, this.hi6, k);
  }
}

/** Sorts ranges by start and merges overlapping ones (and adjacent ones, when `next` says what follows an end). */
function merge<T extends number | string>(rs: [T, T][], next?: (x: T) => T): [T, T][] {
  rs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const out: [T, T][] = [];
  for (const r of rs) {
    const last = out[out.length - 1];
    if (last && (r[0] <= last[1] || (next !== undefined && r[0] === next(last[1])))) {
      if (r[1] > last[1]) last[1] = r[1];
    } else out.push([r[0], r[1]]);
  }
  return out;
}

/** Binary search: is x inside [lo[i], hi[i]] for some i (lo ascending, ranges disjoint)? */
function search<T extends number | string>(lo: ArrayLike<T>, hi: ArrayLike<T>, x: T): boolean {
  let a = 0, b = lo.length - 1;
  while (a <= b) {
    const mid = (a + b) >> 1;
    if (lo[mid]! > x) b = mid - 1;
    else if (hi[mid]! < x) a = mid + 1;
    else return true;
  }
  return false;
}
