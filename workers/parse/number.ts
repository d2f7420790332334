/**
 * Decimal numbers of parsed tokens without `Number(string)`: ports, lengths, counters and PIDs are
 * short runs of ASCII digits, and summing their digits costs a fraction of the generic conversion
 * (which handles whitespace, signs, exponents, hex, "Infinity"). Pure.
 */

/** Value of `s` when it is 1 to `maxLen` (≤ 15, exact in a double) ASCII digits, else -1. */
export function digitsValue(s: string, maxLen: number): number {
  const n = s.length;
  if (n === 0 || n > maxLen) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Exactly `Number(s)`: the digit fast path for the usual token, the generic conversion for anything else
 * ("", " 1", "1e3", "0x10", "-1" keep their JavaScript meaning).
 */
export function toNumber(s: string): number {
  const v = digitsValue(s, 15);
  return v >= 0 ? v : Number(s);
}
