/**
 * Rules benchmark (`npm run bench -- rules`):
 * 1. stateless matching: a 1000-event batch against 50 enabled rules (compileRule().match, which also
 *    projects the matches), CPU ms per batch — target < 5 ms;
 * 2. stateful evaluation through the engines with per-group JSON state round trips as the RuleState
 *    Durable Object does them (parse a group's state once per batch, step its events, stringify once)
 *    — target >= 100,000 events/s; this excludes SQLite I/O;
 * 3. when /usr/bin/sec exists: the same SingleWithThreshold rule through SEC and through our pipeline
 *    (normalize + match + engine) on one generated sshd log file, both speeds and both alert counts. SEC windows on ARRIVAL time, so on
 *    a replayed file (read in seconds) its windows cover hours of log time: the counts differ by design.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { EcsEvent } from "../workers/ecs.ts";
import { DEFAULT_CONTEXT, normalize } from "../workers/parse/index.ts";
import { ENGINES, groupKeyOf } from "../workers/rules/engines/index.ts";
import { compileRule, compileRuleSet } from "../workers/rules/project.ts";
import { importSecRules } from "../workers/rules/sec.ts";
import type { MatchedEvent, RuleDef } from "../workers/rules/types.ts";
import { validateRule } from "../workers/rules/validate.ts";
import { cpuMs, medianP95 } from "./cpu.ts";

const CMD = "npm run bench -- rules";
const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);

// Deterministic PRNG (mulberry32) so every run measures the same data.
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(42);
const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)]!;
const publicIp = () => `${pick([45, 62, 103, 185, 198])}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 250)}`;

/** A realistic home mix: firewall drops, sshd failures/successes, dnsmasq, DHCP, sudo, other. */
function makeEvents(n: number, startTs: number): EcsEvent[] {
  const out: EcsEvent[] = [];
  const scanners = Array.from({ length: 20 }, publicIp);
  const bruters = Array.from({ length: 50 }, publicIp);
  for (let i = 0; i < n; i++) {
    const ts = startTs + i * 50;
    const base = { id: `b${ts}_${i}`, "@timestamp": ts, received_at: ts, host: { hostname: pick(["gw", "nas", "ap1"]) } };
    const r = rnd();
    if (r < 0.4) {
      out.push({ ...base, raw: "kernel: DROP IN=wan", message: "DROP", event: { dataset: "iptables", category: ["network"], type: ["denied"] }, network: { transport: pick(["tcp", "udp"]), direction: "inbound" }, source: { ip: pick(scanners), port: 40000 + Math.floor(rnd() * 20000) }, destination: { ip: "203.0.113.1", port: Math.floor(rnd() * 1024) } });
    } else if (r < 0.6) {
      const ip = pick(bruters);
      out.push({ ...base, raw: `sshd[1]: Failed password for root from ${ip} port 22 ssh2`, message: `Failed password for root from ${ip} port 22 ssh2`, event: { dataset: "sshd", category: ["authentication"], outcome: rnd() < 0.95 ? "failure" : "success" }, source: { ip }, user: { name: pick(["root", "admin", "pi", "oracle", "test"]) }, process: { name: "sshd", pid: 1 } });
    } else if (r < 0.8) {
      out.push({ ...base, raw: "dnsmasq[1]: query[A] example.com from 192.168.1.20", message: "query[A] example.com from 192.168.1.20", event: { dataset: "dnsmasq", category: ["network"], type: ["protocol"] }, source: { ip: `192.168.1.${Math.floor(rnd() * 254) + 1}` }, dns: { question: { name: pick(["example.com", "cloudflare.com", "ads.example.net"]), type: "A" } } });
    } else if (r < 0.9) {
      const mac = `aa:bb:cc:00:${Math.floor(rnd() * 99)}:${Math.floor(rnd() * 99)}`;
      out.push({ ...base, raw: `dnsmasq-dhcp[1]: DHCPACK(br-lan) 192.168.1.5 ${mac}`, message: "DHCPACK", event: { dataset: "dnsmasq.dhcp", category: ["network"], action: "DHCPACK" }, source: { ip: "192.168.1.5", mac } });
    } else if (r < 0.93) {
      out.push({ ...base, raw: "sudo: pam_unix(sudo:auth): authentication failure", message: "authentication failure", event: { dataset: "sudo", category: ["authentication"], outcome: "failure" }, user: { name: pick(["bob", "alice"]) } });
    } else {
      out.push({ ...base, raw: "cron[1]: (root) CMD (run-parts /etc/cron.hourly)", message: "(root) CMD (run-parts /etc/cron.hourly)", event: { dataset: "unparsed" } });
    }
  }
  return out;
}

function validated(r: unknown): RuleDef {
  const v = validateRule(r);
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.rule;
}

/** 50 enabled rules: the default pack's enabled rules plus realistic user rules of every condition kind. */
function makeRules(): RuleDef[] {
  const pack = (JSON.parse(readFileSync(new URL("../workers/rules/default-pack.json", import.meta.url), "utf8")) as unknown[]).map(validated).filter((r) => r.enabled);
  const extra: RuleDef[] = [];
  const kinds = [
    (i: number) => ({ type: "single", match: { "event.dataset": "sshd", "event.outcome": "success", "user.name": { in: ["root", `svc${i}`] } } }),
    (i: number) => ({ type: "threshold", threshold: 10 + i, window: "5m", group_by: ["source.ip"], match: { "event.dataset": "iptables", "destination.port": { in: [22, 23, 3389, 445, 8000 + i] } } }),
    (i: number) => ({ type: "single", match: { "dns.question.name": { regex: `(^|\\.)bad${i}\\.example$` } } }),
    (i: number) => ({ type: "threshold", threshold: 100, window: "1m", group_by: ["source.ip"], match: { "event.category": "network", "source.ip": { cidr: [`10.${i}.0.0/16`, "192.168.1.0/24"] } } }),
    (i: number) => ({ type: "single", match: { message: { contains: `panic-${i}` } } }),
    (i: number) => ({ type: "single", match: { all: [{ "event.dataset": "sudo" }, { not: { "user.name": { in: ["alice", `u${i}`] } } }] } }),
    (i: number) => ({ type: "threshold", threshold: 50, window: "10m", group_by: ["host.hostname"], match: { any: [{ "event.dataset": "kernel" }, { "process.name": `daemon${i}` }] } }),
    (i: number) => ({ type: "single", match: { "destination.port": { gte: 6000 + i, lte: 6010 + i }, "network.transport": "udp" } }),
  ];
  for (let i = 0; extra.length + pack.length < 50; i++) extra.push(validated({ id: `bench-${i}`, name: `bench ${i}`, severity: "low", title: "{{source.ip}}", ...kinds[i % kinds.length]!(i) }));
  return [...pack, ...extra];
}


// ---------------------------------------------------------------- 1. stateless matching
{
  const rules = makeRules();
  const set = compileRuleSet(rules);
  const batches = Array.from({ length: 20 }, (_, b) => makeEvents(1000, T0 + b * 50_000));
  let matches = 0;
  const runBatch = (events: EcsEvent[]) => {
    for (const list of set.matchBatch(events)) matches += list.length;
  };
  for (let i = 0; i < 30; i++) runBatch(batches[i % batches.length]!); // warm-up (JIT)
  const per: number[] = [];
  matches = 0;
  for (let i = 0; i < 200; i++) per.push(cpuMs(() => runBatch(batches[i % batches.length]!)));
  const { median, p95 } = medianP95(per);
  console.log(`stateless matching: 1000 events x ${rules.length} enabled rules: median ${median.toFixed(2)} ms CPU, p95 ${p95.toFixed(2)} ms (target < 5 ms; ${(matches / 200).toFixed(0)} matches/batch)  [${CMD}]`);
}

// ---------------------------------------------------------------- 2. stateful engines with JSON state round trips
{
  const rules = makeRules().filter((r) => r.type !== "single" && r.type !== "suppress" && r.type !== "heartbeat");
  const compiled = rules.map((r) => compileRule(r));
  const batches = Array.from({ length: 50 }, (_, b) => makeEvents(1000, T0 + b * 50_000));
  // pre-match (that is the Worker's stateless half, measured above): per rule, per batch, its matches
  const work: { rule: RuleDef; batches: MatchedEvent[][] }[] = compiled.map((c) => ({
    rule: c.rule,
    batches: batches.map((evs) => evs.map((e) => c.match(e)).filter((m): m is MatchedEvent => m !== undefined)),
  }));
  const total = work.reduce((s, w) => s + w.batches.reduce((x, b) => x + b.length, 0), 0);
  const byType = new Map<string, { events: number; ms: number }>();
  let firings = 0;
  const store = new Map<string, string>();
  const apply = (rule: RuleDef, events: MatchedEvent[], now: number) => {
    const engine = ENGINES[rule.type];
    const groups = new Map<string, unknown>();
    for (const ev of events) {
      const key = groupKeyOf(rule, ev);
      let st: unknown;
      if (groups.has(key)) st = groups.get(key);
      else {
        const raw = store.get(rule.id + key);
        st = raw === undefined ? undefined : JSON.parse(raw);
      }
      const r = engine.step(rule, st as never, ev, now);
      firings += r.firings.length;
      groups.set(key, r.state);
    }
    for (const [key, st] of groups) {
      if (st === undefined) store.delete(rule.id + key);
      else store.set(rule.id + key, JSON.stringify(st));
    }
  };
  // warm-up on a copy of the first batches, then a clean store
  for (const w of work) for (let b = 0; b < 5; b++) apply(w.rule, w.batches[b]!, T0);
  store.clear();
  firings = 0;
  let totalMs = 0;
  for (let b = 0; b < batches.length; b++) {
    for (const w of work) {
      const evs = w.batches[b]!;
      const ms = cpuMs(() => apply(w.rule, evs, T0 + b * 50_000));
      totalMs += ms;
      const t = byType.get(w.rule.type) ?? { events: 0, ms: 0 };
      t.events += evs.length;
      t.ms += ms;
      byType.set(w.rule.type, t);
    }
  }
  const rate = (total / totalMs) * 1000;
  console.log(`stateful engines + JSON state round trips: ${total} matched events through ${rules.length} stateful rules in ${totalMs.toFixed(1)} ms CPU = ${Math.round(rate).toLocaleString("en")} events/s (target >= 100,000; excludes SQLite I/O; ${firings} firings)  [${CMD}]`);
  for (const [type, t] of byType) console.log(`  ${type}: ${Math.round((t.events / t.ms) * 1000).toLocaleString("en")} events/s (${t.events} events)`);
}

// ---------------------------------------------------------------- 3. versus SEC on the same file
{
  const SEC = "/usr/bin/sec";
  const secConf = [
    "type=SingleWithThreshold",
    "ptype=RegExp",
    "pattern=sshd\\[\\d+\\]: Failed password for (?:invalid user )?\\S+ from (\\S+) port",
    "desc=SSH brute force from $1",
    "action=write OUTFILE $1",
    "window=60",
    "thresh=5",
    "",
  ].join("\n");
  const dir = mkdtempSync(path.join(tmpdir(), "porchlight-bench-sec-"));
  try {
    // 100,000 sshd lines over ~2 days of log time, 300 sources, bursty: replayable and the same for both.
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    const sources = Array.from({ length: 300 }, publicIp);
    const lines: string[] = [];
    // sessions: a source tries 1-12 times a few seconds apart, then another source comes (some overlap)
    let t = Date.UTC(2025, 5, 1);
    for (let i = 0; lines.length < 100_000; i++) {
      const ip = pick(sources);
      const tries = 1 + Math.floor(rnd() * 12);
      for (let k = 0; k < tries && lines.length < 100_000; k++) {
        t += Math.floor(rnd() * 4000);
        const d = new Date(t);
        const stamp = `${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${d.toISOString().slice(11, 19)}`;
        lines.push(rnd() < 0.85 ? `${stamp} gw sshd[${1000 + (i % 5000)}]: Failed password for ${rnd() < 0.5 ? "invalid user " : ""}${pick(["root", "admin", "pi"])} from ${ip} port ${1024 + (lines.length % 60000)} ssh2` : `${stamp} gw sshd[${1000 + (i % 5000)}]: Connection closed by ${ip} port 22 [preauth]`);
      }
      t += Math.floor(rnd() * 20_000);
    }
    const logFile = path.join(dir, "auth.log");
    writeFileSync(logFile, lines.join("\n") + "\n");
    const outFile = path.join(dir, "alerts.txt");
    const confFile = path.join(dir, "bf.sec");
    writeFileSync(confFile, secConf.replace("OUTFILE", outFile));

    // ours: the same SEC rule imported by sec.ts; line → event (syslog timestamp) → match → engine with JSON round trips per batch
    const rule = importSecRules(secConf.replace("OUTFILE", outFile), "bench").rules[0]!;
    const c = compileRule(rule);
    let ours = 0;
    const received = Date.UTC(2025, 11, 31);
    const oursMs = cpuMs(() => {
      const store = new Map<string, string>();
      for (let b = 0; b < lines.length; b += 1000) {
        const groups = new Map<string, unknown>();
        for (let i = b; i < Math.min(lines.length, b + 1000); i++) {
          const ev = normalize({ raw: lines[i]!, receivedAt: received, transport: "file" }, DEFAULT_CONTEXT);
          const me = c.match(ev);
          if (!me) continue;
          const ts = me.ts;
          const key = groupKeyOf(rule, me);
          const st = groups.has(key) ? groups.get(key) : store.has(key) ? JSON.parse(store.get(key)!) : undefined;
          const r = ENGINES.threshold.step(rule, st as never, me, ts);
          ours += r.firings.length;
          groups.set(key, r.state);
        }
        for (const [k, st] of groups) st === undefined ? store.delete(k) : store.set(k, JSON.stringify(st));
      }
    });
    console.log(`ours on ${lines.length} lines (normalize + match + threshold engine): ${oursMs.toFixed(0)} ms CPU = ${Math.round((lines.length / oursMs) * 1000).toLocaleString("en")} lines/s, ${ours} alerts (event-time windows)  [${CMD}]`);
    if (existsSync(SEC)) {
      // CPU time of the sec process (user + sys) from bash's `times`, comparable with our CPU figure
      const start = performance.now();
      const r = spawnSync("bash", ["-c", `"$0" "$@" >/dev/null; times`, SEC, `-conf=${confFile}`, `-input=${logFile}`, "-fromstart", "-notail", "-log=/dev/null"], { encoding: "utf8" });
      const wall = performance.now() - start;
      const child = /\n(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(r.stdout);
      const cpu = child ? (Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4])) * 1000 : wall;
      const secAlerts = existsSync(outFile) ? readFileSync(outFile, "utf8").split("\n").filter(Boolean).length : 0;
      if (r.status !== 0) console.log(`SEC exited with ${r.status}: ${r.stderr.slice(0, 300)}`);
      console.log(`SEC ${SEC} on the same file: ${cpu.toFixed(0)} ms CPU (${wall.toFixed(0)} ms wall) = ${Math.round((lines.length / cpu) * 1000).toLocaleString("en")} lines/s, ${secAlerts} alerts  [${CMD}]`);
      console.log("  note: SEC windows on arrival time; reading a replayed file takes seconds, so each source's 60 s window spans hours of log time and SEC alerts at most about once per source per wall minute — the counts differ by design, ours follow the log's clock.");
    } else {
      console.log(`SEC not installed (${SEC}): comparison skipped`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
