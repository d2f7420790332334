/**
 * DHCP servers other than dnsmasq: ISC dhcpd as pfSense and OPNsense run it (`DHCPACK on 192.168.1.20
 * to aa:bb:cc:dd:ee:ff (iphone) via em1`, `DHCPREQUEST for ... from ...`, `DHCPDISCOVER from ... via`,
 * `DHCPOFFER on ... to ...`, `DHCPRELEASE of ... from ...`), and OpenWrt's odhcpd (DHCPv6/v4:
 * `DHCPV6 REPLY IA_NA from <DUID> on br-lan: ok fd00::1234/128`, where a DUID-LLT/LL holds the client's
 * MAC). The client is `source` (IP, MAC, its hostname in source.domain), like dnsmasq's DHCP lines.
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { canonicalIp } from "../ip.ts";
import { CATEGORY_NETWORK, ingressObserver, mac as normMac, sharedList } from "./common.ts";

const PROTOCOL = sharedList("protocol");
const PROTOCOL_ALLOWED = sharedList("protocol", "allowed");

const ISC_RE = /^(DHCP[A-Z]+) (?:on|for|of|from) (\S+)(?: (?:to|from) (\S+))?(?: \(([^)]*)\))?(?: via (\S+))?/;

export function parseDhcpd(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const m = ISC_RE.exec(msg.trim());
  if (!m) return null;
  const verb = m[1]!;
  // "DHCPDISCOVER from <mac> via em1": the MAC is the first operand.
  const first = m[2]!, second = m[3];
  const ip = canonicalIp(first);
  const mac = normMac(ip ? second : first);
  if (!ip && !mac) return null;
  const f: ProgramFields = { event: { dataset: "dhcpd", category: CATEGORY_NETWORK, type: verb === "DHCPACK" ? PROTOCOL_ALLOWED : PROTOCOL, action: verb.toLowerCase() } };
  f.source = {};
  if (ip) f.source.ip = ip;
  if (mac) f.source.mac = mac;
  const host = m[4]?.trim();
  if (host && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(host)) f.source.domain = host;
  if (m[5]) f.observer = ingressObserver(m[5]);
  if (ip) f.related = { ip: [ip], ...(f.source.domain ? { hosts: [f.source.domain] } : {}) };
  return f;
}

const ODHCPD_RE = /^DHCPV([46]) ([A-Z-]+)(?: IA_[A-Z]+)? from ([0-9a-f]+) on (\S+?):? (\w+)((?: \S+)*)$/i;

/** The MAC inside a DUID-LLT (type 1) or DUID-LL (type 3) with hardware type 1 (Ethernet); else undefined. */
export function macOfDuid(duid: string): string | undefined {
  const d = duid.toLowerCase();
  if (d.startsWith("00010001") && d.length === 28) return normMac(d.slice(16).replace(/(..)(?!$)/g, "$1:"));
  if (d.startsWith("00030001") && d.length === 20) return normMac(d.slice(8).replace(/(..)(?!$)/g, "$1:"));
  return undefined;
}

export function parseOdhcpd(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const m = ODHCPD_RE.exec(msg.trim());
  if (!m) return null;
  const f: ProgramFields = { event: { dataset: "odhcpd", category: CATEGORY_NETWORK, type: m[5]!.toLowerCase() === "ok" ? PROTOCOL_ALLOWED : PROTOCOL, action: `dhcpv${m[1]}_${m[2]!.toLowerCase()}` } };
  f.source = {};
  const mac = macOfDuid(m[3]!);
  if (mac) f.source.mac = mac;
  // "ok fd00::1234/128 fd00::5678/128": the first address assigned.
  const addr = (m[6] ?? "").trim().split(" ")[0]?.split("/")[0];
  const ip = addr ? canonicalIp(addr) : null;
  if (ip) {
    f.source.ip = ip;
    f.related = { ip: [ip] };
  }
  f.observer = ingressObserver(m[4]!);
  f.porchlight = { fields: { duid: m[3]!.toLowerCase() } };
  return f;
}
