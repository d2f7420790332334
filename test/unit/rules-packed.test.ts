/**
 * RuleState RPC payload (workers/rules/packed.ts): matches packed as columns unpack to the same matches,
 * absent fields staying absent, and a V8 structured clone (what the RPC does) keeps them so.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { packMatches, unpackMatches } from "../../workers/rules/packed.ts";
import type { MatchedEvent } from "../../workers/rules/types.ts";

const value = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }));
const match: fc.Arbitrary<MatchedEvent> = fc.record(
  {
    id: fc.string({ minLength: 1, maxLength: 26 }),
    ts: fc.integer({ min: 0, max: 2 ** 48 }),
    fields: fc.dictionary(fc.constantFrom("source.ip", "user.name", "host.hostname", "event.action", "x"), value, { maxKeys: 4 }),
    captures: fc.dictionary(fc.constantFrom("u", "ip"), fc.string({ maxLength: 8 }), { maxKeys: 2 }),
    step: fc.constantFrom("a", "b"),
  },
  { requiredKeys: ["id", "ts", "fields"] },
);

describe("packed RuleState matches", () => {
  it("unpack(pack(xs)) is xs, also through a structured clone", () => {
    fc.assert(fc.property(fc.array(match, { maxLength: 30 }), (xs) => {
      expect(unpackMatches(packMatches(xs))).toEqual(xs);
      expect(unpackMatches(structuredClone(packMatches(xs)))).toEqual(xs);
    }), { numRuns: 500 });
  });

  it("keeps a field absent where a match has none, and passes a plain array through", () => {
    const xs: MatchedEvent[] = [
      { id: "a", ts: 1, fields: { "source.ip": "10.0.0.1" } },
      { id: "b", ts: 2, fields: { "user.name": "root" }, step: "b" },
    ];
    const back = unpackMatches(packMatches(xs));
    expect(Object.keys(back[0]!.fields)).toEqual(["source.ip"]);
    expect(Object.keys(back[1]!.fields)).toEqual(["user.name"]);
    expect(back[0]!.step).toBeUndefined();
    expect(unpackMatches(xs)).toBe(xs);
  });

  it("sends a call's matches as a few values: one id string, one time block, each run of equal values once", () => {
    const xs: MatchedEvent[] = Array.from({ length: 500 }, (_, i) => ({
      id: `01M7V41F00P335KP26PRS5${String(i).padStart(4, "0")}`,
      ts: 1_700_000_000_000 + i,
      fields: { "source.ip": `203.0.113.${Math.floor(i / 100)}`, "user.name": i < 250 ? "root" : "admin" },
    }));
    const p = packMatches(xs);
    expect(p.idLength).toBe(26);
    expect(p.ends).toBeUndefined();
    expect(p.ids.length).toBe(500 * 26);
    expect(p.ts).toBeInstanceOf(Float64Array);
    expect(p.values.map((v) => v.length)).toEqual([5, 2]);
    expect(unpackMatches(structuredClone(p))).toEqual(xs);
  });

  it("still reads the previous release's column layout (a Worker mid-deploy)", () => {
    const v1 = { packed: 1, id: ["a", "b"], ts: [1, 2], paths: ["source.ip"], cols: [["10.0.0.1", undefined]], step: [undefined, "b"] };
    expect(unpackMatches(v1 as never)).toEqual([
      { id: "a", ts: 1, fields: { "source.ip": "10.0.0.1" } },
      { id: "b", ts: 2, fields: {}, step: "b" },
    ]);
  });
});
