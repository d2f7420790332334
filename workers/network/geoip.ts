/**
 * GeoIP and ASN of public addresses, from the open data shipped in workers/network/data (country:
 * @ip-location-db/geo-whois-asn-country, CC0; AS: @ip-location-db/asn, CC BY 4.0, RouteViews and
 * DB-IP.com). No network lookup ever: the tables are part of the bundle and decoded on first use
 * (≈ tens of ms once per isolate or Durable Object; see bench/network.bench.ts).
 *
 * Granularity (the bundle's 3 MiB gzip budget): countries exact for IPv4, per /48 for IPv6; AS numbers
 * per /24 for IPv4 and per /48 for IPv6 (the longest prefixes the global routing table carries); AS
 * names for the 10,000 ASNs announcing the most address space (others answer the number only).
 */
import { ASN_NAMES } from "./data/asn-names.ts";
import { ASN_V4, ASN_V6 } from "./data/asn.ts";
import { COUNTRIES, GEO_V4, GEO_V6 } from "./data/geo.ts";
import { decodeRanges, lookupRange, v4Key, v6Key, type RangeTable } from "./ranges.ts";
import { isPrivateIp, parseIPv4, parseIPv6 } from "../parse/ip.ts";

/**
 * Special-purpose ranges (RFC 6890) that are never a peer on the Internet but that whois data still
 * assigns a country (203.0.113.0/24 reads as AU): documentation, benchmarking, "this network",
 * multicast and reserved.
 */
const RESERVED_V4: [number, number][] = [["0.0.0.0", 8], ["192.0.0.0", 24], ["192.0.2.0", 24], ["198.18.0.0", 15], ["198.51.100.0", 24], ["203.0.113.0", 24], ["224.0.0.0", 3]].map(
  ([a, bits]) => [parseIPv4(a as string), parseIPv4(a as string) + 2 ** (32 - (bits as number)) - 1],
);
/** 2001:db8::/32 (documentation) and ff00::/8 (multicast), by their leading groups. */
const reservedV6 = (g: readonly number[]): boolean => (g[0] === 0x2001 && g[1] === 0xdb8) || g[0]! >= 0xff00;

export interface IpInfo {
  /** ISO 3166-1 alpha-2, e.g. "US". */
  country?: string;
  asn?: number;
  org?: string;
}

interface Tables {
  geo4: RangeTable;
  geo6: RangeTable;
  asn4: RangeTable;
  asn6: RangeTable;
  countries: string[];
  names: Map<number, string>;
}

let tables: Tables | null = null;

/** Decodes the tables (once per isolate). Exposed so a bench or a warm-up can pay it up front. */
export function geoTables(): Tables {
  if (tables) return tables;
  const names = new Map<number, string>();
  let asn = 0;
  for (const line of ASN_NAMES.split("\n")) {
    const tab = line.indexOf("\t");
    asn += parseInt(line.slice(0, tab), 36);
    names.set(asn, line.slice(tab + 1));
  }
  tables = {
    geo4: decodeRanges(GEO_V4), geo6: decodeRanges(GEO_V6), asn4: decodeRanges(ASN_V4), asn6: decodeRanges(ASN_V6),
    countries: COUNTRIES.split(","), names,
  };
  return tables;
}

/**
 * Country and AS of a canonical IP; an empty object for private, reserved and unknown addresses (no
 * country is invented for 10.0.0.1).
 */
export function lookupIp(ip: string): IpInfo {
  if (isPrivateIp(ip)) return {};
  const t = geoTables();
  let country: number, asn: number;
  if (ip.indexOf(":") < 0) {
    const v = parseIPv4(ip);
    if (v < 0 || RESERVED_V4.some(([lo, hi]) => v >= lo && v <= hi)) return {};
    country = lookupRange(t.geo4, v4Key(v, t.geo4.shift));
    asn = lookupRange(t.asn4, v4Key(v, t.asn4.shift));
  } else {
    const g = parseIPv6(ip);
    if (!g || reservedV6(g)) return {};
    // IPv4-mapped IPv6 is the IPv4 address.
    if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return lookupIp(`${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`);
    const k = v6Key(g);
    country = lookupRange(t.geo6, k);
    asn = lookupRange(t.asn6, k);
  }
  const out: IpInfo = {};
  if (country) out.country = t.countries[country]!;
  if (asn) {
    out.asn = asn;
    const org = t.names.get(asn);
    if (org !== undefined) out.org = org;
  }
  return out;
}
