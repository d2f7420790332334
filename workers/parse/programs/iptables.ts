/**
 * Netfilter LOG lines (iptables `-j LOG`, nftables `log prefix`): `<prefix>IN=eth0 OUT= MAC=... SRC=...
 * DST=... PROTO=TCP SPT=... DPT=...` → ECS network events. Hand-scanned (no regex on the hot path):
 * firewall lines are the bulk of a home router's log.
 *
 * Prefix: the text before `IN=` (kernel uptime stamp removed), glued or not: OpenWrt `DROP(src wan)`,
 * UFW `[UFW BLOCK]`, EdgeOS `[WAN_IN-10-D]`, `FW-DROP:`, or `A=DROP C=inet` key=value style where A is
 * the action and C the chain. It becomes `rule.name` (the chain, for the A=/C= style) and decides
 * `event.action`: drop, reject, accept, else "log".
 *
 * Direction (a documented heuristic): inbound when IN is a WAN-ish interface (wan*, ppp*, wwan*, or the
 * prefix says "src wan"), outbound when OUT is; otherwise from the addresses (private vs public).
 */
import type { EcsEvent } from "../../ecs.ts";
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { canonicalIp, directionOf } from "../ip.ts";

const WANISH = /^(?:wan|ppp|wwan|erouter|pppoe)/i;

/**
 * Index where the netfilter fields start (`IN=`, or `OUT=` for locally generated packets), or -1. The
 * key must not follow a letter (PHYSIN= is not it; a glued prefix ending in ")" or "]" is fine) and
 * SRC= must come later (prose rarely has both).
 */
export function netfilterStart(msg: string): number {
  const srcAt = msg.lastIndexOf("SRC=");
  if (srcAt < 0) return -1;
  for (const key of ["IN=", "OUT="]) {
    for (let i = msg.indexOf(key); i >= 0 && i < srcAt; i = msg.indexOf(key, i + 3)) {
      const c = i > 0 ? msg.charCodeAt(i - 1) | 0x20 : 0;
      if (c < 0x61 || c > 0x7a) return i;
    }
  }
  return -1;
}

export function parseIptables(msg: string, syslog?: SyslogMessage): ProgramFields | null {
  const start = netfilterStart(msg);
  if (start < 0) return null;
  let prefix = msg.slice(0, start);
  // Kernel uptime stamp "[ 1234.5678] " before the prefix.
  if (prefix.charCodeAt(0) === 0x5b) {
    const close = prefix.indexOf("]");
    if (close > 0 && /^\[\s*\d+\.\d+\]$/.test(prefix.slice(0, close + 1))) prefix = prefix.slice(close + 1);
  }
  prefix = prefix.trim();
  // A prefix the syslog stage took for the TAG ("Jan  8 03:37:09 DENY: IN=...").
  if (prefix === "" && syslog?.appName && syslog.appName !== "kernel") prefix = syslog.appName;

  // Fields up to an embedded ICMP error packet "[SRC=... ]", which describes another packet.
  let body = msg.slice(start);
  const nested = body.indexOf(" [SRC=");
  if (nested >= 0) body = body.slice(0, nested);
  const kv: Record<string, string> = {};
  const flags: string[] = [];
  for (const tok of body.split(" ")) {
    if (tok === "") continue;
    const eq = tok.indexOf("=");
    if (eq < 0) flags.push(tok);
    else {
      const k = tok.slice(0, eq);
      if (!(k in kv)) kv[k] = tok.slice(eq + 1); // first wins: IP LEN before UDP LEN, IP ID before ICMP ID
    }
  }

  let chain: string | undefined;
  let actionWord = prefix;
  if (/\bA=\S/.test(prefix)) {
    // "A=DROP C=inet" style: action and chain are themselves key=value pairs.
    for (const tok of prefix.split(/\s+/)) {
      if (tok.startsWith("A=")) actionWord = tok.slice(2);
      else if (tok.startsWith("C=")) chain = tok.slice(2);
    }
  }
  const action = actionOf(actionWord);
  const ruleName = chain ?? cleanPrefix(prefix);

  const f: ProgramFields = {
    event: {
      dataset: "iptables",
      category: ["network"],
      type: action === "drop" || action === "reject" ? ["connection", "denied"] : action === "accept" ? ["connection", "allowed"] : ["connection"],
      action,
    },
  };
  const src = kv.SRC !== undefined ? canonicalIp(kv.SRC) : null;
  const dst = kv.DST !== undefined ? canonicalIp(kv.DST) : null;
  const network: NonNullable<EcsEvent["network"]> = {};
  if (kv.PROTO) network.transport = kv.PROTO.toLowerCase();
  if (src || dst) network.type = (kv.SRC ?? kv.DST ?? "").includes(":") ? "ipv6" : "ipv4";
  const len = kv.LEN !== undefined ? Number(kv.LEN) : NaN;
  if (len >= 0) {
    network.bytes = len;
    network.packets = 1;
  }
  const source: NonNullable<EcsEvent["source"]> = {};
  const destination: NonNullable<EcsEvent["destination"]> = {};
  if (src) source.ip = src;
  if (dst) destination.ip = dst;
  const spt = kv.SPT !== undefined ? Number(kv.SPT) : NaN;
  const dpt = kv.DPT !== undefined ? Number(kv.DPT) : NaN;
  if (spt >= 0 && spt <= 65535) source.port = spt;
  if (dpt >= 0 && dpt <= 65535) destination.port = dpt;
  // MAC= is dst(6) : src(6) : ethertype(2) [: more], as the kernel prints the link-layer header.
  if (kv.MAC && kv.MAC.length >= 35) {
    destination.mac = kv.MAC.slice(0, 17).replaceAll(":", "-").toUpperCase();
    source.mac = kv.MAC.slice(18, 35).replaceAll(":", "-").toUpperCase();
  }
  if (kv.IN || kv.OUT) {
    f.observer = {};
    if (kv.IN) f.observer.ingress = { interface: { name: kv.IN } };
    if (kv.OUT) f.observer.egress = { interface: { name: kv.OUT } };
  }
  const dir = kv.IN && (WANISH.test(kv.IN) || /\bsrc wan\b/i.test(prefix)) ? "inbound"
    : kv.OUT && WANISH.test(kv.OUT) ? "outbound"
    : directionOf(src ?? undefined, dst ?? undefined);
  if (dir) network.direction = dir;
  f.network = network;
  if (Object.keys(source).length) f.source = source;
  if (Object.keys(destination).length) f.destination = destination;
  if (ruleName) f.rule = { name: ruleName };
  if (src || dst) f.related = { ip: src && dst && src !== dst ? [src, dst] : [(src ?? dst)!] };
  const extra: Record<string, string | number | boolean> = {};
  if (flags.length) extra.tcp_flags = flags.join(" ");
  if (kv.TTL) extra.ttl = Number(kv.TTL);
  if (kv.HOPLIMIT) extra.hop_limit = Number(kv.HOPLIMIT);
  if (kv.TYPE) extra.icmp_type = Number(kv.TYPE);
  if (kv.CODE) extra.icmp_code = Number(kv.CODE);
  if (kv.MARK) extra.mark = kv.MARK;
  if (kv.PHYSIN) extra.physin = kv.PHYSIN;
  if (kv.PHYSOUT) extra.physout = kv.PHYSOUT;
  if (Object.keys(extra).length) f.porchlight = { fields: extra };
  return f;
}

/** Firewall action from a prefix word: drop, reject, accept, or "log" when it says nothing. */
export function actionOf(prefix: string): string {
  const p = prefix.toUpperCase();
  if (/REJECT/.test(p)) return "reject";
  if (/DROP|DENY|BLOCK/.test(p)) return "drop";
  if (/ACCEPT|ALLOW|PASS/.test(p)) return "accept";
  // EdgeOS/VyOS "[WAN_IN-10-D]" / "-A" / "-R": the last letter is the rule's action.
  const m = /-([DAR])\]?$/.exec(p);
  if (m) return m[1] === "D" ? "drop" : m[1] === "R" ? "reject" : "accept";
  return "log";
}

/** "[UFW BLOCK]" → "UFW BLOCK", "FW-DROP:" → "FW-DROP"; OpenWrt "DROP(src wan)" kept whole. */
function cleanPrefix(p: string): string {
  let s = p;
  if (s.endsWith(":")) s = s.slice(0, -1);
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  return s.trim();
}
