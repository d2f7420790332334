/**
 * Connection-tracking flows: ulogd2 PRINTFLOW lines (`[NEW] ORIG: SRC=a DST=b PROTO=TCP SPT=n DPT=n
 * PKTS=n BYTES=n , REPLY: SRC=... `, format of ulogd2 util/printflow.c) and `conntrack -E` event lines
 * (`[DESTROY] tcp 6 src=a dst=b sport=n dport=n packets=n bytes=n src=... [ASSURED]`). The original
 * direction gives source/destination; the reply direction's counters become destination.bytes/packets.
 * Also the quoted key="value" packet-filter lines that Sophos/Astaro UTM logs through ulogd.
 */
import type { EcsEndpoint } from "../../ecs.ts";
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { canonicalIp, directionOf } from "../ip.ts";
import { CATEGORY_NETWORK, firewallEvent, flowRelated, sharedList } from "./common.ts";
import { toNumber } from "../number.ts";
import { record, table } from "../../table.ts";

/** A flow event's kind: its event.type (shared frozen lists) and action. */
type Kind = readonly [string[], string];
const FLOW_NEW: Kind = [sharedList("connection", "start"), "flow_new"];
const FLOW_UPDATE: Kind = [sharedList("connection", "change"), "flow_update"];
const FLOW_DESTROY: Kind = [sharedList("connection", "end"), "flow_destroy"];

export function parseUlogd(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const s = msg.trimStart();
  if (s.charCodeAt(0) !== 0x5b) return s.includes('srcip="') ? parsePacketfilter(s) : null;
  const close = s.indexOf("]");
  const kind = kindOf(s, close);
  if (!kind) return null;
  // The text after "]" (what was sliced out as `rest` before) is s[base..]: read in place.
  const base = close + 1;
  const orig = s.indexOf("ORIG:", base);
  if (orig >= 0) {
    // PRINTFLOW: "ORIG: k=v ... , REPLY: k=v ..."
    const reply = s.indexOf("REPLY:", orig);
    const oEnd = reply < 0 ? s.length : reply;
    const n = s.length;
    return flow(kind, val(s, base, "SRC=", orig, oEnd), val(s, base, "DST=", orig, oEnd), val(s, base, "SPT=", orig, oEnd),
      val(s, base, "DPT=", orig, oEnd), val(s, base, "PROTO=", orig, oEnd), val(s, base, "PKTS=", orig, oEnd), val(s, base, "BYTES=", orig, oEnd),
      reply < 0 ? undefined : val(s, base, "PKTS=", reply, n), reply < 0 ? undefined : val(s, base, "BYTES=", reply, n),
      reply < 0 ? undefined : val(s, base, "SRC=", reply, n), undefined);
  }
  const rest = s.slice(base);
  // conntrack -E: "[NEW] tcp 6 120 SYN_SENT src=.. dst=.. sport=.. dport=.. [UNREPLIED] src=.. ..."
  const toks = rest.trim().split(/\s+/);
  let proto: string | undefined, state: string | undefined;
  const o = record<string>(), r = record<string>();
  let cur = o, seenSrc = 0;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const eq = t.indexOf("=");
    if (eq < 0) {
      if (i < 4 && /^(?:ipv[46])$/.test(t)) continue; // conntrack -o extended: "ipv4 2 tcp 6 ..."
      if (!proto && /^[a-z][a-z0-9]*$/.test(t) && !/^\d/.test(t)) proto = t;
      else if (/^[A-Z_]+$/.test(t) && !t.startsWith("[")) state ??= t;
      continue;
    }
    const k = t.slice(0, eq);
    if (k === "src" && ++seenSrc === 2) cur = r;
    if (!(k in cur)) cur[k] = t.slice(eq + 1);
  }
  if (!o.src) return null;
  const f = flow(kind, o.src, o.dst, o.sport, o.dport, proto, o.packets, o.bytes, r.packets, r.bytes, r.src, state);
  return f;
}

/** The kind of the bracketed word s(0, close): NEW, UPDATE or DESTROY, compared in place (no slice); else undefined. */
function kindOf(s: string, close: number): Kind | undefined {
  switch (close) {
    case 4: return s.startsWith("NEW", 1) ? FLOW_NEW : undefined;
    case 7: return s.startsWith("UPDATE", 1) ? FLOW_UPDATE : undefined;
    case 8: return s.startsWith("DESTROY", 1) ? FLOW_DESTROY : undefined;
    default: return undefined;
  }
}

/**
 * Value of `key` ("SRC=") in s[from, to), where the key starts a token (after a space, or at `base`,
 * where the text after the bracketed kind begins): up to the next space, comma or tab. Searching in
 * place avoids slicing each direction out of the line.
 */
function val(s: string, base: number, key: string, from: number, to: number): string | undefined {
  let i = s.indexOf(key, from);
  while (i >= 0 && i < to && i > base && s.charCodeAt(i - 1) !== 32) i = s.indexOf(key, i + 1);
  if (i < 0 || i >= to) return undefined;
  const start = i + key.length;
  let end = start;
  while (end < to) {
    const c = s.charCodeAt(end);
    if (c === 32 || c === 44 || c === 9) break;
    end++;
  }
  return s.slice(start, end);
}

function flow(
  kind: Kind, src: string | undefined, dst: string | undefined, sport: string | undefined, dport: string | undefined,
  proto: string | undefined, opk: string | undefined, oby: string | undefined, rpk: string | undefined, rby: string | undefined,
  replySrc: string | undefined, state: string | undefined,
): ProgramFields {
  const f: ProgramFields = { event: { dataset: "ulogd", category: CATEGORY_NETWORK, type: kind[0], action: kind[1] } };
  const s: EcsEndpoint = {}, d: EcsEndpoint = {};
  const sip = src ? canonicalIp(src) : null, dip = dst ? canonicalIp(dst) : null;
  if (sip) s.ip = sip;
  if (dip) d.ip = dip;
  setNum(s, "port", sport); setNum(d, "port", dport);
  setNum(s, "packets", opk); setNum(s, "bytes", oby);
  setNum(d, "packets", rpk); setNum(d, "bytes", rby);
  if (sip || s.port !== undefined) f.source = s;
  if (dip || d.port !== undefined) f.destination = d;
  f.network = {};
  if (proto) f.network.transport = proto.toLowerCase();
  if (sip || dip) f.network.type = (src ?? dst ?? "").includes(":") ? "ipv6" : "ipv4";
  const dir = directionOf(sip ?? undefined, dip ?? undefined);
  if (dir) f.network.direction = dir;
  if (s.bytes !== undefined || d.bytes !== undefined) f.network.bytes = (s.bytes ?? 0) + (d.bytes ?? 0);
  if (s.packets !== undefined || d.packets !== undefined) f.network.packets = (s.packets ?? 0) + (d.packets ?? 0);
  const related = flowRelated(sip, dip);
  if (related) f.related = related;
  // NAT: the reply comes from somewhere other than the original destination (DNAT / port forward).
  const rs = replySrc ? canonicalIp(replySrc) : null;
  const nat = rs && dip && rs !== dip ? rs : undefined;
  if (state || nat) {
    const extra: Record<string, string> = {};
    if (state) extra.ct_state = state;
    if (nat) extra.nat_destination_ip = nat;
    f.porchlight = { fields: extra };
  }
  return f;
}

function setNum(ep: EcsEndpoint, k: "port" | "packets" | "bytes", v: string | undefined): void {
  if (v === undefined || v === "") return;
  const n = toNumber(v);
  if (Number.isFinite(n) && n >= 0) ep[k] = n;
}

const PROTO_NAMES = table({ "1": "icmp", "6": "tcp", "17": "udp", "58": "ipv6-icmp", "47": "gre", "50": "esp" });

/**
 * Sophos/Astaro UTM packet filter lines, logged through ulogd as quoted pairs: `id="2001" ...
 * name="Packet dropped" action="drop" fwrule="60001" initf="eth0" srcip="..." dstip="..." proto="6"
 * length="52" srcport="443" dstport="56174" tcpflags="ACK FIN"`.
 */
function parsePacketfilter(s: string): ProgramFields | null {
  const kv = record<string>();
  const re = /(\w+)="([^"]*)"/g;
  for (let m = re.exec(s); m; m = re.exec(s)) kv[m[1]!] ??= m[2]!;
  const sip = kv.srcip ? canonicalIp(kv.srcip) : null, dip = kv.dstip ? canonicalIp(kv.dstip) : null;
  if (!sip && !dip) return null;
  const action = kv.action === "drop" || kv.action === "reject" || kv.action === "accept" ? kv.action : kv.action === "allow" ? "accept" : "log";
  const f = firewallEvent("ulogd", action);
  const src: EcsEndpoint = {}, dst: EcsEndpoint = {};
  if (sip) src.ip = sip;
  if (dip) dst.ip = dip;
  setNum(src, "port", kv.srcport);
  setNum(dst, "port", kv.dstport);
  f.source = src;
  f.destination = dst;
  f.network = { type: (kv.srcip ?? kv.dstip ?? "").includes(":") ? "ipv6" : "ipv4" };
  const proto = kv.proto ? PROTO_NAMES[kv.proto] ?? kv.proto : undefined;
  if (proto) f.network.transport = proto;
  const dir = directionOf(sip ?? undefined, dip ?? undefined);
  if (dir) f.network.direction = dir;
  if (kv.length) { f.network.bytes = Number(kv.length); f.network.packets = 1; }
  if (kv.initf) f.observer = { ingress: { interface: { name: kv.initf } } };
  if (kv.fwrule || kv.name) f.rule = { ...(kv.fwrule ? { id: kv.fwrule } : {}), ...(kv.name ? { name: kv.name } : {}) };
  const related = flowRelated(sip, dip);
  if (related) f.related = related;
  if (kv.tcpflags) f.porchlight = { fields: { tcp_flags: kv.tcpflags } };
  return f;
}
