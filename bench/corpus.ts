/**
 * A realistic mixed home-network syslog corpus, generated deterministically (same seed → same lines) so
 * every bench measures the same input: an OpenWrt router (netfilter LOG, conntrack flows, dnsmasq DNS and
 * DHCP, hostapd) in RFC 3164 and logread form, a pfSense box in RFC 5424, and a NAS's sshd. The mix
 * (CORPUS_MIX, fractions of lines) follows what such a home produces in a day: DNS and firewall lines
 * dominate, authentication is rare. Other benches import `generateCorpus`, and `relayNdjson` for the
 * same lines as the relay sends them.
 */
import { record } from "../relay/sources/source.ts";

/** Fraction of lines per family (sums to 1). */
export const CORPUS_MIX = {
  iptables: 0.28,
  conntrack: 0.12,
  dnsmasq: 0.26,
  dhcp: 0.05,
  sshd: 0.08,
  hostapd: 0.07,
  pfsense: 0.14,
} as const;

/** mulberry32: tiny, fast, good enough for test data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DOMAINS = ["example.com", "www.google.com", "connectivitycheck.gstatic.com", "api.github.com", "time.apple.com", "cdn.netflix.net", "graph.facebook.com", "ntp.ubuntu.com", "updates.nas.local", "weather.home.arpa"];
const QTYPES = ["A", "AAAA", "A", "A", "HTTPS", "PTR", "SRV"];
const HOSTS = ["alice-phone", "bob-laptop", "tv-livingroom", "printer", "thermostat", "kid-tablet"];
const USERS = ["admin", "root", "pi", "ubuntu", "test", "alice", "oracle", "git"];

export function generateCorpus(n: number, seed = 1): string[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pubIp = (): string => `${pick([45, 62, 80, 103, 185, 193, 203, 212])}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
  const lanIp = (): string => `192.168.1.${int(2, 254)}`;
  const mac = (): string => Array.from({ length: 6 }, () => int(0, 255).toString(16).padStart(2, "0")).join(":");
  const macs = Array.from({ length: HOSTS.length }, mac);
  // On the WAN port the link-layer pair is always the router's MAC and the ISP gateway's MAC.
  const wanMacs = `${mac()}:${mac()}:08:00`;
  const families = Object.entries(CORPUS_MIX) as [keyof typeof CORPUS_MIX, number][];
  const base = Date.UTC(2026, 10, 20, 0, 0, 0);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = new Date(base + i * 137); // ~7 lines/s: a busy home router
    const bsd = `${MONTHS[t.getUTCMonth()]} ${String(t.getUTCDate()).padStart(2, " ")} ${t.toISOString().slice(11, 19)}`;
    const logread = `${DAYS[t.getUTCDay()]} ${bsd} ${t.getUTCFullYear()}`;
    let x = r();
    let fam: keyof typeof CORPUS_MIX = "iptables";
    for (const [f, p] of families) {
      if (x < p) { fam = f; break; }
      x -= p;
    }
    switch (fam) {
      case "iptables": {
        const proto = pick(["TCP", "TCP", "UDP", "ICMP"]);
        const ports = proto === "ICMP" ? "TYPE=8 CODE=0 ID=1 SEQ=1" : `SPT=${int(1024, 65535)} DPT=${pick([22, 23, 80, 443, 445, 3389, 8080, 53])} ${proto === "TCP" ? "WINDOW=1024 RES=0x00 SYN URGP=0" : `LEN=${int(20, 200)}`}`;
        const prefix = pick(["DROP(src wan)", "REJECT(src wan)", "[UFW BLOCK] ", "A=DROP C=input ", "ACCEPT(dest wan)"]);
        const body = `${prefix}IN=${pick(["eth0.2", "wan", "pppoe-wan"])} OUT= MAC=${wanMacs} SRC=${pubIp()} DST=${pick(["203.0.113.2", lanIp()])} LEN=${int(40, 1500)} TOS=0x00 PREC=0x00 TTL=${int(30, 250)} ID=${int(0, 65535)} PROTO=${proto} ${ports}`;
        lines.push(r() < 0.5 ? `<4>${bsd} OpenWrt kernel: [${int(1000, 999999)}.${int(100000, 999999)}] ${body}` : `${logread} kern.warn kernel: [${int(1000, 999999)}.${int(100000, 999999)}] ${body}`);
        break;
      }
      case "conntrack": {
        const kind = pick(["NEW", "DESTROY", "DESTROY"]);
        const src = lanIp(), dst = pubIp(), sp = int(1024, 65535), dp = pick([443, 80, 53, 123]);
        const proto = dp === 53 || dp === 123 ? "UDP" : "TCP";
        lines.push(`<30>${bsd} OpenWrt ulogd[${int(900, 999)}]: [${kind}] ORIG: SRC=${src} DST=${dst} PROTO=${proto} SPT=${sp} DPT=${dp} PKTS=${int(1, 500)} BYTES=${int(40, 900000)} , REPLY: SRC=${dst} DST=203.0.113.2 PROTO=${proto} SPT=${dp} DPT=${sp} PKTS=${int(1, 500)} BYTES=${int(40, 900000)}`);
        break;
      }
      case "dnsmasq": {
        const name = pick(DOMAINS), pid = int(1000, 3000);
        const verb = pick(["query", "query", "forwarded", "reply", "cached"]);
        const msg = verb === "query" ? `query[${pick(QTYPES)}] ${name} from ${lanIp()}` : verb === "forwarded" ? `forwarded ${name} to ${pick(["1.1.1.1", "9.9.9.9", "2606:4700:4700::1111"])}` : `${verb} ${name} is ${pick([pubIp(), "<CNAME>", "2606:2800:220:1:248:1893:25c8:1946"])}`;
        lines.push(r() < 0.5 ? `<30>${bsd} OpenWrt dnsmasq[${pid}]: ${msg}` : `${logread} daemon.info dnsmasq[${pid}]: ${msg}`);
        break;
      }
      case "dhcp": {
        const h = int(0, HOSTS.length - 1);
        const verb = pick(["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"]);
        const ip = verb === "DHCPDISCOVER" ? "" : `192.168.1.${100 + h} `;
        lines.push(`${logread} daemon.info dnsmasq-dhcp[${int(1000, 3000)}]: ${verb}(br-lan) ${ip}${macs[h]}${verb === "DHCPACK" ? ` ${HOSTS[h]}` : ""}`);
        break;
      }
      case "sshd": {
        const ip = pubIp(), port = int(1024, 65535), u = pick(USERS), pid = int(10000, 99999);
        const msg = pick([
          `Failed password for invalid user ${u} from ${ip} port ${port} ssh2`,
          `Failed password for root from ${ip} port ${port} ssh2`,
          `Invalid user ${u} from ${ip} port ${port}`,
          `Connection closed by authenticating user root ${ip} port ${port} [preauth]`,
          `Disconnected from invalid user ${u} ${ip} port ${port} [preauth]`,
          `pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}  user=root`,
          `Accepted publickey for alice from 192.168.1.20 port ${port} ssh2: ED25519 SHA256:abc`,
          `Received disconnect from ${ip} port ${port}:11: Bye Bye [preauth]`,
        ]);
        lines.push(`<38>${bsd} nas ${pick(["sshd", "sshd-session"])}[${pid}]: ${msg}`);
        break;
      }
      case "hostapd": {
        const h = int(0, HOSTS.length - 1), iface = pick(["wlan0", "wlan1", "phy0-ap0"]);
        const msg = pick([
          `${iface}: AP-STA-CONNECTED ${macs[h]}`,
          `${iface}: AP-STA-DISCONNECTED ${macs[h]}`,
          `${iface}: STA ${macs[h]} IEEE 802.11: associated (aid ${int(1, 20)})`,
          `${iface}: STA ${macs[h]} IEEE 802.11: authenticated`,
          `${iface}: STA ${macs[h]} WPA: pairwise key handshake completed (RSN)`,
        ]);
        lines.push(`${logread} daemon.info hostapd: ${msg}`);
        break;
      }
      case "pfsense": {
        const v6 = r() < 0.15, act = pick(["block", "block", "pass"]), proto = pick(["tcp", "udp", "icmp"]);
        const src = v6 ? "2001:db8:1::" + int(1, 9999).toString(16) : pubIp(), dst = v6 ? "2001:db8:2::1" : "198.51.100.2";
        const l4 = proto === "tcp" ? `${int(1024, 65535)},${pick([22, 443, 3389])},0,S,${int(1, 4e9)},,64240,,mss;sackOK;TS;nop;wscale` : proto === "udp" ? `${int(1024, 65535)},${pick([53, 123, 1900])},${int(8, 500)}` : "request,12345,1";
        const ipPart = v6 ? `6,0x00,0x00000,64,${proto},${proto === "tcp" ? 6 : proto === "udp" ? 17 : 58},${int(40, 1500)},${src},${dst}` : `4,0x0,,${int(30, 250)},${int(0, 65535)},0,DF,${proto === "tcp" ? 6 : proto === "udp" ? 17 : 1},${proto},${int(40, 1500)},${src},${dst}`;
        const body = `${int(1, 200)},,,${int(1000000000, 1000009999)},igb0,match,${act},in,${ipPart},${l4}`;
        lines.push(`<134>1 ${t.toISOString()} pfsense.home.arpa filterlog ${int(10000, 99999)} - - ${body}`);
        break;
      }
    }
  }
  return lines;
}

/**
 * `lines` as the relay sends them: its NDJSON records (relay/sources/source.ts), from one UDP sender,
 * received over one second from `t0` (each line its own received_at).
 */
export function relayNdjson(lines: readonly string[], t0 = Date.now()): string {
  return lines
    .map((l, i) => record(Buffer.from(l), "192.168.1.1", "udp", false).replace(/"received_at":"[^"]*"/, `"received_at":"${new Date(t0 + i).toISOString()}"`))
    .join("");
}
