/**
 * Device names on the command line: `--shost NAME`, `--dhost NAME`, `sessions --device NAME` and the
 * device commands accept a device's id, the user's name for it or its DHCP hostname, resolved through
 * `GET /v1/devices`. The matching is pure (unit-tested); only `resolveHostOptions` does I/O.
 */
import { ApiError } from "./errors.js";
import { UsageError } from "./errors.js";
import { note } from "./output.js";
import { isIpOrCidr } from "./query-options.js";

/**
 * @typedef {{ id: string, name?: string | null, hostname?: string | null, ips?: string[], online?: boolean, tags?: string[] }} Device
 */

/**
 * The devices a word names: the one whose id it is, else every device whose name, else whose
 * hostname, equals it (case-insensitively). Names win over hostnames: the user chose them.
 * @param {readonly Device[]} devices @param {string} word @returns {Device[]}
 */
export function matchDevices(devices, word) {
  const byId = devices.filter((d) => d.id === word);
  if (byId.length) return byId;
  const w = word.toLowerCase();
  const byName = devices.filter((d) => typeof d.name === "string" && d.name.toLowerCase() === w);
  if (byName.length) return byName;
  return devices.filter((d) => typeof d.hostname === "string" && d.hostname.toLowerCase() === w);
}

/**
 * The values of one host option with device names replaced by the devices' addresses.
 * `unresolved` are the names no device (with an address) matched; `used` says what each name became.
 * @param {readonly string[]} values @param {readonly Device[]} devices
 * @returns {{ values: string[], unresolved: string[], used: { word: string, devices: Device[], ips: string[] }[] }}
 */
export function resolveHostValues(values, devices) {
  /** @type {string[]} */
  const out = [];
  /** @type {string[]} */
  const unresolved = [];
  /** @type {{ word: string, devices: Device[], ips: string[] }[]} */
  const used = [];
  for (const v of values) {
    if (isIpOrCidr(v)) {
      out.push(v);
      continue;
    }
    const found = matchDevices(devices, v).filter((d) => d.ips?.length);
    if (!found.length) {
      out.push(v);
      unresolved.push(v);
      continue;
    }
    const ips = [...new Set(found.flatMap((d) => d.ips ?? []))];
    out.push(...ips);
    used.push({ word: v, devices: found, ips });
  }
  return { values: out, unresolved, used };
}

/** "d-b827eb123456 (Kitchen Pi)" @param {Device} d */
export const deviceLabel = (d) => (d.name || d.hostname ? `${d.id} (${d.name || d.hostname})` : d.id);

/**
 * The inventory, or null when the server has no devices API (an older server: 404).
 * @param {import("./client.js").Client} client @returns {Promise<Device[] | null>}
 */
export async function fetchDevices(client) {
  try {
    return (await client.get("/v1/devices")).devices;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/**
 * `--shost/--rshost/--dhost/--rdhost` names that are not addresses: resolved to the devices' addresses
 * (said on stderr); a source name no device matches stays a `host.hostname` filter (said too); a
 * destination name must be a device (the events API has no destination host name).
 * Rewrites `opts` in place. @param {import("./client.js").Client} client @param {Record<string, any>} opts
 */
export async function resolveHostOptions(client, opts) {
  const keys = ["shost", "rshost", "dhost", "rdhost"].filter((k) => opts[k]?.some((/** @type {string} */ v) => !isIpOrCidr(v)));
  if (!keys.length) return;
  const devices = (await fetchDevices(client)) ?? [];
  for (const k of keys) {
    const r = resolveHostValues(opts[k], devices);
    for (const u of r.used) note(`porchlight: --${k} ${u.word}: device ${u.devices.map(deviceLabel).join(", ")}: ${u.ips.join(", ")}`);
    if (r.unresolved.length && k.endsWith("dhost")) throw new UsageError(`--${k} '${r.unresolved[0]}': not an IP address, CIDR or known device (id, name or hostname)`);
    for (const w of r.unresolved) note(`porchlight: --${k} ${w}: no device of that name; filtering the logging host (host.hostname)`);
    opts[k] = r.values;
  }
}

/**
 * One device by id, name or hostname (exactly one, else a clear error): what the device commands take.
 * @param {import("./client.js").Client} client @param {string} word @returns {Promise<Device>}
 */
export async function findDevice(client, word) {
  const devices = (await fetchDevices(client)) ?? [];
  const found = matchDevices(devices, word);
  if (found.length === 1 && found[0]) return found[0];
  if (!found.length) throw new ApiError(404, "not_found", `No device with id, name or hostname '${word}'`);
  throw new UsageError(`'${word}' names ${found.length} devices (${found.map(deviceLabel).join(", ")}): give the id`);
}
