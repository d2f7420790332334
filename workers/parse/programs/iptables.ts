/**
 * Netfilter LOG lines (iptables `-j LOG`, nftables `log prefix`): `<prefix>IN=eth0 OUT= MAC=... SRC=...
 * DST=... PROTO=TCP SPT=... DPT=...` → ECS network events. Hand-scanned (no regex on the hot path):
 * firewall lines are the bulk of a home router's log.
 *
 * Prefix: the text before `IN=` (kernel uptime stamp removed), glued or not: OpenWrt `DROP(src wan)`,
 * UFW `[UFW BLOCK]`, EdgeOS `[WAN_IN-10-D]`, `FW-DROP:`, or `A=DROP C=inet` key=value style where A is
 * the action and C the chain. It becomes `rule.name` (the chain, for the A=/C= style) and decides
 * `event.action`: drop, reject, accept, else "log".
 *
 * Direction (a documented heuristic): inbound when IN is a WAN-ish interface (wan*, ppp*, wwan*, or the
 * prefix says "src wan"), outbound when OUT is; otherwise from the addresses (private vs public).
 */
import type { EcsEvent } from "../../ecs.ts";
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { canonicalIp, directionOf } from "../ip.ts";
import { ecsMac, egressObserver, firewallEvent, flowObserver, flowRelated, ingressObserver, lowerCached } from "./common.ts";
import { TokenMemo } from "../memo.ts";
import { toNumber } from "../number.ts";

/**
 * A WAN-ish interface name: starts with wan, ppp (pppoe too), wwan or erouter, in any ASCII case (what
 * /^(?:wan|ppp|wwan|erouter|pppoe)/i matches: without the u flag, /i folds no non-ASCII char to ASCII).
 * Scanned by hand: it runs for both interfaces of every firewall line.
 */
export function isWanish(s: string): boolean {
  switch (s.charCodeAt(0) | 0x20) {
    case 0x77: return lowerAt(s, 1, "an") || lowerAt(s, 1, "wan"); // w
    case 0x70: return lowerAt(s, 1, "pp"); // p
    case 0x65: return lowerAt(s, 1, "router"); // e
    default: return false;
  }
}

/** True when s[i..] starts with `lower` (lowercase ASCII letters) in any ASCII case. */
function lowerAt(s: string, i: number, lower: string): boolean {
  if (i + lower.length > s.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const c = s.charCodeAt(i + k);
    if ((c < 0x41 || (c > 0x5a && c < 0x61) || c > 0x7a) || (c | 0x20) !== lower.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * Index where the netfilter fields start (`IN=`, or `OUT=` for locally generated packets), or -1. The
 * key must not follow a letter (PHYSIN= is not it; a glued prefix ending in ")" or "]" is fine) and
 * SRC= must come later (prose rarely has both).
 */
export function netfilterStart(msg: string): number {
  for (const key of ["IN=", "OUT="]) {
    for (let i = msg.indexOf(key); i >= 0; i = msg.indexOf(key, i + 3)) {
      const c = i > 0 ? msg.charCodeAt(i - 1) | 0x20 : 0;
      if (c >= 0x61 && c <= 0x7a) continue;
      return msg.indexOf("SRC=", i) > 0 ? i : -1;
    }
  }
  return -1;
}

export function parseIptables(msg: string, syslog?: SyslogMessage): ProgramFields | null {
  const start = netfilterStart(msg);
  if (start < 0) return null;
  // Kernel uptime stamp "[ 1234.5678] " before the prefix (read in msg: the prefix is sliced once).
  let prefixStart = 0;
  if (msg.charCodeAt(0) === 0x5b) {
    const close = uptimeStampEnd(msg, start);
    if (close > 0) prefixStart = close + 1;
  }
  let prefix = msg.slice(prefixStart, start);
  // A prefix the syslog stage took for the TAG ("Jan  8 03:37:09 DENY: IN=..."). A prefix whose first
  // char is printable ASCII is not blank, so trim() (a builtin call) runs only for the others.
  const c0 = prefix.charCodeAt(0);
  const blank = !(c0 > 0x20 && c0 < 0x7f) && prefix.trim() === "";
  if (blank && syslog?.appName && syslog.appName !== "kernel") prefix = syslog.appName;
  const { action, ruleName, srcWan } = prefixInfo(prefix);

  // Fields up to an embedded ICMP error packet "[SRC=... ]", which describes another packet. One pass
  // over the tokens keeps the first value of each key we use (IP LEN before UDP LEN, IP ID before ICMP
  // ID) and the bare words (flags); no per-line key/value object is built.
  const vals = scan(msg, start);

  const f = firewallEvent("iptables", action);
  const srcTok = vals[SRC], dstTok = vals[DST];
  const src = srcTok ? canonicalIp(srcTok) : null;
  const dst = dstTok ? canonicalIp(dstTok) : null;
  const proto = vals[PROTO], lenTok = vals[LEN], inIf = vals[IN], outIf = vals[OUT], macTok = vals[MAC];
  const network: NonNullable<EcsEvent["network"]> = {};
  if (proto) network.transport = lowerCached(proto);
  if (src || dst) network.type = (srcTok ?? dstTok ?? "").includes(":") ? "ipv6" : "ipv4";
  const len = lenTok ? toNumber(lenTok) : NaN;
  if (len >= 0) {
    network.bytes = len;
    network.packets = 1;
  }
  const source: NonNullable<EcsEvent["source"]> = {};
  const destination: NonNullable<EcsEvent["destination"]> = {};
  if (src) source.ip = src;
  if (dst) destination.ip = dst;
  const sptTok = vals[SPT], dptTok = vals[DPT];
  const spt = sptTok ? toNumber(sptTok) : NaN;
  const dpt = dptTok ? toNumber(dptTok) : NaN;
  if (spt >= 0 && spt <= 65535) source.port = spt;
  if (dpt >= 0 && dpt <= 65535) destination.port = dpt;
  // MAC= is dst(6) : src(6) : ethertype(2) [: more], as the kernel prints the link-layer header.
  if (macTok && macTok.length >= 35) {
    const pair = macPair(macTok);
    destination.mac = pair.dst;
    source.mac = pair.src;
  }
  if (inIf || outIf) f.observer = !outIf ? ingressObserver(inIf!) : !inIf ? egressObserver(outIf) : flowObserver(inIf, outIf);
  const dir = inIf && (srcWan || isWanish(inIf)) ? "inbound"
    : outIf && isWanish(outIf) ? "outbound"
    : directionOf(src ?? undefined, dst ?? undefined);
  if (dir) network.direction = dir;
  f.network = network;
  if (src || source.port !== undefined || source.mac) f.source = source;
  if (dst || destination.port !== undefined || destination.mac) f.destination = destination;
  if (ruleName) f.rule = { name: ruleName };
  const related = flowRelated(src, dst);
  if (related) f.related = related;
  const flags = vals[FLAGS], ttl = vals[TTL], hop = vals[HOPLIMIT], type = vals[TYPE], code = vals[CODE];
  const mark = vals[MARK], physin = vals[PHYSIN], physout = vals[PHYSOUT];
  // Most lines have a TTL (or flags): test for any before allocating the fields object.
  if (flags || ttl || hop || type || code || mark || physin || physout) {
    const extra: Record<string, string | number | boolean> = {};
    if (flags) extra.tcp_flags = flags;
    if (ttl) extra.ttl = toNumber(ttl);
    if (hop) extra.hop_limit = toNumber(hop);
    if (type) extra.icmp_type = toNumber(type);
    if (code) extra.icmp_code = toNumber(code);
    if (mark) extra.mark = mark;
    if (physin) extra.physin = physin;
    if (physout) extra.physout = physout;
    f.porchlight = { fields: extra };
  }
  return f;
}

/**
 * The netfilter fields we use, as slots of the array scan() returns (one array of fixed layout instead of
 * an object whose keys vary per line): `undefined` when absent, "" when present but empty (`OUT=`).
 * FLAGS holds the bare words (TCP flags such as "SYN"), "" when none.
 */
const IN = 0, OUT = 1, MAC = 2, SRC = 3, DST = 4, LEN = 5, PROTO = 6, SPT = 7, DPT = 8, TTL = 9, HOPLIMIT = 10;
const TYPE = 11, CODE = 12, MARK = 13, PHYSIN = 14, PHYSOUT = 15, FLAGS = 16;
export const KEY_NAMES = ["IN", "OUT", "MAC", "SRC", "DST", "LEN", "PROTO", "SPT", "DPT", "TTL", "HOPLIMIT", "TYPE", "CODE", "MARK", "PHYSIN", "PHYSOUT"];
/** KEY_NAMES as char codes: the check of a token's key reads only the line's chars. */
const KEY_CODES: readonly (readonly number[])[] = KEY_NAMES.map((k) => Array.from(k, (c) => c.charCodeAt(0)));
/** scan()'s result: slot k holds the value of KEY_NAMES[k], FLAGS the bare words. */
export type NetfilterValues = (string | undefined)[];

/** Index of the "]" closing a kernel uptime stamp "[ 1234.567890]" at the start of s[0, end), or -1. */
export function uptimeStampEnd(s: string, end: number): number {
  let i = 1, digits = 0, dot = false;
  while (i < end && s.charCodeAt(i) === 32) i++;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot && digits > 0) dot = true;
    else return c === 93 && dot && digits > 1 ? i : -1;
  }
  return -1;
}

/**
 * Slot of the key we keep whose name is msg[i, i + len), or -1: everything else (TOS, PREC, ID, WINDOW...)
 * is skipped unsliced. Picked by length and first letters, then checked once char by char.
 */
function wantedKey(msg: string, i: number, len: number): number {
  let k = -1;
  switch (len) {
    case 2: k = IN; break;
    case 3:
      switch (msg.charCodeAt(i)) {
        case 0x4f: k = OUT; break;
        case 0x4d: k = MAC; break;
        case 0x53: k = msg.charCodeAt(i + 1) === 0x52 ? SRC : SPT; break;
        case 0x44: k = msg.charCodeAt(i + 1) === 0x53 ? DST : DPT; break;
        case 0x4c: k = LEN; break;
        case 0x54: k = TTL; break;
      }
      break;
    case 4: {
      const c = msg.charCodeAt(i);
      k = c === 0x54 ? TYPE : c === 0x43 ? CODE : c === 0x4d ? MARK : -1;
      break;
    }
    case 5: k = PROTO; break;
    case 6: k = PHYSIN; break;
    case 7: k = PHYSOUT; break;
    case 8: k = HOPLIMIT; break;
  }
  if (k < 0) return -1;
  const name = KEY_CODES[k]!; // same length as the token's key, by the switch above
  for (let q = 0; q < len; q++) if (msg.charCodeAt(i + q) !== name[q]) return -1;
  return k;
}

/**
 * The values of the space-separated tokens from `from` up to the end of the line or to an embedded
 * packet " [SRC=" (the first one): the first value of each key we use, and the bare words. Tokens are
 * found with indexOf, which beats a charCodeAt loop over these lines (a line is a sliced string, whose
 * chars V8 reads through the parent one call at a time); the embedded packet is recognised at a token's
 * first char instead of by a search of the whole line.
 */
export function scan(msg: string, from: number): NetfilterValues {
  // A literal, not new Array(17).fill(): Array#fill is a C++ builtin, a costly call for 17 slots in workerd.
  const u = undefined;
  const vals: NetfilterValues = [u, u, u, u, u, u, u, u, u, u, u, u, u, u, u, u, u];
  let flags = "";
  const end = msg.length;
  let i = from;
  while (i < end) {
    // msg[from] is the I of IN= or the O of OUT=; every later token follows a space.
    if (msg.charCodeAt(i) === 0x5b && msg.startsWith("SRC=", i + 1)) break;
    let j = msg.indexOf(" ", i);
    if (j < 0) j = end;
    if (j > i) {
      const eq = msg.indexOf("=", i);
      if (eq < 0 || eq >= j) flags = flags ? flags + " " + msg.slice(i, j) : msg.slice(i, j);
      else {
        const k = wantedKey(msg, i, eq - i);
        if (k >= 0 && vals[k] === undefined) vals[k] = msg.slice(eq + 1, j);
      }
    }
    i = j + 1;
  }
  vals[FLAGS] = flags;
  return vals;
}

/**
 * ECS MACs of the link-layer header of a MAC= value (its first 35 chars: dst, src), memoized by the value:
 * a router logs the same few header pairs (its WAN port and the ISP gateway) on line after line.
 */
interface MacPair { dst: string; src: string }
// Pure caches of macPair (the last token and a memo by token): a hit answers what the function would.
const macPairs = new TokenMemo<MacPair>(256);
let lastMacTok = "";
let lastMacPair: MacPair = { dst: "", src: "" };
function macPair(tok: string): MacPair {
  if (tok === lastMacTok) return lastMacPair; // consecutive lines from one port: no hashing
  let p = macPairs.get(tok);
  if (p === undefined) {
    p = { dst: ecsMac(tok.slice(0, 17)), src: ecsMac(tok.slice(18, 35)) };
    macPairs.set(tok, p);
  }
  lastMacTok = tok;
  lastMacPair = p;
  return p;
}

/**
 * Action and rule name of a log prefix, memoized: a router uses a handful of prefixes, and this is the
 * costliest part of a line to recompute (case folding, A=/C= splitting).
 */
interface PrefixInfo { action: string; ruleName: string; srcWan: boolean }
const prefixCache = new TokenMemo<PrefixInfo>(256);
function prefixInfo(raw: string): PrefixInfo {
  let info = prefixCache.get(raw);
  if (info) return info;
  const prefix = raw.trim();
  let chain: string | undefined;
  let actionWord = prefix;
  if (/\bA=\S/.test(prefix)) {
    // "A=DROP C=inet" style: action and chain are themselves key=value pairs.
    for (const tok of prefix.split(/\s+/)) {
      if (tok.startsWith("A=")) actionWord = tok.slice(2);
      else if (tok.startsWith("C=")) chain = tok.slice(2);
    }
  }
  info = { action: actionOf(actionWord), ruleName: chain ?? cleanPrefix(prefix), srcWan: /\bsrc wan\b/i.test(prefix) };
  prefixCache.set(raw, info);
  return info;
}

/** Firewall action from a prefix word: drop, reject, accept, or "log" when it says nothing. */
export function actionOf(prefix: string): string {
  const p = prefix.toUpperCase();
  if (p.includes("REJECT")) return "reject";
  if (p.includes("DROP") || p.includes("DENY") || p.includes("BLOCK")) return "drop";
  if (p.includes("ACCEPT") || p.includes("ALLOW") || p.includes("PASS")) return "accept";
  // EdgeOS/VyOS "[WAN_IN-10-D]" / "-A" / "-R": the last letter is the rule's action.
  const m = /-([DAR])\]?$/.exec(p);
  if (m) return m[1] === "D" ? "drop" : m[1] === "R" ? "reject" : "accept";
  return "log";
}

/** "[UFW BLOCK]" → "UFW BLOCK", "FW-DROP:" → "FW-DROP"; OpenWrt "DROP(src wan)" kept whole. */
function cleanPrefix(p: string): string {
  let s = p;
  if (s.endsWith(":")) s = s.slice(0, -1);
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  return s.trim();
}
