/**
 * `npm run network:data`: rebuilds the GeoIP, ASN and OUI tables that ship inside the Worker
 * (workers/network/data/*.ts) from three npm packages of open data:
 *   - @ip-location-db/geo-whois-asn-country (CC0-1.0): IP range -> country,
 *   - @ip-location-db/asn (CC BY 4.0, RouteViews and DB-IP: credited in docs/network.md): IP range -> AS,
 *   - oui-data (BSD-2-Clause, the IEEE MA-L/MA-M/MA-S registries as JSON): MAC prefix -> vendor.
 * The packages are fetched with `npm pack` at build time (never at run time) unless `--from DIR` names a
 * directory holding the three .tgz files. Options: `--names N` keeps AS names for the N ASNs announcing
 * the most IPv4 space (the bundle budget: see docs/network.md), default 10000.
 *
 * Encoding (decoded by workers/network/ranges.ts): adjacent ranges with the same value are merged, gaps
 * become value 0 ("unknown"); starts are kept at routing granularity to fit the bundle: IPv6 by /48 (the
 * longest prefix the global table carries) and IPv4 ASN ranges by /24 (same reason; countries stay exact);
 * a range narrower than that takes the value of the last range starting in its block. Starts are varint
 * deltas (`shift` = low bits dropped), values varints (a country index, or the AS number itself); each
 * column base64, so that the modules are plain text for the bundler, vitest and Node alike.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const namesKept = Number(opt("--names") ?? 10000);
const out = new URL("../workers/network/data/", import.meta.url).pathname;
const PACKAGES = ["@ip-location-db/geo-whois-asn-country", "@ip-location-db/asn", "oui-data"];

const work = mkdtempSync(join(tmpdir(), "porchlight-netdata-"));
const from = opt("--from");
const versions: string[] = [];
for (const pkg of PACKAGES) {
  const base = pkg.replace(/^@/, "").replace("/", "-");
  let tgz = from ? readdirSync(from).find((f) => f.startsWith(`${base}-`) && f.endsWith(".tgz")) : undefined;
  let dir = from ?? work;
  if (!tgz) {
    execFileSync("npm", ["pack", pkg, "--silent", "--pack-destination", work], { stdio: ["ignore", "pipe", "inherit"] });
    dir = work;
    tgz = readdirSync(work).find((f) => f.startsWith(`${base}-`) && f.endsWith(".tgz"))!;
  }
  versions.push(`${pkg}@${tgz.slice(base.length + 1, -4)}`);
  const dest = join(work, base);
  execFileSync("mkdir", ["-p", dest]);
  execFileSync("tar", ["xzf", join(dir, tgz), "-C", dest, "--strip-components=1"]);
}
const geoDir = join(work, "ip-location-db-geo-whois-asn-country");
const asnDir = join(work, "ip-location-db-asn");
const ouiDir = join(work, "oui-data");

// --- Varint columns

class Bytes {
  buf = new Uint8Array(1 << 20);
  n = 0;
  push(v: number): void {
    if (this.n + 8 > this.buf.length) {
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    while (v >= 128) {
      this.buf[this.n++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.n++] = v;
  }
  base64(): string {
    return Buffer.from(this.buf.subarray(0, this.n)).toString("base64");
  }
}

interface Range {
  start: bigint;
  end: bigint;
  value: string;
}

function readRanges(file: string): Range[] {
  const rows: Range[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    const a = line.indexOf(","), b = line.indexOf(",", a + 1), c = line.indexOf(",", b + 1);
    rows.push({ start: BigInt(line.slice(0, a)), end: BigInt(line.slice(a + 1, b)), value: c < 0 ? line.slice(b + 1) : line.slice(b + 1, c) });
  }
  return rows;
}

/** Starts (>> shift) and values, gaps as value "" and equal neighbours merged. */
function compact(rows: Range[], shift: bigint): { starts: bigint[]; values: string[] } {
  const starts: bigint[] = [], values: string[] = [];
  let prevEnd: bigint | null = null;
  const add = (s: bigint, v: string) => {
    const key = s >> shift;
    if (values.length && values[values.length - 1] === v) return;
    if (starts.length && starts[starts.length - 1] === key) {
      // Two starts inside one block (a range narrower than the kept granularity): the later one wins.
      values[values.length - 1] = v;
      return;
    }
    starts.push(key);
    values.push(v);
  };
  for (const r of rows) {
    if (prevEnd !== null && r.start > prevEnd + 1n) add(prevEnd + 1n, "");
    add(r.start, r.value);
    prevEnd = r.end;
  }
  if (prevEnd !== null) add(prevEnd + 1n, "");
  return { starts, values };
}

/** Varint deltas of the starts, each < 2^53 (IPv4, or the top 48 bits of IPv6). */
function encodeStarts(starts: bigint[]): string {
  const b = new Bytes();
  let prev = 0;
  for (const s of starts) {
    const n = Number(s);
    b.push(n - prev);
    prev = n;
  }
  return b.base64();
}

function encodeValues(values: string[], toNumber: (v: string) => number): string {
  const b = new Bytes();
  for (const v of values) b.push(toNumber(v));
  return b.base64();
}

// --- Countries

const countries = [""];
const countryIndex = new Map<string, number>([["", 0]]);
const cc = (v: string): number => {
  let i = countryIndex.get(v);
  if (i === undefined) {
    i = countries.length;
    countries.push(v);
    countryIndex.set(v, i);
  }
  return i;
};
const geo4 = compact(readRanges(join(geoDir, "geo-whois-asn-country-ipv4-num.csv")), 0n);
const geo6 = compact(readRanges(join(geoDir, "geo-whois-asn-country-ipv6-num.csv")), 80n);
// Values first: they fill the country list.
const geo4Values = encodeValues(geo4.values, cc), geo6Values = encodeValues(geo6.values, cc);
const geoModule = `// Generated by scripts/network-data.ts from ${versions[0]} (CC0-1.0). Do not edit.
export const COUNTRIES = ${JSON.stringify(countries.join(","))};
export const GEO_V4 = { shift: 0, count: ${geo4.starts.length}, starts: "${encodeStarts(geo4.starts)}", values: "${geo4Values}" };
export const GEO_V6 = { shift: 80, count: ${geo6.starts.length}, starts: "${encodeStarts(geo6.starts)}", values: "${geo6Values}" };
`;
writeFileSync(join(out, "geo.ts"), geoModule);

// --- ASNs

const asnRows4 = readRanges(join(asnDir, "asn-ipv4-num.csv"));
const asnRows6 = readRanges(join(asnDir, "asn-ipv6-num.csv"));
const asn4 = compact(asnRows4, 8n);
const asn6 = compact(asnRows6, 80n);
const asnNumber = (v: string): number => (v === "" ? 0 : Number(v));
writeFileSync(join(out, "asn.ts"), `// Generated by scripts/network-data.ts from ${versions[1]} (CC BY 4.0: RouteViews, DB-IP.com). Do not edit.
export const ASN_V4 = { shift: 8, count: ${asn4.starts.length}, starts: "${encodeStarts(asn4.starts)}", values: "${encodeValues(asn4.values, asnNumber)}" };
export const ASN_V6 = { shift: 80, count: ${asn6.starts.length}, starts: "${encodeStarts(asn6.starts)}", values: "${encodeValues(asn6.values, asnNumber)}" };
`);

// Names: the ASNs announcing the most IPv4 addresses (then IPv6 /48s) first, `namesKept` of them.
const names = new Map<number, string>();
const space = new Map<number, number>();
const unquote = (s: string) => (s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s);
for (const [file, weight] of [["asn-ipv4-num.csv", (a: bigint, b: bigint) => Number(b - a + 1n)], ["asn-ipv6-num.csv", (a: bigint, b: bigint) => Number((b - a + 1n) >> 80n)]] as const) {
  for (const line of readFileSync(join(asnDir, file), "utf8").split("\n")) {
    if (!line) continue;
    const p = line.split(",");
    const asn = Number(p[2]);
    names.set(asn, unquote(p.slice(3).join(",")).replace(/[\t\n]/g, " "));
    space.set(asn, (space.get(asn) ?? 0) + weight(BigInt(p[0]!), BigInt(p[1]!)));
  }
}
const kept = [...names.keys()].sort((a, b) => space.get(b)! - space.get(a)! || a - b).slice(0, namesKept).sort((a, b) => a - b);
let prev = 0;
const nameText = kept.map((a) => {
  const line = `${(a - prev).toString(36)}\t${names.get(a)}`;
  prev = a;
  return line;
}).join("\n");
writeFileSync(join(out, "asn-names.ts"), `// Generated by scripts/network-data.ts from ${versions[1]} (CC BY 4.0: RouteViews, DB-IP.com). Do not edit.
// "<AS number delta, base 36>\\t<organisation>" per line, for the ${kept.length} ASNs announcing the most address space.
export const ASN_NAMES = ${JSON.stringify(nameText)};
`);

// --- OUI

const oui = JSON.parse(readFileSync(join(ouiDir, "index.json"), "utf8")) as Record<string, string>;
// Prefixes of 6, 7 and 9 hex digits are padded to 9 digits (a 24-bit OUI covers 36 bits) and written as
// base-36 deltas from the previous line, with the prefix length: "<len><delta>\t<vendor>".
let prevPrefix = 0;
const ouiText = Object.keys(oui)
  .map((k) => ({ k, v: parseInt(k.padEnd(9, "0"), 16) }))
  .sort((x, y) => x.v - y.v || x.k.length - y.k.length)
  .map(({ k, v }) => {
    const line = `${k.length}${(v - prevPrefix).toString(36)}\t${String(oui[k]).split("\n")[0]!.replace(/\t/g, " ").trim()}`;
    prevPrefix = v;
    return line;
  })
  .join("\n");
writeFileSync(join(out, "oui.ts"), `// Generated by scripts/network-data.ts from ${versions[2]} (BSD-2-Clause; IEEE MA-L, MA-M, MA-S registries). Do not edit.
// "<prefix length 6|7|9><base-36 delta of the prefix padded to 9 hex digits>\\t<organisation>" per line, ascending.
export const OUI = ${JSON.stringify(ouiText)};
`);

console.log(JSON.stringify({ versions, geo4: geo4.starts.length, geo6: geo6.starts.length, asn4: asn4.starts.length, asn6: asn6.starts.length, names: kept.length, oui: Object.keys(oui).length, out }));
if (!existsSync(out)) process.exit(1);
