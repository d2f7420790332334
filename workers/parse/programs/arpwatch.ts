/**
 * arpwatch and addrwatch: a device (MAC) seen with an IP on the LAN. arpwatch reports `new station
 * <ip> <mac> [iface]`, `changed ethernet address <ip> <mac> (<old mac>) [iface]`, `flip flop`,
 * `new activity`, `bogon`; addrwatch's syslog output is `<iface> <vlan> <mac> <ip> <type>`. New devices
 * matter to a home SIEM (rule "new LAN device"), so the device is source.ip/source.mac.
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { canonicalIp } from "../ip.ts";
import { mac as normMac } from "./common.ts";

const ARPWATCH = /^(new station|changed ethernet address|flip flop|new activity|reused old ethernet address|bogon|ethernet broadcast|ethernet mismatch|suspected ethernet broadcast) (\S+) (\S+)(?: \((\S+)\))?(?: (\S+))?/;

export function parseArpwatch(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const s = msg.trim();
  let m = ARPWATCH.exec(s);
  if (m) {
    const ip = canonicalIp(m[2]!), mac = normMac(m[3]);
    if (!ip && !mac) return null;
    const action = m[1]!.replaceAll(" ", "_");
    const f: ProgramFields = { event: { dataset: "arpwatch", category: ["network"], type: action === "new_station" ? ["info", "creation"] : action.startsWith("changed") || action === "flip_flop" ? ["info", "change"] : ["info"], action } };
    f.source = {};
    if (ip) f.source.ip = ip;
    if (mac) f.source.mac = mac;
    if (m[5]) f.observer = { ingress: { interface: { name: m[5] } } };
    const old = normMac(m[4]);
    if (old) f.porchlight = { fields: { previous_mac: old } };
    if (ip) f.related = { ip: [ip] };
    return f;
  }
  // addrwatch: "eth0 0 00:11:22:33:44:55 192.168.1.5 ARP_REQ" (optionally preceded by epoch seconds and host)
  m = /^(?:\d{9,} \S+ )?(\S+) (\d+) ([0-9a-fA-F:]{17}) (\S+) ([A-Z_0-9]+)$/.exec(s);
  if (m) {
    const ip = canonicalIp(m[4]!), mac = normMac(m[3]);
    if (!ip || !mac) return null;
    const f: ProgramFields = { event: { dataset: "arpwatch", category: ["network"], type: ["info"], action: "address_seen" } };
    f.source = { ip, mac };
    f.observer = { ingress: { interface: { name: m[1]! } } };
    f.related = { ip: [ip] };
    f.porchlight = { fields: { addrwatch_type: m[5]!, vlan: Number(m[2]) } };
    return f;
  }
  return null;
}
