/**
 * dnsmasq DNS log lines (`log-queries`: query, forwarded, reply, cached, config, /etc/hosts) and DHCP
 * lines (program `dnsmasq-dhcp`, or `dnsmasq` on older builds: DHCPDISCOVER/OFFER/REQUEST/ACK/NAK/
 * RELEASE/INFORM with interface, IP, MAC and client hostname). The DHCP client is `source` (its IP and
 * MAC); its self-declared hostname goes to source.domain.
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { canonicalIp } from "../ip.ts";
import { CATEGORY_NETWORK, ingressObserver, mac as normMac, sharedList } from "./common.ts";

const PROTOCOL = sharedList("protocol");
const PROTOCOL_ALLOWED = sharedList("protocol", "allowed");
const PROTOCOL_DENIED = sharedList("protocol", "denied");

const DNS_RE = /^(query|forwarded|reply|cached|config|cached-stale|\/\S+)(?:\[(\w+)\])? (\S+) (from|to|is) (.+)$/;
const DHCP_RE = /^(?:\d+ )?(DHCP[A-Z]+)(?:\(([^)]*)\))? ?(.*)$/;

export function parseDnsmasq(msg: string, syslog?: SyslogMessage): ProgramFields | null {
  if (msg.startsWith("DHCP") || (msg.charCodeAt(0) >= 48 && msg.charCodeAt(0) <= 57 && msg.includes(" DHCP"))) {
    const dhcp = parseDnsmasqDhcp(msg, syslog);
    if (dhcp) return dhcp;
  }
  const m = DNS_RE.exec(msg);
  if (!m) return null;
  const [, verb, qtype, name, prep, rest] = m as unknown as [string, string, string | undefined, string, string, string];
  const f: ProgramFields = { event: { dataset: "dnsmasq", category: CATEGORY_NETWORK, type: PROTOCOL } };
  if (verb === "query") {
    f.event.action = "dns_query";
    const question: { name: string; type?: string } = { name };
    if (qtype) question.type = qtype;
    f.dns = { type: "query", question };
    const ip = canonicalIp(rest.trim());
    if (prep === "from" && ip) {
      f.source = { ip };
      f.related = { ip: [ip] };
    }
  } else if (verb === "forwarded") {
    f.event.action = "dns_forward";
    f.dns = { type: "query", question: { name } };
    // "8.8.8.8" or "8.8.8.8#53"
    const up = rest.trim();
    const hash = up.indexOf("#");
    const ip = canonicalIp(hash < 0 ? up : up.slice(0, hash));
    if (ip) {
      f.destination = { ip, port: hash < 0 || hash === up.length - 1 ? 53 : Number(up.slice(hash + 1)) };
      f.related = { ip: [ip] };
    }
  } else {
    f.event.action = verb === "reply" ? "dns_reply" : verb === "cached" || verb === "cached-stale" ? "dns_cached" : verb === "config" ? "dns_config" : "dns_hosts";
    const data = rest.trim();
    f.dns = { type: "answer", question: { name }, answers: [{ data }] };
    const ip = canonicalIp(data);
    if (ip) {
      f.dns.answers![0]!.type = ip.includes(":") ? "AAAA" : "A";
      f.related = { ip: [ip] };
    }
    if (verb.startsWith("/")) f.porchlight = { fields: { hosts_file: verb } };
  }
  return f;
}

export function parseDnsmasqDhcp(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const m = DHCP_RE.exec(msg);
  if (!m) return null;
  const verb = m[1]!, iface = m[2], rest = (m[3] ?? "").trim().split(/\s+/).filter(Boolean);
  const f: ProgramFields = {
    event: { dataset: "dnsmasq.dhcp", category: CATEGORY_NETWORK, type: verb === "DHCPACK" ? PROTOCOL_ALLOWED : verb === "DHCPNAK" ? PROTOCOL_DENIED : PROTOCOL, action: verb.toLowerCase() },
  };
  let ip: string | undefined, mac: string | undefined, host: string | undefined;
  const reason: string[] = [];
  for (const t of rest) {
    const asIp = !ip && !mac ? canonicalIp(t) : null;
    if (asIp) { ip = asIp; continue; }
    const asMac = !mac ? normMac(t) : undefined;
    if (asMac) { mac = asMac; continue; }
    if (mac && !host && reason.length === 0 && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(t) && verb !== "DHCPNAK") host = t;
    else reason.push(t);
  }
  f.source = {};
  if (ip) f.source.ip = ip;
  if (mac) f.source.mac = mac;
  if (host) f.source.domain = host;
  if (iface) f.observer = ingressObserver(iface);
  if (ip) f.related = { ip: [ip], ...(host ? { hosts: [host] } : {}) };
  else if (host) f.related = { hosts: [host] };
  if (reason.length) f.porchlight = { fields: { dhcp_message: reason.join(" ") } };
  return f;
}
