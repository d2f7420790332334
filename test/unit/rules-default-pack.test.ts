/** The default rule pack: every rule is valid, and each one fires on the events it is meant for (and not on look-alikes). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { EcsEvent } from "../../workers/ecs.ts";
import { compileRule } from "../../workers/rules/project.ts";
import { IpRangeSet } from "../../workers/rules/ip-list.ts";
import { renderTemplate } from "../../workers/rules/template.ts";
import type { RuleDef } from "../../workers/rules/types.ts";
import { validateRule } from "../../workers/rules/validate.ts";
import { haveCorpus, readCorpusText } from "../conformance/corpora.ts";
import { RuleHost } from "./rules-engine-harness.ts";
import { toEvents } from "./rules-replay-events.ts";
import { factEvent, type NetworkFact } from "../../workers/network/facts.ts";

const PACK = JSON.parse(readFileSync(new URL("../../workers/rules/default-pack.json", import.meta.url), "utf8")) as unknown[];
const rules = new Map<string, RuleDef>();
for (const r of PACK) {
  const v = validateRule(r);
  if (v.ok) rules.set(v.rule.id, v.rule);
}
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
let n = 0;
function event(ts: number, fields: Partial<EcsEvent> & { event: EcsEvent["event"] }): EcsEvent {
  return { id: `d${++n}`, "@timestamp": ts, received_at: ts, raw: "", host: { hostname: "gw" }, ...fields };
}
/** Runs events through one pack rule like the host does; returns the firings with rendered titles. */
function run(id: string, events: EcsEvent[], tickAt?: number) {
  const rule = rules.get(id)!;
  const c = compileRule(rule);
  const h = new RuleHost(rule);
  for (const e of events) {
    const m = c.match(e);
    if (m) h.step(m);
  }
  if (tickAt !== undefined) h.tick(tickAt);
  return h.firings.map((f) => ({ ...f, title: renderTemplate(rule.title ?? "", f.vars) }));
}
const sshFail = (ts: number, ip: string, user = "root", dataset = "sshd") =>
  event(ts, { event: { dataset, category: ["authentication"], outcome: "failure" }, source: { ip }, user: { name: user } });

describe("default rule pack", () => {
  it("is a JSON array of valid rules with unique ids, all enabled but the examples", () => {
    expect(PACK.map((r) => validateRule(r)).filter((v) => !v.ok)).toEqual([]);
    expect(rules.size).toBe(PACK.length);
    expect([...rules.values()].filter((r) => !r.enabled).map((r) => r.id)).toEqual(["suppress-known-scanner"]);
    expect(new Set([...rules.values()].map((r) => r.type))).toEqual(new Set(["threshold", "sequence", "bucket", "single", "heartbeat", "suppress"]));
  });

  it("login-brute-force: 5 failures in 60 s from one source across services, not 4, not spread out", () => {
    expect(run("login-brute-force", [0, 10, 20, 30, 40].map((s) => sshFail(T0 + s * 1000, "198.51.100.9")))).toMatchObject([{ count: 5, title: "Login brute force from 198.51.100.9" }]);
    expect(run("login-brute-force", [0, 10, 20, 30].map((s) => sshFail(T0 + s * 1000, "198.51.100.9")))).toEqual([]);
    expect(run("login-brute-force", [0, 20, 40, 61, 82].map((s) => sshFail(T0 + s * 1000, "198.51.100.9")))).toEqual([]);
    const daemons = ["sshd", "dropbear", "luci", "synology", "homeassistant"];
    expect(run("login-brute-force", daemons.map((d, s) => sshFail(T0 + s * 1000, "198.51.100.9", "root", d)))).toHaveLength(1);
  });

  it("a generated home corpus: attackers alternating between the NAS's sshd and the router's dropbear are all found, and nobody else", () => {
    // 10 attackers, each 5 failures in 14 s alternating sshd and dropbear; 20 benign sources with one
    // typo each, port-22 health checks and polite goodbyes, shuffled in time over an hour.
    const lines: { t: number; line: string }[] = [];
    const stamp = (t: number) => { const d = new Date(t); return `Nov 22 ${[d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((x) => String(x).padStart(2, "0")).join(":")}`; };
    const attackers = Array.from({ length: 10 }, (_, i) => `198.51.100.${10 + i}`);
    attackers.forEach((ip, a) => {
      const start = T0 + a * 300_000;
      for (let k = 0; k < 5; k++) {
        const t = start + Math.round((k * 14_000) / 4);
        lines.push({ t, line: k % 2 === 0 ? `${stamp(t)} nas sshd[${900 + a * 10 + k}]: Failed password for root from ${ip} port ${40000 + k} ssh2` : `${stamp(t)} router dropbear[${300 + a * 10 + k}]: Bad password attempt for 'root' from ${ip}:${50000 + k}` });
      }
    });
    for (let b = 0; b < 20; b++) {
      const ip = `192.0.2.${100 + b}`, t = T0 + b * 170_000;
      lines.push({ t, line: `${stamp(t)} nas sshd[${2000 + b}]: Failed password for alice from ${ip} port 51000 ssh2` });
      lines.push({ t: t + 2000, line: `${stamp(t + 2000)} nas sshd[${2000 + b}]: Accepted password for alice from ${ip} port 51000 ssh2` });
      lines.push({ t: t + 4000, line: `${stamp(t + 4000)} nas sshd[${2000 + b}]: Received disconnect from ${ip} port 51000:11: disconnected by user` });
      lines.push({ t: t + 5000, line: `${stamp(t + 5000)} nas sshd[${3000 + b}]: Did not receive identification string from 192.168.1.2 port ${60000 + b}` });
    }
    lines.sort((x, y) => x.t - y.t);
    const events = toEvents(lines.map((l) => l.line));
    const found = run("login-brute-force", events).filter((f) => f.action === "raise").map((f) => f.group["source.ip"]);
    expect(found.sort()).toEqual(attackers);
  });

  it("ssh-user-enumeration counts distinct user names", () => {
    expect(run("ssh-user-enumeration", ["a", "b", "a", "c", "d"].map((u, i) => sshFail(T0 + i, "198.51.100.9", u)))).toEqual([]);
    expect(run("ssh-user-enumeration", ["a", "b", "c", "d", "e"].map((u, i) => sshFail(T0 + i, "198.51.100.9", u)))).toHaveLength(1);
  });

  it("login-after-failures: a success after 5 failures from the same source within 10 min", () => {
    const fails = [0, 1, 2, 3, 4].map((s) => sshFail(T0 + s * 1000, "198.51.100.9"));
    const ok = (ts: number, ip: string) => event(ts, { event: { dataset: "sshd", category: ["authentication"], outcome: "success" }, source: { ip }, user: { name: "alice" } });
    expect(run("login-after-failures", [...fails, ok(T0 + 60_000, "198.51.100.9")])).toMatchObject([{ count: 5, title: "Login as alice from 198.51.100.9 after 5 failures" }]);
    expect(run("login-after-failures", [...fails, ok(T0 + 60_000, "198.51.100.10")])).toEqual([]);
    expect(run("login-after-failures", [...fails, ok(T0 + 11 * 60_000, "198.51.100.9")])).toEqual([]);
  });

  it("sudo-auth-failures: 3 failures of one user on one host within 5 min", () => {
    const sudo = (ts: number, user: string) => event(ts, { event: { dataset: "sudo", category: ["authentication"], outcome: "failure" }, user: { name: user } });
    expect(run("sudo-auth-failures", [sudo(T0, "bob"), sudo(T0 + 1000, "bob"), sudo(T0 + 2000, "bob")])).toMatchObject([{ title: "sudo failures for bob on gw" }]);
    expect(run("sudo-auth-failures", [sudo(T0, "bob"), sudo(T0 + 1000, "eve"), sudo(T0 + 2000, "bob")])).toEqual([]);
  });

  it("router-web-login-failures: LuCI/uhttpd/Synology failures", () => {
    expect(run("router-web-login-failures", [0, 1, 2, 3, 4].map((s) => sshFail(T0 + s * 1000, "192.168.1.50", "admin", "luci")))).toHaveLength(1);
    expect(run("router-web-login-failures", [0, 1, 2, 3, 4].map((s) => sshFail(T0 + s * 1000, "192.168.1.50", "admin", "synology")))).toHaveLength(1);
  });

  it("wan-port-scan: 16 distinct dropped ports from a public source; never from the LAN", () => {
    const drop = (i: number, ip: string, port: number) => event(T0 + i, { event: { dataset: "iptables", type: ["denied"] }, network: { transport: "tcp" }, source: { ip }, destination: { ip: "203.0.113.1", port } });
    const ports = Array.from({ length: 16 }, (_, i) => 1000 + i);
    expect(run("wan-port-scan", ports.map((p, i) => drop(i, "198.51.100.7", p)))).toMatchObject([{ count: 16, title: "Port scan from 198.51.100.7" }]);
    expect(run("wan-port-scan", ports.map((p, i) => drop(i, "192.168.1.20", p)))).toEqual([]);
    expect(run("wan-port-scan", ports.map((_, i) => drop(i, "198.51.100.7", 22)))).toEqual([]);
  });

  it("port-hammering: 100 blocked connections from one public source to one port in 10 min; not from the LAN, not spread over ports", () => {
    const drop = (i: number, ip: string, port: number) => event(T0 + i * 1000, { event: { dataset: "iptables", type: ["denied"], action: "drop" }, network: { transport: "tcp" }, source: { ip }, destination: { ip: "203.0.113.1", port } });
    const hundred = Array.from({ length: 100 }, (_, i) => i);
    expect(run("port-hammering", hundred.map((i) => drop(i, "198.51.100.7", 3389)))).toMatchObject([{ count: 100, title: "198.51.100.7 hammering port 3389" }]);
    expect(run("port-hammering", hundred.slice(1).map((i) => drop(i, "198.51.100.7", 3389)))).toEqual([]);
    expect(run("port-hammering", hundred.map((i) => drop(i, "192.168.1.9", 3389)))).toEqual([]);
    expect(run("port-hammering", hundred.map((i) => drop(i, "198.51.100.7", 1000 + (i % 2))))).toEqual([]);
  });

  it("lan-host-scanning-out: a LAN host reaching 50 distinct public ports in 5 min, in flow records", () => {
    const flow = (i: number, src: string, dst: string, port: number) => event(T0 + i * 1000, { event: { dataset: "ulogd", type: ["connection", "start"], action: "flow_new" }, network: { transport: "tcp" }, source: { ip: src }, destination: { ip: dst, port } });
    const fifty = Array.from({ length: 50 }, (_, i) => i);
    expect(run("lan-host-scanning-out", fifty.map((i) => flow(i, "192.168.1.66", `198.51.100.${i}`, 20 + i)))).toMatchObject([{ count: 50, title: "LAN host 192.168.1.66 scanning outward" }]);
    expect(run("lan-host-scanning-out", fifty.map((i) => flow(i, "192.168.1.66", `198.51.100.${i}`, 443)))).toEqual([]);
    expect(run("lan-host-scanning-out", fifty.map((i) => flow(i, "192.168.1.66", "192.168.1.1", 20 + i)))).toEqual([]);
  });

  it("blocklist-traffic: a connection to an address on the loaded blocklist; nothing without the list", () => {
    const rule = rules.get("blocklist-traffic")!;
    const conn = (dst: string) => event(T0, { event: { dataset: "pfsense.filterlog", action: "pass" }, source: { ip: "192.168.1.20" }, destination: { ip: dst, port: 443 } });
    const { set } = IpRangeSet.parse(["203.0.113.0/24", "2001:db8::/32"]);
    const withList = compileRule(rule, (n) => (n === "blocklist" ? set : undefined));
    expect([conn("203.0.113.77"), conn("198.51.100.1"), conn("2001:db8::5")].map((e) => withList.match(e) !== undefined)).toEqual([true, false, true]);
    expect(compileRule(rule).match(conn("203.0.113.77"))).toBeUndefined();
  });

  it("network facts (workers/network/facts.ts) alert at once: new device, new country, new organisation, upload anomaly", () => {
    const dev = { id: "d-b827eb123456", mac: "B8-27-EB-12-34-56", ip: "192.168.1.20", hostname: "raspberrypi", vendor: "Raspberry Pi Foundation" };
    const ev = (f: NetworkFact) => factEvent("gw", "k", 0, f);
    expect(run("new-device-on-lan", [ev({ kind: "device_new", ts: T0, device: dev })]).map((x) => x.title)).toEqual(["New device raspberrypi on the LAN"]);
    expect(run("device-new-country", [ev({ kind: "new_country", ts: T0, device: dev, country: "RU", dstIp: "77.88.8.8" })]).map((x) => x.title)).toEqual(["raspberrypi talks to RU for the first time"]);
    expect(run("device-new-organisation", [ev({ kind: "new_org", ts: T0, device: dev, asn: 15169, org: "Google LLC", dstIp: "8.8.8.8" })]).map((x) => x.title)).toEqual(["raspberrypi talks to AS15169 Google LLC for the first time"]);
    expect(run("device-upload-anomaly", [ev({ kind: "upload_anomaly", ts: T0, device: dev, bytes: 9e8, mean: 1e6, sd: 1e5, hour: 3 })]).map((x) => x.title)).toEqual(["raspberrypi uploads far more than usual"]);
    // A DHCP line itself no longer alerts: the inventory decides what is new.
    const dhcp = event(T0, { event: { dataset: "dnsmasq.dhcp", action: "DHCPACK" }, source: { mac: "AA-AA-AA-AA-AA-AA", ip: "192.168.1.77" } });
    expect(run("new-device-on-lan", [dhcp])).toEqual([]);
  });

  it("lan-device-fanout: one LAN address to over 100 hosts or 50 ports in 10 min (conntrack NEW), not a WAN address", () => {
    const flow = (i: number, src: string, dst: string, port: number) => event(T0 + i * 1000, { event: { dataset: "ulogd", action: "flow_new" }, network: { transport: "tcp" }, source: { ip: src }, destination: { ip: dst, port } });
    expect(run("lan-device-fanout-hosts", Array.from({ length: 100 }, (_, i) => flow(i, "192.168.1.66", `198.51.100.${i}`, 23)))).toMatchObject([{ title: "192.168.1.66 contacts many hosts" }]);
    expect(run("lan-device-fanout-hosts", Array.from({ length: 99 }, (_, i) => flow(i, "192.168.1.66", `198.51.100.${i}`, 23)))).toEqual([]);
    expect(run("lan-device-fanout-hosts", Array.from({ length: 150 }, (_, i) => flow(i, "203.0.113.9", `198.51.100.${i % 150}`, 23)))).toEqual([]);
    expect(run("lan-device-fanout-ports", Array.from({ length: 50 }, (_, i) => flow(i, "192.168.1.66", "192.168.1.1", 1000 + i)))).toHaveLength(1);
  });

  it("backup-heartbeat: raises 26 h after the last successful backup, per host", () => {
    const done = (ts: number, host: string) => event(ts, { event: { dataset: "backup", outcome: "success" }, host: { hostname: host } });
    const H = 3_600_000;
    expect(run("backup-heartbeat", [done(T0, "nas")], T0 + 26 * H - 1)).toEqual([]);
    expect(run("backup-heartbeat", [done(T0, "nas")], T0 + 26 * H)).toMatchObject([{ action: "raise", group: { "host.hostname": "nas" }, title: "No backup from nas for 26h" }]);
    expect(run("backup-heartbeat", [done(T0, "nas"), done(T0 + 25 * H, "nas")], T0 + 26 * H)).toEqual([]);
  });

  it("fires on raw syslog lines parsed by normalize(), as ingest sees them", () => {
    const at = (d: number, h: number, m: number, s: number) => `Nov ${String(d).padStart(2, " ")} ${[h, m, s].map((x) => String(x).padStart(2, "0")).join(":")}`;
    const five = (f: (i: number) => string) => [0, 1, 2, 3, 4].map(f);
    const ids = (lines: string[], id: string, tickAt?: number) => run(id, toEvents(lines), tickAt).map((f) => f.title);
    expect(ids(five((i) => `${at(20, 10, 0, i)} gw dropbear[31${i}]: Bad password attempt for 'root' from 198.51.100.4:5555${i}`), "login-brute-force")).toEqual(["Login brute force from 198.51.100.4"]);
    expect(ids(five((i) => `${at(20, 10, 0, i)} nas synology: User [admin] from [198.51.100.4] failed to log in via [DSM] due to authorization failure.`), "router-web-login-failures")).toEqual(["Web admin login failures from 198.51.100.4"]);
    const sshd = [...five((i) => `${at(20, 10, 1, i)} gw sshd[42${i}]: Failed password for alice from 198.51.100.4 port 4000${i} ssh2`), `${at(20, 10, 2, 0)} gw sshd[430]: Accepted password for alice from 198.51.100.4 port 40010 ssh2`];
    expect(ids(sshd, "login-after-failures")).toEqual(["Login as alice from 198.51.100.4 after 5 failures"]);
    expect(ids(sshd, "login-brute-force")).toEqual(["Login brute force from 198.51.100.4"]);
    const sudo = [0, 1, 2].map((i) => `${at(20, 11, 0, i)} host sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1000 euid=0 tty=/dev/pts/0 ruser=bob rhost=  user=bob`);
    expect(ids(sudo, "sudo-auth-failures")).toEqual(["sudo failures for bob on host"]);
    const backup = toEvents([`${at(20, 3, 0, 0)} nas rsnapshot[1]: /usr/bin/rsnapshot daily: completed successfully`]);
    const last = backup[0]!["@timestamp"];
    expect(run("backup-heartbeat", backup, last + 26 * 3_600_000).map((f) => f.title)).toEqual(["No backup from nas for 26h"]);
  });

  it.skipIf(!haveCorpus("crowdsec", "hub", ".tests", "ssh-bf"))("fires login-brute-force and ssh-user-enumeration on the CrowdSec hub ssh-bf log, parsed", () => {
    const events = toEvents(readCorpusText("crowdsec", "hub", ".tests", "ssh-bf", "ssh-bf.log").split("\n"));
    expect(run("login-brute-force", events).map((f) => f.group)).toEqual([{ "source.ip": "35.188.49.176" }]);
    expect(run("ssh-user-enumeration", events).map((f) => f.count)).toEqual([5]);
  });
});
