/**
 * Program dispatch: picks the program parser for a message by its syslog APP-NAME (normalized:
 * lowercased, `sshd(pam_unix)` → `sshd`, `/usr/sbin/cron` → `cron`), and by content when the name is
 * missing, unknown or a firewall prefix took its place (`Jan  8 03:37:09 DENY: IN=eth0 ...`), or when the
 * line had no syslog header at all (`srv sshd[123]: ...`, bare dropbear lines).
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { parseIptables, netfilterStart } from "./iptables.ts";
import { parseUlogd } from "./ulogd.ts";
import { parsePfsense, PF_SNIFF } from "./pfsense.ts";
import { parseSshd, SSHD_SNIFF } from "./sshd.ts";
import { parseDropbear, DROPBEAR_SNIFF } from "./dropbear.ts";
import { parseSudo } from "./sudo.ts";
import { parseSu } from "./su.ts";
import { parseDnsmasq, parseDnsmasqDhcp } from "./dnsmasq.ts";
import { parseHostapd } from "./hostapd.ts";
import { parseArpwatch } from "./arpwatch.ts";
import { parseSynology, SYNOLOGY_SNIFF } from "./synology.ts";
import { parseBackup } from "./backup.ts";
import { parsePam, PAM_SNIFF } from "./pam.ts";
import { parseLuci, isLuci } from "./luci.ts";
import { TokenMemo } from "../memo.ts";
import { table } from "../../table.ts";

type Parse = (msg: string, syslog: SyslogMessage) => ProgramFields | null;

/** `dataset` is what a message of a known program gets when its parser does not recognise the text. */
interface Entry {
  parse: Parse;
  dataset?: string;
}

const sshd: Entry = { parse: parseSshd, dataset: "sshd" };
const ulogd: Entry = { parse: parseUlogd, dataset: "ulogd" };
const dnsmasq: Entry = { parse: parseDnsmasq, dataset: "dnsmasq" };
const hostapd: Entry = { parse: parseHostapd, dataset: "hostapd" };
const arpwatch: Entry = { parse: parseArpwatch, dataset: "arpwatch" };
const synology: Entry = { parse: parseSynology };

const BY_PROGRAM = table<Entry>({
  kernel: { parse: parseIptables },
  iptables: { parse: parseIptables, dataset: "iptables" },
  nftables: { parse: parseIptables, dataset: "iptables" },
  ulogd, ulogd2: ulogd, conntrack: ulogd,
  filterlog: { parse: parsePfsense, dataset: "pfsense.filterlog" },
  sshd, "sshd-session": sshd, "sshd-auth": sshd,
  dropbear: { parse: parseDropbear, dataset: "dropbear" },
  sudo: { parse: parseSudo, dataset: "sudo" },
  su: { parse: parseSu, dataset: "su" },
  dnsmasq,
  "dnsmasq-dhcp": { parse: parseDnsmasqDhcp, dataset: "dnsmasq.dhcp" },
  hostapd, wpad: hostapd,
  arpwatch, addrwatch: arpwatch, addrwatch_syslog: arpwatch,
  connection: synology, synoscgi: synology, "synoscgi_syno.api.auth": synology,
  rsnapshot: { parse: parseBackup, dataset: "backup" },
  // LuCI logs through the process that runs it: uhttpd (and rpcd) carry other messages too, so no fallback dataset.
  luci: { parse: parseLuci, dataset: "luci" }, uhttpd: { parse: parseLuci }, rpcd: { parse: parseLuci },
});

/**
 * Parser entry by raw program name (APP-NAME, or a tag sniffed from a headerless line; null: not a
 * program we know), memoized: one cache probe per line instead of normalizing the name and looking it
 * up again. A network logs a few dozen program names.
 */
const entryCache = new TokenMemo<Entry | null>(256);
function entryOf(appName: string): Entry | undefined {
  let e = entryCache.get(appName);
  if (e === undefined) {
    e = BY_PROGRAM[programKey(appName)] ?? null;
    entryCache.set(appName, e);
  }
  return e ?? undefined;
}

/** Normalized program name: lowercase, without `(pam_unix)`-style suffixes and directories (entryOf memoizes it). */
export function programKey(appName: string): string {
  let k = appName.toLowerCase();
  const paren = k.indexOf("(");
  if (paren > 0) k = k.slice(0, paren);
  const slash = k.lastIndexOf("/");
  if (slash >= 0) k = k.slice(slash + 1);
  return k;
}

/** Header pieces of a headerless line's tag (`host prog[pid]: ` or `[prog]: `), and the message after it. */
export interface SniffedTag {
  program: string;
  /** "" when the tag had none. */
  pid: string;
  hostname: string;
  rest: string;
}

const TAG_RE = /^(?:([A-Za-z0-9][\w.-]*) )?(?:\[([A-Za-z][\w.-]*)\]|([A-Za-z][\w.\/-]*)(?:\[(\d+)\])?):? /;

/**
 * The tag of a line without a usable header ("srv sshd[123]: msg", "[sshd]: msg", "dropbear[1252]: msg")
 * when it names a program we know; null otherwise (also when the header gave an APP-NAME).
 */
export function sniffTag(syslog: SyslogMessage): SniffedTag | null {
  const msg = syslog.msg;
  if (syslog.appName || !(syslog.format === "none" || msg.charCodeAt(0) === 0x5b)) return null;
  const t = TAG_RE.exec(msg);
  if (!t) return null;
  const program = t[2] ?? t[3]!;
  if (!entryOf(program)) return null;
  return { program, pid: t[4] ?? "", hostname: t[1] ?? "", rest: msg.slice(t[0].length) };
}

/**
 * Runs the program parsers over one message. Returns null when none recognised it. `tag` is the line's
 * sniffTag (computed here when not given): its program's parser reads the message after the tag.
 */
export function parseProgram(syslog: SyslogMessage, tag: SniffedTag | null = sniffTag(syslog)): ProgramFields | null {
  const msg = syslog.msg;
  const app = syslog.appName;
  let fallbackDataset: string | undefined;
  if (app) {
    const entry = entryOf(app);
    if (entry) {
      const r = entry.parse(msg, syslog);
      if (r) return r;
      fallbackDataset = entry.dataset;
    }
  } else if (tag) {
    const entry = entryOf(tag.program)!;
    const r = entry.parse(tag.rest, { ...syslog, appName: tag.program, msg: tag.rest });
    if (r) return r;
    if (entry.dataset) return { event: { dataset: entry.dataset } };
  }
  const r = sniff(msg, syslog);
  if (r) return r;
  return fallbackDataset ? { event: { dataset: fallbackDataset } } : null;
}

/** Content sniffing: cheapest and most specific checks first. */
function sniff(msg: string, syslog: SyslogMessage): ProgramFields | null {
  if (msg.indexOf("SRC=") >= 0 && netfilterStart(msg) >= 0) return parseIptables(msg, syslog);
  const c0 = msg.charCodeAt(0);
  if (c0 === 0x5b || c0 === 0x20) {
    const r = parseUlogd(msg, syslog);
    if (r) return r;
  }
  if (c0 >= 0x30 && c0 <= 0x39 && PF_SNIFF.test(msg)) return parsePfsense(msg, syslog);
  if (DROPBEAR_SNIFF.test(msg)) return parseDropbear(msg, syslog);
  if (SSHD_SNIFF.test(msg)) return parseSshd(msg, syslog);
  if (PAM_SNIFF.test(msg)) return parsePam(msg, "pam");
  if (msg.indexOf("] from [") >= 0 || msg.indexOf("blocked") >= 0) {
    if (SYNOLOGY_SNIFF.test(msg)) return parseSynology(msg, syslog);
  }
  if (isLuci(msg)) return parseLuci(msg, syslog);
  if (msg.indexOf("ackup") >= 0 || msg.indexOf("ACKUP") >= 0) return parseBackup(msg, syslog);
  return null;
}
