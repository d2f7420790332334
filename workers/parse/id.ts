/**
 * Event ids: ULID layout with the EVENT time (@timestamp) as the time part, so that the events
 * table's primary key orders by event time and time ranges and cursors are primary-key ranges.
 * 10 chars of Crockford base32 for ms since epoch (clamped to [0, 2^48)), then 16 random chars.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const MAX_TS = 2 ** 48 - 1;

export function encodeTime(ms: number): string {
  let t = Math.min(MAX_TS, Math.max(0, Math.floor(Number.isFinite(ms) ? ms : 0)));
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  return out;
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
  let out = encodeTime(tsMs);
  for (let i = 0; i < 16; i++) out += ALPHABET[rand[i]! & 31];
  return out;
}

/** Smallest id at or after `ms` (for `id >= lowerBound(from)`). */
export const lowerBound = (ms: number): string => encodeTime(ms) + "0".repeat(16);

/**
 * Deterministic id for line `index` of batch `batchKey`: a retried batch (same Idempotency-Key)
 * yields the same ids, so `INSERT OR IGNORE` stores nothing twice and alerts keep pointing at rows
 * that exist. The 16-char tail is 80 bits from two independent 32-bit FNV-1a-style hashes plus the
 * index; ids only need to be unique among events of the same millisecond.
 */
export function eventId(tsMs: number, batchKey: string, index: number): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193 ^ index;
  for (let i = 0; i < batchKey.length; i++) {
    const c = batchKey.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
  }
  h1 = Math.imul(h1 ^ index, 0x01000193) >>> 0;
  h2 = Math.imul(h2 ^ (index >>> 7), 0x85ebca6b) >>> 0;
  let out = encodeTime(tsMs);
  for (let i = 0; i < 6; i++) out += ALPHABET[(h1 >>> (i * 5)) & 31];
  for (let i = 0; i < 6; i++) out += ALPHABET[(h2 >>> (i * 5)) & 31];
  // 4 chars (20 bits) of the index itself keep lines of one batch distinct even if the hashes collide.
  for (let i = 3; i >= 0; i--) out += ALPHABET[(index >>> (i * 5)) & 31];
  return out;
}
