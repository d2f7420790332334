/**
 * siemquery's options and the events API's own filters, mapped onto `GET /v1/events` parameters.
 * Pure (no I/O), so the mapping is unit-tested. Every filter repeats (values OR together) and has a
 * negation: siemquery's `--r<name>` (`--rshost`, `--rgrep`) or `--not-<name>` for the API's filters.
 *
 * `--pid` has no API filter (events have no pid column: the pid is read from `raw` when an event is
 * read), so it is applied here to the pages the API returns, up to the scan bound of the caller.
 */
import { UsageError } from "./errors.js";
import { parseLast, parseRange, parseTime } from "./time.js";

/**
 * @typedef {{ flag: string, neg: string, param?: string, arg: string, help: string, kind?: "shost" | "ip" | "pid" }} Filter
 * @typedef {{ path: string, values: number[], negate: boolean }} ClientFilter
 * @typedef {{ params: Record<string, string[]>, clientFilters: ClientFilter[] }} EventsQuery
 */

/** @type {readonly Filter[]} */
export const FILTERS = [
  // siemquery's names
  { flag: "shost", neg: "rshost", kind: "shost", arg: "HOST", help: "source: an IP or CIDR (source.ip), or a host name (the device that logged, host.hostname)" },
  { flag: "dhost", neg: "rdhost", param: "dst_ip", kind: "ip", arg: "IP", help: "destination IP or CIDR (destination.ip)" },
  { flag: "sport", neg: "rsport", param: "src_port", arg: "PORT", help: "source port or range 1000-2000" },
  { flag: "dport", neg: "rdport", param: "dst_port", arg: "PORT", help: "destination port or range" },
  { flag: "process", neg: "rprocess", param: "program", arg: "NAME", help: "process/program name (process.name)" },
  { flag: "pid", neg: "rpid", kind: "pid", arg: "PID", help: "process id (filtered by the CLI over the pages it reads)" },
  { flag: "protocol", neg: "rprotocol", param: "protocol", arg: "PROTO", help: "network.transport: tcp, udp, icmp..." },
  { flag: "grep", neg: "rgrep", param: "q", arg: "TEXT", help: "substring of the message, case-insensitive" },
  // the events API's own
  { flag: "host", neg: "not-host", param: "host", arg: "NAME", help: "host.hostname, exact" },
  { flag: "dataset", neg: "not-dataset", param: "dataset", arg: "NAME", help: "event.dataset (sshd, iptables, dnsmasq, unparsed...)" },
  { flag: "user", neg: "not-user", param: "user", arg: "NAME", help: "user.name, exact" },
  { flag: "action", neg: "not-action", param: "action", arg: "ACTION", help: "event.action, exact" },
  { flag: "outcome", neg: "not-outcome", param: "outcome", arg: "OUTCOME", help: "success, failure or unknown" },
  { flag: "severity", neg: "not-severity", param: "severity", arg: "SEV", help: "syslog severity 0-7 or emerg..debug" },
  { flag: "src-ip", neg: "not-src-ip", param: "src_ip", kind: "ip", arg: "IP", help: "source.ip, an address or CIDR" },
  { flag: "dst-ip", neg: "not-dst-ip", param: "dst_ip", kind: "ip", arg: "IP", help: "destination.ip, an address or CIDR" },
  { flag: "regex", neg: "not-regex", param: "regex", arg: "RE", help: "JavaScript regex over the raw line (the server scans at most 10,000 rows per page)" },
];

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/;
const IPV6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*(\/\d{1,3})?$/;
/** Looks like an address or CIDR (the server validates it exactly). @param {string} s */
export const isIpOrCidr = (s) => IPV4.test(s) || IPV6.test(s);

/** Commander's attribute name of a flag: `src-ip` → `srcIp`, `not-host` → `notHost`. @param {string} flag */
export const attr = (flag) => flag.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

/**
 * The API parameters and client-side filters of parsed options.
 * @param {Record<string, any>} opts commander's options of `porchlight query`
 * @returns {EventsQuery}
 */
export function buildEventsQuery(opts) {
  /** @type {Record<string, string[]>} */
  const params = Object.create(null);
  /** @type {ClientFilter[]} */
  const clientFilters = [];
  /** @param {string} k @param {string} v */
  const add = (k, v) => (params[k] ??= []).push(v);

  if (opts.last !== undefined && (opts.range !== undefined || opts.from !== undefined)) throw new UsageError("--last cannot be combined with --range or --from");
  if (opts.range !== undefined && (opts.from !== undefined || opts.to !== undefined)) throw new UsageError("--range cannot be combined with --from or --to");
  if (opts.last !== undefined) add("last", parseLast(opts.last));
  if (opts.range !== undefined) {
    const r = parseRange(opts.range);
    add("from", new Date(r.from).toISOString());
    add("to", new Date(r.to).toISOString());
  }
  if (opts.from !== undefined) add("from", new Date(parseTime(opts.from, "--from")).toISOString());
  if (opts.to !== undefined) add("to", new Date(parseTime(opts.to, "--to")).toISOString());

  for (const f of FILTERS) {
    for (const negate of [false, true]) {
      /** @type {string[] | undefined} */
      const values = opts[attr(negate ? f.neg : f.flag)];
      if (!values?.length) continue;
      const option = `--${negate ? f.neg : f.flag}`;
      const prefix = negate ? "not_" : "";
      if (f.kind === "pid") {
        const pids = values.map((v) => {
          if (!/^\d{1,10}$/.test(v)) throw new UsageError(`${option} '${v}': a process id is a number`);
          return Number(v);
        });
        clientFilters.push({ path: "process.pid", values: pids, negate });
      } else if (f.kind === "shost") {
        // An address goes to source.ip, a name to the logging host. Both kinds in one positive option
        // would AND two API fields where siemquery ORs its values, so that is refused; negations AND anyway.
        const ips = values.filter(isIpOrCidr);
        const names = values.filter((v) => !isIpOrCidr(v));
        if (!negate && ips.length && names.length) throw new UsageError(`${option}: give either addresses (${ips[0]}) or host names (${names[0]}) in one query, not both`);
        for (const v of ips) add(`${prefix}src_ip`, v);
        for (const v of names) add(`${prefix}host`, v);
      } else if (f.kind === "ip") {
        for (const v of values) {
          if (!isIpOrCidr(v)) throw new UsageError(`${option} '${v}': expected an IP address or CIDR such as 192.168.1.0/24`);
          add(`${prefix}${f.param}`, v);
        }
      } else {
        for (const v of values) add(`${prefix}${f.param}`, v);
      }
    }
  }
  return { params, clientFilters };
}

/** Whether an event passes the client-side filters. @param {any} event @param {readonly ClientFilter[]} filters */
export function passesClientFilters(event, filters) {
  for (const f of filters) {
    let v = event;
    for (const part of f.path.split(".")) v = v?.[part];
    const hit = typeof v === "number" && f.values.includes(v);
    // Like the API's negations, a negated filter keeps events that lack the field.
    if (f.negate ? hit : !hit) return false;
  }
  return true;
}
