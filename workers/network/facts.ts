/**
 * Network facts: what the NetworkState object learns that is worth a rule — a new device, a device
 * talking to a country or organisation it never used, an upload far above its usual for that hour —
 * and the synthetic events that carry them into rule evaluation (dataset `porchlight.network`), so the
 * default pack's rules stay ordinary, editable rules. Synthetic events are evaluated, never stored.
 * Pure, apart from the baseline arithmetic's state, which the object keeps.
 *
 * Upload baseline (docs/rules.md): per device and hour of day (0-23, UTC), an exponentially weighted
 * mean and variance of the bytes the device sent in that hour (hours with traffic), alpha 0.2 (≈ the
 * last 5-10 days weigh most). The running total of the current hour is an anomaly when that hour of
 * day has BASELINE_MIN_HOURS observations (days with traffic in it), it exceeds mean + 4 standard
 * deviations AND 3× the mean, and it is over UPLOAD_MIN_BYTES (small devices' noise never alerts).
 * One fact per device-hour.
 */
import type { EcsEvent } from "../ecs.ts";
import { eventId } from "../parse/id.ts";

export const BASELINE_ALPHA = 0.2;
export const BASELINE_MIN_HOURS = 5;
export const UPLOAD_MIN_BYTES = 50_000_000;
/** A device's own learning period before new countries or organisations alert, ms (event time). */
export const DESTINATION_LEARNING_MS = 7 * 86_400_000;
/** The inventory window: devices first seen within this time of a router's first line are learned, not new, ms. */
export const INVENTORY_WINDOW_MS = 3_600_000;

export interface FactDevice {
  id: string;
  mac: string | null;
  ip: string | null;
  hostname: string | null;
  vendor: string | null;
}

export type NetworkFact =
  | { kind: "device_new"; ts: number; device: FactDevice }
  | { kind: "new_country"; ts: number; device: FactDevice; country: string; dstIp: string }
  | { kind: "new_org"; ts: number; device: FactDevice; asn: number; org: string | null; dstIp: string }
  | { kind: "upload_anomaly"; ts: number; device: FactDevice; bytes: number; mean: number; sd: number; hour: number };

export interface Baseline {
  n: number;
  mean: number;
  variance: number;
}

/** The baseline after one more hour of `bytes`. */
export function ewma(b: Baseline | undefined, bytes: number): Baseline {
  if (!b || b.n === 0) return { n: 1, mean: bytes, variance: 0 };
  const d = bytes - b.mean;
  const mean = b.mean + BASELINE_ALPHA * d;
  // West's EWMA variance: (1 - a) * (var + a * d^2).
  return { n: b.n + 1, mean, variance: (1 - BASELINE_ALPHA) * (b.variance + BASELINE_ALPHA * d * d) };
}

export function isUploadAnomaly(b: Baseline | undefined, bytes: number): boolean {
  if (!b || b.n < BASELINE_MIN_HOURS || bytes < UPLOAD_MIN_BYTES) return false;
  const sd = Math.sqrt(b.variance);
  return bytes > b.mean + 4 * sd && bytes > 3 * b.mean;
}

/** The synthetic event of fact `f` of router `router`, `i`-th in batch `batchKey`. */
export function factEvent(router: string, batchKey: string, i: number, f: NetworkFact): EcsEvent {
  const d = f.device;
  const source: NonNullable<EcsEvent["source"]> = {};
  if (d.ip) source.ip = d.ip;
  if (d.mac) source.mac = d.mac;
  if (d.hostname) source.domain = d.hostname;
  const fields: Record<string, string | number> = { device_id: d.id, device_vendor: d.vendor ?? "unknown vendor", device_name: d.hostname ?? d.mac ?? d.ip ?? d.id };
  const e: EcsEvent = {
    id: eventId(f.ts, `${batchKey}|net|${router}`, i), "@timestamp": f.ts, received_at: f.ts, raw: "",
    event: { dataset: "porchlight.network", kind: "event", category: ["network"], type: ["info"], action: f.kind },
    host: { hostname: router }, source,
  };
  if (f.kind === "new_country") {
    e.destination = { ip: f.dstIp, geo: { country_iso_code: f.country } };
    e.message = `${fields.device_name} talked to ${f.country} for the first time`;
  } else if (f.kind === "new_org") {
    e.destination = { ip: f.dstIp, as: f.org ? { number: f.asn, organization: { name: f.org } } : { number: f.asn } };
    e.message = `${fields.device_name} talked to AS${f.asn} ${f.org ?? ""} for the first time`.trim();
  } else if (f.kind === "upload_anomaly") {
    source.bytes = f.bytes;
    fields.baseline_bytes = Math.round(f.mean);
    fields.baseline_sd = Math.round(f.sd);
    fields.hour_utc = f.hour;
    e.message = `${fields.device_name} sent ${f.bytes} bytes this hour (usual ${Math.round(f.mean)})`;
  } else {
    e.message = `New device ${fields.device_name} (${fields.device_vendor})`;
  }
  e.porchlight = { fields };
  return e;
}
