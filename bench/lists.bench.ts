/**
 * Address-list benchmark (`npm run bench -- lists`): a blocklist of 300,000 entries (IPv4 addresses
 * and prefixes, some IPv6), built into sorted merged ranges (ip-list.ts) — build time — then the
 * `in_list` condition of the default pack's blocklist rule matched against a 1000-event batch of
 * flows — CPU ms per batch (median, p95) and ns per lookup. Target: a batch stays under 1 ms.
 */
import { IpRangeSet } from "../workers/rules/ip-list.ts";
import { compileCondition } from "../workers/rules/condition.ts";
import { cpuMs, medianP95 } from "./cpu.ts";

const CMD = "npm run bench -- lists";
let seed = 7;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const octet = () => Math.floor(rnd() * 256);
const v4 = () => `${1 + Math.floor(rnd() * 223)}.${octet()}.${octet()}.${octet()}`;

const entries: string[] = [];
for (let i = 0; i < 300_000; i++) {
  const r = rnd();
  entries.push(r < 0.8 ? v4() : r < 0.97 ? `${v4()}/${20 + Math.floor(rnd() * 12)}` : `2001:db8:${Math.floor(rnd() * 65535).toString(16)}::/48`);
}
const t0 = performance.now();
const { set, invalid } = IpRangeSet.parse(entries);
const buildMs = performance.now() - t0;
if (invalid.length) throw new Error(`invalid entries: ${invalid.length}`);

const match = compileCondition({ "destination.ip": { in_list: "blocklist" } }, (n) => (n === "blocklist" ? set : undefined));
const batch = Array.from({ length: 1000 }, (_, i) => ({ destination: { ip: i % 10 === 0 ? entries[i]!.split("/")[0]! : v4() } }));
let hits = 0;
const samples: number[] = [];
for (let run = 0; run < 200; run++) {
  samples.push(cpuMs(() => {
    for (const e of batch) if (match(e).matched) hits++;
  }));
}
const { median, p95 } = medianP95(samples);
console.log(`list of ${entries.length} entries -> ${set.ranges} ranges, built in ${buildMs.toFixed(0)} ms`);
console.log(`in_list over a 1000-event batch: median ${median.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms (${((median * 1e6) / 1000).toFixed(0)} ns per event), ${hits / 200} hits per batch`);
console.log(`(${CMD})`);
