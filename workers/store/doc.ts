/**
 * Compacted stored documents of 0.1 builds. Those builds stored each event's whole ECS document in
 * `doc`, minus what the row's typed columns (or the rest of the doc) restore exactly; `expandDoc` still
 * reads such rows. New rows store only what re-parsing `raw` cannot restore (search-time.ts), so
 * `compactDoc` no longer runs on ingest: it stays as the definition of the format, and the tests use it
 * to write 0.1 rows and check that they read back exactly.
 *
 * Invariants:
 * - expandDoc(row with doc = compactDoc(e, row)) deep-equals e (key order aside) for every event;
 *   test/unit/doc-roundtrip.test.ts checks it over the corpora, bench/corpus.ts and arbitrary lines.
 * - A field is dropped only when it equals what restoring puts back (a column value, a name from the
 *   syslog tables, a value derived from the kept fields), and every dropped field sets a bit in the
 *   doc's `~` key, so restoring never invents a field the event did not have.
 * - A doc without `~` (stored before compaction) reads back unchanged; restored fields never overwrite
 *   fields present in the stored doc.
 * - `~sm` / `~dm` (numbers) stand for source.mac / destination.mac printed in `raw` at that offset.
 * - `~in` (a string) stands for the whole `observer` when that is just {ingress: {interface: {name}}}.
 * - `log.syslog.facility` / `.severity` kept as a bare code number stand for {code, name} with the
 *   standard name (a stored object is returned as is).
 * - `~` = flags + 2^24 × (facility code + 1 + 32 × (transport index + 1) + 256 × (class index + 1)):
 *   the facility code (when standard), `porchlight.transport` and the pair event.category/event.type
 *   (when it is one of CLASSES) ride in the same number instead of nested objects of their own (≈65 and
 *   ≈50 characters per event); 0 in a part means "not packed". A doc stored before the class part
 *   existed has none (its number is below 2^32).
 */
import type { EcsEvent } from "../ecs.ts";
import { FACILITY_NAMES, SEVERITY_NAMES } from "../parse/names.ts";
import type { EventRow } from "./store.ts";

/** The typed columns of a row (everything but `doc`). */
export type RowColumns = Omit<EventRow, "doc">;

type Obj = Record<string, unknown>;

/** The doc key holding the bit set of dropped fields. ECS has no field set of that name. */
export const COMPACT_KEY = "~";
/**
 * The doc key standing for `observer: {ingress: {interface: {name}}}` when that is the whole observer
 * (firewall, DHCP and Wi-Fi events): the name alone, without three nested objects (≈40 characters).
 */
const INGRESS_KEY = "~in";
/**
 * Doc keys standing for `source.mac` / `destination.mac`: the offset (UTF-16 units) in `raw` of the
 * 17 characters the MAC was printed as ("aa:bb:cc:dd:ee:ff"); restoring upper-cases them and turns
 * ":" into "-" (ECS notation). A firewall line prints both MACs, a DHCP or Wi-Fi line the station's.
 */
const SRC_MAC_KEY = "~sm";
const DST_MAC_KEY = "~dm";

// One bit per droppable field. Stored in D1: never renumber, only add.
const EV_DATASET = 1 << 0; // event.dataset = dataset column
const EV_KIND = 1 << 1; // event.kind = "event"
const EV_SEVERITY = 1 << 2; // event.severity = severity column
const EV_ACTION = 1 << 3; // event.action = action column
const EV_OUTCOME = 1 << 4; // event.outcome = outcome column
const SL_PRIORITY = 1 << 5; // log.syslog.priority = facility.code * 8 + severity.code
const SL_SEVERITY = 1 << 6; // log.syslog.severity = {code: severity column, name}
const SL_HOSTNAME = 1 << 7; // log.syslog.hostname = host column
const SL_APPNAME = 1 << 8; // log.syslog.appname = program column
const SL_PROCID = 1 << 9; // log.syslog.procid = String(process.pid)
const HOST_NAME = 1 << 10; // host.hostname = host column
const PROC_NAME = 1 << 11; // process.name = program column
const SRC_IP = 1 << 12; // source.ip = src_ip column
const SRC_PORT = 1 << 13; // source.port = src_port column
const SRC_ADDR = 1 << 14; // source.address = src_ip column
const DST_IP = 1 << 15;
const DST_PORT = 1 << 16;
const DST_ADDR = 1 << 17;
const NET_TRANSPORT = 1 << 18; // network.transport = protocol column
const NET_PROTOCOL = 1 << 19; // network.protocol = protocol column
const USER_NAME = 1 << 20; // user.name = user column
const REL_IP = 1 << 21; // related.ip = [src_ip, dst_ip unless equal], nulls left out
const REL_USER = 1 << 22; // related.user = [user, user.target.name unless equal], nulls left out
const NET_TYPE = 1 << 23; // network.type = "ipv6" when src_ip (else dst_ip) has a ":", else "ipv4"

/** Flag bits below, packed values above (arithmetic, not bitwise: the number exceeds 2^31). */
const PACK = 2 ** 24;
/** Facility codes that fit the 5-bit packed field (code + 1 ≤ 31). */
const MAX_PACKED_FACILITY = 30;
/** `porchlight.transport` values (ecs.ts), by packed index. Never reorder, only append. */
const TRANSPORTS = ["udp", "tcp", "tls", "file", "stdin", "http", "relp"] as const;
/** The transport part is 3 bits (index + 1 ≤ 7). */
const TRANSPORT_SLOTS = 8;

/**
 * The event.category / event.type pairs the program parsers set most, by packed index: the pair is
 * dropped from the doc only when both arrays equal an entry exactly, so a parser that changes its
 * classification only loses the compaction, never the data. Stored in D1: never reorder or edit an
 * entry, only append (the packed part has room for 2^21 entries).
 *
 * SQL reads two of these fields straight from the stored doc (workers/routes/stats.ts: category LIKE
 * '%authentication%', type LIKE '%denied%'), so no entry may have "authentication" in its category or
 * "denied" in its type: such pairs stay in the doc (test/unit/doc-roundtrip.test.ts checks it).
 */
export const CLASSES: readonly (readonly [category: readonly string[], type: readonly string[]])[] = [
  [["network"], ["protocol"]],
  [["network"], ["protocol", "allowed"]],
  [["network"], ["connection"]],
  [["network"], ["connection", "allowed"]],
  [["network"], ["connection", "start"]],
  [["network"], ["connection", "end"]],
  [["network"], ["start"]],
  [["network"], ["end"]],
  [["network"], ["info"]],
  [["session"], ["start"]],
  [["session"], ["end"]],
  [["process"], ["start"]],
  [["process"], ["end"]],
  [["process"], ["info"]],
  [["process", "iam"], ["start"]],
];

const facilityName = (code: number): string => FACILITY_NAMES[code] ?? String(code);
const severityName = (code: number): string => SEVERITY_NAMES[code] ?? String(code);

/** The code of a {code, name} pair with the standard name and no other key, else -1. */
function standardPair(v: unknown, name: (code: number) => string): number {
  if (v === null || typeof v !== "object") return -1;
  const p = v as { code?: unknown; name?: unknown };
  const code = p.code;
  if (typeof code !== "number" || !Number.isInteger(code) || code < 0 || p.name !== name(code)) return -1;
  for (const k in p) if (k !== "code" && k !== "name") return -1;
  return code;
}

function derivedRelatedIp(c: RowColumns): string[] {
  const out: string[] = [];
  if (c.src_ip !== null) out.push(c.src_ip);
  if (c.dst_ip !== null && c.dst_ip !== c.src_ip) out.push(c.dst_ip);
  return out;
}

function derivedRelatedUser(c: RowColumns, target: unknown): string[] {
  const out: string[] = [];
  if (c.user !== null) out.push(c.user);
  if (typeof target === "string" && target !== "" && target !== c.user) out.push(target);
  return out;
}

/** Index in CLASSES of the pair (category, type), or -1. */
function classIndex(category: unknown, type: unknown): number {
  if (!Array.isArray(category) || !Array.isArray(type)) return -1;
  for (let i = 0; i < CLASSES.length; i++) {
    const [c, t] = CLASSES[i]!;
    if (equalStrings(category, c) && equalStrings(type, t)) return i;
  }
  return -1;
}

function equalStrings(a: unknown[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameStrings(a: unknown, b: string[]): boolean {
  if (!Array.isArray(a) || a.length !== b.length || b.length === 0) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// --- Compaction: the 0.1 builds' writer. Nothing writes these documents any more (rows.ts stores
// search-time docs); the reader below must still read them, and the tests make 0.1 rows with this.

/** What one compactDoc call has packed so far (passed to each step; the packed number is built from it at the end). */
interface Compaction {
  bits: number;
  packedFacility: number; // facility code + 1
  packedTransport: number; // TRANSPORTS index + 1
  packedClass: number; // CLASSES index + 1
  /** raw of the event being compacted (MACs printed in it are stored as offsets). */
  rawText: string;
  /** Offset of the last compacted endpoint's MAC in rawText, or -1. */
  macOff: number;
}

function compactEvent(st: Compaction, ev: Obj, c: RowColumns): Obj {
  const out: Obj = {};
  const cls = classIndex(ev.category, ev.type);
  if (cls >= 0) st.packedClass = cls + 1;
  for (const k in ev) {
    const v = ev[k];
    if (cls >= 0 && (k === "category" || k === "type")) continue;
    if (k === "dataset" && v === c.dataset) st.bits |= EV_DATASET;
    else if (k === "kind" && v === "event") st.bits |= EV_KIND;
    else if (k === "severity" && v === c.severity && v !== null) st.bits |= EV_SEVERITY;
    else if (k === "action" && v === c.action && v !== null) st.bits |= EV_ACTION;
    else if (k === "outcome" && v === c.outcome && v !== null) st.bits |= EV_OUTCOME;
    else out[k] = v;
  }
  return out;
}

function compactSyslog(st: Compaction, s: Obj, c: RowColumns, pid: unknown): Obj {
  const out: Obj = {};
  const fac = standardPair(s.facility, facilityName);
  const sev = standardPair(s.severity, severityName);
  for (const k in s) {
    const v = s[k];
    if (k === "priority") {
      if (fac >= 0 && sev >= 0 && v === fac * 8 + sev) st.bits |= SL_PRIORITY;
      else out[k] = v;
    } else if (k === "facility") {
      if (fac >= 0 && fac <= MAX_PACKED_FACILITY) st.packedFacility = fac + 1;
      else out[k] = fac >= 0 ? fac : v;
    } else if (k === "severity") {
      if (sev >= 0 && sev === c.severity) st.bits |= SL_SEVERITY;
      else out[k] = sev >= 0 ? sev : v;
    } else if (k === "hostname" && v === c.host && v !== null) st.bits |= SL_HOSTNAME;
    else if (k === "appname" && v === c.program && v !== null) st.bits |= SL_APPNAME;
    else if (k === "procid" && typeof pid === "number" && v === String(pid)) st.bits |= SL_PROCID;
    else out[k] = v;
  }
  return out;
}

/** One key of `o` dropped when it equals `value` (not null); `bit` records it. Returns the rest. */
function dropOne(st: Compaction, o: Obj, key: string, value: unknown, bit: number): Obj {
  if (value === null || o[key] !== value) return o;
  const out: Obj = {};
  for (const k in o) if (k !== key) out[k] = o[k];
  st.bits |= bit;
  return out;
}

/** The MAC in ECS notation that the 17 characters of `raw` at `at` stand for (see SRC_MAC_KEY). */
function macAt(raw: string, at: number): string {
  return raw.slice(at, at + 17).replaceAll(":", "-").toUpperCase();
}

/** Colon forms a MAC is printed in, by ECS notation (bounded cache: a home has a few dozen MACs). */
const macForms = new Map<string, [lower: string, upper: string]>();

/**
 * An offset in `raw` where macAt gives back `mac` exactly, or -1. Only ASCII counts (toUpperCase of
 * other characters may change the length), checked character by character.
 */
function macOffset(raw: string, mac: string): number {
  if (mac.length !== 17) return -1;
  let forms = macForms.get(mac);
  if (forms === undefined) {
    const upper = mac.replaceAll("-", ":");
    forms = [upper.toLowerCase(), upper];
    if (macForms.size >= 4096) macForms.clear();
    macForms.set(mac, forms);
  }
  let at = raw.indexOf(forms[0]);
  if (at < 0) at = raw.indexOf(forms[1]);
  if (at < 0) return -1;
  for (let i = 0; i < 17; i++) {
    const r = raw.charCodeAt(at + i);
    const restored = r === 58 ? 45 : r >= 97 && r <= 122 ? r - 32 : r;
    if (r >= 128 || restored !== mac.charCodeAt(i)) return -1;
  }
  return at;
}


function compactEndpoint(st: Compaction, o: Obj, ip: string | null, port: number | null, ipBit: number, portBit: number, addrBit: number): Obj {
  st.macOff = typeof o.mac === "string" ? macOffset(st.rawText, o.mac) : -1;
  if (ip === null && port === null && st.macOff < 0) return o;
  const out: Obj = {};
  for (const k in o) {
    const v = o[k];
    if (k === "mac" && st.macOff >= 0) continue;
    if (k === "ip" && v === ip && ip !== null) st.bits |= ipBit;
    else if (k === "port" && v === port && port !== null) st.bits |= portBit;
    else if (k === "address" && v === ip && ip !== null && o.ip === ip) st.bits |= addrBit;
    else out[k] = v;
  }
  return out;
}

/** network.type as the addresses imply it, or null without one. */
function ipType(c: { src_ip: string | null; dst_ip: string | null }): string | null {
  const ip = c.src_ip ?? c.dst_ip;
  return ip === null ? null : ip.indexOf(":") >= 0 ? "ipv6" : "ipv4";
}

function compactNetwork(st: Compaction, o: Obj, c: RowColumns): Obj {
  const protocol = c.protocol;
  const type = ipType(c);
  if (protocol === null && type === null) return o;
  const out: Obj = {};
  for (const k in o) {
    const v = o[k];
    if (k === "transport" && v === protocol && v !== null) st.bits |= NET_TRANSPORT;
    else if (k === "protocol" && v === protocol && v !== null) st.bits |= NET_PROTOCOL;
    else if (k === "type" && v === type && v !== null) st.bits |= NET_TYPE;
    else out[k] = v;
  }
  return out;
}

function compactRelated(st: Compaction, o: Obj, c: RowColumns, target: unknown): Obj {
  const out: Obj = {};
  for (const k in o) {
    const v = o[k];
    if (k === "ip" && sameStrings(v, derivedRelatedIp(c))) st.bits |= REL_IP;
    else if (k === "user" && sameStrings(v, derivedRelatedUser(c, target))) st.bits |= REL_USER;
    else out[k] = v;
  }
  return out;
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** The key of `o` when it is its only one, else undefined. */
function onlyKey(o: Obj): string | undefined {
  let only: string | undefined;
  for (const k in o) {
    if (only !== undefined) return undefined;
    only = k;
  }
  return only;
}

/** `name` when `o` is exactly {ingress: {interface: {name}}} with a string name, else undefined. */
function ingressOnly(o: Obj): string | undefined {
  if (onlyKey(o) !== "ingress") return undefined;
  const ingress = o.ingress;
  if (!isObj(ingress) || onlyKey(ingress) !== "interface") return undefined;
  const iface = ingress.interface;
  if (!isObj(iface) || onlyKey(iface) !== "name") return undefined;
  return typeof iface.name === "string" ? iface.name : undefined;
}

/** Sets `out[key]` to a compacted field set, leaving it out when compaction emptied it. */
function put(out: Obj, key: string, original: Obj, compacted: Obj): void {
  for (const _ in compacted) {
    out[key] = compacted;
    return;
  }
  // Emptied: every key was dropped and sets a bit, so restoring recreates the object. An object that
  // was empty to begin with is kept (nothing would recreate it).
  for (const _ in original) return;
  out[key] = original;
}

/**
 * The stored `doc` of event `e` whose typed columns are `c`: the event without its envelope (id,
 * @timestamp, received_at, message, raw: columns of their own) and without what expandDoc restores.
 * Shares unchanged sub-objects with `e` (the doc is serialized right away, never edited).
 */
export function compactDoc(e: EcsEvent, c: RowColumns): Obj {
  const st: Compaction = { bits: 0, packedFacility: 0, packedTransport: 0, packedClass: 0, rawText: typeof e.raw === "string" ? e.raw : "", macOff: -1 };
  const src = e as unknown as Obj;
  const out: Obj = {};
  const pid = isObj(src.process) ? src.process.pid : undefined;
  const target = isObj(src.user) && isObj(src.user.target) ? src.user.target.name : undefined;
  for (const k in src) {
    const v = src[k];
    if (!isObj(v)) {
      if (k !== "id" && k !== "@timestamp" && k !== "received_at" && k !== "message" && k !== "raw") out[k] = v;
      continue;
    }
    switch (k) {
      case "observer": {
        const name = ingressOnly(v);
        if (name === undefined) out[k] = v;
        else out[INGRESS_KEY] = name;
        break;
      }
      case "event":
        put(out, k, v, compactEvent(st, v, c));
        break;
      case "log": {
        const s = v.syslog;
        if (!isObj(s)) {
          out[k] = v;
          break;
        }
        const syslog = compactSyslog(st, s, c, pid);
        let log: Obj = {};
        for (const lk in v) if (lk !== "syslog") log[lk] = v[lk];
        let empty = true;
        for (const _ in syslog) {
          empty = false;
          break;
        }
        if (!empty || Object.keys(s).length === 0) log.syslog = syslog;
        for (const _ in log) {
          out[k] = log;
          break;
        }
        break;
      }
      case "host":
        put(out, k, v, dropOne(st, v, "hostname", c.host, HOST_NAME));
        break;
      case "process":
        put(out, k, v, dropOne(st, v, "name", c.program, PROC_NAME));
        break;
      case "source":
        put(out, k, v, compactEndpoint(st, v, c.src_ip, c.src_port, SRC_IP, SRC_PORT, SRC_ADDR));
        if (st.macOff >= 0) out[SRC_MAC_KEY] = st.macOff;
        break;
      case "destination":
        put(out, k, v, compactEndpoint(st, v, c.dst_ip, c.dst_port, DST_IP, DST_PORT, DST_ADDR));
        if (st.macOff >= 0) out[DST_MAC_KEY] = st.macOff;
        break;
      case "network":
        put(out, k, v, compactNetwork(st, v, c));
        break;
      case "user":
        put(out, k, v, dropOne(st, v, "name", c.user, USER_NAME));
        break;
      case "related":
        put(out, k, v, compactRelated(st, v, c, target));
        break;
      case "porchlight": {
        const t = TRANSPORTS.indexOf(v.transport as (typeof TRANSPORTS)[number]);
        if (t < 0) out[k] = v;
        else {
          st.packedTransport = t + 1;
          const pl: Obj = {};
          for (const pk in v) if (pk !== "transport") pl[pk] = v[pk];
          put(out, k, v, pl);
        }
        break;
      }
      default:
        out[k] = v;
    }
  }
  const packed = st.bits + PACK * (st.packedFacility + 32 * st.packedTransport + 32 * TRANSPORT_SLOTS * st.packedClass);
  if (packed !== 0) out[COMPACT_KEY] = packed;
  return out;
}

// --- Expansion (read path)

/** `base` with the fields of `kept` over it (kept fields win), as a new object. */
function over(base: Obj, kept: unknown): Obj {
  return isObj(kept) ? Object.assign(base, kept) : base;
}

function endpoint(b: number, ipBit: number, portBit: number, addrBit: number, ip: string | null, port: number | null, kept: unknown, raw: string, macAtOff: unknown): Obj {
  const o: Obj = {};
  if (b & addrBit) o.address = ip;
  if (b & ipBit) o.ip = ip;
  if (b & portBit) o.port = port;
  if (typeof macAtOff === "number" && Number.isSafeInteger(macAtOff) && macAtOff >= 0) o.mac = macAt(raw, macAtOff);
  return over(o, kept);
}

/** Whether the doc stands for an endpoint: its bits, or its MAC key. */
const hasEndpoint = (b: number, mask: number, doc: Obj, macKey: string): boolean => (b & mask) !== 0 || typeof doc[macKey] === "number";

const pairOf = (v: unknown, name: (code: number) => string): unknown =>
  typeof v === "number" ? { code: v, name: name(v) } : v;

/**
 * The event a stored row stands for: envelope first (id, @timestamp, received_at, message), then the
 * doc with every field compactDoc dropped restored, `raw` last.
 */
export function expandDoc(r: EventRow): Record<string, unknown> {
  const doc = r.doc;
  const v = doc[COMPACT_KEY];
  const packed = typeof v === "number" && Number.isSafeInteger(v) && v > 0 ? v : 0;
  const b = packed % PACK;
  const high = Math.floor(packed / PACK);
  const fac = (high % 32) - 1;
  const transport = (Math.floor(high / 32) % TRANSPORT_SLOTS) - 1;
  const cls = Math.floor(high / (32 * TRANSPORT_SLOTS)) - 1;
  const out: Obj = {
    id: r.id,
    "@timestamp": r.ts,
    received_at: r.received_at,
  };
  if (r.message !== null) out.message = r.message;
  for (const k in doc) if (k !== COMPACT_KEY && k !== INGRESS_KEY && k !== SRC_MAC_KEY && k !== DST_MAC_KEY) out[k] = doc[k];
  const ingress = doc[INGRESS_KEY];
  if (typeof ingress === "string" && !("observer" in doc)) out.observer = { ingress: { interface: { name: ingress } } };

  const pair = cls >= 0 ? CLASSES[cls] : undefined;
  if (b & (EV_DATASET | EV_KIND | EV_SEVERITY | EV_ACTION | EV_OUTCOME) || pair !== undefined) {
    const ev: Obj = {};
    if (b & EV_DATASET) ev.dataset = r.dataset;
    if (b & EV_KIND) ev.kind = "event";
    if (b & EV_SEVERITY) ev.severity = r.severity;
    if (pair !== undefined) {
      ev.category = pair[0].slice();
      ev.type = pair[1].slice();
    }
    out.event = over(ev, doc.event);
    if (b & EV_ACTION && !("action" in (out.event as Obj))) (out.event as Obj).action = r.action;
    if (b & EV_OUTCOME && !("outcome" in (out.event as Obj))) (out.event as Obj).outcome = r.outcome;
  }

  const log = isObj(doc.log) ? doc.log : undefined;
  const keptSyslog = log && isObj(log.syslog) ? log.syslog : undefined;
  const slBits = b & (SL_PRIORITY | SL_SEVERITY | SL_HOSTNAME | SL_APPNAME | SL_PROCID);
  if (slBits || fac >= 0 || (keptSyslog && (typeof keptSyslog.facility === "number" || typeof keptSyslog.severity === "number"))) {
    const s: Obj = {};
    const kept = keptSyslog ?? {};
    const facility = fac >= 0 && !("facility" in kept) ? { code: fac, name: facilityName(fac) } : pairOf(kept.facility, facilityName);
    const severity = b & SL_SEVERITY ? { code: r.severity, name: severityName(r.severity!) } : pairOf(kept.severity, severityName);
    if (b & SL_PRIORITY) s.priority = (facility as { code: number }).code * 8 + (severity as { code: number }).code;
    Object.assign(s, kept);
    if (facility !== undefined) s.facility = facility;
    if (severity !== undefined) s.severity = severity;
    if (b & SL_HOSTNAME && !("hostname" in s)) s.hostname = r.host;
    if (b & SL_APPNAME && !("appname" in s)) s.appname = r.program;
    if (b & SL_PROCID && !("procid" in s)) {
      const pid = isObj(doc.process) ? doc.process.pid : undefined;
      s.procid = String(pid);
    }
    out.log = { ...(log ?? {}), syslog: s };
  }

  if (b & HOST_NAME) out.host = over({ hostname: r.host }, doc.host);
  if (b & PROC_NAME) out.process = over({ name: r.program }, doc.process);
  if (hasEndpoint(b, SRC_IP | SRC_PORT | SRC_ADDR, doc, SRC_MAC_KEY)) {
    out.source = endpoint(b, SRC_IP, SRC_PORT, SRC_ADDR, r.src_ip, r.src_port, doc.source, r.raw, doc[SRC_MAC_KEY]);
  }
  if (hasEndpoint(b, DST_IP | DST_PORT | DST_ADDR, doc, DST_MAC_KEY)) {
    out.destination = endpoint(b, DST_IP, DST_PORT, DST_ADDR, r.dst_ip, r.dst_port, doc.destination, r.raw, doc[DST_MAC_KEY]);
  }
  if (b & (NET_TRANSPORT | NET_PROTOCOL | NET_TYPE)) {
    const n: Obj = {};
    if (b & NET_TRANSPORT) n.transport = r.protocol;
    if (b & NET_PROTOCOL) n.protocol = r.protocol;
    if (b & NET_TYPE) n.type = ipType(r);
    out.network = over(n, doc.network);
  }
  if (b & USER_NAME) out.user = over({ name: r.user }, doc.user);
  if (b & (REL_IP | REL_USER)) {
    const rel: Obj = {};
    if (b & REL_IP) rel.ip = derivedRelatedIp(r);
    if (b & REL_USER) {
      const u = out.user;
      rel.user = derivedRelatedUser(r, isObj(u) && isObj(u.target) ? u.target.name : undefined);
    }
    out.related = over(rel, doc.related);
  }
  if (transport >= 0 && transport < TRANSPORTS.length) out.porchlight = over({ transport: TRANSPORTS[transport] }, doc.porchlight);
  out.raw = r.raw;
  return out;
}
