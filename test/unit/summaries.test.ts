/**
 * Search summaries (workers/store/summaries.ts): the invariant that makes skipping safe — an hour's
 * summary passes the probe of every search one of its events matches — checked against the search's
 * own semantics (`instr(lower(message), v)` with SQLite's ASCII-only lower(), exact addresses, CIDRs),
 * on random text with upper case, punctuation, non-ASCII and astral characters, and on random addresses
 * of both families. Then: the SQL rendering of a probe agrees with its JS evaluation on a real libSQL,
 * the sparse encoding round-trips, stretchesBetween covers exactly the range less the skipped hours,
 * and a summary does rule out what is absent (else it would be useless).
 */
import { createClient } from "@libsql/client";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../bench/corpus.ts";
import { prepareBatch } from "../../workers/ingest/batch.ts";
import { DEFAULT_CONTEXT } from "../../workers/parse/index.ts";
import { ipKey, parseCidr } from "../../workers/parse/ip.ts";
import type { Condition } from "../../workers/store/events-query.ts";
import { stretchesBetween } from "../../workers/store/sql-store.ts";
import {
  addAddress, addressTokens, encodeSparse, encodeSparseReference, MAX_PROBE_BITS, orSparse, probeHolds, tokenPositions, probeOf, probeSql, summariesOf, SUMMARY_BITS, SUMMARY_BYTES, toHex, trigramPositions,
} from "../../workers/store/summaries.ts";
import type { EventRow } from "../../workers/store/types.ts";
import { D1_MAX_STATEMENT_BYTES } from "../../workers/constants.ts";

const H = Date.UTC(2026, 4, 1, 10);
const HOUR = 3_600_000;

/** SQLite's lower(): ASCII letters only. */
const sqliteLower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function row(i: number, ts: number, message: string | null, src: string | null, dst: string | null): EventRow {
  return {
    id: `ID${String(ts).padStart(16, "0")}${String(i).padStart(8, "0")}`, ts, received_at: ts, host: null, program: null, dataset: "x",
    src_ip: src, dst_ip: dst, src_ip_key: src === null ? null : ipKey(src), dst_ip_key: dst === null ? null : ipKey(dst),
    src_port: null, dst_port: null, protocol: null, user: null, action: null, outcome: null, severity: null,
    message, raw: message ?? "", doc: {} as EventRow["doc"], class_bits: null,
  };
}

const bitsOfHour = (rows: EventRow[], hour: number) => summariesOf(rows).find((p) => p.hour === hour)?.bits ?? new Uint8Array(SUMMARY_BYTES);

const textChar = fc.constantFrom(..."abcXYZ019 .-_:/é中🔥İ\t\"'".split(""), "🔥");
const text = fc.array(textChar, { maxLength: 40 }).map((cs) => cs.join(""));
const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(":"));
const addr = fc.oneof(v4, v6);

describe("search summaries: a matching hour is never skipped", () => {
  it("text: every substring of a message (as the route lower-cases it) passes its hour's probe", () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 8 }), fc.nat(), fc.nat(), fc.nat(40), (msgs, pick, start, len) => {
        const rows = msgs.map((m, i) => row(i, H + i * 1000, m, null, null));
        const m = msgs[pick % msgs.length]!;
        const s = Math.min(start % (m.length + 1), m.length);
        const q = m.slice(s, s + len).toLowerCase();
        if (q.length === 0) return;
        // The search's semantics decide what matches; the probe must pass whenever something does.
        const matches = msgs.some((x) => sqliteLower(x).includes(q));
        const probe = probeOf([{ kind: "contains", column: "message", values: [q], negate: false }]);
        if (matches && probe) expect(probeHolds(probe, bitsOfHour(rows, H))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("addresses: an address, and every CIDR containing it, passes its hour's probe", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(addr, addr), { minLength: 1, maxLength: 10 }), fc.nat(), fc.boolean(), fc.nat(128), (pairs, pick, asDst, bits) => {
        const rows = pairs.map(([s, d], i) => row(i, H + i, null, s, d));
        const [s, d] = pairs[pick % pairs.length]!;
        const a = asDst ? d : s;
        const key = ipKey(a)!;
        const col = asDst ? "dst_ip_key" : "src_ip_key";
        const exact: Condition = { kind: "in", column: col, values: [key], negate: false };
        expect(probeHolds(probeOf([exact])!, bitsOfHour(rows, H))).toBe(true);
        const width = a.includes(":") ? bits % 129 : bits % 33;
        const r = parseCidr(`${a}/${width}`)!;
        const probe = probeOf([{ kind: "range", column: col, ranges: [[r.lo, r.hi]], negate: false }]);
        if (probe) expect(probeHolds(probe, bitsOfHour(rows, H))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("the bench corpus: each row's own address and message words pass its hour's probe", () => {
    const { rows } = prepareBatch(generateCorpus(2000, 7).join("\n"), "text", { ctx: DEFAULT_CONTEXT, batchKey: "k", nowMs: H });
    const parts = summariesOf(rows);
    for (const r of rows) {
      const bits = parts.find((p) => p.hour === Math.floor(r.ts / HOUR) * HOUR)!.bits;
      if (r.src_ip_key) expect(probeHolds(probeOf([{ kind: "in", column: "src_ip_key", values: [r.src_ip_key], negate: false }])!, bits)).toBe(true);
      if (r.user) expect(probeHolds(probeOf([{ kind: "in", column: "user", values: [r.user], negate: false }])!, bits)).toBe(true);
      const word = r.message?.split(" ").find((w) => w.length >= 3);
      if (word) expect(probeHolds(probeOf([{ kind: "contains", column: "message", values: [word.toLowerCase()], negate: false }])!, bits)).toBe(true);
    }
  });
});

describe("search summaries: they rule out what is absent", () => {
  it("a word and an address that never occurred fail the probe of a busy hour", () => {
    const { rows } = prepareBatch(generateCorpus(5000, 3).join("\n"), "text", { ctx: DEFAULT_CONTEXT, batchKey: "k", nowMs: H });
    const hour = Math.floor(rows[0]!.ts / HOUR) * HOUR;
    const bits = bitsOfHour(rows, hour);
    expect(probeHolds(probeOf([{ kind: "contains", column: "message", values: ["zebracorn"], negate: false }])!, bits)).toBe(false);
    expect(probeHolds(probeOf([{ kind: "in", column: "user", values: ["zebracorn"], negate: false }])!, bits)).toBe(false);
    const someone = rows.find((r) => r.user !== null)!;
    const theirs = bitsOfHour(rows, Math.floor(someone.ts / HOUR) * HOUR);
    expect(probeHolds(probeOf([{ kind: "in", column: "user", values: ["zebracorn"], negate: false }])!, theirs)).toBe(false);
    expect(probeHolds(probeOf([{ kind: "in", column: "user", values: ["zebracorn", someone.user!], negate: false }])!, theirs)).toBe(true);
    // Of 1000 addresses that are not in the batch, the Bloom filter lets few through.
    const present = new Set(rows.flatMap((r) => [r.src_ip_key, r.dst_ip_key]));
    let passed = 0, tried = 0;
    for (let i = 0; tried < 1000; i++) {
      const key = ipKey(`100.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)!;
      if (present.has(key)) continue;
      tried++;
      if (probeHolds(probeOf([{ kind: "in", column: "src_ip_key", values: [key], negate: false }])!, bits)) passed++;
    }
    expect(passed).toBeLessThan(20);
  });

  it("a long text or many values make a probe whose SQL stays under D1's statement limit, and it still holds where they match", () => {
    const long = "failed password for invalid user ".repeat(31).slice(0, 1024);
    const many = Array.from({ length: 90 }, (_, i) => `word${i}xyz`);
    const conditions: Condition[] = [
      { kind: "contains", column: "message", values: [long], negate: false },
      { kind: "contains", column: "message", values: many, negate: false },
      { kind: "in", column: "src_ip_key", values: Array.from({ length: 90 }, (_, i) => ipKey(`10.0.0.${i}`)!), negate: false },
    ];
    const probe = probeOf(conditions)!;
    expect(probe.flat(2).length).toBeLessThanOrEqual(MAX_PROBE_BITS);
    expect(probeSql(probe).length).toBeLessThan(D1_MAX_STATEMENT_BYTES - 1000);
    // An hour holding the long text, one of the words and one of the addresses passes.
    const rows = [row(0, H, `x ${long} y`, "10.0.0.7", null), row(1, H + 1, "a word42xyz b", null, null)];
    expect(probeHolds(probe, bitsOfHour(rows, H))).toBe(true);
    expect(probeHolds(probe, bitsOfHour([row(0, H, "nothing here", "10.0.0.7", null)], H))).toBe(false);
  });

  it("negations, short text and wide CIDRs do not prune", () => {
    expect(probeOf([{ kind: "contains", column: "message", values: ["ab"], negate: false }])).toBeNull();
    expect(probeOf([{ kind: "contains", column: "message", values: ["zebracorn"], negate: true }])).toBeNull();
    const wide = parseCidr("10.0.0.0/8")!;
    expect(probeOf([{ kind: "range", column: "src_ip_key", ranges: [[wide.lo, wide.hi]], negate: false }])).toBeNull();
    expect(probeOf([{ kind: "in", column: "host", values: ["nas"], negate: false }])).toBeNull();
  });
});

describe("search summaries: encodings and SQL", () => {
  it("sparse parts round-trip, and the word-at-a-time encoder writes what the plain one does", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(SUMMARY_BITS - 1), { maxLength: 3000 }), (ps) => {
        const bits = new Uint8Array(SUMMARY_BYTES);
        for (const p of ps) bits[p >> 3]! |= 1 << (p & 7);
        const back = new Uint8Array(SUMMARY_BYTES);
        orSparse(back, encodeSparse(bits));
        expect(back).toEqual(bits);
        expect(encodeSparse(bits)).toBe(encodeSparseReference(bits));
      }),
      { numRuns: 200 },
    );
  });

  it("probeSql on a real libSQL agrees with probeHolds", async () => {
    const db = createClient({ url: ":memory:" });
    await db.execute("CREATE TABLE t (dense BLOB)");
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.nat(SUMMARY_BITS - 1), { maxLength: 400 }),
        fc.array(fc.array(fc.array(fc.nat(SUMMARY_BITS - 1), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        async (set, probe, seed) => {
          // Half the time the probe's bits are taken from the set, so both outcomes occur.
          const p = seed % 2 && set.length ? probe.map((alts) => alts.map((ps) => ps.map((x) => set[x % set.length]!))) : probe;
          const bits = new Uint8Array(SUMMARY_BYTES);
          for (const b of set) bits[b >> 3]! |= 1 << (b & 7);
          await db.execute("DELETE FROM t");
          await db.execute({ sql: "INSERT INTO t VALUES (unhex(?))", args: [toHex(bits)] });
          const r = await db.execute(`SELECT (${probeSql(p)}) AS ok FROM t`);
          expect(Number(r.rows[0]!.ok) === 1).toBe(probeHolds(p, bits));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("addAddress (one pass over the key) sets exactly the bits of tokenPositions of each addressTokens", () => {
    fc.assert(
      fc.property(addr, (a) => {
        const key = ipKey(a)!;
        const fast = new Uint8Array(SUMMARY_BYTES);
        addAddress(fast, key);
        const plain = new Uint8Array(SUMMARY_BYTES);
        for (const t of addressTokens(key)) for (const p of tokenPositions(t)) plain[p >> 3]! |= 1 << (p & 7);
        expect(fast).toEqual(plain);
      }),
      { numRuns: 500 },
    );
  });

  it("trigramPositions: distinct and ascending", () => {
    expect(trigramPositions("aaaa")).toHaveLength(1);
    const ps = trigramPositions("failed password");
    expect([...ps].sort((a, b) => a - b)).toEqual(ps);
    expect(new Set(ps).size).toBe(ps.length);
  });

  it("stretchesBetween covers the range less the skipped hours, newest first", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(30), { maxLength: 20 }), fc.nat(40 * HOUR), fc.nat(40 * HOUR), (hs, a, b) => {
        const skip = hs.map((h) => H + h * HOUR).sort((x, y) => x - y);
        const [from, to] = [H + Math.min(a, b), H + Math.max(a, b)];
        const st = stretchesBetween(skip, from, to);
        for (let i = 1; i < st.length; i++) expect(st[i]![1]).toBeLessThanOrEqual(st[i - 1]![0]);
        // Sample instants: inside a stretch exactly when in range and not in a skipped hour.
        for (let t = from - HOUR; t < to + HOUR; t += 997_000) {
          const inRange = t >= from && t < to && !skip.some((h) => t >= h && t < h + HOUR);
          expect(st.some(([lo, hi]) => t >= lo && t < hi)).toBe(inRange);
        }
      }),
      { numRuns: 500 },
    );
  });
});
