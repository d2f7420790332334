/**
 * The pure logic of network visibility: flow pairing corner cases, device merging, the upload baseline,
 * the DHCP parsers other than dnsmasq, and passive DNS from a real dnsmasq log (corpus).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";
import { extractNetwork, type Sighting } from "../../workers/network/extract.ts";
import { applySighting, deviceForIp, type Device, type DeviceTable } from "../../workers/network/devices.ts";
import { ewma, isUploadAnomaly, type Baseline } from "../../workers/network/facts.ts";
import { DEFAULT_TIMEOUTS, MemoryFlowTable, pairFlows, type FlowRecord } from "../../workers/network/sessions.ts";
import { macOfDuid, parseDhcpd, parseOdhcpd } from "../../workers/parse/programs/dhcpd.ts";
import { haveCorpus, readCorpusText } from "../conformance/corpora.ts";
import { loadOuiTable, macVendor, type VendorOf } from "../../workers/network/oui.ts";
import { diskTables } from "../network-tables.ts";

let vendorOf: VendorOf;
beforeAll(async () => {
  const oui = await loadOuiTable(diskTables);
  vendorOf = (mac) => macVendor(oui, mac);
});

const T0 = Date.UTC(2026, 11, 1, 10);
const rec = (kind: FlowRecord["kind"], ts: number, extra: Partial<FlowRecord> = {}): FlowRecord => ({
  kind, ts, transport: "udp", srcIp: "192.168.1.5", dstIp: "9.9.9.9", srcPort: 5000, dstPort: 53, zone: 0,
  srcBytes: null, srcPackets: null, dstBytes: null, dstPackets: null, ...extra,
});

describe("pairFlows", () => {
  it("ends a flow whose DESTROY was lost when its five-tuple opens again, at the earlier of its due time and the new start", () => {
    const t = new MemoryFlowTable();
    const out = pairFlows([rec("new", T0), rec("new", T0 + 60_000), rec("new", T0 + 600_000)], t, DEFAULT_TIMEOUTS);
    expect(out.map((s) => [s.start - T0, s.end - T0, s.endReason])).toEqual([[0, 60_000, "timeout"], [60_000, 240_000, "timeout"]]);
    expect(t.flows.size).toBe(1);
  });
  it("moves the due time with UPDATE lines and keeps their counters when DESTROY has none", () => {
    const t = new MemoryFlowTable();
    pairFlows([rec("new", T0), rec("update", T0 + 100_000, { srcBytes: 10, dstBytes: 20, srcPackets: 1, dstPackets: 2 })], t, DEFAULT_TIMEOUTS);
    expect([...t.flows.values()][0]!.dueTs).toBe(T0 + 100_000 + 180_000);
    const [s] = pairFlows([rec("destroy", T0 + 150_000)], t, DEFAULT_TIMEOUTS);
    expect(s).toMatchObject({ start: T0, end: T0 + 150_000, srcBytes: 10, dstBytes: 20, endReason: "destroy" });
  });
  it("pairs a DESTROY delivered ahead of its NEW in the same batch", () => {
    const t = new MemoryFlowTable();
    const out = pairFlows([rec("destroy", T0 + 5000, { srcBytes: 1, dstBytes: 2 }), rec("new", T0)], t, DEFAULT_TIMEOUTS);
    expect(out).toMatchObject([{ start: T0, end: T0 + 5000, endReason: "destroy" }]);
    expect(t.flows.size).toBe(0);
  });
  it("keeps flows of different conntrack zones apart", () => {
    const t = new MemoryFlowTable();
    pairFlows([rec("new", T0, { zone: 1 }), rec("new", T0, { zone: 2 })], t, DEFAULT_TIMEOUTS);
    expect(t.flows.size).toBe(2);
    expect(pairFlows([rec("destroy", T0 + 1000, { zone: 2 })], t, DEFAULT_TIMEOUTS)).toMatchObject([{ zone: 2, endReason: "destroy" }]);
  });
});

class Devices implements DeviceTable {
  keys = new Map<string, string>();
  byId = new Map<string, Device>();
  find(key: string) {
    const id = this.keys.get(key);
    return id ? this.byId.get(id) : undefined;
  }
  put(d: Device, keys: string[]) {
    this.byId.set(d.id, d);
    for (const k of keys) this.keys.set(k, d.id);
  }
  remove(d: Device) {
    this.byId.delete(d.id);
    for (const [k, v] of this.keys) if (v === d.id) this.keys.delete(k);
  }
}
const sight = (mac: string, extra: Partial<Sighting> = {}): Sighting => ({ mac, ip: null, hostname: null, clientId: null, ts: T0, via: "dnsmasq.dhcp", left: false, ...extra });

describe("device merging", () => {
  it("merges a randomized MAC into the device with the same DHCP client id, whatever its hostname", () => {
    const t = new Devices();
    applySighting(t, sight("DA-00-00-00-00-01", { clientId: "01:aa:bb", hostname: "phone" }), vendorOf);
    const r = applySighting(t, sight("DA-00-00-00-00-02", { clientId: "01:aa:bb", hostname: "renamed" }), vendorOf);
    expect(r.created).toBe(false);
    expect(t.byId.size).toBe(1);
    expect(r.device).toMatchObject({ id: "d-da0000000001", macs: ["DA-00-00-00-00-01", "DA-00-00-00-00-02"], hostname: "renamed", randomized: true });
  });
  it("never merges burnt-in MACs by hostname, nor a randomized MAC into a burnt-in device", () => {
    const t = new Devices();
    applySighting(t, sight("00-1B-63-00-00-01", { hostname: "android" }), vendorOf);
    expect(applySighting(t, sight("00-1B-63-00-00-02", { hostname: "android" }), vendorOf).created).toBe(true);
    expect(applySighting(t, sight("DA-00-00-00-00-03", { hostname: "android" }), vendorOf).created).toBe(true);
    expect(t.byId.size).toBe(3);
  });
  it("folds an IP-only device (seen in a session first) into the MAC that later claims its address", () => {
    const t = new Devices();
    const ipOnly = deviceForIp(t, "192.168.1.9", T0 - 60_000);
    expect(ipOnly.device.id).toBe("ip-192.168.1.9");
    const r = applySighting(t, sight("B8-27-EB-00-00-09", { ip: "192.168.1.9" }), vendorOf);
    expect(r.folded).toBe("ip-192.168.1.9");
    expect(r.device).toMatchObject({ id: "d-b827eb000009", firstSeen: T0 - 60_000, vendor: "Raspberry Pi Foundation" });
    expect(deviceForIp(t, "192.168.1.9", T0 + 1).device.id).toBe("d-b827eb000009");
  });
});

describe("upload baseline", () => {
  it("flags an hour far above the device's EWMA for that hour only after enough hours, and not for small devices", () => {
    let b: Baseline | undefined;
    for (const x of [60e6, 55e6, 65e6, 58e6]) b = ewma(b, x);
    expect(isUploadAnomaly(b, 900e6)).toBe(false); // 4 hours: still learning
    b = ewma(b, 62e6);
    expect(b!.n).toBe(5);
    expect(isUploadAnomaly(b, 900e6)).toBe(true);
    expect(isUploadAnomaly(b, 80e6)).toBe(false);
    let small: Baseline | undefined;
    for (let i = 0; i < 10; i++) small = ewma(small, 1000);
    expect(isUploadAnomaly(small, 40e6)).toBe(false); // under the 50 MB floor
  });
});

describe("DHCP servers (ISC dhcpd on pfSense/OPNsense, odhcpd)", () => {
  it("reads client address, MAC, hostname and interface", () => {
    expect(parseDhcpd("DHCPACK on 192.168.1.20 to aa:bb:cc:dd:ee:01 (iphone) via em1")).toMatchObject({ event: { dataset: "dhcpd", action: "dhcpack" }, source: { ip: "192.168.1.20", mac: "AA-BB-CC-DD-EE-01", domain: "iphone" } });
    expect(parseDhcpd("DHCPDISCOVER from aa:bb:cc:dd:ee:02 via igb1")).toMatchObject({ source: { mac: "AA-BB-CC-DD-EE-02" } });
    expect(parseDhcpd("something else")).toBeNull();
    expect(parseOdhcpd("DHCPV6 REPLY IA_NA from 0001000124ea5d1f001122334455 on br-lan: ok fd00::1234/128")).toMatchObject({ source: { mac: "00-11-22-33-44-55", ip: "fd00::1234" } });
    expect(macOfDuid("00030001001122334455")).toBe("00-11-22-33-44-55");
    expect(macOfDuid("0004abcdef")).toBeUndefined();
  });
});

describe("passive DNS", () => {
  it("gives an address behind a CNAME chain the name the device asked for, not the CDN's", () => {
    const lines = [
      "query[A] www.example.com from 192.168.1.20",
      "forwarded www.example.com to 8.8.8.8",
      "reply www.example.com is <CNAME>",
      "reply www.example.com.edgekey.net is <CNAME>",
      "reply e1234.a.akamaiedge.net is 23.1.2.3",
      "reply e1234.a.akamaiedge.net is 23.1.2.4",
      "query[A] plain.example.org from 192.168.1.20",
      "reply plain.example.org is 93.184.215.14",
    ].map((m, i) => normalize({ raw: `<30>Dec  1 10:00:0${i} gw dnsmasq[1]: ${m}`, receivedAt: T0 }, DEFAULT_CONTEXT, "dns", i));
    const dns = extractNetwork(lines).routers.get("gw")!.dns;
    expect(dns.map((d) => [d.ip, d.name])).toEqual([["23.1.2.3", "www.example.com"], ["23.1.2.4", "www.example.com"], ["93.184.215.14", "plain.example.org"]]);
  });
});

describe.skipIf(!haveCorpus("dns-dhcp-wifi-samples", "dnsmasq_aminer.log"))("passive DNS from a real dnsmasq log (corpus dns-dhcp-wifi-samples)", () => {
  it("maps each answered address to its name, replies and cached answers alike", () => {
    const lines = readCorpusText("dns-dhcp-wifi-samples", "dnsmasq_aminer.log").split("\n").filter(Boolean);
    const events = lines.map((raw, i) => normalize({ raw, receivedAt: T0 }, DEFAULT_CONTEXT, "corpus", i));
    const dns = [...extractNetwork(events).routers.values()].flatMap((b) => b.dns);
    expect(dns.map((d) => [d.ip, d.name])).toEqual([["91.189.88.152", "archive.ubuntu.com"], ["199.232.138.132", "debian.map.fastlydns.net"]]);
  });
});
