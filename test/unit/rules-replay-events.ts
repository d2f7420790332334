/**
 * Log lines → ECS events for the rule replays (CrowdSec hub tests, SEC on loghub), through our parsing
 * stage: workers/parse/index.ts normalize().
 * TEMPORARY: while normalize() is still the placeholder (every line "unparsed"), a thin shim fills the
 * few fields the replayed rules read (sshd source IP/user/outcome, iptables and filterlog fields) on
 * top of parseSyslog's timestamp. `usingShim` tells the tests, which print it. Remove once parsers land.
 */
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";
import { parseSyslog } from "../../workers/parse/syslog.ts";
import type { EcsEvent } from "../../workers/ecs.ts";

/** The hub/loghub files have no year; receiving them on the last day of 2025 puts them all in 2025. */
export const RECEIVED_AT = Date.UTC(2025, 11, 31, 23, 0, 0);

export let usingShim = false;

export function toEvents(lines: string[]): EcsEvent[] {
  const out: EcsEvent[] = [];
  lines.forEach((raw, i) => {
    if (raw.trim() === "") return;
    const e = normalize({ raw, receivedAt: RECEIVED_AT, transport: "file" }, DEFAULT_CONTEXT);
    if (e.event.dataset === "unparsed" && e.porchlight?.parse_error === "no parser yet") {
      usingShim = true;
      out.push(shim(raw, i));
    } else out.push(e);
  });
  return out;
}

function shim(raw: string, i: number): EcsEvent {
  const m = parseSyslog(raw, { receivedAt: RECEIVED_AT, timezone: () => "UTC" });
  const ts = m.timestamp ?? RECEIVED_AT;
  const e: EcsEvent = { id: `line${i}`, "@timestamp": new Date(ts).toISOString(), received_at: new Date(RECEIVED_AT).toISOString(), raw, message: m.msg, event: { dataset: "unparsed" } };
  if (m.hostname) e.host = { hostname: m.hostname };
  const app = m.appName ?? "";
  let r: RegExpExecArray | null;
  if (/^sshd(-session)?$/.test(app)) {
    e.event.dataset = "sshd";
    if ((r = /^(?:Invalid user (\S*) from|Failed \S+ for (?:invalid user )?(\S+) from|Disconnected from authenticating user (\S+)) (\S+) port/.exec(m.msg))) {
      Object.assign(e.event, { category: ["authentication"], outcome: "failure" });
      e.user = { name: r[1] ?? r[2] ?? r[3] };
      e.source = { ip: r[4] };
    } else if ((r = /^Accepted \S+ for (\S+) from (\S+) port/.exec(m.msg))) {
      Object.assign(e.event, { category: ["authentication"], outcome: "success" });
      e.user = { name: r[1] };
      e.source = { ip: r[2] };
    }
  } else if (app === "kernel" && / IN=/.test(` ${m.msg}`)) {
    const kv = Object.fromEntries([...m.msg.matchAll(/([A-Z]+)=(\S*)/g)].map((x) => [x[1], x[2]]));
    e.event.dataset = "iptables";
    e.source = { ip: kv.SRC, port: Number(kv.SPT) };
    e.destination = { ip: kv.DST, port: Number(kv.DPT) };
    e.network = { transport: kv.PROTO?.toLowerCase() };
    const prefix = /\[(UFW \w+)\]/.exec(m.msg)?.[1];
    if (prefix) e.rule = { name: prefix };
    e.event.action = /BLOCK|DROP/.test(prefix ?? "") ? "drop" : /ALLOW|ACCEPT/.test(prefix ?? "") ? "accept" : "log";
    if (kv.OUT) e.observer = { egress: { interface: { name: kv.OUT } } };
  } else if (app === "filterlog") {
    const f = m.msg.split(",");
    e.event.dataset = "pfsense.filterlog";
    e.event.action = f[6] === "block" ? "drop" : "accept";
    e.network = { transport: f[16] };
    e.source = { ip: f[18], port: Number(f[20]) };
    e.destination = { ip: f[19], port: Number(f[21]) };
  }
  return e;
}
