/**
 * Conntrack sessions: `[NEW]`, `[UPDATE]` and `[DESTROY]` flow records paired into one session per flow,
 * keyed by the five-tuple plus the conntrack zone. Pure logic over a `FlowTable` port: the per-router
 * Durable Object (durable-objects/network-state.ts) implements it on SQLite, the bench on a Map.
 *
 * Times are event times in epoch ms (the syslog timestamps of the lines); a session's duration is
 * end - start in ms here and in ns (ECS `event.duration`) in the API document. Invariants:
 * - one open flow per key; a second `[NEW]` for an open key (its `[DESTROY]` was lost) ends the first one
 *   by timeout, at the earlier of its due time and the new start;
 * - an open flow is due at last activity + the protocol's timeout; when due it becomes a session with
 *   end_reason "timeout" and end = that due time, whenever the alarm actually runs;
 * - a `[DESTROY]` without an open flow becomes a session of its own counters (end_reason
 *   "destroy_only", start = end = its time: conntrack's DESTROY line carries no start time).
 */

export type FlowKind = "new" | "update" | "destroy";

/** The five-tuple, zone and counters both a flow record and a session carry. */
export interface FlowTuple {
  transport: string;
  srcIp: string;
  dstIp: string;
  srcPort: number | null;
  dstPort: number | null;
  /** Conntrack zone (`zone=n`), 0 when the line names none. */
  zone: number;
  srcBytes: number | null;
  srcPackets: number | null;
  dstBytes: number | null;
  dstPackets: number | null;
}

/** One conntrack line, reduced to what pairing needs. Counters are those of the line (DESTROY: totals). */
export interface FlowRecord extends FlowTuple {
  kind: FlowKind;
  /** Event time, ms. */
  ts: number;
}

/** An open flow: its first record, the last activity time and the time it is due (ms). */
export interface OpenFlow {
  key: string;
  first: FlowRecord;
  lastTs: number;
  dueTs: number;
  /** Last counters seen ([UPDATE] lines may carry them). */
  srcBytes: number | null;
  srcPackets: number | null;
  dstBytes: number | null;
  dstPackets: number | null;
}

export type EndReason = "destroy" | "timeout" | "destroy_only";

export interface Session extends FlowTuple {
  key: string;
  /** ms. */
  start: number;
  end: number;
  endReason: EndReason;
}

/** Seconds a flow may stay silent before conntrack forgets it, per transport; `other` for the rest. */
export interface FlowTimeouts {
  tcp: number;
  udp: number;
  icmp: number;
  other: number;
}

/**
 * OpenWrt's conntrack defaults (net.netfilter.nf_conntrack_*_timeout): tcp established 7440 s (OpenWrt
 * lowers the kernel's 5 days), udp stream 180 s, icmp 30 s, generic 600 s.
 */
export const DEFAULT_TIMEOUTS: FlowTimeouts = { tcp: 7440, udp: 180, icmp: 30, other: 600 };

export function timeoutMs(t: FlowTimeouts, transport: string): number {
  const s = transport === "tcp" ? t.tcp : transport === "udp" ? t.udp : transport === "icmp" || transport === "ipv6-icmp" || transport === "icmpv6" ? t.icmp : t.other;
  return s * 1000;
}

/** Storage of open flows. `put` replaces the flow with the same key; the due time drives the alarm. */
export interface FlowTable {
  get(key: string): OpenFlow | undefined;
  put(flow: OpenFlow): void;
  delete(key: string): void;
}

export const flowKey = (r: FlowRecord): string =>
  `${r.transport}|${r.srcIp}|${r.srcPort ?? ""}|${r.dstIp}|${r.dstPort ?? ""}|${r.zone}`;

function session(first: FlowRecord, key: string, end: number, c: Pick<OpenFlow, "srcBytes" | "srcPackets" | "dstBytes" | "dstPackets">, reason: EndReason, start = first.ts): Session {
  return {
    key, start, end, transport: first.transport, srcIp: first.srcIp, dstIp: first.dstIp, srcPort: first.srcPort, dstPort: first.dstPort,
    zone: first.zone, srcBytes: c.srcBytes, srcPackets: c.srcPackets, dstBytes: c.dstBytes, dstPackets: c.dstPackets, endReason: reason,
  };
}

/** The session an open flow becomes when it times out (end = its due time). */
export const timedOut = (f: OpenFlow, end = f.dueTs): Session => session(f.first, f.key, end, f, "timeout");

/**
 * Applies `records` in event-time order to `table` and returns the sessions they close. Flows they open stay in the
 * table with their due time; the caller sets its alarm from the earliest one.
 */
export function pairFlows(records: readonly FlowRecord[], table: FlowTable, timeouts: FlowTimeouts): Session[] {
  const out: Session[] = [];
  // In event-time order (stable: lines of the same second keep their order), so that a DESTROY a relay
  // delivered ahead of its NEW in one batch still pairs with it.
  let sorted = true;
  for (let i = 1; i < records.length && sorted; i++) sorted = records[i - 1]!.ts <= records[i]!.ts;
  const ordered = sorted ? records : [...records].sort((a, b) => a.ts - b.ts);
  for (const r of ordered) {
    const key = flowKey(r);
    const open = table.get(key);
    if (r.kind === "destroy") {
      if (open) {
        table.delete(key);
        // DESTROY's counters are the flow's totals; without them, the last ones an UPDATE gave.
        out.push(session(open.first, key, Math.max(r.ts, open.first.ts), {
          srcBytes: r.srcBytes ?? open.srcBytes, srcPackets: r.srcPackets ?? open.srcPackets,
          dstBytes: r.dstBytes ?? open.dstBytes, dstPackets: r.dstPackets ?? open.dstPackets,
        }, "destroy"));
      } else out.push(session(r, key, r.ts, r, "destroy_only"));
      continue;
    }
    const due = r.ts + timeoutMs(timeouts, r.transport);
    if (open && r.kind === "update") {
      table.put({
        ...open, lastTs: Math.max(open.lastTs, r.ts), dueTs: Math.max(open.dueTs, due),
        srcBytes: r.srcBytes ?? open.srcBytes, srcPackets: r.srcPackets ?? open.srcPackets,
        dstBytes: r.dstBytes ?? open.dstBytes, dstPackets: r.dstPackets ?? open.dstPackets,
      });
      continue;
    }
    if (open) out.push(timedOut(open, Math.min(open.dueTs, Math.max(r.ts, open.first.ts))));
    // A NEW, or an UPDATE of a flow we never saw open: the flow starts here.
    table.put({ key, first: r, lastTs: r.ts, dueTs: due, srcBytes: r.srcBytes, srcPackets: r.srcPackets, dstBytes: r.dstBytes, dstPackets: r.dstPackets });
  }
  return out;
}

/** A Map-backed FlowTable (bench, tests). */
export class MemoryFlowTable implements FlowTable {
  readonly flows = new Map<string, OpenFlow>();
  get(key: string): OpenFlow | undefined {
    return this.flows.get(key);
  }
  put(flow: OpenFlow): void {
    this.flows.set(flow.key, flow);
  }
  delete(key: string): void {
    this.flows.delete(key);
  }
}
