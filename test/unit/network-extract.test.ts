/**
 * extractNetwork (the per-batch memoized fast path) against extractNetworkReference (the plain one):
 * deep-equal results, routers in the same order, on generated batches — the bench corpus, and random
 * mixes of routers with mixed-case host names or only a sender address, dnsmasq CNAME chains, DHCP
 * with hostnames and client ids, Wi-Fi joins and leaves, conntrack lines with zones and firewall lines
 * with LAN and WAN MACs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../bench/corpus.ts";
import { extractNetwork, extractNetworkReference, type NetworkExtract } from "../../workers/network/extract.ts";
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";
import type { EcsEvent } from "../../workers/ecs.ts";

const T0 = Date.UTC(2026, 11, 1, 10);
const ROUTERS = ["OpenWrt", "openwrt", "OPENWRT", "gw", "Gw", "pfsense.home.arpa", "PFSense.Home.Arpa", ""];
const SENDERS = ["192.168.1.1", "10.0.0.1", "fd00::1"];
const DEVICES = ["da:00:00:00:00:01", "DA:00:00:00:00:01", "00:1b:63:00:00:02", "da00.0000.0003", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"];
const LAN = ["192.168.1.7", "192.168.1.8", "10.0.0.5", "fd00::1234"];
const WAN = ["203.0.113.9", "8.8.8.8", "2606:4700::1111"];
const NAMES = ["www.example.com", "WWW.Example.com", "cdn.example.net.edgekey.net", "e1.a.akamaiedge.net"];

/** One syslog message (without the header) of each family extractNetwork reads, or ignores. */
const message = fc.oneof(
  fc.record({ q: fc.constantFrom(...NAMES), from: fc.constantFrom(...LAN) }).map(({ q, from }) => `dnsmasq[7]: query[A] ${q} from ${from}`),
  fc.constantFrom(...NAMES).map((q) => `dnsmasq[7]: forwarded ${q} to 9.9.9.9`),
  fc.record({ verb: fc.constantFrom("reply", "cached"), q: fc.constantFrom(...NAMES), a: fc.constantFrom("<CNAME>", "<CNAME>", ...WAN, "NXDOMAIN") })
    .map(({ verb, q, a }) => `dnsmasq[7]: ${verb} ${q} is ${a}`),
  fc.record({ verb: fc.constantFrom("DHCPACK", "DHCPREQUEST", "DHCPRELEASE", "DHCPDISCOVER"), ip: fc.constantFrom(...LAN), mac: fc.constantFrom(...DEVICES), host: fc.constantFrom("", " phone", " Kid-Tablet", " bad_name!"), cid: fc.constantFrom("", " client-id: 01:DA:00:00:00:00:01", " client id 01:aa:bb") })
    .map(({ verb, ip, mac, host, cid }) => `dnsmasq-dhcp[8]: ${verb}(br-lan) ${ip} ${mac}${host}${cid}`),
  fc.record({ ev: fc.constantFrom("AP-STA-CONNECTED", "AP-STA-DISCONNECTED"), mac: fc.constantFrom(...DEVICES) }).map(({ ev, mac }) => `hostapd: wlan0: ${ev} ${mac}`),
  fc.record({ kind: fc.constantFrom("NEW", "UPDATE", "DESTROY"), src: fc.constantFrom(...LAN), dst: fc.constantFrom(...WAN), zone: fc.constantFrom("", " zone=3", " zone=12") })
    .map(({ kind, src, dst, zone }) => `ulogd[9]: [${kind}] ORIG: SRC=${src} DST=${dst} PROTO=UDP SPT=5000 DPT=53 PKTS=1 BYTES=60 , REPLY: SRC=${dst} DST=203.0.113.2 PROTO=UDP SPT=53 DPT=5000 PKTS=1 BYTES=80${zone}`),
  // Firewall lines: from the LAN the source MAC is the device's, from the WAN it is the ISP gateway's.
  fc.record({ lan: fc.boolean(), dev: fc.constantFrom(...DEVICES), src: fc.constantFrom(...LAN, ...WAN) })
    .map(({ lan, dev, src }) => `kernel: [1.2] DROP IN=${lan ? "br-lan" : "eth0.2"} OUT= MAC=aa:bb:cc:dd:ee:01:${dev}:08:00 SRC=${src} DST=192.168.1.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=TCP SPT=5000 DPT=443 WINDOW=1024 RES=0x00 SYN URGP=0`),
  fc.constant("sshd[10]: Failed password for root from 203.0.113.9 port 22 ssh2"),
);
const line = fc.record({ router: fc.constantFrom(...ROUTERS), sender: fc.constantFrom(...SENDERS), msg: message });

function events(lines: { router: string; sender: string; msg: string }[]): EcsEvent[] {
  return lines.map(({ router, sender, msg }, i) => {
    // An empty router name leaves the line without a syslog host: the sender's address is its router.
    const raw = router ? `<30>Dec  1 10:00:${String(i % 60).padStart(2, "0")} ${router} ${msg}` : msg;
    return normalize({ raw, receivedAt: T0 + i, sourceIp: sender }, DEFAULT_CONTEXT, "k", i);
  });
}

/** Maps as ordered entry lists, so that toEqual also checks the routers' order. */
const plain = (x: NetworkExtract) => ({ routers: [...x.routers], flowLines: x.flowLines });

describe("extractNetwork (fast path) = extractNetworkReference", () => {
  it("on the bench corpus, several seeds", () => {
    for (const seed of [1, 2, 3]) {
      const evs = generateCorpus(1000, seed).map((raw, i) => normalize({ raw, receivedAt: T0, sourceIp: "192.168.1.1" }, DEFAULT_CONTEXT, "k", i));
      const x = extractNetwork(evs);
      expect(plain(x)).toEqual(plain(extractNetworkReference(evs)));
      const bs = [...x.routers.values()];
      expect([bs.some((b) => b.flows.length), bs.some((b) => b.dns.length), bs.some((b) => b.sightings.length)]).toEqual([true, true, true]);
    }
  });

  it("on random mixes of routers, CNAME chains, DHCP client ids and LAN/WAN firewall MACs", () => {
    const seen = { merged: false, cname: false, clientId: false, zone: false, sender: false, lanFirewall: false };
    fc.assert(fc.property(fc.array(line, { maxLength: 120 }), fc.integer({ min: 1, max: 50 }), (mix, seed) => {
      const evs = events(mix).concat(generateCorpus(40, seed).map((raw, i) => normalize({ raw, receivedAt: T0, sourceIp: "10.0.0.1" }, DEFAULT_CONTEXT, "k", 1000 + i)));
      const x = extractNetwork(evs);
      expect(plain(x)).toEqual(plain(extractNetworkReference(evs)));
      const bs = [...x.routers.values()];
      if (new Set(mix.filter((l) => l.router).map((l) => l.router)).size > new Set(mix.filter((l) => l.router).map((l) => l.router.toLowerCase())).size && bs.some((b) => b.router === "openwrt" || b.router === "gw")) seen.merged = true;
      if (bs.some((b) => b.dns.some((d) => NAMES.map((n) => n.toLowerCase()).includes(d.name) && d.name !== "e1.a.akamaiedge.net") && mix.some((l) => l.msg.includes("<CNAME>")))) seen.cname = true;
      if (bs.some((b) => b.sightings.some((s) => s.clientId !== null))) seen.clientId = true;
      if (bs.some((b) => b.flows.some((f) => f.zone > 0))) seen.zone = true;
      if (bs.some((b) => SENDERS.includes(b.router))) seen.sender = true;
      if (bs.some((b) => b.sightings.some((s) => s.via === "iptables" && s.ip !== null))) seen.lanFirewall = true;
    }), { numRuns: 150, seed: 20261206 });
    // The generator reaches every case the fast path memoizes or skips (else the property proves little).
    expect(seen).toEqual({ merged: true, cname: true, clientId: true, zone: true, sender: true, lanFirewall: true });
  });
});
