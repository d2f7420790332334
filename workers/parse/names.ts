/**
 * Syslog facility and severity names as ECS `log.syslog.facility.name` / `log.syslog.severity.name` use
 * them (RFC 5424 §6.2.1 codes; the names of the Linux/BSD syslog.h tables), and the reverse lookup used for
 * OpenWrt `facility.severity` tokens.
 */
import { table } from "../table.ts";

/** Index = facility code (0-23). */
export const FACILITY_NAMES = [
  "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
  "ntp", "security", "console", "solaris-cron",
  "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
] as const;

/** Index = severity code (0-7). */
export const SEVERITY_NAMES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"] as const;

export type FacilityName = (typeof FACILITY_NAMES)[number];
export type SeverityName = (typeof SEVERITY_NAMES)[number];

export function facilityName(code: number): FacilityName | undefined {
  return FACILITY_NAMES[code];
}

export function severityName(code: number): SeverityName | undefined {
  return SEVERITY_NAMES[code];
}

const FACILITY_CODES = table(Object.fromEntries(FACILITY_NAMES.map((n, i) => [n, i])));

const SEVERITY_CODES = table({
  ...Object.fromEntries(SEVERITY_NAMES.map((n, i) => [n, i])),
  // syslog.h aliases (deprecated names still printed by some tools)
  panic: 0, error: 3, warn: 4,
});

/** Facility code of a name (syslog.h names and ours), or -1. */
export function facilityCode(name: string): number {
  return FACILITY_CODES[name] ?? -1;
}

/** Severity code of a name (also panic/error/warn), or -1. */
export function severityCode(name: string): number {
  return SEVERITY_CODES[name] ?? -1;
}
