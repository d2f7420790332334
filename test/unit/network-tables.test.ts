/**
 * The binary network tables (workers/network/tables.ts): the lookups answer exactly what the old
 * in-bundle tables answered (a sample of 11,492 addresses and 6,000 MACs recorded from them, range
 * boundaries included), the file format round-trips, the manifest names the files that exist by the
 * hash of their content, and the per-isolate cache keeps a loaded file until it is idle.
 */
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { NETWORK_DATA } from "../../workers/network/data/manifest.ts";
import { familiesOf, loadIpTables, lookupIp, type IpInfo, type IpTables } from "../../workers/network/geoip.ts";
import { loadOuiTable, macVendor } from "../../workers/network/oui.ts";
import { cachedTables, encodeTable, exactValue, forgetTables, label, loadTable, parseTable, rangeValue, TABLE_IDLE_MS, type Table } from "../../workers/network/tables.ts";
import { diskTables, TABLES_DIR } from "../network-tables.ts";

/**
 * Recorded from the tables as they were compiled into the bundle (commit 5202f7f, the same package
 * versions as manifest.ts): "ip\tcountry\tasn\torg" lines, then "mac\tvendor" lines (NUL for none).
 */
const GOLDEN = resolve(import.meta.dirname, "../fixtures/network-lookups.tsv.gz");

describe("lookups against the old in-bundle tables", () => {
  let ip: IpTables, oui: Table;
  beforeAll(async () => {
    [ip, oui] = await Promise.all([loadIpTables(diskTables, [4, 6]), loadOuiTable(diskTables)]);
  });
  const lines = gunzipSync(readFileSync(GOLDEN)).toString("utf8").split("\n").filter(Boolean);
  const macAt = lines.findIndex((l) => l.startsWith("# mac"));

  it("gives every recorded address the same country, AS number and organisation", () => {
    const rows = lines.slice(1, macAt).map((l) => l.split("\t"));
    expect(rows.length).toBeGreaterThan(10_000);
    let withCountry = 0, v6 = 0;
    for (const [addr, country, asn, org] of rows) {
      const want: IpInfo = {};
      if (country) want.country = country;
      if (asn) want.asn = Number(asn);
      if (org) want.org = org;
      expect(lookupIp(ip, addr!), addr).toEqual(want);
      if (country) withCountry++;
      if (addr!.includes(":")) v6++;
    }
    // The sample is not mostly empty answers, and covers both families.
    expect(withCountry).toBeGreaterThan(rows.length / 2);
    expect(v6).toBeGreaterThan(2000);
  });

  it("gives every recorded MAC the same vendor", () => {
    const rows = lines.slice(macAt + 1).map((l) => l.split("\t"));
    expect(rows.length).toBe(6000);
    let known = 0;
    for (const [mac, vendor] of rows) {
      expect(macVendor(oui, mac!), mac).toBe(vendor === "\u0000" ? null : vendor);
      if (vendor !== "\u0000") known++;
    }
    expect(known).toBeGreaterThan(2500);
  });
});

describe("lookupIp and its tables", () => {
  it("loads only the families asked for, and refuses a lookup in one not loaded", async () => {
    expect([...familiesOf(["8.8.8.8", "10.0.0.1", "::ffff:1.1.1.1"])]).toEqual([4]);
    expect([...familiesOf(["fd00::1", "192.168.1.1", "2001:db8::1"])]).toEqual([]);
    expect([...familiesOf(["2a00:1450::1", "8.8.8.8"])].sort()).toEqual([4, 6]);
    const v4 = await loadIpTables(diskTables, familiesOf(["8.8.8.8"]));
    expect(v4.v6).toBeNull();
    expect(lookupIp(v4, "8.8.8.8")).toEqual({ country: "US", asn: 15169, org: "Google LLC" });
    expect(lookupIp(v4, "fd00::1")).toEqual({});
    expect(() => lookupIp(v4, "2001:4860:4860::8888")).toThrow(/IPv6 tables were not loaded/);
  });
});

describe("file format", () => {
  it("round-trips, and range and exact lookups agree with a linear scan", () => {
    const table = fc.uniqueArray(fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })), { maxLength: 60 })
      .chain((keys) => fc.tuple(fc.constant(keys.sort((a, b) => a - b)), fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { minLength: keys.length, maxLength: keys.length }), fc.array(fc.string(), { maxLength: 5 })));
    fc.assert(fc.property(table, fc.array(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { maxLength: 20 }), ([keys, values, extra], probes) => {
      const labels = ["", ...extra];
      const bytes = encodeTable({ shift: 8, keys, values, labels });
      const t = parseTable(bytes.buffer);
      expect(t.shift).toBe(8);
      expect([...t.keys]).toEqual(keys);
      expect([...t.values]).toEqual(values);
      labels.forEach((l, i) => expect(label(t, i)).toBe(l));
      expect(label(t, labels.length)).toBeUndefined();
      for (const k of [...probes, ...keys, ...keys.map((x) => x - 1), ...keys.map((x) => x + 1)]) {
        let range = 0;
        keys.forEach((x, i) => { if (x <= k) range = values[i]!; });
        expect(rangeValue(t, k)).toBe(range);
        const i = keys.indexOf(k);
        expect(exactValue(t, k)).toBe(i < 0 ? 0 : values[i]);
      }
    }), { numRuns: 300 });
  });

  it("rejects what is not a table", () => {
    expect(() => parseTable(new TextEncoder().encode("<!doctype html><html></html>              ").buffer)).toThrow(/not a PLT1 table/);
    const good = encodeTable({ shift: 0, keys: [1, 2], values: [3, 4] });
    expect(() => parseTable(good.buffer.slice(0, good.length - 1))).toThrow();
    expect(() => encodeTable({ shift: 0, keys: [2, 1], values: [3, 4] })).toThrow(/ascending/);
  });
});

describe("manifest", () => {
  it("names exactly the files in web/public/data/network, each by the hash of its content", () => {
    const files = Object.values(NETWORK_DATA.files);
    expect(readdirSync(TABLES_DIR).sort()).toEqual([...files].sort());
    for (const [name, file] of Object.entries(NETWORK_DATA.files)) {
      const bytes = readFileSync(resolve(TABLES_DIR, file));
      expect(file).toBe(`${name}.${createHash("sha256").update(bytes).digest("hex").slice(0, 12)}.bin`);
      expect(bytes.length).toBe(NETWORK_DATA.bytes[name as keyof typeof NETWORK_DATA.bytes]);
    }
  });
});

describe("per-isolate cache", () => {
  afterEach(() => forgetTables());
  const file = NETWORK_DATA.files["asn-names"];

  it("fetches a table once, retries after a failure, drops an idle table", async () => {
    forgetTables();
    let fetches = 0, fail = true;
    const src = async (f: string) => {
      fetches++;
      if (fail) throw new Error("unreachable");
      return diskTables(f);
    };
    await expect(loadTable(src, file, 0)).rejects.toThrow("unreachable");
    expect(cachedTables()).toEqual([]);
    fail = false;
    const a = await loadTable(src, file, 1);
    expect(await loadTable(src, file, 2)).toBe(a);
    expect(fetches).toBe(2);
    // Used within the idle time: kept, and its idle clock restarts.
    expect(await loadTable(src, file, 2 + TABLE_IDLE_MS)).toBe(a);
    expect(fetches).toBe(2);
    expect(await loadTable(src, file, 3 + 2 * TABLE_IDLE_MS)).not.toBe(a);
    expect(fetches).toBe(3);
  });
});
