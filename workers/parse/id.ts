/**
 * Event ids: ULID layout with the EVENT time (@timestamp) as the time part, so that the events
 * table's primary key orders by event time and time ranges and cursors are primary-key ranges.
 * 10 chars of Crockford base32 for ms since epoch (clamped to [0, 2^48)), then 16 random chars.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const MAX_TS = 2 ** 48 - 1;

// Ids are built as char codes in this scratch and turned into ONE flat string by String.fromCharCode:
// appending char by char made 26 cons-string cells per id (garbage), and JSON.stringify then had to
// flatten every id of a batch. Chars 0-9 hold the time of `scratchMs` and are reused while it repeats.
// Scratch, not a result: every export fills what it reads and returns a string before the next call.
const scratch: number[] = new Array<number>(26).fill(48);
let scratchMs = NaN;

function setTime(ms: number): void {
  const t = Math.min(MAX_TS, Math.max(0, Math.floor(Number.isFinite(ms) ? ms : 0)));
  if (t === scratchMs) return;
  scratchMs = t;
  // t < 2^48 is no int32: `t % 32` on it is a floating-point modulus (a C call in V8). Split it into two
  // int32 halves of 25 and 23 bits (exact: dividing by a power of two is exact) and shift those instead.
  const hi = Math.floor(t / 0x2000000);
  const lo = t - hi * 0x2000000;
  for (let k = 0; k < 5; k++) {
    scratch[9 - k] = CODES[(lo >>> (5 * k)) & 31]!;
    scratch[4 - k] = CODES[(hi >>> (5 * k)) & 31]!;
  }
}

function scratchString(len: number): string {
  if (len !== 26) return String.fromCharCode.apply(null, scratch.slice(0, len));
  // Spelled out: a fixed-arity call is about twice as fast as fromCharCode.apply on this hot path.
  const c = scratch;
  return String.fromCharCode(c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!,
    c[13]!, c[14]!, c[15]!, c[16]!, c[17]!, c[18]!, c[19]!, c[20]!, c[21]!, c[22]!, c[23]!, c[24]!, c[25]!);
}

export function encodeTime(ms: number): string {
  setTime(ms);
  return scratchString(10);
}

export function decodeTime(id: string): number {
  let t = 0;
  for (let i = 0; i < 10 && i < id.length; i++) {
    const v = ALPHABET.indexOf(id[i]!);
    if (v < 0) return NaN;
    t = t * 32 + v;
  }
  return t;
}

const rand = new Uint8Array(16);
export function newEventId(tsMs: number): string {
  crypto.getRandomValues(rand);
  setTime(tsMs);
  for (let i = 0; i < 16; i++) scratch[10 + i] = CODES[rand[i]! & 31]!;
  return scratchString(26);
}

/** Smallest id at or after `ms` (for `id >= lowerBound(from)`). */
export const lowerBound = (ms: number): string => encodeTime(ms) + "0".repeat(16);

// Hash state of the last batch key: a batch's lines share one key, so it is hashed once per batch,
// not once per line. Pure memo: the id depends only on (tsMs, batchKey, index).
let lastKey: string | undefined;
let keyH1 = 0;
let keyH2 = 0;

/**
 * Deterministic id for line `index` of batch `batchKey`: a retried batch (same Idempotency-Key)
 * yields the same ids, so `INSERT OR IGNORE` stores nothing twice and alerts keep pointing at rows
 * that exist. The 16-char tail is 60 bits from two independent 32-bit FNV-1a/murmur-style hashes of
 * (key, index) plus 20 bits of the index itself; ids only need to be unique among events of the same
 * millisecond, and the index part keeps the lines of one batch distinct even if the hashes collide.
 */
export function eventId(tsMs: number, batchKey: string, index: number): string {
  if (batchKey !== lastKey) {
    let h1 = 0x811c9dc5, h2 = 0x01000193;
    for (let i = 0; i < batchKey.length; i++) {
      const c = batchKey.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    keyH1 = h1;
    keyH2 = h2;
    lastKey = batchKey;
  }
  let h1 = Math.imul(keyH1 ^ index, 0x01000193);
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35) >>> 0;
  let h2 = Math.imul(keyH2 ^ Math.imul(index, 0x9e3779b1), 0x85ebca6b);
  h2 = (h2 ^ (h2 >>> 16)) >>> 0;
  setTime(tsMs);
  for (let i = 0; i < 6; i++) scratch[10 + i] = CODES[(h1 >>> (i * 5)) & 31]!;
  for (let i = 0; i < 6; i++) scratch[16 + i] = CODES[(h2 >>> (i * 5)) & 31]!;
  for (let i = 3; i >= 0; i--) scratch[25 - i] = CODES[(index >>> (i * 5)) & 31]!;
  return scratchString(26);
}
