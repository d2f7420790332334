/**
 * The syslog FORMAT stage: one line in, one SyslogMessage out. Picks RFC 5424 when the line has
 * `<PRI>VERSION SP (NILVALUE|date)`, else the BSD family (RFC 3164, ISO-timestamp, OpenWrt logread, Cisco
 * sequence-numbered lines), else format "none" with the whole line as msg. Pure and total: never throws.
 */
import { newSyslogMessage, type SyslogMessage } from "./types.ts";
import { parseRfc5424, type Rfc5424Result } from "./rfc5424.ts";
import { parseBsd, type BsdOptions } from "./rfc3164.ts";
import { digitAt, newIsoScan, scanIso } from "./time.ts";

export { FACILITY_NAMES, SEVERITY_NAMES, facilityName, severityName, facilityCode, severityCode } from "./names.ts";
export type { FacilityName, SeverityName } from "./names.ts";

export interface SyslogOptions extends BsdOptions {}

/**
 * Parses one syslog line (no trailing newline; framing is the caller's job). RFC 5424 lines are parsed
 * leniently (see rfc5424.ts); use parseRfc5424Strict for a verdict.
 */
export function parseSyslog(line: string, opts: SyslogOptions): SyslogMessage {
  try {
    return parse(line, opts);
  } catch {
    // Defensive only: the scanners are written not to throw, but a faulty opts.timezone could.
    return newSyslogMessage("none", typeof line === "string" ? line : String(line));
  }
}

/**
 * Strict RFC 5424 (§6 ABNF): valid with the message, or the first error with a 0-based column.
 * compliantMsg: also reject a BOM-marked MSG that was not valid UTF-8 (go-syslog's WithCompliantMsg).
 */
export function parseRfc5424Strict(line: string, opts?: { compliantMsg?: boolean }): Rfc5424Result {
  return parseRfc5424(line, true, undefined, opts?.compliantMsg === true);
}

function parse(line: string, opts: SyslogOptions): SyslogMessage {
  if (line.charCodeAt(0) === 0xfeff) {
    // A BOM before the PRI (some Windows forwarders write one per line): parse what follows it.
    const m = parse(line.slice(1), opts);
    return m.format === "none" ? newSyslogMessage("none", line) : m;
  }
  // Lenient PRI: "<" 1-3 digits ">" with value ≤ 191 (leading zeros tolerated outside strict 5424).
  let pri = -1;
  let p = 0;
  if (line.charCodeAt(0) === 60) {
    let q = 1;
    let v = 0;
    while (q < 4 && digitAt(line, q) >= 0) v = v * 10 + digitAt(line, q++);
    if (q > 1 && line.charCodeAt(q) === 62 && v <= 191) {
      pri = v;
      p = q + 1;
    }
  }
  if (pri >= 0 && looks5424(line, p)) {
    const r = parseRfc5424(line, false, opts.timezone);
    if (r.ok) return r.msg;
  }
  return parseBsd(line, p, pri, opts);
}

/** After the PRI: VERSION (1-3 digits) SP then "- " or a date. */
function looks5424(s: string, p: number): boolean {
  if (digitAt(s, p) < 0) return false;
  let q = p + 1;
  while (q < p + 3 && digitAt(s, q) >= 0) q++;
  if (s.charCodeAt(q) !== 32) return false;
  q++;
  if (s.charCodeAt(q) === 45) return s.charCodeAt(q + 1) === 32 || q + 1 >= s.length;
  return digitAt(s, q) >= 0 && s.charCodeAt(q + 4) === 45 && scanIso(s, q, false, newIsoScan());
}
