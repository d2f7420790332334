/**
 * `npm run network:data`: rebuilds the GeoIP, ASN and OUI tables of network visibility from three npm
 * packages of open data:
 *   - @ip-location-db/geo-whois-asn-country (CC0-1.0): IP range -> country,
 *   - @ip-location-db/asn (CC BY 4.0, RouteViews and DB-IP: credited in docs/network.md): IP range -> AS,
 *   - oui-data (BSD-2-Clause, the IEEE MA-L/MA-M/MA-S registries as JSON): MAC prefix -> vendor.
 * Output: binary tables (workers/network/tables.ts describes the layout) in web/public/data/network,
 * served as static assets and loaded by the Worker at run time (they are not part of its script), and
 * workers/network/data/manifest.ts naming them. Both are committed: tests, `npm start` and a deploy
 * need no registry. File names carry a hash of their content, so the assets can be cached for good.
 * The packages are fetched with `npm pack` (never at run time) unless `--from DIR` names a directory
 * holding the three .tgz files; `--pin` packs the versions manifest.ts names (a rebuild that must not
 * change the data), otherwise the latest. `--names N` keeps AS names for the N ASNs announcing the most
 * address space, default 10000.
 *
 * Granularity (kept from when the tables were part of the bundle, so lookups are unchanged): adjacent
 * ranges with the same value are merged, gaps become value 0 ("unknown"); starts are kept at routing
 * granularity: IPv6 by /48 (the longest prefix the global table carries) and IPv4 ASN ranges by /24
 * (same reason; countries stay exact); a range narrower than that takes the value of the last range
 * starting in its block. Keys are the starts (`shift` low bits dropped); values a country index into
 * the table's labels, or the AS number itself. OUI keys are the prefix padded to 36 bits, times 16,
 * plus the prefix length in hex digits (6, 7 or 9), so that one sorted table holds all three registries.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WORKERS_ASSET_MAX_FILE_BYTES } from "../workers/constants.ts";
import { encodeTable, type TableInput } from "../workers/network/tables.ts";

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const namesKept = Number(opt("--names") ?? 10000);
const out = new URL("../web/public/data/network/", import.meta.url).pathname;
const manifestFile = new URL("../workers/network/data/manifest.ts", import.meta.url).pathname;
const PACKAGES = ["@ip-location-db/geo-whois-asn-country", "@ip-location-db/asn", "oui-data"];

const work = mkdtempSync(join(tmpdir(), "porchlight-netdata-"));
const from = opt("--from");
const versions: string[] = [];
const pinned = args.includes("--pin") ? (await import("../workers/network/data/manifest.ts")).NETWORK_DATA.sources : null;
for (const pkg of PACKAGES) {
  const base = pkg.replace(/^@/, "").replace("/", "-");
  let tgz = from ? readdirSync(from).find((f) => f.startsWith(`${base}-`) && f.endsWith(".tgz")) : undefined;
  let dir = from ?? work;
  if (!tgz) {
    const spec = pinned?.find((v) => v.startsWith(`${pkg}@`)) ?? pkg;
    execFileSync("npm", ["pack", spec, "--silent", "--pack-destination", work], { stdio: ["ignore", "pipe", "inherit"] });
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

// --- Tables

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
function compact(rows: Range[], shift: bigint): { starts: number[]; values: string[] } {
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
  // Every start is < 2^53: IPv4, or the top 48 bits of IPv6.
  return { starts: starts.map(Number), values };
}

/** Labels deduplicated in order of first use; label 0 is "" (unknown), a real empty label gets its own index. */
function labeller(): { labels: string[]; index: (v: string) => number } {
  const labels = [""], at = new Map<string, number>();
  return {
    labels,
    index: (v) => {
      let i = at.get(v);
      if (i === undefined) at.set(v, (i = labels.push(v) - 1));
      return i;
    },
  };
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const files: Record<string, string> = {};
const sizes: Record<string, number> = {};
function write(name: string, t: TableInput): void {
  const bytes = encodeTable(t);
  if (bytes.length > WORKERS_ASSET_MAX_FILE_BYTES) throw new Error(`${name}: ${bytes.length} bytes, over the static asset limit of ${WORKERS_ASSET_MAX_FILE_BYTES}`);
  const file = `${name}.${createHash("sha256").update(bytes).digest("hex").slice(0, 12)}.bin`;
  writeFileSync(join(out, file), bytes);
  files[name] = file;
  sizes[name] = bytes.length;
}

// --- Countries: gaps are index 0 (""), as in the old single country list, so both families share it.

const countries = labeller();
const gap = (v: string): number => (v === "" ? 0 : countries.index(v));
const geo4 = compact(readRanges(join(geoDir, "geo-whois-asn-country-ipv4-num.csv")), 0n);
const geo6 = compact(readRanges(join(geoDir, "geo-whois-asn-country-ipv6-num.csv")), 80n);
const geo4Values = geo4.values.map(gap), geo6Values = geo6.values.map(gap);
write("geo-v4", { shift: 0, keys: geo4.starts, values: geo4Values, labels: countries.labels });
write("geo-v6", { shift: 80, keys: geo6.starts, values: geo6Values, labels: countries.labels });

// --- ASNs

const asn4 = compact(readRanges(join(asnDir, "asn-ipv4-num.csv")), 8n);
const asn6 = compact(readRanges(join(asnDir, "asn-ipv6-num.csv")), 80n);
const asnNumber = (v: string): number => (v === "" ? 0 : Number(v));
write("asn-v4", { shift: 8, keys: asn4.starts, values: asn4.values.map(asnNumber) });
write("asn-v6", { shift: 80, keys: asn6.starts, values: asn6.values.map(asnNumber) });

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
const orgs = labeller();
write("asn-names", { shift: 0, keys: kept, values: kept.map((a) => orgs.index(names.get(a)!)), labels: orgs.labels });

// --- OUI

const oui = JSON.parse(readFileSync(join(ouiDir, "index.json"), "utf8")) as Record<string, string>;
const vendors = labeller();
const ouiRows = Object.keys(oui)
  .map((k) => ({ key: parseInt(k.padEnd(9, "0"), 16) * 16 + k.length, vendor: String(oui[k]).split("\n")[0]!.replace(/\t/g, " ").trim() }))
  .sort((x, y) => x.key - y.key);
write("oui", { shift: 0, keys: ouiRows.map((r) => r.key), values: ouiRows.map((r) => vendors.index(r.vendor)), labels: vendors.labels });

// --- Attribution, next to the tables that are served publicly (CC BY 4.0 asks for it where the data is shared)

writeFileSync(join(out, "../NOTICE.txt"), `Porchlight's network lookup tables (/data/network/*.bin) are built from open data:
- IP to country: ${versions[0]}, CC0-1.0 (https://github.com/sapics/ip-location-db).
- IP to AS number and organisation: ${versions[1]}, CC BY 4.0: RouteViews (https://www.routeviews.org/)
  and IP to ASN Lite by DB-IP (https://db-ip.com): "IP Geolocation by DB-IP".
- MAC prefix to vendor: ${versions[2]}, BSD-2-Clause; registry data from the IEEE (MA-L, MA-M, MA-S).
Format: workers/network/tables.ts in the Porchlight repository.
`);

// --- Manifest (the only part in the Worker's bundle)

writeFileSync(manifestFile, `// Generated by scripts/network-data.ts. Do not edit. The tables are in web/public/data/network (static assets).
// Sources: ${versions[0]} (CC0-1.0); ${versions[1]} (CC BY 4.0: RouteViews, DB-IP.com; credited in docs/network.md);
// ${versions[2]} (BSD-2-Clause; IEEE MA-L, MA-M, MA-S registries).
export const NETWORK_DATA = ${JSON.stringify({ sources: versions, files, bytes: sizes }, null, 2)} as const;
`);

console.log(JSON.stringify({ versions, geo4: geo4.starts.length, geo6: geo6.starts.length, asn4: asn4.starts.length, asn6: asn6.starts.length, names: kept.length, oui: ouiRows.length, vendors: vendors.labels.length, sizes, out }));
