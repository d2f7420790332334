/**
 * The NetworkState RPC payload of one router's batch, made cheaper for the Worker to send: repeated
 * device sightings are compacted, and the records travel as columns. Pure; the Worker builds it
 * (workers/network/hook.ts, and the workerd bench), the object reads it back (durable-objects/network-state.ts).
 *
 * Why: the RPC's V8 serialization is Worker CPU (Free plan: 10 ms per request). An array of records
 * writes every key name with every record; columns write each name once, the numbers of a flow as one
 * Float64Array (copied as raw bytes) and strings as plain strings. The object pays the unpacking.
 *
 * Invariants:
 * - unpackRouterBatch(packRouterBatch(b)) deep-equals (key order included) { flows, dns,
 *   sightings: compactSightings(b.sightings) } whenever pack returns a packed batch; pack returns null
 *   when a number could not round-trip (a NaN where null is meant by NaN on the wire), and the
 *   caller then sends the records as they are (test/unit/network-payload.test.ts).
 * - compactSightings changes no device state: see its comment.
 */
import type { DnsAnswer, RouterBatch, Sighting } from "./extract.ts";
import type { FlowKind, FlowRecord, FlowTimeouts } from "./sessions.ts";

/** What NetworkState.apply takes: the records as they are, or packed (packRouterBatch). */
export interface NetworkBatch {
  /** The ingest batch key: a batch applied before changes nothing. */
  key: string;
  router: string;
  timeouts?: FlowTimeouts | undefined;
  flows: FlowRecord[];
  dns: DnsAnswer[];
  sightings: Sighting[];
}

export interface PackedNetworkBatch {
  key: string;
  router: string;
  timeouts?: FlowTimeouts | undefined;
  packed: PackedRouterBatch;
}

export interface PackedRouterBatch {
  /** Per flow FLOW_NUMS numbers: kind code, ts, srcPort, dstPort, zone, srcBytes, srcPackets, dstBytes, dstPackets (NaN = null). */
  flowNums: Float64Array;
  flowTransport: string[];
  flowSrc: string[];
  flowDst: string[];
  dnsTs: Float64Array;
  dnsIp: string[];
  dnsName: string[];
  sightTs: Float64Array;
  sightMac: string[];
  sightIp: (string | null)[];
  sightHost: (string | null)[];
  sightClientId: (string | null)[];
  sightVia: string[];
  /** 1 = left. */
  sightLeft: Uint8Array;
}

const FLOW_NUMS = 9;
const KINDS: readonly FlowKind[] = ["new", "update", "destroy"];

const sameButTime = (a: Sighting, b: Sighting): boolean =>
  a.mac === b.mac && a.ip === b.ip && a.hostname === b.hostname && a.clientId === b.clientId && a.via === b.via && a.left === b.left;

/**
 * The sightings with each run of consecutive sightings that differ only in `ts` cut to at most three:
 * its first, and among the rest the earliest and the latest (in their order). Device state is the same:
 * applySighting of a sighting equal but for its time to the one just applied finds the same device by
 * its MAC, no address to fold (the address already points at it) and nothing to add, so it only moves
 * firstSeen down to and lastSeen up to its time, which the kept earliest and latest do alike; the
 * run's first makes the device (and its `device_new` fact) as before, and the batch's earliest time
 * (the object's inventory window) is kept. Not across another sighting: that one may change what the
 * next finds. A time that is not finite ends a run (kept as it is).
 */
export function compactSightings(sightings: readonly Sighting[]): Sighting[] {
  const out: Sighting[] = [];
  for (let i = 0; i < sightings.length; ) {
    const first = sightings[i]!;
    out.push(first);
    let j = i + 1;
    if (!Number.isFinite(first.ts)) {
      i = j;
      continue;
    }
    let lo = -1, hi = -1;
    for (; j < sightings.length; j++) {
      const s = sightings[j]!;
      if (!Number.isFinite(s.ts) || !sameButTime(first, s)) break;
      if (lo < 0 || s.ts < sightings[lo]!.ts) lo = j;
      if (hi < 0 || s.ts > sightings[hi]!.ts) hi = j;
    }
    if (lo >= 0) {
      if (lo === hi) out.push(sightings[lo]!);
      else out.push(sightings[Math.min(lo, hi)]!, sightings[Math.max(lo, hi)]!);
    }
    i = j;
  }
  return out;
}

/** A nullable number as sent: NaN for null (so a NaN value could not be told from null: packRouterBatch refuses it). */
const nullable = (v: number | null): number => (v === null ? NaN : v);

/** The router's records, sightings compacted, as columns; null when a number would not round-trip. */
export function packRouterBatch(b: RouterBatch): PackedRouterBatch | null {
  const fl = b.flows, n = fl.length;
  const flowNums = new Float64Array(n * FLOW_NUMS);
  const flowTransport = new Array<string>(n), flowSrc = new Array<string>(n), flowDst = new Array<string>(n);
  // A NaN in a nullable column would come back as null; an unknown kind has no code.
  let bad = false;
  for (let i = 0; i < n; i++) {
    const f = fl[i]!, o = i * FLOW_NUMS;
    const kind = KINDS.indexOf(f.kind);
    if (kind < 0) bad = true;
    flowNums[o] = kind;
    flowNums[o + 1] = f.ts;
    flowNums[o + 2] = nullable(f.srcPort);
    flowNums[o + 3] = nullable(f.dstPort);
    flowNums[o + 4] = f.zone;
    flowNums[o + 5] = nullable(f.srcBytes);
    flowNums[o + 6] = nullable(f.srcPackets);
    flowNums[o + 7] = nullable(f.dstBytes);
    flowNums[o + 8] = nullable(f.dstPackets);
    if (Number.isNaN(f.srcPort) || Number.isNaN(f.dstPort) || Number.isNaN(f.srcBytes) || Number.isNaN(f.srcPackets) || Number.isNaN(f.dstBytes) || Number.isNaN(f.dstPackets)) bad = true;
    flowTransport[i] = f.transport;
    flowSrc[i] = f.srcIp;
    flowDst[i] = f.dstIp;
  }
  const dn = b.dns.length;
  const dnsTs = new Float64Array(dn), dnsIp = new Array<string>(dn), dnsName = new Array<string>(dn);
  for (let i = 0; i < dn; i++) {
    const a = b.dns[i]!;
    dnsTs[i] = a.ts;
    dnsIp[i] = a.ip;
    dnsName[i] = a.name;
  }
  const ss = compactSightings(b.sightings), sn = ss.length;
  const sightTs = new Float64Array(sn), sightLeft = new Uint8Array(sn);
  const sightMac = new Array<string>(sn), sightIp = new Array<string | null>(sn), sightHost = new Array<string | null>(sn);
  const sightClientId = new Array<string | null>(sn), sightVia = new Array<string>(sn);
  for (let i = 0; i < sn; i++) {
    const s = ss[i]!;
    sightTs[i] = s.ts;
    sightMac[i] = s.mac;
    sightIp[i] = s.ip;
    sightHost[i] = s.hostname;
    sightClientId[i] = s.clientId;
    sightVia[i] = s.via;
    sightLeft[i] = s.left ? 1 : 0;
  }
  if (bad) return null;
  return { flowNums, flowTransport, flowSrc, flowDst, dnsTs, dnsIp, dnsName, sightTs, sightMac, sightIp, sightHost, sightClientId, sightVia, sightLeft };
}

const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);

/** The records of a packed batch, each with the key order extract.ts gives it (flows are stored as JSON by the object). */
export function unpackRouterBatch(p: PackedRouterBatch): { flows: FlowRecord[]; dns: DnsAnswer[]; sightings: Sighting[] } {
  const flows: FlowRecord[] = [];
  for (let i = 0; i < p.flowTransport.length; i++) {
    const x = p.flowNums, o = i * FLOW_NUMS;
    flows.push({
      kind: KINDS[x[o]!]!, ts: x[o + 1]!, transport: p.flowTransport[i]!, srcIp: p.flowSrc[i]!, dstIp: p.flowDst[i]!,
      srcPort: orNull(x[o + 2]!), dstPort: orNull(x[o + 3]!), zone: x[o + 4]!,
      srcBytes: orNull(x[o + 5]!), srcPackets: orNull(x[o + 6]!), dstBytes: orNull(x[o + 7]!), dstPackets: orNull(x[o + 8]!),
    });
  }
  const dns: DnsAnswer[] = [];
  for (let i = 0; i < p.dnsIp.length; i++) dns.push({ ip: p.dnsIp[i]!, name: p.dnsName[i]!, ts: p.dnsTs[i]! });
  const sightings: Sighting[] = [];
  for (let i = 0; i < p.sightMac.length; i++) {
    sightings.push({
      mac: p.sightMac[i]!, ip: p.sightIp[i]!, hostname: p.sightHost[i]!, clientId: p.sightClientId[i]!, ts: p.sightTs[i]!,
      via: p.sightVia[i]!, left: p.sightLeft[i] === 1,
    });
  }
  return { flows, dns, sightings };
}

/** The apply() argument for one router's batch: packed, or (when a number would not round-trip) the records with sightings compacted. */
export function networkRpcBatch(key: string, b: RouterBatch, timeouts: FlowTimeouts | undefined): NetworkBatch | PackedNetworkBatch {
  const packed = packRouterBatch(b);
  if (packed) return { key, router: b.router, timeouts, packed };
  return { key, router: b.router, timeouts, flows: b.flows, dns: b.dns, sightings: compactSightings(b.sightings) };
}

/** The records of either form of apply()'s argument. */
export function networkBatchOf(x: NetworkBatch | PackedNetworkBatch): NetworkBatch {
  return "packed" in x ? { key: x.key, router: x.router, timeouts: x.timeouts, ...unpackRouterBatch(x.packed) } : x;
}
