/**
 * IP addresses for parsing, storage and queries: strict IPv4/IPv6 parsing, canonical text (IPv4 dotted,
 * IPv6 RFC 5952), a 32-hex-digit sort key for the events table (`src_ip_key`, `dst_ip_key`) and CIDR
 * matching. Pure and allocation-light: program parsers call `canonicalIp` on every address they find.
 *
 * Invariants: IPv4 and IPv4-mapped IPv6 (`::ffff:a.b.c.d`) are the same address: both canonicalize to the
 * dotted IPv4 text and share the key `00000000000000000000ffff` + 8 hex digits, so one CIDR filter finds
 * both spellings. Keys are lowercase and fixed-width, so text order equals numeric order and a CIDR is a
 * `BETWEEN lo AND hi` on the key. Zone ids (`fe80::1%eth0`) are dropped.
 */
import { TokenMemo } from "./memo.ts";

const HEX = "0123456789abcdef";

/** Parses dotted-quad IPv4 (no leading-zero octets beyond "0", no shorthand). Returns the uint32 or -1. */
export function parseIPv4(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let value = 0, octet = 0, digits = 0, dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // "01" is ambiguous (octal in inet_aton); refuse it rather than guess.
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** Parses IPv6 text (with `::`, embedded IPv4 tail, optional `%zone`) into 8 16-bit groups, or null. */
export function parseIPv6(input: string): number[] | null {
  let s = input;
  const pct = s.indexOf("%");
  if (pct >= 0) s = s.slice(0, pct);
  if (s.length < 2 || s.length > 45) return null;
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return null;
  const head = dbl >= 0 ? s.slice(0, dbl) : s;
  const tail = dbl >= 0 ? s.slice(dbl + 2) : "";
  const a = head === "" ? [] : parseGroups(head, dbl < 0);
  const b = tail === "" ? [] : parseGroups(tail, true);
  if (!a || !b) return null;
  if (dbl < 0) return a.length === 8 ? a : null;
  if (a.length + b.length > 7) return null;
  const out = a.slice();
  for (let i = a.length + b.length; i < 8; i++) out.push(0);
  for (const g of b) out.push(g);
  return out;
}

function parseGroups(s: string, ipv4TailAllowed: boolean): number[] | null {
  const parts = s.split(":");
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === parts.length - 1 && ipv4TailAllowed && p.indexOf(".") >= 0) {
      const v4 = parseIPv4(p);
      if (v4 < 0) return null;
      out.push(Math.floor(v4 / 65536), v4 % 65536);
      continue;
    }
    if (p.length === 0 || p.length > 4) return null;
    let g = 0;
    for (let j = 0; j < p.length; j++) {
      const h = hexVal(p.charCodeAt(j));
      if (h < 0) return null;
      g = g * 16 + h;
    }
    out.push(g);
  }
  return out;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
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

export const isIp = (s: string): boolean => ipGroups(s) !== null;

function groupsKey(g: number[]): string {
  let out = "";
  for (const v of g) out += HEX[(v >> 12) & 15]! + HEX[(v >> 8) & 15]! + HEX[(v >> 4) & 15]! + HEX[v & 15]!;
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

/**
 * Parses `a.b.c.d/n`, `x::/n` or a bare address into key bounds. IPv4 prefixes count in the IPv4 space
 * (`10.0.0.0/8` = mapped /104). Host bits set in the address are ignored (`10.1.2.3/8` = `10.0.0.0/8`).
 */
export function parseCidr(s: string): IpRange | null {
  const slash = s.indexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  const g = ipGroups(addr);
  if (!g) return null;
  const v4 = addr.indexOf(":") < 0;
  let bits = v4 ? 32 : 128;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > bits) return null;
    bits = n;
  }
  const prefix = v4 ? 96 + bits : bits;
  const lo = g.slice(), hi = g.slice();
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, prefix - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    lo[i] = g[i]! & mask;
    hi[i] = (g[i]! & mask) | (~mask & 0xffff);
  }
  return { lo: groupsKey(lo), hi: groupsKey(hi) };
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
