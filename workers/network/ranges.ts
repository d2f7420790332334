/**
 * Sorted address-range tables (scripts/network-data.ts writes them): decoded once, on first use, into
 * typed arrays, then looked up by binary search. Pure: runs in Node benches and in workerd alike.
 *
 * Invariant: `starts` ascending; the value of address a is values[i] for the last i with starts[i] <= a
 * >> shift (0 = unknown). IPv4 keys are the uint32 address; IPv6 keys are its top bits (< 2^53).
 */

/** One encoded table, as the generated modules export it: base64 varint columns. */
export interface EncodedRanges {
  /** Low bits dropped from an address before lookup (IPv4: 0 or 8; IPv6: 80, i.e. a /48). */
  shift: number;
  count: number;
  /** Varint deltas of the starts. */
  starts: string;
  /** Varints, one per start. */
  values: string;
}

export interface RangeTable {
  shift: number;
  starts: Float64Array;
  values: Uint32Array;
}

function base64Bytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Decodes `count` varints (each < 2^53) from `bytes`; deltas are summed when `delta`. */
function varints(bytes: Uint8Array, count: number, delta: boolean, out: Float64Array | Uint32Array): void {
  let at = 0, acc = 0;
  for (let i = 0; i < count; i++) {
    let v = 0, mul = 1, b: number;
    do {
      b = bytes[at++]!;
      v += (b & 127) * mul;
      mul *= 128;
    } while (b & 128);
    acc = delta ? acc + v : v;
    out[i] = acc;
  }
}

export function decodeRanges(e: EncodedRanges): RangeTable {
  const starts = new Float64Array(e.count), values = new Uint32Array(e.count);
  varints(base64Bytes(e.starts), e.count, true, starts);
  varints(base64Bytes(e.values), e.count, false, values);
  return { shift: e.shift, starts, values };
}

/** The value for key `k` (already shifted), 0 when none. */
export function lookupRange(t: RangeTable, k: number): number {
  const s = t.starts;
  let lo = 0, hi = s.length - 1;
  if (hi < 0 || k < s[0]!) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (s[mid]! <= k) lo = mid;
    else hi = mid - 1;
  }
  return t.values[lo]!;
}

/** The lookup key of an IPv4 uint32 under `shift` (0 or 8). */
export const v4Key = (ip: number, shift: number): number => (shift === 0 ? ip : Math.floor(ip / 2 ** shift));

/** The lookup key of IPv6 groups (8 x 16 bits) under shift 80: the top 48 bits. */
export const v6Key = (g: readonly number[]): number => (g[0]! * 65536 + g[1]!) * 65536 + g[2]!;
