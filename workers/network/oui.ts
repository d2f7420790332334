/**
 * MAC addresses: canonical text, the vendor from the IEEE registries (MA-L 24-bit, MA-M 28-bit and MA-S
 * 36-bit assignments, from the oui-data npm package, in the `oui` table of workers/network/tables.ts),
 * and the locally administered bit that phones and laptops set on their per-network random MACs. Pure
 * but for `loadOuiTable`.
 */
import { NETWORK_DATA } from "./data/manifest.ts";
import { exactValue, label, loadTable, type Table, type TableSource } from "./tables.ts";

const MAC_RE = /^([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})$/i;
const DOTTED_RE = /^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$/i;

/**
 * The ECS form "AA-BB-CC-DD-EE-FF" (what parsers put in source.mac) of a MAC in colon, dash or Cisco-dot
 * form; null otherwise, and for the all-zero and broadcast addresses (no device has them).
 */
export function canonicalMac(s: string): string | null {
  let hex: string;
  const m = MAC_RE.exec(s);
  if (m) hex = m.slice(1, 7).map((p) => p.padStart(2, "0")).join("");
  else {
    const d = DOTTED_RE.exec(s);
    if (!d) return null;
    hex = d[1]! + d[2]! + d[3]!;
  }
  hex = hex.toUpperCase();
  if (hex === "000000000000" || hex === "FFFFFFFFFFFF") return null;
  return hex.replace(/(..)(?!$)/g, "$1-");
}

/**
 * True when the MAC's locally administered bit (bit 1 of the first octet) is set: not a burnt-in
 * address from a vendor's OUI but one chosen by software (Android/iOS/Windows private addresses).
 */
export function isRandomizedMac(mac: string): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 2) !== 0;
}

/** The vendor registry (loaded once per isolate, see tables.ts). */
export function loadOuiTable(src: TableSource): Promise<Table> {
  return loadTable(src, NETWORK_DATA.files.oui);
}

/** A MAC's vendor, or null: what device inventory code takes, so it stays free of I/O. */
export type VendorOf = (mac: string) => string | null;

/**
 * The registered organisation of a MAC's prefix (any separator) (the longest assignment wins), or null.
 * Randomized MACs have none. Keys: the prefix padded to 36 bits, times 16, plus its length in hex
 * digits (scripts/network-data.ts).
 */
export function macVendor(oui: Table, mac: string): string | null {
  if (isRandomizedMac(mac)) return null;
  const p36 = parseInt(mac.replace(/[-:.]/g, "").slice(0, 9), 16);
  if (!Number.isFinite(p36)) return null;
  const v = exactValue(oui, p36 * 16 + 9) || exactValue(oui, (p36 - (p36 % 256)) * 16 + 7) || exactValue(oui, (p36 - (p36 % 4096)) * 16 + 6);
  return v ? label(oui, v)! : null;
}
