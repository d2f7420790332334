/**
 * Rule evaluation benchmark, Worker side (`npm run bench -- evaluate`): CPU of everything
 * evaluateBatch does in the Worker for one 1000-event ingest batch, without its I/O — suppression,
 * batch matching, `single` firings, grouping of stateful matches into one call per (rule, shard),
 * serializing those call payloads (JSON as a stand-in for the RPC's structured clone) and rendering
 * a returned firing per call into alert inputs. Workers bill CPU excluding I/O waits (D1 round trips,
 * Durable Object RPCs), so this is the part of evaluation that counts against the 10 ms limit.
 * Rules: the default pack's enabled rules plus thresholds so that 10 stateful rules are enabled.
 * Events: realistic home syslog lines run through the real normalize().
 */
import { readFileSync } from "node:fs";
import type { EcsEvent } from "../workers/ecs.ts";
import { DEFAULT_CONTEXT, normalize } from "../workers/parse/index.ts";
import { buildRuleSets, planBatch, toAlertInputs, type StoredRule } from "../workers/rules/plan.ts";
import type { Firing } from "../workers/rules/types.ts";
import { packMatches } from "../workers/rules/packed.ts";
import { cpuMs, medianP95 } from "./cpu.ts";
import { benchRules, STATEFUL } from "./fixtures.ts";

const CMD = "npm run bench -- evaluate";
const rules = (): StoredRule[] =>
  benchRules(JSON.parse(readFileSync(new URL("../workers/rules/default-pack.json", import.meta.url), "utf8")) as unknown[], 10);

/** A deterministic home mix: sshd failures and logins, firewall drops, DHCP, dnsmasq, sudo, cron. */
function batch(n: number, seed: number): EcsEvent[] {
  let x = seed;
  const r = (m: number) => (x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + 0x6d2b79f5) >>> 0) % m;
  const wan = () => `${[45, 103, 185, 198][r(4)]}.${r(256)}.${r(256)}.${1 + r(250)}`;
  const clock = (i: number) => `Nov 22 10:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}`;
  const out: EcsEvent[] = [];
  for (let i = 0; i < n; i++) {
    const t = clock(i);
    const k = r(10);
    const line =
      k < 3 ? `<38>${t} nas sshd[${100 + r(900)}]: Failed password for ${["root", "admin", "pi"][r(3)]} from ${wan()} port ${1024 + r(60000)} ssh2`
      : k < 4 ? `<38>${t} nas sshd[811]: Accepted publickey for admin from 192.168.1.${2 + r(200)} port ${1024 + r(60000)} ssh2`
      : k < 7 ? `<4>${t} router kernel: [12345.678] DROP IN=eth0 OUT= MAC=aa SRC=${wan()} DST=203.0.113.1 LEN=44 TOS=0x00 PREC=0x00 TTL=50 ID=1 PROTO=TCP SPT=${1024 + r(60000)} DPT=${r(1024)} WINDOW=1024 RES=0x00 SYN URGP=0`
      : k < 8 ? `<30>${t} router dnsmasq-dhcp[1]: DHCPACK(br-lan) 192.168.1.${2 + r(200)} aa:bb:cc:dd:${r(99)}:${r(99)} phone`
      : k < 9 ? `<30>${t} router dnsmasq[1]: query[A] example${r(50)}.com from 192.168.1.${2 + r(200)}`
      : `<85>${t} nas sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1000 euid=0 tty=/dev/pts/0 ruser=bob rhost=  user=bob`;
    out.push(normalize({ raw: line, receivedAt: Date.UTC(2026, 10, 22, 10) + i }, DEFAULT_CONTEXT));
  }
  return out;
}


const stored = rules();
const sets = buildRuleSets(stored);
const batches = Array.from({ length: 10 }, (_, i) => batch(1000, i + 1));
let calls = 0, matched = 0, sink = 0;
const run = (events: EcsEvent[], key: string) => {
  const plan = planBatch(sets, key, events);
  calls += plan.calls.length;
  for (const c of plan.calls) {
    matched += c.events.length;
    sink += JSON.stringify(packMatches(c.events)).length; // as evaluate.ts sends them: columns
    // One firing back per call, rendered as the Worker renders the objects' firings.
    const last = c.events[c.events.length - 1]!;
    const firing: Firing = { id: `f-${key}`, ruleId: c.rule.id, action: "raise", group: {}, count: c.events.length, eventIds: [last.id], at: last.ts, vars: { ...last.fields, count: c.events.length } };
    sink += toAlertInputs(c.rule, [firing]).length;
  }
  sink += plan.inputs.length;
};
for (let i = 0; i < 20; i++) run(batches[i % batches.length]!, `warm-${i}`);
calls = matched = 0;
const per: number[] = [];
const N = 100;
for (let i = 0; i < N; i++) per.push(cpuMs(() => run(batches[i % batches.length]!, `b-${i}`)));
const fig = medianP95(per);
const statefulCount = stored.filter((r) => STATEFUL.has(r.def.type)).length;
console.log(
  `Worker-side rule evaluation per 1000-event batch (suppress + match ${stored.length} rules, ${statefulCount} stateful + group per (rule, shard) + payloads + rendering): ` +
    `median ${fig.median.toFixed(2)} ms CPU, p95 ${fig.p95.toFixed(2)} ms; ${(calls / N).toFixed(1)} RuleState calls/batch carrying ${(matched / N).toFixed(0)} matches ` +
    `(target: with parsing and storage, ingest < 10 ms) [${sink > 0 ? "ok" : "?"}]  [${CMD}]`,
);
