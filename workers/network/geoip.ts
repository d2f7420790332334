/**
 * GeoIP and ASN of public addresses, from open data (country: @ip-location-db/geo-whois-asn-country,
 * CC0; AS: @ip-location-db/asn, CC BY 4.0, RouteViews and DB-IP.com) in the binary tables of
 * workers/network/tables.ts: static assets loaded at run time, never a network lookup of an address.
 * Load the tables a set of addresses needs (`loadIpTables`: IPv4 and IPv6 apart, so an IPv4-only home
 * never loads the IPv6 ones), then look up synchronously (`lookupIp`, a binary search per table).
 *
 * Granularity (chosen when the tables had to fit the bundle, kept so answers stay the same): countries
 * exact for IPv4, per /48 for IPv6; AS numbers per /24 for IPv4 and per /48 for IPv6 (the longest
 * prefixes the global routing table carries); AS names for the 10,000 ASNs announcing the most address
 * space (others answer the number only).
 */
import { NETWORK_DATA } from "./data/manifest.ts";
import { exactValue, label, loadTable, rangeValue, type Table, type TableSource } from "./tables.ts";
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

export type IpFamily = 4 | 6;

/** What lookupIp needs: the tables of the families loaded (null: not loaded), and the AS names. */
export interface IpTables {
  v4: { geo: Table; asn: Table } | null;
  v6: { geo: Table; asn: Table } | null;
  names: Table;
}

/**
 * The address a lookup keys on: IPv4 as its uint32, IPv6 as its top 48 bits (a /48); null for private,
 * reserved and malformed addresses, which have no country or AS. IPv4-mapped IPv6 is the IPv4 address.
 */
function addressKey(ip: string): { family: IpFamily; key: number } | null {
  if (isPrivateIp(ip)) return null;
  if (ip.indexOf(":") < 0) {
    const v = parseIPv4(ip);
    if (v < 0 || RESERVED_V4.some(([lo, hi]) => v >= lo && v <= hi)) return null;
    return { family: 4, key: v };
  }
  const g = parseIPv6(ip);
  if (!g || reservedV6(g)) return null;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return addressKey(`${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`);
  }
  return { family: 6, key: (g[0]! * 65536 + g[1]!) * 65536 + g[2]! };
}

/** The families whose tables lookups of `ips` need (none for private and reserved addresses). */
export function familiesOf(ips: Iterable<string>): Set<IpFamily> {
  const out = new Set<IpFamily>();
  for (const ip of ips) {
    const k = addressKey(ip);
    if (k) out.add(k.family);
    if (out.size === 2) break;
  }
  return out;
}

/** Loads (or takes from this isolate's cache) the tables of `families` and the AS names. */
export async function loadIpTables(src: TableSource, families: Iterable<IpFamily>): Promise<IpTables> {
  const f = NETWORK_DATA.files;
  const want = new Set(families);
  const pair = async (geo: string, asn: string) => {
    const [g, a] = await Promise.all([loadTable(src, geo), loadTable(src, asn)]);
    return { geo: g, asn: a };
  };
  const [v4, v6, names] = await Promise.all([
    want.has(4) ? pair(f["geo-v4"], f["asn-v4"]) : null,
    want.has(6) ? pair(f["geo-v6"], f["asn-v6"]) : null,
    loadTable(src, f["asn-names"]),
  ]);
  return { v4, v6, names };
}

/**
 * Country and AS of a canonical IP; an empty object for private, reserved and unknown addresses (no
 * country is invented for 10.0.0.1). Throws when the address's family was not loaded (a caller's bug:
 * load with familiesOf the addresses it will look up).
 */
export function lookupIp(t: IpTables, ip: string): IpInfo {
  const k = addressKey(ip);
  if (!k) return {};
  const fam = k.family === 4 ? t.v4 : t.v6;
  if (!fam) throw new Error(`lookupIp: the IPv${k.family} tables were not loaded`);
  const country = rangeValue(fam.geo, k.key);
  // IPv4 ASN ranges are kept per /24 (shift 8); IPv6 keys are already /48s.
  const asn = rangeValue(fam.asn, k.family === 4 ? Math.floor(k.key / 2 ** fam.asn.shift) : k.key);
  const out: IpInfo = {};
  if (country) out.country = label(fam.geo, country)!;
  if (asn) {
    out.asn = asn;
    const org = exactValue(t.names, asn);
    if (org) out.org = label(t.names, org)!;
  }
  return out;
}
