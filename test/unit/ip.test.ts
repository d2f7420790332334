/**
 * The one IP module (workers/parse/ip.ts): its in-place parsers agree with the plain reference
 * (workers/parse/ip-reference.ts), and the rules' allocation-free CIDR test (cidrMatcher) gives the
 * same answer as the key range queries use (parseCidr + ipKey), for IPv4, IPv6 and IPv4-mapped
 * addresses and prefixes alike.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cidrMatcher, ipKey, isIp, parseCidr, parseIPv4, parseIPv6 } from "../../workers/parse/ip.ts";
import { parseIPv4Reference, parseIPv6Reference } from "../../workers/parse/ip-reference.ts";

const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom("01", "256", "", "00", "1a", "999"));
const v4ish = fc.tuple(octet, octet, octet, octet, fc.constantFrom(".", ".", ".", ":", "")).map(([a, b, c, d, sep]) => [a, b, c, d].join(sep));
const hexGroup = fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{1,4}$/), fc.constantFrom("", "0", "00000", "g", "ffff"));
const v6ish = fc.oneof(
  fc.ipV6(),
  fc.ipV4().map((a) => `::ffff:${a}`),
  fc.tuple(fc.array(hexGroup, { maxLength: 9 }), fc.constantFrom("", "::", ":"), fc.array(hexGroup, { maxLength: 9 }), fc.option(fc.ipV4()), fc.constantFrom("", "%eth0"))
    .map(([a, gap, b, v4, zone]) => `${a.join(":")}${gap}${b.join(":")}${v4 ? (b.length ? ":" : "") + v4 : ""}${zone}`),
  fc.string({ maxLength: 20 }),
);
const address = fc.oneof(fc.ipV4(), v4ish, v6ish, fc.ipV4().map((a) => `::ffff:${a}`));
const prefix = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 33 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 129 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(fc.ipV4(), fc.integer({ min: 90, max: 128 })).map(([a, n]) => `::ffff:${a}/${n}`),
  fc.constantFrom("::/0", "::ffff:0:0/96", "::ffff:0:0/95", "0.0.0.0/0", "10.0.0.0/8", "::/96", "::ffff:10.0.0.0/104"),
  fc.ipV4(), fc.ipV6(),
);

describe("one IP module", () => {
  it("parseIPv4 and parseIPv6 agree with the plain reference", () => {
    fc.assert(fc.property(address, (s) => {
      expect(parseIPv4(s), s).toBe(parseIPv4Reference(s));
      expect(parseIPv6(s), s).toEqual(parseIPv6Reference(s));
      expect(isIp(s), s).toBe(parseIPv4Reference(s) >= 0 || parseIPv6Reference(s) !== null);
    }), { numRuns: 5000 });
  });

  it("cidrMatcher answers what the key range of parseCidr answers", () => {
    fc.assert(fc.property(fc.array(prefix, { minLength: 1, maxLength: 3 }), fc.array(address, { minLength: 1, maxLength: 5 }), (cidrs, ips) => {
      const ranges = cidrs.map(parseCidr);
      const test = cidrMatcher(cidrs);
      expect(test === null, cidrs.join(" ")).toBe(ranges.some((r) => r === null));
      if (!test) return;
      for (const ip of ips) {
        const k = ipKey(ip);
        expect(test(ip), `${ip} in ${cidrs.join(" ")}`).toBe(k !== null && ranges.some((r) => k >= r!.lo && k <= r!.hi));
      }
    }), { numRuns: 3000 });
  });

  it("IPv4 and IPv4-mapped are one address for every prefix", () => {
    const t = cidrMatcher(["::ffff:0:0/96"])!;
    expect([t("10.1.2.3"), t("::ffff:10.1.2.3"), t("2001:db8::1")]).toEqual([true, true, false]);
    expect(cidrMatcher(["::/0"])!("8.8.8.8")).toBe(true);
    expect(cidrMatcher(["::/96"])!("8.8.8.8")).toBe(false);
    expect(cidrMatcher(["10.0.0.0/8"])!("::ffff:a01:203")).toBe(true);
    expect(cidrMatcher(["10.0.0.0/8", "bad"])).toBeNull();
    expect(cidrMatcher(["10.0.0.0/8"])!(42)).toBe(false);
  });
});
