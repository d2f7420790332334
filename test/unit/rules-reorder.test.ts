/**
 * Order-independent windows (engines/reorder.ts): a rule with `lateness` gives the same alerts —
 * same first_seen, last_seen, count and events — whatever the arrival order of its matches, as long
 * as no match arrives more than `lateness` after a later-stamped one of its group; a match beyond
 * that is counted late, never silently dropped. Checked on loghub's OpenSSH_2k.log replayed in
 * shuffled 100-line batches through the default pack's stateful rules, hosted like the Durable
 * Object hosts them (each batch sorted by event time, state as JSON between calls, alarms by wall time).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { haveCorpus, readCorpusText } from "../conformance/corpora.ts";
import type { EcsEvent } from "../../workers/ecs.ts";
import { compileRule } from "../../workers/rules/project.ts";
import type { MatchedEvent, RuleDef } from "../../workers/rules/types.ts";
import { validateRule } from "../../workers/rules/validate.ts";
import { ev, RuleHost } from "./rules-engine-harness.ts";
import { toEvents } from "./rules-replay-events.ts";

const PACK = JSON.parse(readFileSync(new URL("../../workers/rules/default-pack.json", import.meta.url), "utf8")) as Record<string, unknown>[];
const packRule = (id: string, extra: Record<string, unknown> = {}): RuleDef => {
  const v = validateRule({ ...PACK.find((r) => r.id === id)!, ...extra });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.rule;
};

/** A seeded shuffle (mulberry32), so a failure reproduces. */
function shuffled<T>(xs: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Alert { first_seen: number; last_seen: number; count: number; raises: number; events: string[] }

/** Hosts `rule` over `batches` (arrival order), one wall second apart, then lets every deadline pass. */
function replay(rule: RuleDef, batches: EcsEvent[][]): { alerts: Map<string, Alert>; late: number } {
  const c = compileRule(rule);
  const host = new RuleHost(rule);
  const wall0 = Date.UTC(2026, 0, 1);
  batches.forEach((batch, i) => {
    const now = wall0 + i * 1000;
    host.tick(now);
    const ms = batch.map((e) => c.match(e)).filter((m): m is MatchedEvent => m !== undefined).sort((a, b) => a.ts - b.ts);
    for (const m of ms) host.step(m, now);
  });
  host.tick(wall0 + 365 * 86_400_000);
  const alerts = new Map<string, Alert>();
  for (const f of host.firings) {
    if (f.action !== "raise") continue;
    const key = JSON.stringify(f.group);
    const a = alerts.get(key);
    if (!a) alerts.set(key, { first_seen: f.at, last_seen: f.at, count: f.count, raises: 1, events: [...f.eventIds] });
    else Object.assign(a, { last_seen: Math.max(a.last_seen, f.at), first_seen: Math.min(a.first_seen, f.at), count: f.count, raises: a.raises + 1, events: [...a.events, ...f.eventIds] });
  }
  return { alerts, late: host.late };
}

const HAVE = haveCorpus("loghub", "OpenSSH", "OpenSSH_2k.log");

describe.skipIf(!HAVE)("order-independent windows on loghub OpenSSH_2k in shuffled 100-line batches", () => {
  const events = HAVE ? toEvents(readCorpusText("loghub", "OpenSSH", "OpenSSH_2k.log").split("\n")) : [];
  const batches: EcsEvent[][] = [];
  for (let i = 0; i < events.length; i += 100) batches.push(events.slice(i, i + 100));
  // Shuffle batches within runs of 3: no match arrives more than 3 batches late (at most 2.2 h of this
  // log's time, whose batches span 1 to 56 minutes each).
  const runs = (seed: number) => Array.from({ length: Math.ceil(batches.length / 3) }, (_, k) => shuffled(batches.slice(k * 3, k * 3 + 3), seed + k)).flat();
  const span = (bs: EcsEvent[][]) => Math.max(...bs.map((b, i) => Math.max(...bs.slice(0, i + 1).flat().map((e) => e["@timestamp"])) - Math.min(...b.map((e) => e["@timestamp"]))));

  for (const id of ["login-brute-force", "ssh-user-enumeration"]) {
    it(`${id}: identical alerts (first_seen, last_seen, count, events) in order and shuffled, none late`, () => {
      const rule = packRule(id, { lateness: "3h" });
      const inOrder = replay(rule, batches);
      expect(inOrder.alerts.size).toBeGreaterThan(0);
      // for in-order input the buffer changes no time or count; matches of the same ms are taken by
      // event id (arrival-independent) instead of line order, so which of them an alert lists may differ
      const noEvents = (m: Map<string, Alert>) => new Map([...m].map(([k, a]) => [k, { ...a, events: a.events.length }]));
      expect(noEvents(replay(packRule(id), batches).alerts)).toEqual(noEvents(inOrder.alerts));
      for (const seed of [1, 2, 3]) {
        const order = runs(seed);
        expect(span(order)).toBeLessThan(3 * 3_600_000);
        const r = replay(rule, order);
        expect(r.late).toBe(0);
        expect(r.alerts).toEqual(inOrder.alerts);
      }
      console.log(`[reorder] ${id}: ${inOrder.alerts.size} alerts identical over 3 shuffles`);
    });
  }

  it("without lateness the same shuffle changes alerts (the problem this solves)", () => {
    const rule = packRule("login-brute-force");
    const differ = [1, 2, 3].some((seed) => JSON.stringify([...replay(rule, runs(seed)).alerts]) !== JSON.stringify([...replay(rule, batches).alerts]));
    expect(differ).toBe(true);
  });
});

describe("late matches", () => {
  it("a match older than watermark - lateness is counted late and not used; one within is placed by event time", () => {
    const rule = packRule("login-brute-force", { lateness: "30s" });
    const host = new RuleHost(rule);
    const f = (t: number) => ev(t, { "source.ip": "198.51.100.1" });
    const T = Date.UTC(2026, 10, 22, 10);
    for (const t of [0, 10, 20, 100]) host.step(f(T + t * 1000), T + 200_000);
    host.step(f(T + 5_000), T + 200_000); // 95 s behind the watermark: late
    expect(host.late).toBe(1);
    host.step(f(T + 80_000), T + 200_000); // 20 s behind: buffered, placed before the 100 s one
    host.tick(T + 10_000_000);
    expect(host.firings).toEqual([]);
    for (const t of [101, 102, 103]) host.step(f(T + t * 1000), T + 300_000);
    host.tick(T + 20_000_000);
    // 80, 100, 101, 102, 103 s: five within 60 s, first raised at 103 s
    expect(host.firings.filter((x) => x.action === "raise").map((x) => [x.at - T, x.count])).toEqual([[103_000, 5]]);
  });
  it("validates lateness: a duration up to 6 h, on stateful rule types", () => {
    expect(validateRule({ ...PACK.find((r) => r.id === "login-brute-force")!, lateness: "7h" }).ok).toBe(false);
    expect(validateRule({ ...PACK.find((r) => r.id === "login-brute-force")!, lateness: "soon" }).ok).toBe(false);
    expect(validateRule({ id: "s", name: "s", type: "single", match: {}, lateness: "1m" }).ok).toBe(false);
  });
});
