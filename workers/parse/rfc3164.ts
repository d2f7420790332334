/**
 * RFC 3164 ("BSD syslog") and the real-world variants seen on home networks, parsed by one hand-written
 * scanner: optional PRI, optional Cisco sequence number and `*`/`.` clock markers, BSD timestamps
 * (`Mmm dd hh:mm:ss` with optional fraction, year and zone abbreviation), ISO 8601 timestamps, OpenWrt
 * `logread` lines (`Www Mmm dd hh:mm:ss yyyy facility.severity tag: msg`), optional hostname, the TAG
 * (`prog[pid]:`, `prog:`), and `message repeated N times: [ ... ]`.
 *
 * Year and zone: BSD timestamps carry neither; the zone comes from the caller (per source, default UTC)
 * and the year is inferred from the receive time (see time.ts inferYear).
 */
import { newSyslogMessage, type SyslogMessage } from "./types.ts";
import { digitAt, inferYear, monthAt, newIsoScan, scanIso, utcMs, wallToUtc, weekdayAt, type IsoScan } from "./time.ts";
import { facilityCode, severityCode } from "./names.ts";
import { table } from "../table.ts";

export interface BsdOptions {
  /** Receive time, ms since epoch: the reference for year inference. */
  receivedAt: number;
  /** IANA zone of the sender's wall clock, by hostname (absent when the line has none). */
  timezone: (hostname: string | undefined) => string;
}

/** Longest TAG we accept (RFC 3164 says 32; real programs such as Synology's exceed it). */
const TAG_MAX = 96;
const PID_MAX = 32;
const HOST_MAX = 255;

/** What scanBsdTime read, in an object its caller owns (`end`: the index after the time). */
interface BsdTime { month: number; day: number; h: number; mi: number; sec: number; ms: number; us: number; year: number; weekday: boolean; end: number }

/**
 * Scans a BSD timestamp at `p`: `[Www ]Mmm d[d] [yyyy ]hh:mm:ss[.frac][ yyyy]`. The day may be space-
 * padded ("Oct  1") or zero-padded; the hour may have one digit. Returns false when it does not match.
 */
function scanBsdTime(s: string, p: number, bt: BsdTime): boolean {
  bt.weekday = false;
  bt.year = 0;
  bt.ms = 0;
  if (weekdayAt(s, p) && s.charCodeAt(p + 3) === 32) {
    bt.weekday = true;
    p += 4;
  }
  const month = monthAt(s, p);
  if (month === 0) return false;
  p += 3;
  if (s.charCodeAt(p) !== 32) return false;
  p++;
  if (s.charCodeAt(p) === 32) p++;
  let day = digitAt(s, p);
  if (day < 0) return false;
  p++;
  const d2 = digitAt(s, p);
  if (d2 >= 0) {
    day = day * 10 + d2;
    p++;
  }
  if (day < 1 || day > 31 || s.charCodeAt(p) !== 32) return false;
  p++;
  // "Mmm dd yyyy hh:mm:ss" (Cisco ASA, some NAS firmwares)
  if (digitAt(s, p) >= 0 && digitAt(s, p + 1) >= 0 && digitAt(s, p + 2) >= 0 && digitAt(s, p + 3) >= 0 && s.charCodeAt(p + 4) === 32) {
    bt.year = digitAt(s, p) * 1000 + digitAt(s, p + 1) * 100 + digitAt(s, p + 2) * 10 + digitAt(s, p + 3);
    p += 5;
  }
  let h = digitAt(s, p);
  if (h < 0) return false;
  p++;
  if (digitAt(s, p) >= 0) h = h * 10 + digitAt(s, p++);
  if (h > 23 || s.charCodeAt(p) !== 58) return false;
  const mi = digitAt(s, p + 1) * 10 + digitAt(s, p + 2);
  if (digitAt(s, p + 1) < 0 || digitAt(s, p + 2) < 0 || mi > 59 || s.charCodeAt(p + 3) !== 58) return false;
  let sec = digitAt(s, p + 4) * 10 + digitAt(s, p + 5);
  if (digitAt(s, p + 4) < 0 || digitAt(s, p + 5) < 0 || sec > 60) return false;
  if (sec === 60) sec = 59;
  p += 6;
  bt.us = 0;
  if (s.charCodeAt(p) === 46 /* . */) {
    p++;
    // Fraction of any length (syslog-ng's tests send up to 60 digits); the first 6 count. A lone '.'
    // ("02:00:00. host") is accepted as no fraction.
    let k = 0;
    let ms = 0;
    let us = 0;
    while (digitAt(s, p) >= 0 && k < 64) {
      if (k < 3) ms = ms * 10 + digitAt(s, p);
      else if (k < 6) us = us * 10 + digitAt(s, p);
      k++;
      p++;
    }
    bt.ms = k === 1 ? ms * 100 : k === 2 ? ms * 10 : ms;
    bt.us = k <= 3 ? 0 : k === 4 ? us * 100 : k === 5 ? us * 10 : us;
  }
  // ctime order: "... hh:mm:ss yyyy" (OpenWrt logread, `date` output)
  if (bt.year === 0 && s.charCodeAt(p) === 32 && digitAt(s, p + 1) >= 0 && digitAt(s, p + 2) >= 0 && digitAt(s, p + 3) >= 0 && digitAt(s, p + 4) >= 0) {
    const after = s.charCodeAt(p + 5);
    if (after === 32 || Number.isNaN(after)) {
      bt.year = digitAt(s, p + 1) * 1000 + digitAt(s, p + 2) * 100 + digitAt(s, p + 3) * 10 + digitAt(s, p + 4);
      p += 5;
    }
  }
  bt.month = month;
  bt.day = day;
  bt.h = h;
  bt.mi = mi;
  bt.sec = sec;
  bt.end = p;
  return true;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** Hostname characters: letters, digits, '.', '-', '_', ':' (IPv6), '@' (rsyslog permit.AtSignsInHostname). */
function isHostChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 46 || c === 45 || c === 95 || c === 58 || c === 64;
}

/**
 * TAG (program name) characters: letters, digits and `_ . - / % ( ) @ + # ~`. No ',', '=', '"', '|', so
 * "date=2018-09-13 time=10:12:18" or CSV payloads never yield a program name.
 */
function isTagChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45 ||
    c === 47 || c === 37 || c === 40 || c === 41 || c === 64 || c === 43 || c === 35 || c === 126;
}

/**
 * Zone abbreviations some devices print after BSD timestamps (Cisco `service timestamps ... show-timezone`,
 * `date` output), in minutes east of UTC. Only unambiguous ones; others (IST, CST in China...) are not
 * listed, so the sender's configured zone applies.
 */
const ZONE_ABBR = table({
  UTC: 0, GMT: 0, Z: 0, WET: 0, WEST: 60, BST: 60, CET: 60, CEST: 120, MET: 60, MEST: 120, EET: 120, EEST: 180,
  MSK: 180, EST: -300, EDT: -240, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420, AKST: -540,
  AKDT: -480, HST: -600, JST: 540, KST: 540, AEST: 600, AEDT: 660, NZST: 720, NZDT: 780,
});

/**
 * Parses a BSD-style line from `start` (just after the PRI, or 0 when there is none). `pri` is the PRI
 * value or -1. Never throws; returns format "none" (msg = whole line) when nothing syslog-like is found.
 */
export function parseBsd(line: string, start: number, pri: number, opts: BsdOptions): SyslogMessage {
  const s = line;
  const n = s.length;
  const m = newSyslogMessage("rfc3164", "");
  if (pri >= 0) {
    m.pri = pri;
    m.facility = pri >> 3;
    m.severity = pri & 7;
  }
  let p = start;
  if (pri >= 0) p = skipSpaces(s, p); // "<167> Mar  7 ..." (seen in the wild and in rsyslog's tests)

  // Cisco IOS: "<189>123: *Mar  1 00:03:17.123: %SYS-5-CONFIG_I: ..." and with origin-id
  // "<189>123: router1: *Mar  1 ...". The sequence number counts messages on the device.
  let cisco = false;
  if (digitAt(s, p) >= 0) {
    let q = p;
    let seq = 0;
    while (q < n && q - p < 10 && digitAt(s, q) >= 0) seq = seq * 10 + digitAt(s, q++);
    if (s.charCodeAt(q) === 58 && s.charCodeAt(q + 1) === 32) {
      m.sequence = seq;
      cisco = true;
      p = q + 2;
    }
  }
  if (cisco && !startsTime(s, p)) {
    // origin-id hostname before the timestamp
    let q = p;
    while (q < n && q - p < HOST_MAX && isHostChar(s.charCodeAt(q)) && s.charCodeAt(q) !== 58) q++;
    if (q > p && s.charCodeAt(q) === 58 && s.charCodeAt(q + 1) === 32 && startsTime(s, q + 2)) {
      m.hostname = s.slice(p, q);
      p = q + 2;
    }
  }
  const marker = s.charCodeAt(p);
  if ((marker === 42 /* * */ || marker === 46 /* . */) && monthAt(s, p + 1) > 0) {
    // Cisco marks a clock that is not NTP-synced with '*' (and '.' once synced, then lost); kept as
    // RFC 5424's timeQuality SD element, the way syslog-ng reports it.
    cisco = true;
    m.structuredData = { timeQuality: { isSynced: marker === 42 ? "0" : "1" } };
    p++;
  }

  let haveTime = false;
  let iso: IsoScan; // made only for an ISO stamp (most lines have a BSD one)
  const bt: BsdTime = { month: 0, day: 0, h: 0, mi: 0, sec: 0, ms: 0, us: 0, year: 0, weekday: false, end: 0 };
  if (scanBsdTime(s, p, bt)) {
    haveTime = true;
    p = bt.end;
    let zoneOffset = NaN; // minutes east of UTC when the line names its zone
    // Cisco: "00:03:17.123: %..."; with show-timezone "00:03:17.123 UTC: %..."; date(1)-style " UTC host".
    if (s.charCodeAt(p) === 58 && (cisco || s.charCodeAt(p + 1) === 32 || p + 1 >= n)) {
      p++;
    } else if (s.charCodeAt(p) === 32 && isUpper(s.charCodeAt(p + 1))) {
      let q = p + 1;
      while (q < n && q - p <= 5 && isUpper(s.charCodeAt(q))) q++;
      const after = s.charCodeAt(q);
      if (after === 58 || after === 32) {
        const off = ZONE_ABBR[s.slice(p + 1, q)];
        if (off !== undefined) {
          zoneOffset = off;
          p = after === 58 ? q + 1 : q;
        } else if (after === 58 && q - p >= 4 && cisco) {
          p = q + 1; // unknown abbreviation: skip it, the sender's zone applies
        }
      }
    }
    // OpenWrt logread: "Sat Oct 26 02:55:20 2024 daemon.info hostapd: ..."
    if (bt.weekday && bt.year > 0 && s.charCodeAt(p) === 32) {
      const q = scanFacSev(s, p + 1, m);
      if (q > 0) {
        m.format = "openwrt";
        p = q;
      }
    }
    const month = bt.month, day = bt.day, h = bt.h, mi = bt.mi, sec = bt.sec, ms = bt.ms, year = bt.year;
    if (bt.us) m.timestampMicros = bt.us;
    p = skipSpaces(s, p);
    if (m.format !== "openwrt" && m.hostname === undefined) p = scanHost(s, p, m);
    if (!Number.isNaN(zoneOffset)) {
      // The line names its zone: read the wall time as UTC, infer the year against the receive time seen
      // on that same wall clock, then shift by the written offset.
      m.tzOffset = zoneOffset;
      const offMs = zoneOffset * 60_000;
      const wall = year > 0 ? utcMs(year, month, day, h, mi, sec, ms) : inferYear(month, day, h, mi, sec, ms, "UTC", opts.receivedAt + offMs);
      m.timestamp = wall === undefined ? undefined : wall - offMs;
    } else {
      const zone = zoneOf(opts, m.hostname);
      m.timestamp = year > 0
        ? wallToUtc(utcMs(year, month, day, h, mi, sec, ms), zone)
        : inferYear(month, day, h, mi, sec, ms, zone, opts.receivedAt);
    }
    if (m.timestamp === undefined || Number.isNaN(m.timestamp)) m.timestamp = undefined;
  } else if (digitAt(s, p) >= 0 && s.charCodeAt(p + 4) === 45 && scanIso(s, p, false, (iso = newIsoScan()))) {
    haveTime = true;
    m.format = "iso";
    p = iso.end;
    const wall = iso.wall, off = iso.offsetMs, hasZone = iso.hasZone;
    if (iso.micros) m.timestampMicros = iso.micros;
    if (hasZone) m.tzOffset = off / 60_000;
    if (s.charCodeAt(p) === 58 && cisco) p++;
    p = skipSpaces(s, p);
    if (m.hostname === undefined) p = scanHost(s, p, m);
    m.timestamp = hasZone ? wall - off : wallToUtc(wall, zoneOf(opts, m.hostname));
    if (Number.isNaN(m.timestamp)) m.timestamp = undefined;
  }

  if (!haveTime && pri < 0 && !cisco) {
    // Neither PRI nor timestamp: only `prog[pid]: msg` or `host prog[pid]: msg` (journalctl's short
    // output without time, relays stripping the header) is recognised; anything else is not syslog.
    if (pidTagAt(s, p)) return finish(s, p, m, n);
    const q = scanHost(s, p, m, false);
    if (q !== p && pidTagAt(s, q)) return finish(s, q, m, n);
    return newSyslogMessage("none", line);
  }

  if (!haveTime && m.hostname === undefined) {
    // No timestamp: "<30>host prog[pid]: msg" has a hostname only when a TAG follows it.
    const q = scanHost(s, p, m, false);
    if (q !== p && scanTag(s, q, m) !== q) return finish(s, q, m, n);
    m.hostname = undefined;
  } else if (haveTime && m.hostname === "Message" && s.startsWith("forwarded from ", p)) {
    // AIX syslogd relays: "Sep 22 10:11:56 Message forwarded from cdaix66: sshd[1]: ..."
    const q = p + 15;
    let r = q;
    while (r < n && r - q < HOST_MAX && isHostChar(s.charCodeAt(r)) && s.charCodeAt(r) !== 58) r++;
    if (r > q && s.charCodeAt(r) === 58 && s.charCodeAt(r + 1) === 32) {
      m.hostname = s.slice(q, r);
      p = r + 2;
    }
  }
  return finish(s, p, m, n);
}

/** TAG, MSG (trailing CR/LF dropped) and `message repeated N times: [ ... ]`. */
function finish(s: string, p: number, m: SyslogMessage, n: number): SyslogMessage {
  p = scanTag(s, p, m);
  // Trailing CR/LF are framing left-overs (CRLF senders, files), never content.
  let end = n;
  while (end > p && (s.charCodeAt(end - 1) === 10 || s.charCodeAt(end - 1) === 13)) end--;
  let msg = p === 0 && end === n ? s : s.slice(p, end);
  // "message repeated N times: [ inner ]" (rsyslog's and syslog-ng's duplicate suppression)
  if (msg.startsWith("message repeated ")) {
    let q = 17;
    let count = 0;
    while (q < msg.length && q < 27 && digitAt(msg, q) >= 0) count = count * 10 + digitAt(msg, q++);
    if (q > 17 && msg.startsWith(" times: [", q)) {
      let a = q + 9;
      if (msg.charCodeAt(a) === 32) a++;
      let b = msg.length;
      while (b > a && (msg.charCodeAt(b - 1) === 32 || msg.charCodeAt(b - 1) === 13 || msg.charCodeAt(b - 1) === 10)) b--;
      if (msg.charCodeAt(b - 1) === 93) {
        m.repeatCount = count;
        msg = msg.slice(a, b - 1);
      }
    }
  }
  m.msg = msg;
  return m;
}

function zoneOf(opts: BsdOptions, hostname: string | undefined): string {
  const z = opts.timezone(hostname);
  return typeof z === "string" ? z : "UTC";
}

/** True when a BSD timestamp (optionally after a Cisco '*'/'.' marker) or an ISO date starts at `p`. */
function startsTime(s: string, p: number): boolean {
  const c = s.charCodeAt(p);
  if (c === 42 || c === 46) p++;
  return monthAt(s, p) > 0 || weekdayAt(s, p) || (digitAt(s, p) >= 0 && s.charCodeAt(p + 4) === 45);
}

function skipSpaces(s: string, p: number): number {
  while (s.charCodeAt(p) === 32) p++;
  return p;
}

// Pure cache: the last "facility.severity" token scanFacSev recognised, and its codes.
let lastFacSev = "";
let lastFac = 0;
let lastSev = 0;

/**
 * OpenWrt "facility.severity" at `p` followed by a space: sets pri/facility/severity on `m` when the line
 * had no PRI. Returns the index after the space, or -1.
 */
function scanFacSev(s: string, p: number, m: SyslogMessage): number {
  // A sender repeats a few tokens ("daemon.info", "kern.warn"): the last valid one is compared in place
  // (same token up to the same space, so the same result) before slicing and looking up names.
  const len = lastFacSev.length;
  if (len > 0 && s.charCodeAt(p + len) === 32 && s.startsWith(lastFacSev, p)) {
    if (m.pri === undefined) {
      m.pri = lastFac * 8 + lastSev;
      m.facility = lastFac;
      m.severity = lastSev;
    }
    return p + len + 1;
  }
  let dot = -1;
  let q = p;
  while (q < s.length && q - p < 24) {
    const c = s.charCodeAt(q);
    if (c === 46) dot = q;
    else if (c === 32) break;
    else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) return -1;
    q++;
  }
  if (dot < 0 || s.charCodeAt(q) !== 32) return -1;
  const fac = facilityCode(s.slice(p, dot));
  const sev = severityCode(s.slice(dot + 1, q));
  if (fac < 0 || sev < 0) return -1;
  lastFacSev = s.slice(p, q);
  lastFac = fac;
  lastSev = sev;
  if (m.pri === undefined) {
    m.pri = fac * 8 + sev;
    m.facility = fac;
    m.severity = sev;
  }
  return q + 1;
}

/**
 * Takes the token at `p` as the hostname unless it looks like a TAG (ends with ':' or contains '[') or
 * holds characters no hostname has. Returns the index after it and its one separating space (or `p`).
 * afterTime: the token follows a timestamp, where the UniFi `name,mac,version:` form is also read.
 */
function scanHost(s: string, p: number, m: SyslogMessage, afterTime = true): number {
  const n = s.length;
  let q = p;
  while (q < n && q - p <= HOST_MAX) {
    const c = s.charCodeAt(q);
    if (c === 32) break;
    if (c === 44 /* , */ && q > p && afterTime) return scanUnifiHost(s, p, q, m);
    if (!isHostChar(c)) return p;
    q++;
  }
  if (q === p || q - p > HOST_MAX) return p;
  // "prog:" is a TAG; "fe80::" is an IPv6 address
  if (s.charCodeAt(q - 1) === 58 && !(q - p >= 2 && s.charCodeAt(q - 2) === 58)) return p;
  if (q < n && s.charCodeAt(q) !== 32) return p;
  m.hostname = s.slice(p, q);
  // Exactly one separator: further spaces belong to MSG (rsyslog keeps them too).
  return s.charCodeAt(q) === 32 ? q + 1 : q;
}

/**
 * Ubiquiti UniFi devices write `name,mac,version: prog: msg` where the hostname goes
 * ("U7PG2,7483c2aabbcc,v4.3.20.11298: hostapd: ath0: STA ..."). `comma` is the first ',' of the token.
 */
function scanUnifiHost(s: string, p: number, comma: number, m: SyslogMessage): number {
  let q = comma;
  while (q < s.length && q - p <= HOST_MAX && (s.charCodeAt(q) === 44 || isHostChar(s.charCodeAt(q)))) q++;
  if (s.charCodeAt(q - 1) !== 58 || s.charCodeAt(q) !== 32) return p;
  m.hostname = s.slice(p, comma);
  return q + 1;
}

/** True when `prog[digits]: ` (or `prog[digits]:` at the end) starts at `p`. */
function pidTagAt(s: string, p: number): boolean {
  let q = p;
  while (q < s.length && q - p < TAG_MAX && isTagChar(s.charCodeAt(q))) q++;
  if (q === p || s.charCodeAt(q) !== 91) return false;
  const d = ++q;
  while (q - d < 10 && digitAt(s, q) >= 0) q++;
  if (q === d || s.charCodeAt(q) !== 93 || s.charCodeAt(q + 1) !== 58) return false;
  return q + 2 >= s.length || s.charCodeAt(q + 2) === 32;
}

/**
 * TAG at `p`, then MSG: `prog[pid]:`, `prog[pid]`, `prog:` (prog may hold '/', '.', '-', '_', '%', '(' and
 * ')'). Sets appName and procId; returns the index of MSG (after one space). A first word without ':' or
 * `[pid]` is NOT a TAG (as go-syslog and rsyslog's force.tagEndingByColon; default rsyslog and syslog-ng
 * take it): "host Some message here" keeps "Some message here" whole, which matters more for search and
 * program parsers than naming a program "Some". See test/conformance/syslog-deviations.md.
 */
function scanTag(s: string, p: number, m: SyslogMessage): number {
  const n = s.length;
  let q = p;
  while (q < n && q - p < TAG_MAX && isTagChar(s.charCodeAt(q))) q++;
  if (q === p || q - p >= TAG_MAX) return p;
  const c = s.charCodeAt(q);
  if (c === 91 /* [ */) {
    let r = q + 1;
    while (r < n && r - q <= PID_MAX && s.charCodeAt(r) !== 93 && s.charCodeAt(r) !== 32) r++;
    if (s.charCodeAt(r) !== 93) return p;
    const after = s.charCodeAt(r + 1);
    let e = r + 1;
    if (after === 58) e++;
    else if (!(after === 32 || r + 1 >= n)) return p;
    m.appName = s.slice(p, q);
    if (r > q + 1) m.procId = s.slice(q + 1, r);
    if (s.charCodeAt(e) === 32) e++;
    return e;
  }
  if (c === 58 /* : */) {
    // "prog: msg" / "prog:" at the end. "Foo::bar", "time=10:12" and "tag:msg" are text, not a TAG.
    const after = s.charCodeAt(q + 1);
    if (!(after === 32 || after === 9 || q + 1 >= n)) return p;
    m.appName = s.slice(p, q);
    return after === 32 ? q + 2 : q + 1;
  }
  return p;
}
