/** ip-list.ts: sorted, merged ranges answer exactly as a linear scan with cidrContains, IPv4 and IPv6. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cidrContains } from "../../workers/parse/ip.ts";
import { IpRangeSet } from "../../workers/rules/ip-list.ts";

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join("."));
const v4cidr = fc.tuple(v4, fc.integer({ min: 8, max: 32 })).map(([a, b]) => `${a}/${b}`);
const v6 = fc.tuple(fc.nat(0xffff), fc.nat(0xffff), fc.nat(0xffff)).map(([a, b, c]) => `2001:db8:${a.toString(16)}::${b.toString(16)}:${c.toString(16)}`);
const v6cidr = fc.tuple(v6, fc.integer({ min: 32, max: 128 })).map(([a, b]) => `${a}/${b}`);

describe("IpRangeSet", () => {
  it("has() agrees with a linear scan of the entries (cidrContains), for random lists and addresses", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(v4, v4cidr, v6, v6cidr), { maxLength: 40 }), fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 20 }), (entries, probes) => {
        const { set, invalid } = IpRangeSet.parse(entries);
        expect(invalid).toEqual([]);
        for (const ip of [...probes, ...entries.map((e) => e.split("/")[0]!)]) {
          const want = entries.some((e) => cidrContains(e.includes("/") ? e : `${e}/${e.includes(":") ? 128 : 32}`, ip));
          expect(set.has(ip), `${ip} in ${entries.join(" ")}`).toBe(want);
        }
      }),
      { numRuns: 300 },
    );
  });
  it("merges overlapping and adjacent ranges, skips comments, reports invalid entries with their line", () => {
    const { set, invalid } = IpRangeSet.parse(["10.0.0.0/25", "10.0.0.128/25", "10.0.0.5", "# a comment", "", "192.0.2.1 # trailing", "nope", "10.0.0.0/33"]);
    expect(set.ranges).toBe(2);
    expect(set.entries).toBe(4);
    expect(invalid).toEqual([{ line: 7, entry: "nope" }, { line: 8, entry: "10.0.0.0/33" }]);
    expect([set.has("10.0.0.255"), set.has("10.0.1.0"), set.has("192.0.2.1"), set.has(42), set.has("x")]).toEqual([true, false, true, false, false]);
  });
});
