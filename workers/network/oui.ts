/**
 * MAC addresses: canonical text, the vendor from the IEEE registries (MA-L 24-bit, MA-M 28-bit and MA-S
 * 36-bit assignments, from the oui-data npm package: workers/network/data/oui.ts), and the locally
 * administered bit that phones and laptops set on their per-network random MACs. Pure.
 */
import { OUI } from "./data/oui.ts";

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

let registry: { 6: Map<number, string>; 7: Map<number, string>; 9: Map<number, string> } | null = null;

function load(): NonNullable<typeof registry> {
  if (registry) return registry;
  const r = { 6: new Map<number, string>(), 7: new Map<number, string>(), 9: new Map<number, string>() };
  let prefix = 0;
  for (const line of OUI.split("\n")) {
    const tab = line.indexOf("\t");
    const len = line.charCodeAt(0) - 48 as 6 | 7 | 9;
    prefix += parseInt(line.slice(1, tab), 36);
    // prefix is the assignment padded to 36 bits; the map key is the assignment itself.
    r[len].set(Math.floor(prefix / 16 ** (9 - len)), line.slice(tab + 1));
  }
  registry = r;
  return r;
}

/** The registered organisation of a MAC's prefix (any separator) (the longest assignment wins), or null. Randomized MACs have none. */
export function macVendor(mac: string): string | null {
  if (isRandomizedMac(mac)) return null;
  const r = load();
  const p36 = parseInt(mac.replace(/[-:.]/g, "").slice(0, 9), 16);
  return r[9].get(p36) ?? r[7].get(Math.floor(p36 / 16 ** 2)) ?? r[6].get(Math.floor(p36 / 16 ** 3)) ?? null;
}
