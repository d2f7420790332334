/**
 * IP addresses for parsing, storage, queries and rules (the one IP module): strict IPv4/IPv6 parsing,
 * canonical text (IPv4 dotted, IPv6 RFC 5952), a 32-hex-digit sort key for the events table
 * (`src_ip_key`, `dst_ip_key`), CIDR bounds for queries and an allocation-free CIDR test for rules. Pure and allocation-light: program parsers call `canonicalIp` on every address they find.
 *
 * Invariants: IPv4 and IPv4-mapped IPv6 (`::ffff:a.b.c.d`) are the same address: both canonicalize to the
 * dotted IPv4 text and share the key `00000000000000000000ffff` + 8 hex digits, so one CIDR filter finds
 * both spellings. Keys are lowercase and fixed-width, so text order equals numeric order and a CIDR is a
 * `BETWEEN lo AND hi` on the key. Zone ids (`fe80::1%eth0`) are dropped.
 */
import { TokenMemo } from "./memo.ts";

const HEX = "0123456789abcdef";

/** Parses dotted-quad IPv4 in s[start, end) (no leading-zero octets beyond "0", no shorthand) → uint32, or -1. */
function ipv4At(s: string, start: number, end: number): number {
  let value = 0, part = 0, digits = 0, dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // "01" is ambiguous (octal in inet_aton): refuse rather than guess
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/** Parses dotted-quad IPv4. Returns the uint32 or -1. */
export function parseIPv4(s: string): number {
  return ipv4At(s, 0, s.length);
}

/**
 * Parses an IPv6 address (with "::", an embedded IPv4 tail, an optional "%zone") into out[0..7].
 * Returns false when s is not IPv6. Writes only into `out` (no allocation: rules test every event's
 * addresses). Reference: parseIPv6Reference in ip-reference.ts (split and parse, the obvious way).
 */
export function ipv6Into(s: string, out: Uint16Array): boolean {
  let end = s.indexOf("%");
  if (end < 0) end = s.length;
  if (end < 2) return false;
  let n = 0; // groups written before "::"
  let gap = -1; // index in out where "::" sits
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === end) { out.fill(0); return true; }
  }
  while (i < end) {
    // one group: hex digits, or an IPv4 tail
    let j = i;
    let v = 0;
    while (j < end && j - i < 5) {
      const c = s.charCodeAt(j);
      const h = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      const v4 = ipv4At(s, i, end);
      if (v4 < 0 || n > 6) return false;
      out[n++] = v4 >>> 16;
      out[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (j === i || j - i > 4 || n > 7) return false;
    out[n++] = v;
    if (j === end) { i = end; break; }
    if (s.charCodeAt(j) !== 58) return false;
    if (j + 1 < end && s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return false; // trailing single ":"
    }
  }
  if (gap < 0) return n === 8;
  if (n > 7) return false;
  // move the groups after the gap to the end, zero the gap
  const tail = n - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[n - 1 - k]!;
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

/** Parses IPv6 text (with `::`, embedded IPv4 tail, optional `%zone`) into 8 16-bit groups, or null. */
export function parseIPv6(s: string): number[] | null {
  const g = new Uint16Array(8);
  return ipv6Into(s, g) ? Array.from(g) : null;
}

/** Address as 8 groups (IPv4 as IPv4-mapped), or null when `s` is not an IP. */
export function ipGroups(s: string): number[] | null {
  if (s.indexOf(":") < 0) {
    const v4 = parseIPv4(s);
    return v4 < 0 ? null : [0, 0, 0, 0, 0, 0xffff, Math.floor(v4 / 65536), v4 % 65536];
  }
  return parseIPv6(s);
}

const isMapped = (g: number[]): boolean =>
  g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;

function formatGroups(g: number[]): string {
  if (isMapped(g)) return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  // RFC 5952 §4.2: compress the longest run (≥ 2 groups) of zeros, the first one on a tie.
  let bestStart = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (out !== "" && !out.endsWith(":")) out += ":";
    out += g[i]!.toString(16);
  }
  return out;
}

const v6Canonical = new TokenMemo<string | null>(1024);

/** Canonical text of an IP (IPv4 dotted; IPv6 RFC 5952; IPv4-mapped → dotted), or null when not an IP. */
export function canonicalIp(s: string): string | null {
  if (s.indexOf(":") < 0) return parseIPv4(s) >= 0 ? s : null;
  // IPv6 text is split, parsed into groups and re-joined: memoized (a pure function of the text), as a
  // home network's IPv6 peers and prefixes recur from line to line.
  let c = v6Canonical.get(s);
  if (c === undefined) {
    const g = parseIPv6(s);
    c = g ? formatGroups(g) : null;
    v6Canonical.set(s, c);
  }
  return c;
}

/** True when `s` is a syntactically valid IPv4 or IPv6 address. */
export const isIp = (s: string): boolean => parseIPv4(s) >= 0 || ipv6Into(s, new Uint16Array(8));

function groupsKey(g: ArrayLike<number>): string {
  let out = "";
  for (let i = 0; i < 8; i++) {
    const v = g[i]!;
    out += HEX[(v >> 12) & 15]! + HEX[(v >> 8) & 15]! + HEX[(v >> 4) & 15]! + HEX[v & 15]!;
  }
  return out;
}

/** 32 lowercase hex digits of the 128-bit address (IPv4 as IPv4-mapped), or null when not an IP. */
export function ipKey(s: string): string | null {
  const g = ipGroups(s);
  return g ? groupsKey(g) : null;
}

/** An address range as inclusive key bounds: `key BETWEEN lo AND hi`. */
export interface IpRange {
  lo: string;
  hi: string;
}

/** A prefix in the 128-bit space (IPv4 as IPv4-mapped, so 10.0.0.0/8 is bits 104): network groups with host bits cleared. */
interface Cidr {
  groups: Uint16Array;
  bits: number;
}

/** `a.b.c.d/n`, `x::/n` or a bare address (/32, /128) as a Cidr; host bits are ignored (`10.1.2.3/8` = `10.0.0.0/8`). */
function cidrOf(s: string): Cidr | null {
  const slash = s.indexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  const groups = new Uint16Array(8);
  const v4 = parseIPv4(addr);
  if (v4 >= 0) {
    groups[5] = 0xffff;
    groups[6] = v4 >>> 16;
    groups[7] = v4 & 0xffff;
  } else if (!ipv6Into(addr, groups)) return null;
  let bits = v4 >= 0 ? 32 : 128;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > bits) return null;
    bits = n;
  }
  if (v4 >= 0) bits += 96;
  for (let i = 0; i < 8; i++) groups[i]! &= groupMask(bits, i);
  return { groups, bits };
}

/** The mask of group i (16 bits) of a /bits prefix in the 128-bit space. */
function groupMask(bits: number, i: number): number {
  const keep = Math.max(0, Math.min(16, bits - i * 16));
  return keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
}

/**
 * Parses `a.b.c.d/n`, `x::/n` or a bare address into key bounds. IPv4 prefixes count in the IPv4 space
 * (`10.0.0.0/8` = mapped /104). Host bits set in the address are ignored (`10.1.2.3/8` = `10.0.0.0/8`).
 */
export function parseCidr(s: string): IpRange | null {
  const c = cidrOf(s);
  if (!c) return null;
  const hi = c.groups.slice();
  for (let i = 0; i < 8; i++) hi[i] = c.groups[i]! | (~groupMask(c.bits, i) & 0xffff);
  return { lo: groupsKey(c.groups), hi: groupsKey(hi) };
}

/**
 * A test of "this value is an address inside one of `cidrs`" (null when one is not a prefix), the same
 * answer as comparing ipKey with parseCidr's bounds, without allocating: a dotted IPv4 value is compared
 * as a uint32 with the prefixes inside ::ffff:0:0/96, anything else is parsed into groups once.
 */
export function cidrMatcher(cidrs: readonly string[]): ((v: unknown) => boolean) | null {
  const parsed: Cidr[] = [];
  for (const t of cidrs) {
    const c = cidrOf(t);
    if (!c) return null;
    parsed.push(c);
  }
  // IPv4 view: the prefixes within the mapped range as (base, mask) on the uint32; a prefix that holds the
  // whole mapped range (::/0, ::ffff:0:0/96 and shorter) matches every IPv4 address.
  const mapped = cidrOf("::ffff:0:0/96")!;
  let allV4 = false;
  const base: number[] = [], mask: number[] = [];
  for (const c of parsed) {
    if (c.bits >= 96 && inCidr(c.groups, mapped)) {
      const m = c.bits === 96 ? 0 : (0xffffffff << (128 - c.bits)) >>> 0;
      base.push(((c.groups[6]! * 65536 + c.groups[7]!) & m) >>> 0);
      mask.push(m);
      if (c.bits === 96) allV4 = true;
    } else if (c.bits < 96 && inCidr(mapped.groups, c)) allV4 = true;
  }
  const scratch = new Uint16Array(8);
  return (v) => {
    if (typeof v !== "string") return false;
    const a = ipv4Of(v);
    if (a >= 0) {
      if (allV4) return true;
      for (let k = 0; k < base.length; k++) if (((a & mask[k]!) >>> 0) === base[k]) return true;
      return false;
    }
    if (!ipv6Into(v, scratch)) return false;
    for (const c of parsed) if (inCidr(scratch, c)) return true;
    return false;
  };
}

/** True when the address `g` (8 groups) lies in `c`. */
function inCidr(g: Uint16Array, c: Cidr): boolean {
  for (let k = 0; k < 8 && k * 16 < c.bits; k++) {
    const m = groupMask(c.bits, k);
    if ((g[k]! & m) !== c.groups[k]) return false;
  }
  return true;
}

// Pure cache: the last address text ipv4Of parsed and its value; every cidr test of every rule reads the same
// event's source.ip (or destination.ip) in turn, so most calls are a string compare.
let lastIpText = "";
let lastIpV4 = -1;

/** parseIPv4, remembered for the last text. */
function ipv4Of(v: string): number {
  if (v !== lastIpText) {
    lastIpV4 = parseIPv4(v);
    lastIpText = v;
  }
  return lastIpV4;
}

/** True when `ip` lies inside `cidr` (either may be IPv4, IPv6 or IPv4-mapped). False for non-IPs. */
export function cidrContains(cidr: string, ip: string): boolean {
  const r = parseCidr(cidr);
  const k = ipKey(ip);
  return r !== null && k !== null && k >= r.lo && k <= r.hi;
}

const PRIVATE_RANGES = [
  "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
  "::1/128", "fc00::/7", "fe80::/10",
].map((c) => parseCidr(c)!);

/**
 * True for addresses that cannot be a peer on the Internet: RFC 1918, loopback, link-local, CGNAT
 * (100.64/10, what ISPs hand home routers), IPv6 ULA and link-local. Used for `network.direction`.
 */
export function isPrivateIp(ip: string): boolean {
  if (ip.indexOf(":") < 0) {
    // IPv4 fast path (the common case on a home network): compare the first octets numerically.
    const v = parseIPv4(ip);
    if (v < 0) return false;
    const a = Math.floor(v / 16777216), b = Math.floor(v / 65536) & 255;
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127);
  }
  const k = ipKey(ip);
  if (k === null) return false;
  for (const r of PRIVATE_RANGES) if (k >= r.lo && k <= r.hi) return true;
  return false;
}

/**
 * isPrivateIp for an address already in canonical form (canonicalIp's output): dotted IPv4 is checked
 * on its text, without parsing it again. Program parsers canonicalize first, then ask this per flow.
 */
function isPrivateCanonical(ip: string): boolean {
  const c0 = ip.charCodeAt(0);
  if (ip.indexOf(":") >= 0) return isPrivateIp(ip);
  switch (c0) {
    case 0x31: { // "1"
      // The leading octet's chars compared in place (a startsWith call per prefix cost more than the rest).
      const c1 = ip.charCodeAt(1), c2 = ip.charCodeAt(2), c3 = ip.charCodeAt(3);
      if (c1 === 0x30 && c2 === 0x2e) return true; // "10."
      if (c3 !== 0x2e) return false; // every other prefix below is three digits and "."
      if (c1 === 0x32 && c2 === 0x37) return true; // "127."
      if (c1 === 0x39 && c2 === 0x32) return ip.startsWith("168.", 4); // "192.168."
      if (c1 === 0x36 && c2 === 0x39) return ip.startsWith("254.", 4); // "169.254."
      if ((c1 === 0x37 && c2 === 0x32) || (c1 === 0x30 && c2 === 0x30)) { // "172." or "100."
        const dot = ip.indexOf(".", 4);
        const b = Number(ip.slice(4, dot));
        return c1 === 0x37 ? b >= 16 && b <= 31 : b >= 64 && b <= 127;
      }
      return false;
    }
    default:
      return false;
  }
}

/**
 * Direction of a flow from its endpoints (canonical IPs), per ECS: inbound = external → internal, and
 * so on. Undefined when either end is missing.
 */
export function directionOf(src: string | undefined, dst: string | undefined): "inbound" | "outbound" | "internal" | "external" | undefined {
  if (!src || !dst) return undefined;
  const s = isPrivateCanonical(src), d = isPrivateCanonical(dst);
  if (s && d) return "internal";
  if (!s && !d) return "external";
  return s ? "outbound" : "inbound";
}
