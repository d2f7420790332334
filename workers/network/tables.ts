/**
 * The lookup tables of network visibility (GeoIP, ASN, AS names, MAC vendors) as binary files: written
 * by scripts/network-data.ts into web/public/data/network, shipped as static assets (outside the Worker
 * script and its size limit), fetched at run time through the ASSETS binding and viewed in place as
 * typed arrays, so a cold load is one fetch and one copy, with no decoding. Loaded tables are cached per
 * isolate. Parsing and lookups are pure (Node and workerd alike); the loader takes any `TableSource`.
 *
 * File layout, little-endian, every array aligned to its element size:
 *    0  "PLT1"                magic
 *    4  u32 count             entries
 *    8  u8  keyBytes          4 (Uint32 keys) or 8 (Float64 keys, integers < 2^53)
 *    9  u8  valueBytes        1, 2 or 4 (unsigned)
 *   10  u8  shift             low address bits dropped before a range lookup (0, 8 or 80)
 *   12  u32 labelCount        0 when values are plain numbers (AS numbers)
 *   16  u32 labelBytes        UTF-8 bytes of all labels
 *   32  keys[count], values[count], padding to 4, u32 labelOffsets[labelCount + 1], label text.
 * Invariants: keys strictly ascending; value 0 means "unknown"; with labels, value v names label v
 * (label 0 is the empty "unknown" label, never a real one).
 */

export interface Table {
  shift: number;
  keys: Uint32Array | Float64Array;
  values: Uint8Array | Uint16Array | Uint32Array;
  labelOffsets: Uint32Array;
  labelText: Uint8Array;
  /** Labels decoded so far: most are never asked for, so each is decoded on first use. */
  labels: (string | undefined)[];
}

const MAGIC = "PLT1";
const HEADER_BYTES = 32;
const utf8 = new TextDecoder();
/** Typed arrays use the platform's byte order; every platform workerd and Node run on is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Views `buf` (a whole table file) as a table; throws on a file that is not one. */
export function parseTable(buf: ArrayBuffer): Table {
  if (!LITTLE_ENDIAN) throw new Error("network tables: a big-endian platform is not supported");
  const h = new DataView(buf);
  if (buf.byteLength < HEADER_BYTES || String.fromCharCode(h.getUint8(0), h.getUint8(1), h.getUint8(2), h.getUint8(3)) !== MAGIC) {
    throw new Error("network tables: not a PLT1 table");
  }
  const count = h.getUint32(4, true), keyBytes = h.getUint8(8), valueBytes = h.getUint8(9), shift = h.getUint8(10);
  const labelCount = h.getUint32(12, true), labelBytes = h.getUint32(16, true);
  let at = HEADER_BYTES;
  // The typed-array constructors throw a RangeError when a section runs past the end of the file.
  const keys = keyBytes === 8 ? new Float64Array(buf, at, count) : keyBytes === 4 ? new Uint32Array(buf, at, count) : null;
  at += count * keyBytes;
  const values = valueBytes === 1 ? new Uint8Array(buf, at, count) : valueBytes === 2 ? new Uint16Array(buf, at, count) : valueBytes === 4 ? new Uint32Array(buf, at, count) : null;
  if (!keys || !values) throw new Error(`network tables: unsupported widths (keys ${keyBytes}, values ${valueBytes})`);
  at = align(at + count * valueBytes, 4);
  const labelOffsets = new Uint32Array(buf, at, labelCount ? labelCount + 1 : 0);
  at += labelOffsets.byteLength;
  const labelText = new Uint8Array(buf, at, labelBytes);
  if (at + labelBytes !== buf.byteLength) throw new Error("network tables: file size does not match its header");
  return { shift, keys, values, labelOffsets, labelText, labels: [] };
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

export interface TableInput {
  shift: number;
  /** Strictly ascending integers < 2^53. */
  keys: ArrayLike<number>;
  /** Unsigned integers < 2^32, one per key. */
  values: ArrayLike<number>;
  /** Label v for value v; labels[0] must be "". */
  labels?: readonly string[];
}

/** The file of a table (scripts/network-data.ts writes these; tests build small ones). */
export function encodeTable(t: TableInput): Uint8Array<ArrayBuffer> {
  const n = t.keys.length;
  if (t.values.length !== n) throw new Error("encodeTable: one value per key");
  let maxKey = 0, maxValue = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && !(t.keys[i]! > t.keys[i - 1]!)) throw new Error(`encodeTable: keys not strictly ascending at ${i}`);
    maxKey = Math.max(maxKey, t.keys[i]!);
    maxValue = Math.max(maxValue, t.values[i]!);
  }
  if (t.labels && t.labels[0] !== "") throw new Error('encodeTable: label 0 must be ""');
  const keyBytes = maxKey > 0xffffffff ? 8 : 4;
  const valueBytes = maxValue > 0xffff ? 4 : maxValue > 0xff ? 2 : 1;
  const text = t.labels?.map((l) => new TextEncoder().encode(l)) ?? [];
  const labelBytes = text.reduce((s, b) => s + b.length, 0);
  const offsetsAt = align(HEADER_BYTES + n * keyBytes + n * valueBytes, 4);
  const textAt = offsetsAt + (text.length ? (text.length + 1) * 4 : 0);
  const buf = new ArrayBuffer(textAt + labelBytes);
  const h = new DataView(buf);
  for (let i = 0; i < 4; i++) h.setUint8(i, MAGIC.charCodeAt(i));
  h.setUint32(4, n, true);
  h.setUint8(8, keyBytes);
  h.setUint8(9, valueBytes);
  h.setUint8(10, t.shift);
  h.setUint32(12, text.length, true);
  h.setUint32(16, labelBytes, true);
  (keyBytes === 8 ? new Float64Array(buf, HEADER_BYTES, n) : new Uint32Array(buf, HEADER_BYTES, n)).set(Array.from(t.keys));
  const valuesAt = HEADER_BYTES + n * keyBytes;
  (valueBytes === 4 ? new Uint32Array(buf, valuesAt, n) : valueBytes === 2 ? new Uint16Array(buf, valuesAt, n) : new Uint8Array(buf, valuesAt, n)).set(Array.from(t.values));
  if (text.length) {
    const offsets = new Uint32Array(buf, offsetsAt, text.length + 1);
    const bytes = new Uint8Array(buf, textAt, labelBytes);
    let off = 0;
    text.forEach((b, i) => {
      offsets[i] = off;
      bytes.set(b, off);
      off += b.length;
    });
    offsets[text.length] = off;
  }
  return new Uint8Array(buf);
}

// --- Lookups

/** The value of the range holding `key`: values[i] for the last i with keys[i] <= key; 0 before the first key. */
export function rangeValue(t: Table, key: number): number {
  const k = t.keys;
  if (!(k.length && key >= k[0]!)) return 0;
  let lo = 0, hi = k.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (k[mid]! <= key) lo = mid;
    else hi = mid - 1;
  }
  return t.values[lo]!;
}

/** The value stored for exactly `key`; 0 when there is none. */
export function exactValue(t: Table, key: number): number {
  const k = t.keys;
  let lo = 0, hi = k.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = k[mid]!;
    if (x === key) return t.values[mid]!;
    if (x < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/** Label `v` of a labelled table; undefined when there is none. */
export function label(t: Table, v: number): string | undefined {
  if (!(v >= 0 && v + 1 < t.labelOffsets.length)) return undefined;
  let s = t.labels[v];
  if (s === undefined) t.labels[v] = s = utf8.decode(t.labelText.subarray(t.labelOffsets[v]!, t.labelOffsets[v + 1]!));
  return s;
}

// --- Loading, cached per isolate

/** Reads one table file by its name in web/public/data/network. */
export type TableSource = (file: string) => Promise<ArrayBuffer>;

/** Where the files are served (public static assets: open data, no session needed). */
export const TABLES_PATH = "/data/network/";

/** The tables through the Worker's (or a Durable Object's) ASSETS binding. */
export function assetTables(assets: { fetch(url: string): Promise<Response> }): TableSource {
  return async (file) => {
    // The assets binding serves by path; the host is ignored.
    const res = await assets.fetch(`https://assets.invalid${TABLES_PATH}${file}`);
    if (!res.ok) throw new Error(`network table ${file}: HTTP ${res.status}`);
    return res.arrayBuffer();
  };
}

/**
 * How long an isolate keeps a table nobody asked for, ms. Tables in use stay (a reload would cost a
 * fetch and a copy of up to 4 MB); one unused this long (the IPv6 tables of an IPv4-only home, the
 * vendors after the inventory settled) is dropped, so an isolate's memory (128 MB) holds only what it uses.
 */
export const TABLE_IDLE_MS = 30 * 60_000;

const cache = new Map<string, { usedAt: number; table: Table }>();

/**
 * The table in `file`, loaded once per isolate. Only loaded tables are shared: a load in flight is
 * not, because a promise created by one request and awaited by another never settles if the first
 * request is cancelled, which would wedge every later call (workerd cancels the continuations of a
 * finished request). Two calls that both find a table missing each fetch it, once, at a cold start.
 * A failed load leaves nothing behind, so the next call retries. File names carry a hash of their
 * content (manifest.ts), so a cached table is never stale.
 */
export async function loadTable(src: TableSource, file: string, nowMs = Date.now()): Promise<Table> {
  for (const [f, e] of cache) if (nowMs - e.usedAt > TABLE_IDLE_MS) cache.delete(f);
  const hit = cache.get(file);
  if (hit) {
    hit.usedAt = nowMs;
    return hit.table;
  }
  const table = parseTable(await src(file));
  cache.set(file, { usedAt: nowMs, table });
  return table;
}

/** Tables this isolate holds (tests and benches: a cold load starts from an empty cache). */
export function cachedTables(): string[] {
  return [...cache.keys()];
}

export function forgetTables(): void {
  cache.clear();
}
