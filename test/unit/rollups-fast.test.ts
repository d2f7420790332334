/**
 * rollupsOf (Maps, a bounded top-N, the action test memoized per batch) against rollupsOfReference
 * (null-prototype objects and a full sort): the same parts with the same keys in the same order (the
 * stored JSON is byte-identical), on the bench corpus's rows and on random rows with few and many
 * distinct keys, tied counts around the top-N cut, keys such as `__proto__` and `123`, mixed-case block
 * actions and class bits above 2^31.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../bench/corpus.ts";
import { prepareBatch } from "../../workers/ingest/batch.ts";
import { DEFAULT_CONTEXT } from "../../workers/parse/index.ts";
import { rollupsOf, rollupsOfReference, ROLLUP_MAX_KEYS, ROLLUP_TOP_ADDRESSES } from "../../workers/store/rollups.ts";
import { categoryMask, typeMask } from "../../workers/store/search-time.ts";
import type { EventRow } from "../../workers/store/types.ts";

const H = Date.UTC(2026, 4, 1, 10);
const same = (rows: readonly EventRow[]) => {
  const fast = rollupsOf(rows), ref = rollupsOfReference(rows);
  expect(fast).toEqual(ref);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(ref));
  return fast;
};

describe("rollupsOf (fast path) = rollupsOfReference", () => {
  it("on the bench corpus's rows, several seeds and sizes", () => {
    for (const [n, seed] of [[1000, 1], [1000, 2], [5000, 3]] as const) {
      const { rows } = prepareBatch(generateCorpus(n, seed).join("\n"), "text", { ctx: DEFAULT_CONTEXT, batchKey: "k", nowMs: H });
      const parts = same(rows);
      // The top-N cut is exercised: more distinct sources than are kept.
      expect(parts.some((p) => Object.keys(p.counts.src).length === ROLLUP_TOP_ADDRESSES)).toBe(true);
    }
  });

  it("on random rows: tied counts at the cut, odd keys, mixed-case actions, high class bits", () => {
    const bits = fc.constantFrom(null, 0, categoryMask("authentication"), typeMask("denied"), categoryMask("authentication") + typeMask("denied"), 2 ** 40 + 1);
    // Key pools small (heavy ties) to large (past ROLLUP_MAX_KEYS), with keys objects treat specially.
    const key = (pool: number) => fc.oneof(fc.nat(pool).map((i) => `k${i}`), fc.constantFrom("__proto__", "constructor", "123", "0", "", "b", "B"));
    const row = (pool: number) => fc.record({
      ts: fc.integer({ min: 0, max: 3 * 3_600_000 }).map((d) => H + d),
      dataset: fc.option(key(pool)), host: fc.option(key(pool)),
      action: fc.option(fc.oneof(key(pool), fc.constantFrom("DROP", "Deny", "block", "pass", "REJECTED"))),
      src_ip: fc.option(key(pool)), dst_ip: fc.option(key(pool)),
      outcome: fc.constantFrom(null, "failure", "success"), class_bits: bits,
    }).map((r) => r as unknown as EventRow);
    fc.assert(fc.property(fc.constantFrom(3, 25, 150).chain((pool) => fc.array(row(pool), { maxLength: 600 })), (rows) => {
      same(rows);
    }), { numRuns: 120, seed: 20261206 });
  });

  it("keeps the reference's order when counts tie at the cut (key order decides)", () => {
    const rows = Array.from({ length: ROLLUP_MAX_KEYS + 30 }, (_, i) => ({ ts: H, dataset: `d${(i * 7919) % (ROLLUP_MAX_KEYS + 30)}`, host: null, action: null, src_ip: `s${i % 41}`, dst_ip: null, outcome: null, class_bits: null }) as unknown as EventRow);
    const [p] = same(rows);
    expect(Object.keys(p!.counts.dataset)).toHaveLength(ROLLUP_MAX_KEYS);
    expect(Object.keys(p!.counts.src)).toHaveLength(ROLLUP_TOP_ADDRESSES);
  });
});
