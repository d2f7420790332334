/**
 * The NetworkState RPC payload (workers/network/payload.ts): packing round-trips to the records
 * (key order included, since the object stores flows as JSON), a NaN where null is sent as NaN is
 * refused, and compacting repeated sightings leaves the device inventory exactly as applying every
 * sighting does — tables, keys, created devices with their first-seen time (the `device_new` fact),
 * folds, the order devices are touched in, and the batch's earliest time.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../bench/corpus.ts";
import { applySighting, type Device, type DeviceTable } from "../../workers/network/devices.ts";
import { extractNetwork, type DnsAnswer, type RouterBatch, type Sighting } from "../../workers/network/extract.ts";
import { compactSightings, networkBatchOf, networkRpcBatch, packRouterBatch, unpackRouterBatch } from "../../workers/network/payload.ts";
import { DEFAULT_TIMEOUTS, type FlowRecord } from "../../workers/network/sessions.ts";
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";

const T0 = Date.UTC(2026, 11, 1, 10);
const num = fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.constant(0), fc.double({ noNaN: true }));
const nullableNum = fc.option(num, { nil: null });
const flow: fc.Arbitrary<FlowRecord> = fc.record({
  kind: fc.constantFrom("new" as const, "update" as const, "destroy" as const),
  ts: fc.integer({ min: 0, max: 2 ** 48 }),
  transport: fc.constantFrom("tcp", "udp", "icmp", "other", ""),
  srcIp: fc.constantFrom("192.168.1.5", "fd00::1", "10.0.0.2"),
  dstIp: fc.constantFrom("9.9.9.9", "2606:4700::1111", "203.0.113.7"),
  srcPort: nullableNum, dstPort: nullableNum, zone: fc.integer({ min: 0, max: 65535 }),
  srcBytes: nullableNum, srcPackets: nullableNum, dstBytes: nullableNum, dstPackets: nullableNum,
});
const dns: fc.Arbitrary<DnsAnswer> = fc.record({ ip: fc.constantFrom("9.9.9.9", "2606:4700::1111"), name: fc.string(), ts: fc.integer({ min: 0, max: 2 ** 48 }) });

// Few values, so that runs, shared client ids and hostnames, randomized MACs and folds all happen.
const MACS = ["DA-00-00-00-00-01", "DA-00-00-00-00-02", "00-1B-63-00-00-02", "02-00-00-00-00-09"];
const IPS = [null, "192.168.1.7", "192.168.1.8"];
const sightingBase = fc.record({
  mac: fc.constantFrom(...MACS),
  ip: fc.constantFrom(...IPS),
  hostname: fc.constantFrom(null, "phone", "Phone", "tv"),
  clientId: fc.constantFrom(null, "01:aa", "01:bb"),
  via: fc.constantFrom("dnsmasq.dhcp", "hostapd", "iptables"),
  left: fc.boolean(),
});
/** Sightings in runs: each base repeated 1-6 times at times around T0 (not in order). */
const sightings: fc.Arbitrary<Sighting[]> = fc
  .array(fc.record({ base: sightingBase, times: fc.array(fc.integer({ min: -5000, max: 5000 }), { minLength: 1, maxLength: 6 }) }), { maxLength: 25 })
  .map((runs) => runs.flatMap(({ base, times }) => times.map((dt) => ({ mac: base.mac, ip: base.ip, hostname: base.hostname, clientId: base.clientId, ts: T0 + dt, via: base.via, left: base.left }))));

const routerBatch: fc.Arbitrary<RouterBatch> = fc.record({
  router: fc.constantFrom("openwrt", "192.168.1.1"),
  flows: fc.array(flow, { maxLength: 30 }),
  dns: fc.array(dns, { maxLength: 10 }),
  sightings,
});

describe("packRouterBatch / unpackRouterBatch", () => {
  it("round-trip to the records with compacted sightings, key order included", () => {
    fc.assert(fc.property(routerBatch, (b) => {
      const p = packRouterBatch(b);
      expect(p).not.toBeNull();
      const back = unpackRouterBatch(structuredClone(p!));
      const want = { flows: b.flows, dns: b.dns, sightings: compactSightings(b.sightings) };
      expect(back).toEqual(want);
      expect(JSON.stringify(back)).toBe(JSON.stringify(want));
    }), { numRuns: 300 });
  });

  it("refuses a NaN that would come back as null; the RPC argument then carries the records", () => {
    const f: FlowRecord = { kind: "new", ts: T0, transport: "udp", srcIp: "192.168.1.5", dstIp: "9.9.9.9", srcPort: 5000, dstPort: 53, zone: 0, srcBytes: NaN, srcPackets: null, dstBytes: null, dstPackets: null };
    const b: RouterBatch = { router: "openwrt", flows: [f], dns: [], sightings: [] };
    expect(packRouterBatch(b)).toBeNull();
    const arg = networkRpcBatch("k", b, DEFAULT_TIMEOUTS);
    expect("packed" in arg).toBe(false);
    expect(networkBatchOf(arg).flows).toEqual([f]);
  });

  it("on the bench corpus: the object reads back every flow and DNS answer, and fewer sightings", () => {
    const events = generateCorpus(1000).map((raw, i) => normalize({ raw, receivedAt: T0, sourceIp: "192.168.1.1" }, DEFAULT_CONTEXT, "k", i));
    let sent = 0, seen = 0;
    for (const b of extractNetwork(events).routers.values()) {
      const arg = networkRpcBatch("k", b, DEFAULT_TIMEOUTS);
      expect("packed" in arg).toBe(true);
      const back = networkBatchOf(structuredClone(arg));
      expect(back).toEqual({ key: "k", router: b.router, timeouts: DEFAULT_TIMEOUTS, flows: b.flows, dns: b.dns, sightings: compactSightings(b.sightings) });
      sent += back.sightings.length;
      seen += b.sightings.length;
    }
    expect(sent).toBeLessThanOrEqual(seen);
  });
});

/** The object's device table (durable-objects/network-state.ts), in memory: documents as JSON, keys replaced, never pruned but by remove. */
class JsonDevices implements DeviceTable {
  docs = new Map<string, string>();
  keys = new Map<string, string>();
  find(key: string): Device | undefined {
    const id = this.keys.get(key);
    const doc = id === undefined ? undefined : this.docs.get(id);
    return doc === undefined ? undefined : (JSON.parse(doc) as Device);
  }
  put(d: Device, keys: string[]): void {
    this.docs.set(d.id, JSON.stringify(d));
    for (const k of keys) this.keys.set(k, d.id);
  }
  remove(d: Device): void {
    this.docs.delete(d.id);
    for (const [k, v] of this.keys) if (v === d.id) this.keys.delete(k);
  }
}

/** The vendor lookup as the object passes it (a function of the MAC: both sides see the same). */
const vendorOf = (mac: string): string | null => (mac.startsWith("b8:27:eb") ? "Raspberry Pi" : null);

/** What NetworkState.apply does with a batch's sightings, and everything it keeps or reports of them. */
function applyAll(list: readonly Sighting[], seed: readonly Sighting[]) {
  const t = new JsonDevices();
  for (const s of seed) applySighting(t, s, vendorOf);
  const created: [string, number][] = [];
  const folded: string[] = [];
  const touched = new Map<string, Device>();
  for (const s of list) {
    const r = applySighting(t, s, vendorOf);
    if (r.created) created.push([r.device.id, r.device.firstSeen]);
    if (r.folded) folded.push(r.folded);
    touched.set(r.device.id, r.device);
  }
  const firstTs = list.length ? Math.min(...list.map((s) => s.ts)) : NaN;
  return { docs: [...t.docs].sort(), keys: [...t.keys].sort(), created, folded, touched: [...touched].map(([id, d]) => [id, JSON.stringify(d)]), firstTs };
}

describe("compactSightings", () => {
  it("leaves the device inventory exactly as every sighting does (fresh table, and one with devices and IP-only devices)", () => {
    const ipOnly = (ip: string): Sighting => ({ mac: "", ip, hostname: null, clientId: null, ts: T0, via: "x", left: false });
    fc.assert(fc.property(sightings, fc.array(sightingBase, { maxLength: 4 }), (list, pre) => {
      const seed = pre.map((b) => ({ ...b, ts: T0 - 86_400_000 }));
      expect(applyAll(compactSightings(list), seed)).toEqual(applyAll(list, seed));
      // IP-only devices (sessions before any sighting named their MAC) to be folded in.
      const withIpOnly = (t: JsonDevices) => {
        for (const ip of ["192.168.1.7", "192.168.1.8"]) {
          const s = ipOnly(ip);
          t.put({ id: `ip-${s.ip}`, mac: null, macs: [], ips: [ip], hostname: null, clientId: null, vendor: null, randomized: false, firstSeen: T0 - 1000, lastSeen: T0 - 1000, left: false }, [`ip:${ip}`]);
        }
      };
      const run = (l: readonly Sighting[]) => {
        const t = new JsonDevices();
        withIpOnly(t);
        const out = l.map((s) => applySighting(t, s, vendorOf)).filter((r) => r.created || r.folded).map((r) => [r.device.id, r.created, r.folded, r.device.firstSeen]);
        return { out, docs: [...t.docs].sort(), keys: [...t.keys].sort() };
      };
      expect(run(compactSightings(list))).toEqual(run(list));
    }), { numRuns: 500 });
  });

  it("keeps a run's first, earliest and latest sightings, in order, and nothing across another sighting", () => {
    const s = (mac: string, dt: number): Sighting => ({ mac, ip: null, hostname: null, clientId: null, ts: T0 + dt, via: "hostapd", left: false });
    const list = [s("A", 5), s("A", 9), s("A", 1), s("A", 7), s("B", 0), s("A", 3), s("A", 3)];
    expect(compactSightings(list).map((x) => [x.mac, x.ts - T0])).toEqual([["A", 5], ["A", 9], ["A", 1], ["B", 0], ["A", 3], ["A", 3]]);
    // A time that is not finite is never folded into a run.
    const odd = [s("A", 1), { ...s("A", 0), ts: NaN }, s("A", 2)];
    expect(compactSightings(odd)).toEqual(odd);
  });
});
