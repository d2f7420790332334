/**
 * A small direct-mapped cache keyed by short strings, for pure per-token functions of the parsers
 * (program name → parser, PROTO= → lowercase, firewall prefix → action). A Map must hash its key, and
 * every key here is a fresh substring of the line whose hash V8 has not computed yet: a runtime call
 * per lookup. The slot here comes from the length and three chars, and a hit is confirmed with ===, so
 * the cache answers exactly what the function would; two keys sharing a slot just evict each other.
 */
export class TokenMemo<V> {
  private readonly keys: (string | undefined)[];
  private readonly values: (V | undefined)[];
  private readonly mask: number;

  /** `size` slots, a power of two. */
  constructor(size: number) {
    this.keys = new Array<string | undefined>(size).fill(undefined);
    this.values = new Array<V | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }

  /** The value stored for `key`, or undefined. */
  get(key: string): V | undefined {
    const i = slotOf(key) & this.mask;
    return this.keys[i] === key ? this.values[i] : undefined;
  }

  set(key: string, value: V): void {
    const i = slotOf(key) & this.mask;
    this.keys[i] = key;
    this.values[i] = value;
  }
}

function slotOf(k: string): number {
  const n = k.length;
  // charCodeAt past the end is NaN, which `| 0` turns into 0 (the empty key).
  return (n * 0x9e5 + (k.charCodeAt(0) | 0) * 31 + (k.charCodeAt(n >> 1) | 0) * 7 + (k.charCodeAt(n - 1) | 0)) | 0;
}
