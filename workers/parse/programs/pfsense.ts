/**
 * pfSense / OPNsense `filterlog` CSV (format documented at docs.netgate.com "Filter Log Format"):
 * rule, sub-rule, anchor, tracker, interface, reason, action, direction, IP version, then IPv4 (tos, ecn,
 * ttl, id, offset, flags, proto id, proto name, length, src, dst) or IPv6 (class, flow label, hop limit,
 * proto name, proto id, length, src, dst), then per protocol: tcp/udp ports and data length, tcp flags,
 * icmp type. pf's "block" becomes event.action "drop" and "pass" becomes "accept", as for iptables, so
 * one rule covers both firewalls; the original word is kept in porchlight.fields.pf_action.
 */
import type { EcsEndpoint } from "../../ecs.ts";
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { canonicalIp, directionOf } from "../ip.ts";
import { firewallEvent, flowRelated } from "./common.ts";

const ACTIONS: Record<string, string> = { block: "drop", pass: "accept", reject: "reject", match: "log", scrub: "log" };

export function parsePfsense(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  // Only the first 24 fields are used (up to the TCP flags); the sequence numbers and options after them are not split.
  const c = (msg.charCodeAt(0) === 32 || msg.charCodeAt(msg.length - 1) === 32 ? msg.trim() : msg).split(",", 24);
  if (c.length < 9) return null;
  const [ruleNo, , , tracker, iface, reason, act, dirWord, ver] = c as [string, string, string, string, string, string, string, string, string];
  if (ver !== "4" && ver !== "6") return null;
  let proto: string, srcTok: string, dstTok: string, length: string, i: number;
  if (ver === "4") {
    if (c.length < 20) return null;
    proto = c[16]!; length = c[17]!; srcTok = c[18]!; dstTok = c[19]!; i = 20;
  } else {
    if (c.length < 17) return null;
    proto = c[12]!; length = c[14]!; srcTok = c[15]!; dstTok = c[16]!; i = 17;
  }
  proto = proto.toLowerCase();
  const action = ACTIONS[act] ?? "log";
  const f = firewallEvent("pfsense.filterlog", action);
  const s: EcsEndpoint = {}, d: EcsEndpoint = {};
  const sip = canonicalIp(srcTok), dip = canonicalIp(dstTok);
  if (sip) s.ip = sip;
  if (dip) d.ip = dip;
  const extra: Record<string, string | number> = { pf_action: act, rule_number: ruleNo };
  if (reason) extra.pf_reason = reason;
  if (proto === "tcp" || proto === "udp") {
    const sp = Number(c[i]), dp = Number(c[i + 1]);
    if (c[i] !== "" && sp >= 0 && sp <= 65535) s.port = sp;
    if (c[i + 1] !== "" && dp >= 0 && dp <= 65535) d.port = dp;
    if (proto === "tcp" && c[i + 3]) extra.tcp_flags = c[i + 3]!;
  } else if (proto === "icmp" || proto === "ipv6-icmp") {
    if (c[i]) extra.icmp_type = c[i]!;
  }
  f.network = { transport: proto, type: ver === "4" ? "ipv4" : "ipv6" };
  const len = Number(length);
  if (length !== "" && len >= 0) { f.network.bytes = len; f.network.packets = 1; }
  const dir = dirWord === "in" ? "inbound" : dirWord === "out" ? "outbound" : undefined;
  // pf's in/out is relative to the interface; prefer the address view when both ends are known.
  const byIp = directionOf(sip ?? undefined, dip ?? undefined);
  const direction = byIp === "internal" || byIp === "external" ? byIp : dir ?? byIp;
  if (direction) f.network.direction = direction;
  if (Object.keys(s).length) f.source = s;
  if (Object.keys(d).length) f.destination = d;
  if (iface) f.observer = dirWord === "out" ? { egress: { interface: { name: iface } } } : { ingress: { interface: { name: iface } } };
  if (tracker || ruleNo) f.rule = tracker ? { id: tracker, name: ruleNo } : { name: ruleNo };
  const related = flowRelated(sip, dip);
  if (related) f.related = related;
  f.porchlight = { fields: extra };
  return f;
}

/** Cheap sniff for a filterlog CSV body when the program name is missing. */
export const PF_SNIFF = /^\d+,[^,]*,[^,]*,[^,]*,[^,]+,[a-z-]+,(?:block|pass|match|reject|scrub),(?:in|out),[46],/;
