/** GeoIP/ASN lookups from the shipped open data, and MAC vendors and the randomized-MAC flag. */
import { beforeAll, describe, expect, it } from "vitest";
import { loadIpTables, lookupIp as lookupIn, type IpTables } from "../../workers/network/geoip.ts";
import { canonicalMac, isRandomizedMac, loadOuiTable, macVendor as vendorIn } from "../../workers/network/oui.ts";
import type { Table } from "../../workers/network/tables.ts";
import { diskTables } from "../network-tables.ts";

let ipTables: IpTables, oui: Table;
beforeAll(async () => {
  [ipTables, oui] = await Promise.all([loadIpTables(diskTables, [4, 6]), loadOuiTable(diskTables)]);
});
const lookupIp = (ip: string) => lookupIn(ipTables, ip);
const macVendor = (mac: string) => vendorIn(oui, mac);

describe("lookupIp", () => {
  it("knows well-known public addresses", () => {
    expect(lookupIp("8.8.8.8")).toEqual({ country: "US", asn: 15169, org: "Google LLC" });
    expect(lookupIp("1.1.1.1")).toMatchObject({ asn: 13335, org: "Cloudflare, Inc." });
    expect(lookupIp("140.82.112.3")).toMatchObject({ country: "US", asn: 36459 });
    expect(lookupIp("2001:4860:4860::8888")).toMatchObject({ country: "US", asn: 15169 });
    expect(lookupIp("::ffff:8.8.4.4")).toMatchObject({ country: "US", asn: 15169 });
  });
  it("invents nothing for private, reserved or malformed addresses", () => {
    for (const ip of ["192.168.1.10", "10.0.0.1", "172.16.5.4", "fd00::1", "fe80::1", "not-an-ip", "0.0.0.0", "203.0.113.5", "198.51.100.7", "192.0.2.1", "2001:db8::1", "239.255.255.250"]) {
      expect(lookupIp(ip), ip).toEqual({});
    }
    expect(lookupIp("192.168.1.10")).toEqual({});
  });
});

describe("MACs", () => {
  it("canonicalizes colon, dash and dotted forms", () => {
    expect(canonicalMac("B8-27-EB-01-02-03")).toBe("B8-27-EB-01-02-03");
    expect(canonicalMac("b827.eb01.0203")).toBe("B8-27-EB-01-02-03");
    expect(canonicalMac("0:1b:63:a:b:c")).toBe("00-1B-63-0A-0B-0C");
    expect(canonicalMac("ff:ff:ff:ff:ff:ff")).toBeNull();
    expect(canonicalMac("b8:27:eb:01:02")).toBeNull();
  });
  it("finds the vendor of the longest registered prefix", () => {
    expect(macVendor("b8:27:eb:12:34:56")).toBe("Raspberry Pi Foundation");
    expect(macVendor("00:1b:63:12:34:56")).toBe("Apple, Inc.");
    // 70:B3:D5 is an MA-L block the IEEE split into MA-S assignments.
    expect(macVendor("70:b3:d5:00:10:00")).toBe("SOREDI touch systems GmbH");
    expect(macVendor("70:b3:d5:ff:f0:00")).not.toBeNull();
  });
  it("flags locally administered (randomized) MACs and gives them no vendor", () => {
    expect(isRandomizedMac("da:a1:19:12:34:56")).toBe(true);
    expect(isRandomizedMac("b8:27:eb:12:34:56")).toBe(false);
    expect(macVendor("da:a1:19:12:34:56")).toBeNull();
  });
});
