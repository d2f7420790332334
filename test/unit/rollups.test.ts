/** rollupsOf (workers/store/rollups.ts): counts per hour from a batch's rows, bounded, safe with any key. */
import { describe, expect, it } from "vitest";
import { eventRow } from "../../workers/store/store.ts";
import { emptyCounts, mergeCounts, rollupsOf, ROLLUP_HOUR_TOP_ADDRESSES, ROLLUP_TOP_ADDRESSES, trimHour } from "../../workers/store/rollups.ts";
import { makeEvent } from "./store-conformance.suite.ts";

const H = Date.parse("2026-05-01T10:00:00.000Z");
const fw = (ms: number, host: string, src: string) => `<4>1 ${new Date(ms).toISOString()} ${host} kernel - - - DROP IN=eth0 OUT= SRC=${src} DST=192.0.2.1 PROTO=TCP SPT=1 DPT=22`;

describe("rollupsOf", () => {
  it("splits a batch by UTC hour and counts datasets, hosts, actions, failed logins and blocked sources", () => {
    const rows = [
      makeEvent("nas", H + 10, 1), makeEvent("nas", H + 20, 2), // sshd failures
      makeEvent("gw", H + 30, 3, { raw: fw(H + 30, "gw", "198.51.100.1") }),
      makeEvent("gw", H + 3_600_000, 4, { raw: fw(H + 3_600_000, "gw", "198.51.100.2") }),
    ].map(eventRow);
    const parts = rollupsOf(rows);
    expect(parts.map((p) => p.hour)).toEqual([H, H + 3_600_000]);
    expect(parts[0]!.counts).toMatchObject({ events: 3, auth_failure: 2, dataset: { sshd: 2, iptables: 1 }, host: { nas: 2, gw: 1 }, blocked: { "198.51.100.1": 1 } });
    expect(parts[1]!.counts).toMatchObject({ events: 1, auth_failure: 0, blocked: { "198.51.100.2": 1 } });
  });

  it("keeps a batch's top addresses only, and keys such as __proto__ are plain counts", () => {
    const rows = Array.from({ length: 60 }, (_, i) => makeEvent("gw", H + i, i, { raw: fw(H + i, "gw", `203.0.113.${i < 30 ? 1 : i}`) })).map(eventRow);
    rows.push(eventRow(makeEvent("__proto__", H + 99, 99, { raw: fw(H + 99, "__proto__", "203.0.113.1") })));
    const [p] = rollupsOf(rows);
    expect(Object.keys(p!.counts.src)).toHaveLength(ROLLUP_TOP_ADDRESSES);
    expect(p!.counts.src["203.0.113.1"]).toBe(31);
    expect(p!.counts.host["__proto__"]).toBe(1);
    expect(Object.getPrototypeOf(p!.counts.host)).toBe(null);
    const sum = mergeCounts(JSON.parse(JSON.stringify(p!.counts)), JSON.parse(JSON.stringify(p!.counts)));
    expect(sum.events).toBe(122);
    expect(sum.host["__proto__"]).toBe(2);
  });

  it("a merged hour keeps its top ROLLUP_HOUR_TOP_ADDRESSES addresses; totals and other keys unchanged", () => {
    const c = emptyCounts();
    c.events = 500;
    c.auth_failure = 7;
    c.dataset = { iptables: 500 };
    for (let i = 0; i < 200; i++) {
      c.blocked[`203.0.113.${i}`] = i < 5 ? 100 - i : 1;
      c.src[`198.51.100.${i}`] = 1;
    }
    const t = trimHour(c);
    expect(Object.keys(t.blocked)).toHaveLength(ROLLUP_HOUR_TOP_ADDRESSES);
    expect(Object.keys(t.src)).toHaveLength(ROLLUP_HOUR_TOP_ADDRESSES);
    expect(Object.entries(t.blocked).slice(0, 5)).toEqual([100, 99, 98, 97, 96].map((n, i) => [`203.0.113.${i}`, n]));
    expect({ events: t.events, auth_failure: t.auth_failure, dataset: t.dataset }).toEqual({ events: 500, auth_failure: 7, dataset: { iptables: 500 } });
  });
});
