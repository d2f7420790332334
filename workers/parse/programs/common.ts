/**
 * Small builders shared by the program parsers: peers (address → ECS endpoint), authentication
 * events, and related.* bookkeeping. Kept allocation-light: they run once per matched line.
 */
import type { EcsEndpoint, EcsEvent, Outcome } from "../../ecs.ts";
import type { ProgramFields } from "../types.ts";
import { canonicalIp } from "../ip.ts";
import { TokenMemo } from "../memo.ts";

/** An endpoint from an address token (IP, IPv4-mapped IPv6, or hostname) and an optional port. */
export function peer(addr: string | undefined, port?: string | number): EcsEndpoint | undefined {
  if (!addr) return undefined;
  const ep: EcsEndpoint = { address: addr };
  const ip = canonicalIp(addr);
  if (ip) ep.ip = ip;
  else ep.domain = addr;
  if (port !== undefined && port !== "") {
    const p = typeof port === "number" ? port : Number(port);
    if (Number.isInteger(p) && p >= 0 && p <= 65535) ep.port = p;
  }
  return ep;
}

/** Adds source/destination IPs and user names to `related`, without duplicates. */
export function addRelated(f: ProgramFields): ProgramFields {
  const ips: string[] = [];
  if (f.source?.ip) ips.push(f.source.ip);
  if (f.destination?.ip && f.destination.ip !== f.source?.ip) ips.push(f.destination.ip);
  const users: string[] = [];
  if (f.user?.name) users.push(f.user.name);
  if (f.user?.target?.name && f.user.target.name !== f.user?.name) users.push(f.user.target.name);
  if (ips.length || users.length) {
    f.related = {};
    if (ips.length) f.related.ip = ips;
    if (users.length) f.related.user = users;
  }
  return f;
}

/**
 * An authentication event. `type` follows ECS: "start" for a login attempt (either outcome), "end" for a
 * disconnect or logout, "info" for other auth-phase messages.
 */
export function authEvent(
  dataset: string,
  action: string,
  outcome: Outcome | undefined,
  user: string | undefined,
  source: EcsEndpoint | undefined,
  type: "start" | "end" | "info" = "start",
): ProgramFields {
  const f: ProgramFields = { event: { dataset, category: ["authentication"], type: [type], action } };
  if (outcome) f.event.outcome = outcome;
  if (user !== undefined && user !== "") f.user = { name: user };
  if (source) f.source = source;
  return addRelated(f);
}

const HEX17 = /^(?:[0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

/**
 * "aa:bb:..:ff" → ECS "AA-BB-..-FF", memoized: a home LAN has a few dozen MACs, and case folding costs
 * more than the rest of a line's fields. Converts what it is given: callers check the form.
 */
const macCache = new TokenMemo<string>(1024);
export function ecsMac(raw: string): string {
  let m = macCache.get(raw);
  if (m === undefined) {
    m = raw.replaceAll(":", "-").toUpperCase();
    macCache.set(raw, m);
  }
  return m;
}

/**
 * `s.toLowerCase()`, memoized: protocol names and similar tokens come from a small vocabulary
 * ("TCP", "UDP", "ICMP"), and folding allocates a new string on every line.
 */
const lowerCache = new TokenMemo<string>(64);
export function lowerCached(s: string): string {
  let l = lowerCache.get(s);
  if (l === undefined) {
    l = s.toLowerCase();
    lowerCache.set(s, l);
  }
  return l;
}

/** MAC in ECS notation (RFC 7042: uppercase, hyphens), or undefined when `s` is not a 6-octet MAC. */
export function mac(s: string | undefined): string | undefined {
  if (!s) return undefined;
  // Fast path: the usual "aa:bb:cc:dd:ee:ff" form.
  if (s.length === 17 && s.charCodeAt(2) === 58 && s.charCodeAt(5) === 58 && s.charCodeAt(8) === 58 && s.charCodeAt(11) === 58 && s.charCodeAt(14) === 58 && HEX17.test(s)) {
    return ecsMac(s);
  }
  // arpwatch prints octets without leading zeros ("0:1b:2:..."), so 1-2 digits are accepted and padded.
  const m = /^([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})$/i.exec(s);
  return m ? m.slice(1).map((o) => o.padStart(2, "0")).join("-").toUpperCase() : undefined;
}

/**
 * A frozen array of names shared by every event of one classification (event.category / event.type):
 * no array per line. Events are never edited in place after normalize() (ingest, the store and the rules
 * only read them, and the store copies these arrays when it rebuilds an event), and freezing makes a
 * write fail loudly instead of changing every event that shares the array.
 */
export function sharedList(...names: string[]): string[] {
  return Object.freeze(names) as string[];
}

export const CATEGORY_NETWORK = sharedList("network");
const CONNECTION_DENIED = sharedList("connection", "denied");
const CONNECTION_ALLOWED = sharedList("connection", "allowed");
const CONNECTION = sharedList("connection");

/** A firewall verdict event (iptables, pfSense): ECS `connection` + `denied`/`allowed` by action. */
export function firewallEvent(dataset: string, action: string): ProgramFields {
  return {
    event: {
      dataset,
      category: CATEGORY_NETWORK,
      type: action === "drop" || action === "reject" ? CONNECTION_DENIED : action === "accept" ? CONNECTION_ALLOWED : CONNECTION,
      action,
    },
  };
}

/** related.ip of a flow: both ends, once each. */
export function flowRelated(src: string | null | undefined, dst: string | null | undefined): { ip: string[] } | undefined {
  if (!src && !dst) return undefined;
  return { ip: src && dst && src !== dst ? [src, dst] : [(src ?? dst)!] };
}

type Observer = NonNullable<EcsEvent["observer"]>;
type ObserverSide = NonNullable<Observer["ingress"]>;

/**
 * Observers of one interface name (`{ingress: {interface: {name}}}`, the egress one, and the inner
 * `{interface: {name}}`), shared and frozen like the lists above: a router logs through a handful of
 * interfaces, so a line costs a cache probe instead of three objects.
 */
interface Observers { name: string; side: ObserverSide; ingress?: Observer; egress?: Observer }
const observers = new TokenMemo<Observers>(64);
function observersOf(name: string): Observers {
  let o = observers.get(name);
  if (o === undefined) {
    o = { name, side: Object.freeze({ interface: Object.freeze({ name }) }) };
    observers.set(name, o);
  }
  return o;
}

/** `{ingress: {interface: {name}}}`, shared. */
export function ingressObserver(name: string): Observer {
  const o = observersOf(name);
  return (o.ingress ??= Object.freeze({ ingress: o.side }));
}

/** `{egress: {interface: {name}}}`, shared. */
export function egressObserver(name: string): Observer {
  const o = observersOf(name);
  return (o.egress ??= Object.freeze({ egress: o.side }));
}

/** `{ingress: ..., egress: ...}` of two interfaces: a new object around the two shared sides. */
export function flowObserver(inName: string, outName: string): Observer {
  return { ingress: observersOf(inName).side, egress: observersOf(outName).side };
}
