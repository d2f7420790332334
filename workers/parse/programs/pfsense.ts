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
import { egressObserver, firewallEvent, flowRelated, ingressObserver, lowerCached } from "./common.ts";
import { toNumber } from "../number.ts";
import { table } from "../../table.ts";

/** pf action word → event.action. Keyed by the line's text: no prototype (`constructor` finds nothing). */
const ACTIONS = table({ block: "drop", pass: "accept", reject: "reject", match: "log", scrub: "log" });

export function parsePfsense(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const line = msg.charCodeAt(0) === 32 || msg.charCodeAt(msg.length - 1) === 32 ? msg.trim() : msg;
  // Only the first 24 fields are used (up to the TCP flags); the sequence numbers and options after them
  // are not looked at. Fields are cut out of `line` by position when used: most are never sliced.
  const b = splitFields(line);
  const n = b.length >> 1;
  if (n < 9) return null;
  const v4 = fieldIs(line, b, 8, "4");
  if (!v4 && !fieldIs(line, b, 8, "6")) return null;
  let p: number, lengthAt: number, srcAt: number, i: number;
  if (v4) {
    if (n < 20) return null;
    p = 16; lengthAt = 17; srcAt = 18; i = 20;
  } else {
    if (n < 17) return null;
    p = 12; lengthAt = 14; srcAt = 15; i = 17;
  }
  const proto = lowerCached(field(line, b, p));
  const length = field(line, b, lengthAt), srcTok = field(line, b, srcAt), dstTok = field(line, b, srcAt + 1);
  const ruleNo = field(line, b, 0), tracker = field(line, b, 3), iface = field(line, b, 4), reason = field(line, b, 5), act = field(line, b, 6);
  const dirIn = fieldIs(line, b, 7, "in"), dirOut = fieldIs(line, b, 7, "out");
  const action = ACTIONS[act] ?? "log";
  const f = firewallEvent("pfsense.filterlog", action);
  const s: EcsEndpoint = {}, d: EcsEndpoint = {};
  const sip = canonicalIp(srcTok), dip = canonicalIp(dstTok);
  if (sip) s.ip = sip;
  if (dip) d.ip = dip;
  const extra: Record<string, string | number> = { pf_action: act, rule_number: ruleNo };
  if (reason) extra.pf_reason = reason;
  if (proto === "tcp" || proto === "udp") {
    // Fields past the end are undefined, as split() leaves them: Number(undefined) is NaN, so no port.
    const spTok = i < n ? field(line, b, i) : undefined, dpTok = i + 1 < n ? field(line, b, i + 1) : undefined;
    const sp = spTok === undefined ? NaN : toNumber(spTok), dp = dpTok === undefined ? NaN : toNumber(dpTok);
    if (spTok !== "" && sp >= 0 && sp <= 65535) s.port = sp;
    if (dpTok !== "" && dp >= 0 && dp <= 65535) d.port = dp;
    if (proto === "tcp" && i + 3 < n && b[2 * i + 7]! > b[2 * i + 6]!) extra.tcp_flags = field(line, b, i + 3);
  } else if (proto === "icmp" || proto === "ipv6-icmp") {
    if (i < n && b[2 * i + 1]! > b[2 * i]!) extra.icmp_type = field(line, b, i);
  }
  f.network = { transport: proto, type: v4 ? "ipv4" : "ipv6" };
  const len = toNumber(length);
  if (length !== "" && len >= 0) { f.network.bytes = len; f.network.packets = 1; }
  const dir = dirIn ? "inbound" : dirOut ? "outbound" : undefined;
  // pf's in/out is relative to the interface; prefer the address view when both ends are known.
  const byIp = directionOf(sip ?? undefined, dip ?? undefined);
  const direction = byIp === "internal" || byIp === "external" ? byIp : dir ?? byIp;
  if (direction) f.network.direction = direction;
  if (s.ip !== undefined || s.port !== undefined) f.source = s;
  if (d.ip !== undefined || d.port !== undefined) f.destination = d;
  if (iface) f.observer = dirOut ? egressObserver(iface) : ingressObserver(iface);
  if (tracker || ruleNo) f.rule = tracker ? { id: tracker, name: ruleNo } : { name: ruleNo };
  const related = flowRelated(sip, dip);
  if (related) f.related = related;
  f.porchlight = { fields: extra };
  return f;
}

/**
 * Cuts `line` into at most 24 comma-separated fields, as `line.split(",", 24)` would: field k is
 * line[b[2k], b[2k + 1]). Bounds instead of substrings: most fields are never sliced.
 */
function splitFields(line: string): number[] {
  const b: number[] = [];
  let from = 0;
  while (b.length < 48) {
    const comma = line.indexOf(",", from);
    b.push(from, comma < 0 ? line.length : comma);
    if (comma < 0) break;
    from = comma + 1;
  }
  return b;
}

function field(line: string, b: readonly number[], k: number): string {
  return line.slice(b[2 * k], b[2 * k + 1]);
}

/** True when field k is exactly `word` (compared in place). */
function fieldIs(line: string, b: readonly number[], k: number, word: string): boolean {
  return b[2 * k + 1]! - b[2 * k]! === word.length && line.startsWith(word, b[2 * k]);
}

/** Cheap sniff for a filterlog CSV body when the program name is missing. */
export const PF_SNIFF = /^\d+,[^,]*,[^,]*,[^,]*,[^,]+,[a-z-]+,(?:block|pass|match|reject|scrub),(?:in|out),[46],/;
