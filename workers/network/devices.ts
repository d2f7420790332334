/**
 * The device inventory's merge logic: a sighting (MAC, IP, hostname, DHCP client id) either updates a
 * known device or makes a new one. Pure, over a `DeviceTable` port (the per-router Durable Object
 * implements it on SQLite).
 *
 * Merging (docs/network.md "Devices"): a device is first its MAC. A sighting of an unknown MAC joins an
 * existing device only when that MAC is locally administered (randomized) AND either
 *   1. its DHCP client id (option 61) equals the device's (a phone keeps its client id across MACs), or
 *   2. its DHCP hostname equals the device's, case-insensitively, and that device was itself seen with a
 *      randomized MAC (two burnt-in "android" or "Chromecast" hosts stay two devices).
 * A device seen only by IP (a session's LAN address before any DHCP or ARP line named its MAC) is
 * `ip-<address>`; when a MAC later claims that IP, the IP-only device is folded into it (`folded`).
 */
import { isRandomizedMac, type VendorOf } from "./oui.ts";
import type { Sighting } from "./extract.ts";

export interface Device {
  id: string;
  /** The MAC last seen (ECS form), null for an IP-only device. */
  mac: string | null;
  /** Every MAC merged into this device, oldest first. */
  macs: string[];
  /** Addresses, most recent first (at most MAX_IPS). */
  ips: string[];
  hostname: string | null;
  clientId: string | null;
  vendor: string | null;
  randomized: boolean;
  /** ms, event time. */
  firstSeen: number;
  lastSeen: number;
  /** Set by a Wi-Fi disassociation or DHCP release; cleared by the next sighting. */
  left: boolean;
}

export const MAX_IPS = 8;

/** Device lookup by key: `mac:<MAC>`, `cid:<client id>`, `host:<lower-case hostname>`, `ip:<address>`. */
export interface DeviceTable {
  find(key: string): Device | undefined;
  put(device: Device, keys: string[]): void;
  remove(device: Device): void;
}

export interface SightingResult {
  device: Device;
  created: boolean;
  /** An IP-only device merged into `device`: its id. */
  folded: string | null;
}

const macId = (mac: string): string => `d-${mac.replace(/-/g, "").toLowerCase()}`;

function keysOf(d: Device): string[] {
  const keys = d.macs.map((m) => `mac:${m}`);
  if (d.clientId) keys.push(`cid:${d.clientId}`);
  if (d.hostname && d.randomized) keys.push(`host:${d.hostname.toLowerCase()}`);
  for (const ip of d.ips) keys.push(`ip:${ip}`);
  return keys;
}

function addIp(d: Device, ip: string): void {
  d.ips = [ip, ...d.ips.filter((x) => x !== ip)].slice(0, MAX_IPS);
}

/** `vendorOf` names a new MAC's vendor (macVendor over the loaded OUI table). */
export function applySighting(table: DeviceTable, s: Sighting, vendorOf: VendorOf): SightingResult {
  const randomized = isRandomizedMac(s.mac);
  let device = table.find(`mac:${s.mac}`);
  if (!device && randomized) {
    const byCid = s.clientId ? table.find(`cid:${s.clientId}`) : undefined;
    const byHost = s.hostname ? table.find(`host:${s.hostname.toLowerCase()}`) : undefined;
    device = byCid ?? (byHost?.randomized ? byHost : undefined);
  }
  let created = false;
  if (!device) {
    created = true;
    device = {
      id: macId(s.mac), mac: s.mac, macs: [s.mac], ips: [], hostname: null, clientId: null, vendor: vendorOf(s.mac),
      randomized, firstSeen: s.ts, lastSeen: s.ts, left: false,
    };
  } else {
    device = { ...device, macs: device.macs.includes(s.mac) ? device.macs : [...device.macs, s.mac], mac: s.mac };
    if (!device.randomized && randomized) device.randomized = true;
    if (!device.vendor) device.vendor = vendorOf(s.mac);
  }
  let folded: string | null = null;
  if (s.ip) {
    const holder = table.find(`ip:${s.ip}`);
    if (holder && holder.mac === null && holder.id !== device.id) {
      folded = holder.id;
      device.firstSeen = Math.min(device.firstSeen, holder.firstSeen);
      table.remove(holder);
    }
    addIp(device, s.ip);
  }
  if (s.hostname) device.hostname = s.hostname;
  if (s.clientId) device.clientId = s.clientId;
  device.firstSeen = Math.min(device.firstSeen, s.ts);
  device.lastSeen = Math.max(device.lastSeen, s.ts);
  device.left = s.left;
  table.put(device, keysOf(device));
  return { device, created, folded };
}

/**
 * The device of a LAN address seen in a session, made IP-only when no sighting named its MAC yet.
 * `ts` refreshes last seen (ms).
 */
export function deviceForIp(table: DeviceTable, ip: string, ts: number): SightingResult {
  const known = table.find(`ip:${ip}`);
  if (known) {
    if (ts <= known.lastSeen) return { device: known, created: false, folded: null };
    const d = { ...known, lastSeen: ts, left: false };
    table.put(d, keysOf(d));
    return { device: d, created: false, folded: null };
  }
  const d: Device = {
    id: `ip-${ip}`, mac: null, macs: [], ips: [ip], hostname: null, clientId: null, vendor: null, randomized: false,
    firstSeen: ts, lastSeen: ts, left: false,
  };
  table.put(d, keysOf(d));
  return { device: d, created: true, folded: null };
}
