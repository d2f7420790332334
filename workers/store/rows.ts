/**
 * Row mapping: a normalized event → its events row (the typed index columns, the IP keys, the compacted
 * document), and a stored row → the API event.
 */
import { renderTimes, type EcsEvent } from "../ecs.ts";
import { ipKey, parseIPv4 } from "../parse/ip.ts";
import { expandDoc } from "./doc.ts";
import { isSearchTimeDoc, searchTimeDoc, searchTimeEvent, writeIndexColumns } from "./search-time.ts";
import type { ApiEvent, EventRow } from "./types.ts";

/**
 * ipKey of the addresses of a batch. IPv4 (most addresses at home) is computed in place: the dotted
 * quad's 8 hex digits written after the fixed IPv4-mapped prefix. That is cheaper in workerd
 * than a Map lookup keyed by each line's fresh substring (its hash is computed anew every time). IPv6
 * goes through ipKey, memoized per isolate (bounded).
 */
const ipKeys = new Map<string, string | null>();
const IP_KEYS_MAX = 4096;

/** ipKey of every IPv4 address starts so (IPv4-mapped IPv6); the wire carries only the last 8 digits. */
export const V4_KEY_PREFIX = "00000000000000000000ffff";

const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
const keyCodes: number[] = Array.from(V4_KEY_PREFIX + "00000000", (c) => c.charCodeAt(0));

/**
 * The key of an IPv4 address as uint32: its 8 hex digits (unsigned shifts: no double arithmetic) after
 * V4_KEY_PREFIX, as one flat string, so keyOnWire's slice of it is a plain copy (a concatenated key
 * would be a rope, flattened again for every row).
 */
function v4Key(v: number): string {
  const c = keyCodes;
  for (let i = 31; i >= 24; i--, v >>>= 4) c[i] = HEX_CODES[v & 15]!;
  // Spelled out: a fixed-arity call is about twice as fast as a spread.
  return String.fromCharCode(c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!, c[8]!, c[9]!, c[10]!, c[11]!, c[12]!, c[13]!, c[14]!, c[15]!,
    c[16]!, c[17]!, c[18]!, c[19]!, c[20]!, c[21]!, c[22]!, c[23]!, c[24]!, c[25]!, c[26]!, c[27]!, c[28]!, c[29]!, c[30]!, c[31]!);
}

function cachedIpKey(ip: string): string | null {
  if (ip.indexOf(":") < 0) {
    const v = parseIPv4(ip);
    return v < 0 ? null : v4Key(v);
  }
  let k = ipKeys.get(ip);
  if (k === undefined) {
    if (ipKeys.size >= IP_KEYS_MAX) ipKeys.clear();
    k = ipKey(ip);
    ipKeys.set(ip, k);
  }
  return k;
}

/** Maps a normalized event to its row: the typed columns are copies, `doc` the compacted rest. */
export function eventRow(e: EcsEvent): EventRow {
  const tsMs = e["@timestamp"], recMs = e.received_at;
  const message = e.message;
  // One literal with every key (one object shape for all rows), then the index columns in place.
  const row: EventRow = {
    id: e.id,
    ts: Number.isFinite(tsMs) ? tsMs : 0,
    received_at: Number.isFinite(recMs) ? recMs : 0,
    host: null, program: null, dataset: "unparsed", src_ip: null, dst_ip: null, src_ip_key: null, dst_ip_key: null,
    src_port: null, dst_port: null, protocol: null, user: null, action: null, outcome: null, severity: null, class_bits: null,
    message: typeof message === "string" ? message : null,
    raw: e.raw,
    doc: searchTimeDoc(e) as Record<string, unknown>,
  };
  writeIndexColumns(e, row);
  if (row.src_ip !== null) row.src_ip_key = cachedIpKey(row.src_ip);
  if (row.dst_ip !== null) row.dst_ip_key = cachedIpKey(row.dst_ip);
  return row;
}

/**
 * The event a stored row stands for (the one it was made from): envelope first (times in ms), then the
 * ECS document (search-time fields derived from `raw` again; a 0.1 document expanded), `raw` last.
 */
export function eventOfRow(r: EventRow): EcsEvent {
  return (isSearchTimeDoc(r.doc) ? searchTimeEvent(r) : expandDoc(r)) as unknown as EcsEvent;
}

/** The API shape of a stored row: eventOfRow with its times as RFC 3339 text. Every read of events for the API goes through here. */
export function apiEvent(r: EventRow): ApiEvent {
  return renderTimes(eventOfRow(r)) as unknown as ApiEvent;
}
