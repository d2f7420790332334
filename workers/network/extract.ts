/**
 * What the network side of Porchlight takes from a batch of normalized events, per router (the
 * syslog host that sent them): conntrack flow records, passive DNS answers and device sightings.
 * Pure; called once per ingest batch (workers/network/hook.ts).
 */
import type { EcsEvent } from "../ecs.ts";
import { canonicalIp, isPrivateIp } from "../parse/ip.ts";
import { canonicalMac } from "./oui.ts";
import type { FlowKind, FlowRecord } from "./sessions.ts";

/** A name the router's resolver answered with an address (dnsmasq `reply x is a`). */
export interface DnsAnswer {
  ip: string;
  name: string;
  /** ms. */
  ts: number;
}

/** A device seen on the LAN: by DHCP, Wi-Fi association, ARP watch or a firewall line's MAC. */
export interface Sighting {
  /** ECS form, AA-BB-CC-DD-EE-FF. */
  mac: string;
  ip: string | null;
  hostname: string | null;
  /** DHCP client identifier (option 61), when the log gives it. */
  clientId: string | null;
  /** ms. */
  ts: number;
  /** event.dataset that saw it. */
  via: string;
  /** The device left (Wi-Fi disassociation, DHCP release). */
  left: boolean;
}

export interface RouterBatch {
  router: string;
  flows: FlowRecord[];
  dns: DnsAnswer[];
  sightings: Sighting[];
}

export interface NetworkExtract {
  routers: Map<string, RouterBatch>;
  /** Indexes (in the batch's events) of conntrack flow lines: dropped from storage for sessions-only sources. */
  flowLines: number[];
}

const FLOW_KIND: Record<string, FlowKind | undefined> = Object.assign(Object.create(null), { flow_new: "new", flow_update: "update", flow_destroy: "destroy" });
const LEAVING = new Set(["disassociated", "deauthenticated", "dhcprelease"]);
const ZONE_RE = / zone=(\d+)/;
/** Datasets that see devices on the LAN itself (Wi-Fi, ARP): their MACs count without an address. */
const LAYER2 = new Set(["hostapd", "arpwatch", "addrwatch"]);
const CLIENT_ID_RE = /client[- ]id[:= ]+([0-9a-f]{2}(?::[0-9a-f]{2})+)/i;
const HOSTNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** The router a batch line belongs to: its syslog host, else the sender's address. */
export function routerOf(e: EcsEvent): string {
  return (e.host?.hostname ?? e.porchlight?.source_ip ?? "unknown").toLowerCase();
}

function routerBatch(out: NetworkExtract, e: EcsEvent): RouterBatch {
  const router = routerOf(e);
  let b = out.routers.get(router);
  if (!b) {
    b = { router, flows: [], dns: [], sightings: [] };
    out.routers.set(router, b);
  }
  return b;
}

/** A conntrack line's flow record (its source and destination addresses checked present). */
function flowRecord(e: EcsEvent, kind: FlowKind, zone: number): FlowRecord {
  const s = e.source!, d = e.destination!;
  return {
    kind, ts: e["@timestamp"], transport: e.network?.transport ?? "other", srcIp: s.ip!, dstIp: d.ip!,
    srcPort: s.port ?? null, dstPort: d.port ?? null, zone,
    srcBytes: s.bytes ?? null, srcPackets: s.packets ?? null, dstBytes: d.bytes ?? null, dstPackets: d.packets ?? null,
  };
}

/** The sighting of a line with a canonical MAC (`ip`: its source address when private), or null when it does not count. */
function sighting(e: EcsEvent, mac: string, ip: string | null): Sighting | null {
  const ds = e.event.dataset;
  const isDhcp = ds.includes("dhcp");
  // A firewall line's MAC is the LAN device's only when the packet came from a LAN address (from the
  // WAN it is the ISP's gateway).
  if (!ip && !isDhcp && !LAYER2.has(ds)) return null;
  const host = isDhcp && e.source?.domain && HOSTNAME_RE.test(e.source.domain) ? e.source.domain : null;
  const cid = isDhcp ? CLIENT_ID_RE.exec(e.raw) : null;
  return {
    mac, ip, hostname: host, clientId: cid ? cid[1]!.toLowerCase() : null, ts: e["@timestamp"], via: ds,
    left: LEAVING.has(e.event.action ?? ""),
  };
}

/**
 * The plain reference of extractNetwork: one event at a time, no per-batch memo. extractNetwork must
 * return a deep-equal result for every batch (property test: test/unit/network-extract.test.ts).
 */
export function extractNetworkReference(events: readonly EcsEvent[]): NetworkExtract {
  const out: NetworkExtract = { routers: new Map(), flowLines: [] };
  // Per router: the first name of the CNAME chain being answered (dnsmasq logs one answer's lines together).
  const cnameHead = new Map<string, string>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const ds = e.event.dataset;
    if (ds === "ulogd") {
      const kind = FLOW_KIND[e.event.action ?? ""];
      const s = e.source, d = e.destination;
      if (!kind || !s?.ip || !d?.ip) continue;
      out.flowLines.push(i);
      const zone = ZONE_RE.exec(e.raw);
      routerBatch(out, e).flows.push(flowRecord(e, kind, zone ? Number(zone[1]) : 0));
      continue;
    }
    if (ds === "dnsmasq") {
      const router = routerOf(e);
      const action = e.event.action;
      if (action !== "dns_reply" && action !== "dns_cached") {
        // A query, forward or anything else ends the answer being logged.
        cnameHead.delete(router);
        continue;
      }
      const name = e.dns?.question?.name?.toLowerCase(), data = e.dns?.answers?.[0]?.data;
      if (!name || !data) continue;
      if (data === "<CNAME>") {
        // dnsmasq logs a CNAME chain as consecutive replies: the first name is the one the device asked for.
        if (!cnameHead.has(router)) cnameHead.set(router, name);
        continue;
      }
      const ip = canonicalIp(data);
      if (ip) routerBatch(out, e).dns.push({ ip, name: cnameHead.get(router) ?? name, ts: e["@timestamp"] });
      continue;
    }
    const rawMac = e.source?.mac;
    if (!rawMac) continue;
    const mac = canonicalMac(rawMac);
    if (!mac) continue;
    const ip = e.source?.ip && isPrivateIp(e.source.ip) ? e.source.ip : null;
    const x = sighting(e, mac, ip);
    if (x) routerBatch(out, e).sightings.push(x);
  }
  return out;
}

/**
 * extractNetworkReference with per-batch memos: a batch repeats a few routers, MACs and addresses on
 * hundreds of lines, so the router of each host text (lower-cased once), each raw MAC's canonical form
 * and each address's privacy are computed once per distinct string. Lines that cannot carry a zone skip
 * its regex. Same result, same order (property test: test/unit/network-extract.test.ts).
 */
export function extractNetwork(events: readonly EcsEvent[]): NetworkExtract {
  const out: NetworkExtract = { routers: new Map(), flowLines: [] };
  const cnameHead = new Map<string, string>();
  // Raw host text (syslog host, else sender address) → its router (lower-cased once per text).
  const routers = new Map<string, string>();
  const macs = new Map<string, string | null>();
  const privateIps = new Map<string, boolean>();
  const routerOfEvent = (e: EcsEvent): string => {
    const text = e.host?.hostname ?? e.porchlight?.source_ip ?? "unknown";
    let router = routers.get(text);
    if (router === undefined) routers.set(text, (router = text.toLowerCase()));
    return router;
  };
  const batchOf = (e: EcsEvent): RouterBatch => {
    const router = routerOfEvent(e);
    let b = out.routers.get(router);
    if (!b) out.routers.set(router, (b = { router, flows: [], dns: [], sightings: [] }));
    return b;
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const ds = e.event.dataset;
    if (ds === "ulogd") {
      const kind = FLOW_KIND[e.event.action ?? ""];
      const s = e.source, d = e.destination;
      if (!kind || !s?.ip || !d?.ip) continue;
      out.flowLines.push(i);
      const zone = e.raw.includes(" zone=") ? ZONE_RE.exec(e.raw) : null;
      batchOf(e).flows.push(flowRecord(e, kind, zone ? Number(zone[1]) : 0));
      continue;
    }
    if (ds === "dnsmasq") {
      const router = routerOfEvent(e);
      const action = e.event.action;
      if (action !== "dns_reply" && action !== "dns_cached") {
        cnameHead.delete(router);
        continue;
      }
      const name = e.dns?.question?.name?.toLowerCase(), data = e.dns?.answers?.[0]?.data;
      if (!name || !data) continue;
      if (data === "<CNAME>") {
        if (!cnameHead.has(router)) cnameHead.set(router, name);
        continue;
      }
      const ip = canonicalIp(data);
      if (ip) batchOf(e).dns.push({ ip, name: cnameHead.get(router) ?? name, ts: e["@timestamp"] });
      continue;
    }
    const rawMac = e.source?.mac;
    if (!rawMac) continue;
    let mac = macs.get(rawMac);
    if (mac === undefined) macs.set(rawMac, (mac = canonicalMac(rawMac)));
    if (!mac) continue;
    const srcIp = e.source?.ip;
    let ip: string | null = null;
    if (srcIp) {
      let p = privateIps.get(srcIp);
      if (p === undefined) privateIps.set(srcIp, (p = isPrivateIp(srcIp)));
      if (p) ip = srcIp;
    }
    const x = sighting(e, mac, ip);
    if (x) batchOf(e).sightings.push(x);
  }
  return out;
}
