/**
 * A paired session as a D1 row (enriched with GeoIP/ASN and the passive DNS name) and as the API's ECS
 * document. Pure. ECS: event.start/end are RFC 3339, event.duration is in NANOSECONDS; source.bytes is
 * what the originator sent, destination.bytes what the responder sent back (conntrack's ORIG/REPLY).
 */
import { eventId } from "../parse/id.ts";
import { ipKey, isPrivateIp } from "../parse/ip.ts";
import type { SessionRow } from "../store/network.ts";
import { lookupIp, type IpTables } from "./geoip.ts";
import type { Session } from "./sessions.ts";

/** `ip`: the tables of both ends' families (familiesOf [srcIp, dstIp]). */
export function sessionRow(router: string, s: Session, domain: string | null, deviceId: string | null, ip: IpTables): SessionRow {
  const src = lookupIp(ip, s.srcIp), dst = lookupIp(ip, s.dstIp);
  return {
    id: eventId(s.start, `${router}|${s.key}`, 0),
    start: s.start, end: s.end, router, zone: s.zone, transport: s.transport,
    src_ip: s.srcIp, dst_ip: s.dstIp, src_ip_key: ipKey(s.srcIp) ?? "", dst_ip_key: ipKey(s.dstIp) ?? "",
    src_port: s.srcPort, dst_port: s.dstPort, src_bytes: s.srcBytes, src_packets: s.srcPackets, dst_bytes: s.dstBytes, dst_packets: s.dstPackets,
    device_id: deviceId,
    src_country: src.country ?? null, src_asn: src.asn ?? null, src_org: src.org ?? null,
    dst_country: dst.country ?? null, dst_asn: dst.asn ?? null, dst_org: dst.org ?? null,
    dst_domain: domain, end_reason: s.endReason,
  };
}

/** The LAN address of a session whose device it is: the private source, else a private destination (port forwards). */
export function lanEnd(s: Pick<Session, "srcIp" | "dstIp">): string | null {
  if (isPrivateIp(s.srcIp)) return s.srcIp;
  if (isPrivateIp(s.dstIp)) return s.dstIp;
  return null;
}

type Endpoint = Record<string, unknown>;

function endpoint(ip: string, port: number | null, bytes: number | null, packets: number | null, country: string | null, asn: number | null, org: string | null): Endpoint {
  const e: Endpoint = { ip };
  if (port !== null) e.port = port;
  if (bytes !== null) e.bytes = bytes;
  if (packets !== null) e.packets = packets;
  if (country) e.geo = { country_iso_code: country };
  if (asn !== null) e.as = org ? { number: asn, organization: { name: org } } : { number: asn };
  return e;
}

/** The ECS document of a session row. */
export function apiSession(r: SessionRow, deviceName?: string | null): Record<string, unknown> {
  const source = endpoint(r.src_ip, r.src_port, r.src_bytes, r.src_packets, r.src_country, r.src_asn, r.src_org);
  const destination = endpoint(r.dst_ip, r.dst_port, r.dst_bytes, r.dst_packets, r.dst_country, r.dst_asn, r.dst_org);
  if (r.dst_domain) destination.domain = r.dst_domain;
  const network: Record<string, unknown> = { transport: r.transport, type: r.src_ip.includes(":") ? "ipv6" : "ipv4" };
  if (r.src_bytes !== null || r.dst_bytes !== null) network.bytes = (r.src_bytes ?? 0) + (r.dst_bytes ?? 0);
  if (r.src_packets !== null || r.dst_packets !== null) network.packets = (r.src_packets ?? 0) + (r.dst_packets ?? 0);
  const event: Record<string, unknown> = {
    kind: "event", category: ["network"], type: ["connection"], dataset: "porchlight.session", action: "network_session",
    start: new Date(r.start).toISOString(), end: new Date(r.end).toISOString(),
  };
  // DESTROY-only sessions have no known start: no duration rather than a made-up 0.
  if (r.end_reason !== "destroy_only") event.duration = (r.end - r.start) * 1_000_000;
  const session: Record<string, unknown> = { end_reason: r.end_reason, zone: r.zone };
  if (r.device_id) session.device = deviceName ? { id: r.device_id, name: deviceName } : { id: r.device_id };
  return {
    id: r.id, "@timestamp": new Date(r.start).toISOString(), event, source, destination, network,
    observer: { hostname: r.router }, porchlight: { session },
  };
}
