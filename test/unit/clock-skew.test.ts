/** clock-skew.ts: whole-hour offsets are told from drift, and the suggested zone undoes the offset. */
import { describe, expect, it } from "vitest";
import { skewReports, zoneOffsetMinutes } from "../../workers/rules/clock-skew.ts";

const H = 3_600_000;
const NOW = Date.UTC(2026, 11, 6, 12);
const samples = (host: string, skew: number, n = 10) => Array.from({ length: n }, (_, i) => ({ host, skew: skew + (i % 3) * 1000 }));

describe("skewReports", () => {
  it("calls a whole-hour median skew a zone mistake and names the zone to set", () => {
    const [r] = skewReports(samples("Router", H + 20_000), new Map(), NOW);
    expect(r).toMatchObject({ key: "host:router", events: 10, offset_hours: 1, suggested_timezone: "Etc/GMT-1" });
    expect(r!.warning).toMatch(/^Router's events are stamped 1 h in the future \(read as UTC\).*Etc\/GMT-1/);
    const [west] = skewReports(samples("nas", -5 * H), new Map(), NOW);
    expect([west!.offset_hours, west!.suggested_timezone]).toEqual([-5, "Etc/GMT+5"]);
  });
  it("accounts for the zone the source is read in now", () => {
    // read as Europe/Berlin (UTC+1 in December) and still 1 h ahead: the source is at UTC+2
    const [r] = skewReports(samples("ap", H), new Map([["host:ap", "Europe/Berlin"]]), NOW);
    expect(r!.suggested_timezone).toBe("Etc/GMT-2");
  });
  it("leaves drift, small delays and thin samples alone", () => {
    expect(skewReports(samples("a", 90_000), new Map(), NOW)[0]!.warning).toBeNull();
    expect(skewReports(samples("b", H + 10 * 60_000), new Map(), NOW)[0]!.offset_hours).toBeNull();
    expect(skewReports(samples("c", H, 4), new Map(), NOW)).toEqual([]);
  });
  it("zoneOffsetMinutes reads the runtime's zone data", () => {
    expect(zoneOffsetMinutes("UTC", NOW)).toBe(0);
    expect(zoneOffsetMinutes("Europe/Berlin", NOW)).toBe(60);
    expect(zoneOffsetMinutes("Europe/Berlin", Date.UTC(2026, 6, 1))).toBe(120);
    expect(zoneOffsetMinutes("America/New_York", NOW)).toBe(-300);
    expect(zoneOffsetMinutes("Not/AZone", NOW)).toBe(0);
  });
});
