/**
 * The engines, each against its anchor's semantics (SEC man page, CrowdSec leakybucket), with window
 * edges: exactly at the boundary, one ms past it, out of order, late, across batches (every step goes
 * through a JSON round trip, as in the Durable Object), and idempotent onDue.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateRule } from "../../workers/rules/validate.ts";
import { groupKeyOf } from "../../workers/rules/engines/index.ts";
import { compileRule, compileRuleSet, project } from "../../workers/rules/project.ts";
import { magnitude } from "../../workers/rules/magnitude.ts";
import type { RuleDef } from "../../workers/rules/types.ts";
import { ev, RuleHost } from "./rules-engine-harness.ts";

const S = 1000;
const T0 = Date.UTC(2026, 11, 28, 1, 42, 21);
function rule(r: Record<string, unknown>): RuleDef {
  const v = validateRule({ id: "r", name: "r", match: {}, severity: "high", ...r });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.rule;
}
const ip = (ts: number, a = "203.0.113.7", extra: Record<string, unknown> = {}) => ev(ts, { "source.ip": a, ...extra });

describe("single and suppress", () => {
  it("single raises for every match, grouped, without state", () => {
    const h = new RuleHost(rule({ type: "single", group_by: ["source.ip"], title: "{{user.name}}" }));
    h.step(ip(T0, "1.1.1.1", { "user.name": "a" }));
    h.step(ip(T0, "1.1.1.1", { "user.name": "b" }));
    expect(h.firings.map((f) => [f.group, f.count, f.vars["user.name"]])).toEqual([[{ "source.ip": "1.1.1.1" }, 1, "a"], [{ "source.ip": "1.1.1.1" }, 1, "b"]]);
    expect(h.states.size).toBe(0);
  });
  it("suppress never fires nor keeps state", () => {
    const h = new RuleHost(rule({ type: "suppress" }));
    h.step(ip(T0));
    expect([h.firings.length, h.states.size]).toEqual([0, 0]);
  });
});

describe("threshold (SEC SingleWithThreshold)", () => {
  it("replays the sec(1) man page example: fires once at 01:44:03 for risto, 01:44:07 absorbed, risto2 never", () => {
    const h = new RuleHost(rule({ type: "threshold", threshold: 3, window: "60s", group_by: ["user.name"] }));
    const at = (hms: string) => Date.UTC(2026, 11, 28, ...(hms.split(":").map(Number) as [number, number, number]));
    const seq: [string, string][] = [["01:42:21", "risto"], ["01:43:10", "risto"], ["01:43:29", "risto"], ["01:44:00", "risto2"], ["01:44:03", "risto"], ["01:44:07", "risto"]];
    const fired = seq.map(([t, u]) => h.step(ev(at(t), { "user.name": u })).length);
    expect(fired).toEqual([0, 0, 0, 0, 1, 0]);
    expect(h.firings[0]).toMatchObject({ action: "raise", group: { "user.name": "risto" }, count: 3, at: at("01:44:03") });
    // the operation runs until 01:44:10 (window start moved to 01:43:10): a failure at 01:44:10 is still absorbed…
    expect(h.step(ev(at("01:44:10"), { "user.name": "risto" }))).toEqual([]);
    // …and the next one starts counting afresh
    h.step(ev(at("01:44:11"), { "user.name": "risto" }));
    h.step(ev(at("01:44:12"), { "user.name": "risto" }));
    expect(h.step(ev(at("01:44:13"), { "user.name": "risto" }))).toHaveLength(1);
  });
  it("the window boundary is inside: N-th match exactly `window` after the first fires, 1 ms later does not", () => {
    const r = rule({ type: "threshold", threshold: 3, window: "60s", group_by: ["source.ip"] });
    const h = new RuleHost(r);
    [0, 30, 60].forEach((s) => h.step(ip(T0 + s * S)));
    expect(h.firings).toHaveLength(1);
    const h2 = new RuleHost(r);
    [0, 30].forEach((s) => h2.step(ip(T0 + s * S)));
    expect(h2.step(ip(T0 + 60 * S + 1))).toEqual([]);
    // the window slid to the 2nd match (t=30): one more within 60 s of it fires
    expect(h2.step(ip(T0 + 90 * S))).toHaveLength(1);
  });
  it("counts per group", () => {
    const h = new RuleHost(rule({ type: "threshold", threshold: 2, window: "60s", group_by: ["source.ip"] }));
    h.step(ip(T0, "1.1.1.1"));
    h.step(ip(T0 + 1, "2.2.2.2"));
    expect(h.firings).toHaveLength(0);
    h.step(ip(T0 + 2, "2.2.2.2"));
    expect(h.firings.map((f) => f.group["source.ip"])).toEqual(["2.2.2.2"]);
  });
  it("handles out-of-order matches within the tolerance and drops late ones", () => {
    const h = new RuleHost(rule({ type: "threshold", threshold: 3, window: "60s", group_by: ["source.ip"] }));
    h.step(ip(T0 + 50 * S));
    h.step(ip(T0 + 10 * S)); // out of order, inside the window
    expect(h.step(ip(T0 + 20 * S))).toHaveLength(1);
    const late = new RuleHost(rule({ type: "threshold", threshold: 2, window: "60s", group_by: ["source.ip"] }));
    late.step(ip(T0 + 200 * S));
    expect(late.step(ip(T0 + 139 * S))).toEqual([]);
    expect(late.late).toBe(1);
    expect(late.step(ip(T0 + 140 * S))).toHaveLength(1); // exactly window behind the watermark: accepted
  });
  it("carries event ids (bounded to 20) and template variables", () => {
    const h = new RuleHost(rule({ type: "threshold", threshold: 25, window: "1h", group_by: ["source.ip"], title: "{{source.ip}} {{user.name}}" }));
    for (let i = 0; i < 25; i++) h.step(ip(T0 + i * S, "9.9.9.9", { "user.name": `u${i}` }));
    const f = h.firings[0]!;
    expect(f.count).toBe(25);
    expect(f.eventIds).toHaveLength(20);
    expect(f.vars).toMatchObject({ count: 25, window: "1h", "source.ip": "9.9.9.9", "user.name": "u24", first_seen: new Date(T0).toISOString() });
  });
  it("distinct counts distinct values (e.g. users per source)", () => {
    const h = new RuleHost(rule({ type: "threshold", threshold: 3, window: "60s", group_by: ["source.ip"], distinct: "user.name" }));
    for (const u of ["root", "root", "admin", "admin", "root"]) h.step(ip(T0, undefined, { "user.name": u }));
    h.step(ip(T0 + S)); // no user: not counted
    expect(h.firings).toHaveLength(0);
    h.step(ip(T0 + 2 * S, undefined, { "user.name": "oracle" }));
    expect(h.firings.map((f) => [f.count, f.vars.distinct_count])).toEqual([[3, 3]]);
    // a value whose only occurrence slid out of the window stops counting
    const h2 = new RuleHost(rule({ type: "threshold", threshold: 2, window: "60s", distinct: "user.name" }));
    h2.step(ev(T0, { "user.name": "a" }));
    h2.step(ev(T0 + 61 * S, { "user.name": "a" }));
    expect(h2.firings).toHaveLength(0);
    h2.step(ev(T0 + 62 * S, { "user.name": "b" }));
    expect(h2.firings).toHaveLength(1);
  });
  it("clear_after (SingleWith2Thresholds): clears after a quiet period, by alarm or by the next match", () => {
    const r = rule({ type: "threshold", threshold: 2, window: "60s", clear_after: "10m", group_by: ["source.ip"] });
    const h = new RuleHost(r);
    h.step(ip(T0));
    h.step(ip(T0 + S)); // fires; quiet period starts at T0+1s
    h.step(ip(T0 + 5 * 60 * S)); // restarts the quiet period
    const key = [...h.states.keys()][0]!;
    const due = h.due.get(key)!;
    expect(due).toBe(T0 + 15 * 60 * S + 1);
    expect(h.tick(due - 1, true)).toEqual([]); // early call: nothing
    const cleared = h.tick(due);
    expect(cleared).toMatchObject([{ action: "clear", group: { "source.ip": "203.0.113.7" }, count: 1 }]);
    expect(h.tick(due + 1000, true)).toEqual([]); // repeated: nothing
    expect(h.states.size).toBe(0);
    // without an alarm, the next match notices the quiet period, clears, and starts counting afresh
    const h2 = new RuleHost(r);
    h2.step(ip(T0));
    h2.step(ip(T0 + S));
    const out = h2.step(ip(T0 + 20 * 60 * S));
    expect(out.map((f) => f.action)).toEqual(["clear"]);
    expect(h2.step(ip(T0 + 20 * 60 * S + 1)).map((f) => f.action)).toEqual(["raise"]);
  });
  it("without clear_after, onDue garbage-collects the group once its window is over", () => {
    const h = new RuleHost(rule({ type: "threshold", threshold: 5, window: "60s", group_by: ["source.ip"] }));
    h.step(ip(T0));
    expect(h.tick(T0 + 60 * S)).toEqual([]);
    expect(h.states.size).toBe(1);
    h.tick(T0 + 60 * S + 1);
    expect(h.states.size).toBe(0);
  });
  it("maps event-time deadlines to wall time by the group's arrival offset (replayed old events)", () => {
    const h = new RuleHost(rule({ type: "threshold", threshold: 2, window: "60s", clear_after: "10m" }));
    const wall = T0 + 365 * 86_400 * S; // a year later
    h.step(ev(T0), wall);
    h.step(ev(T0 + S), wall + 5);
    expect([...h.due.values()][0]).toBe(wall + 5 + 10 * 60 * S + 1);
  });
});

describe("bucket (CrowdSec leaky bucket)", () => {
  const ssh = rule({ type: "bucket", capacity: 5, leakspeed: "10s", blackhole: "1m", group_by: ["source.ip"] });
  it("overflows on the capacity+1-th pour within the leak, carrying capacity+1 events", () => {
    const h = new RuleHost(ssh);
    const fired = [0, 1, 1, 2, 2, 3].map((s) => h.step(ip(T0 + s * S)).length);
    expect(fired).toEqual([0, 0, 0, 0, 0, 1]);
    expect(h.firings[0]).toMatchObject({ count: 6, group: { "source.ip": "203.0.113.7" } });
    expect(h.firings[0]!.eventIds).toHaveLength(6);
  });
  it("leaks one token per leakspeed, exactly (ssh-slow-bf: the 19th pour finds one token, the 20th overflows)", () => {
    const h = new RuleHost(rule({ type: "bucket", capacity: 10, leakspeed: "60s", group_by: ["source.ip"] }));
    const fired: number[] = [];
    for (let i = 0; i < 22; i++) if (h.step(ip(T0 + i * 30 * S)).length) fired.push(i + 1);
    expect(fired).toEqual([20]);
    expect(h.firings[0]!.count).toBe(20);
    expect(h.firings[0]!.eventIds).toHaveLength(11);
  });
  it("never overflows when pours are slower than the leak", () => {
    const h = new RuleHost(rule({ type: "bucket", capacity: 1, leakspeed: "10s" }));
    for (let i = 0; i < 50; i++) h.step(ev(T0 + i * 10 * S));
    expect(h.firings).toHaveLength(0);
    h.step(ev(T0 + 49 * 10 * S + 1));
    expect(h.firings).toHaveLength(1);
  });
  it("blackhole discards overflows of the group for its duration, then fires again", () => {
    const h = new RuleHost(ssh);
    for (let i = 0; i < 6; i++) h.step(ip(T0 + i));
    for (let i = 0; i < 6; i++) h.step(ip(T0 + 10 * S + i)); // overflows inside the 1m blackhole: discarded
    expect(h.firings).toHaveLength(1);
    for (let i = 0; i < 6; i++) h.step(ip(T0 + 60 * S + i)); // overflow at exactly T0+60s+5ms: after the blackhole
    expect(h.firings).toHaveLength(2);
    const other = new RuleHost(ssh);
    for (let i = 0; i < 6; i++) other.step(ip(T0 + i, "1.1.1.1"));
    for (let i = 0; i < 6; i++) other.step(ip(T0 + i, "2.2.2.2"));
    expect(other.firings).toHaveLength(2);
  });
  it("distinct (uniq) ignores values already poured", () => {
    const h = new RuleHost(rule({ type: "bucket", capacity: 2, leakspeed: "10s", distinct: "user.name", group_by: ["source.ip"] }));
    for (const u of ["a", "a", "b", "b", "a"]) h.step(ip(T0, undefined, { "user.name": u }));
    expect(h.firings).toHaveLength(0);
    h.step(ip(T0, undefined, { "user.name": "c" }));
    expect(h.firings.map((f) => f.count)).toEqual([3]);
  });
  it("underflows after (capacity+1) x leakspeed without pours: the count restarts", () => {
    const h = new RuleHost(rule({ type: "bucket", capacity: 3, leakspeed: "10s" }));
    h.step(ev(T0));
    h.step(ev(T0 + 40 * S)); // exactly the lifetime: same bucket
    h.step(ev(T0 + 80 * S + 1)); // past it: new bucket
    for (let i = 1; i <= 3; i++) h.step(ev(T0 + 80 * S + 1 + i));
    expect(h.firings.map((f) => f.count)).toEqual([4]);
    const g = new RuleHost(rule({ type: "bucket", capacity: 3, leakspeed: "10s" }));
    g.step(ev(T0));
    g.tick(T0 + 40 * S + 1);
    expect(g.states.size).toBe(0);
  });
  it("capacity 0 is a trigger: every pour overflows, subject to the blackhole", () => {
    const h = new RuleHost(rule({ type: "bucket", capacity: 0, blackhole: "1m", group_by: ["source.ip"] }));
    h.step(ip(T0));
    h.step(ip(T0 + 30 * S));
    h.step(ip(T0 + 60 * S));
    expect(h.firings.map((f) => [f.count, f.at])).toEqual([[1, T0], [1, T0 + 60 * S]]);
    const t = new RuleHost(rule({ type: "bucket", capacity: 0 }));
    t.step(ev(T0));
    t.step(ev(T0));
    expect([t.firings.length, t.states.size]).toEqual([2, 0]);
  });
  it("pours out-of-order events at the watermark and drops those beyond the bucket's lifetime", () => {
    const h = new RuleHost(rule({ type: "bucket", capacity: 2, leakspeed: "10s" }));
    h.step(ev(T0 + 20 * S));
    h.step(ev(T0 + 5 * S)); // late but within lifetime: poured at T0+20s (no leak credit)
    expect(h.step(ev(T0 + 20 * S))).toHaveLength(1);
    h.step(ev(T0 + 100 * S));
    h.step(ev(T0 + 69 * S));
    expect(h.late).toBe(1);
  });
});

describe("sequence (SEC PairWithWindow)", () => {
  const pair = rule({ type: "sequence", window: "60s", group_by: ["source.ip"], a: { match: { "event.outcome": "failure" } }, b: { match: { "event.outcome": "success" } }, title: "{{user.name}}" });
  it("A then B within the window raises with B's fields; the boundary is inside", () => {
    for (const [dt, fires] of [[30 * S, 1], [60 * S, 1], [60 * S + 1, 0]] as const) {
      const h = new RuleHost(pair);
      h.step(ev(T0, { "source.ip": "1.1.1.1", "user.name": "x" }, "a"));
      h.step(ev(T0 + dt, { "source.ip": "1.1.1.1", "user.name": "alice" }, "b"));
      expect(h.firings.length, `B after ${dt} ms`).toBe(fires);
      if (fires) expect(h.firings[0]).toMatchObject({ count: 1, vars: { "user.name": "alice" } });
    }
  });
  it("follows SEC: the operation's lifetime starts at the first A; later As are absorbed, B without operation is ignored", () => {
    const h = new RuleHost(pair);
    h.step(ev(T0, { "source.ip": "1.1.1.1" }, "a"));
    h.step(ev(T0 + 50 * S, { "source.ip": "1.1.1.1" }, "a")); // absorbed, does not extend
    h.step(ev(T0 + 100 * S, { "source.ip": "1.1.1.1" }, "b")); // operation ended at T0+60s
    expect(h.firings).toHaveLength(0);
    h.step(ev(T0 + 101 * S, { "source.ip": "1.1.1.1" }, "b"));
    h.step(ev(T0 + 102 * S, { "source.ip": "2.2.2.2" }, "b"));
    expect(h.firings).toHaveLength(0);
  });
  it("with a.count: N failures then a success, all within the window", () => {
    const r = rule({ type: "sequence", window: "5m", group_by: ["source.ip"], a: { match: { "event.outcome": "failure" }, count: 5 }, b: { match: { "event.outcome": "success" } } });
    const h = new RuleHost(r);
    for (let i = 0; i < 4; i++) h.step(ev(T0 + i * S, { "source.ip": "1.1.1.1" }, "a"));
    h.step(ev(T0 + 10 * S, { "source.ip": "1.1.1.1" }, "b"));
    expect(h.firings).toHaveLength(0);
    for (let i = 0; i < 6; i++) h.step(ev(T0 + 20 * S + i * S, { "source.ip": "1.1.1.1" }, "a"));
    h.step(ev(T0 + 60 * S, { "source.ip": "1.1.1.1" }, "b"));
    expect(h.firings.map((f) => [f.count, f.eventIds.length])).toEqual([[10, 11]]);
    expect(magnitude(r, 10)).toBe(425);
  });
  it("absent: raises at the wall deadline when B never came, exactly once; B in time cancels", () => {
    const r = rule({ type: "sequence", window: "10m", absent: true, group_by: ["host.hostname"], a: { match: { "event.action": "backup-started" } }, b: { match: { "event.action": "backup-finished" } } });
    const h = new RuleHost(r);
    h.step(ev(T0, { "host.hostname": "nas" }, "a"), T0 + 2 * S); // arrives 2 s after its event time
    const due = [...h.due.values()][0]!;
    expect(due).toBe(T0 + 10 * 60 * S + 1 + 2 * S);
    expect(h.tick(due - 1, true)).toEqual([]);
    expect(h.tick(due)).toMatchObject([{ action: "raise", group: { "host.hostname": "nas" }, count: 1, at: due }]);
    expect(h.tick(due + 5, true)).toEqual([]);
    const ok = new RuleHost(r);
    ok.step(ev(T0, { "host.hostname": "nas" }, "a"));
    ok.step(ev(T0 + 9 * 60 * S, { "host.hostname": "nas" }, "b"));
    ok.tick(T0 + 3600 * S, true);
    expect(ok.firings).toHaveLength(0);
    // a later event of the group notices the missed deadline without an alarm (replays)
    const replay = new RuleHost(r);
    replay.step(ev(T0, { "host.hostname": "nas" }, "a"));
    expect(replay.step(ev(T0 + 11 * 60 * S, { "host.hostname": "nas" }, "a"))).toMatchObject([{ at: T0 + 10 * 60 * S }]);
  });
});

describe("heartbeat", () => {
  const hb = rule({ type: "heartbeat", timeout: "26h", group_by: ["host.hostname"], match: { "event.dataset": "backup" } });
  const H = 3_600_000;
  it("raises exactly at last beat + timeout, once, and the next beat clears", () => {
    const h = new RuleHost(hb);
    h.step(ev(T0, { "host.hostname": "nas" }), T0 + 1000);
    const due = [...h.due.values()][0]!;
    expect(due).toBe(T0 + 26 * H);
    expect(h.tick(due - 1, true)).toEqual([]);
    expect(h.tick(due)).toMatchObject([{ action: "raise", group: { "host.hostname": "nas" }, at: due }]);
    expect(h.tick(due + H, true)).toEqual([]);
    expect(h.step(ev(due + 2 * H, { "host.hostname": "nas" }))).toMatchObject([{ action: "clear" }]);
    expect([...h.due.values()][0]).toBe(due + 28 * H);
  });
  it("a beat on time pushes the deadline; an older beat does not; future stamps are capped at arrival", () => {
    const h = new RuleHost(hb);
    h.step(ev(T0, { "host.hostname": "nas" }));
    h.step(ev(T0 + 25 * H, { "host.hostname": "nas" }));
    h.step(ev(T0 + 1 * H, { "host.hostname": "nas" }), T0 + 25 * H + 5);
    expect([...h.due.values()][0]).toBe(T0 + 51 * H);
    h.step(ev(T0 + 100 * H, { "host.hostname": "nas" }), T0 + 30 * H);
    expect([...h.due.values()][0]).toBe(T0 + 56 * H);
    expect(h.firings).toHaveLength(0);
  });
});

describe("new_value", () => {
  const nv = (extra: Record<string, unknown> = {}) => rule({ type: "new_value", fields: ["source.mac"], learning: "1h", ...extra });
  it("learns silently during the learning period, then raises once per new value", () => {
    const h = new RuleHost(nv({ title: "New device {{source.mac}}" }));
    h.step(ev(T0, { "source.mac": "aa" }));
    h.step(ev(T0 + 3_599_999, { "source.mac": "bb" }));
    expect(h.firings).toHaveLength(0);
    h.step(ev(T0 + 3_600_000, { "source.mac": "cc" }));
    h.step(ev(T0 + 3_600_001, { "source.mac": "bb" }));
    h.step(ev(T0 + 3_600_002, { "source.mac": "cc" }));
    h.step(ev(T0 + 3_600_003, {}));
    expect(h.firings.map((f) => f.vars["source.mac"])).toEqual(["cc"]);
  });
  it("learning measured from rule.learning_from when the API sets it", () => {
    const h = new RuleHost(nv({ learning_from: T0 - 3_600_000 }));
    h.step(ev(T0, { "source.mac": "aa" }));
    expect(h.firings).toHaveLength(1);
  });
  it("tuples of fields, and a bounded state that forgets the least recently seen value", () => {
    const h = new RuleHost(rule({ type: "new_value", fields: ["source.ip", "destination.geo.country_iso_code"], max_values: 3 }));
    const see = (ipa: string, cc: string, t: number) => h.step(ev(t, { "source.ip": ipa, "destination.geo.country_iso_code": cc })).length;
    expect([see("10.0.0.2", "FR", T0), see("10.0.0.2", "DE", T0 + 1), see("10.0.0.2", "FR", T0 + 2), see("10.0.0.3", "FR", T0 + 3)]).toEqual([1, 1, 0, 1]);
    expect(see("10.0.0.4", "US", T0 + 4)).toBe(1); // evicts (10.0.0.2, DE), the least recently seen
    const st = JSON.parse([...h.states.values()][0]!);
    expect(Object.keys(st.v)).toHaveLength(3);
    expect(st.x).toBe(1);
    expect(see("10.0.0.2", "DE", T0 + 5)).toBe(1);
  });
});

describe("compileRule and groupKeyOf", () => {
  it("matches, tags sequence steps, projects only the needed fields and captures", () => {
    const r = rule({
      type: "sequence", window: "5m", group_by: ["source.ip"], match: { "event.category": "authentication" },
      a: { match: { "event.outcome": "failure" } }, b: { match: { "event.outcome": "success", message: { regex: "for (?<who>\\w+)" } } },
      title: "{{who}} from {{source.ip}} on {{host.hostname}} after {{count}}",
    });
    const c = compileRule(r);
    const base = { id: "x1", "@timestamp": Date.UTC(2026, 10, 22, 10), received_at: Date.UTC(2026, 10, 22, 10, 0, 1), raw: "", host: { hostname: "gw" }, source: { ip: "1.2.3.4", port: 5 } };
    const m = c.match({ ...base, message: "Accepted password for bob", event: { dataset: "sshd", category: ["authentication"], outcome: "success" } });
    expect(m).toEqual({ id: "x1", ts: Date.parse("2026-11-22T10:00:00.000Z"), fields: { "source.ip": "1.2.3.4", "host.hostname": "gw" }, captures: { who: "bob" }, step: "b" });
    expect(c.match({ ...base, event: { dataset: "sshd", category: ["authentication"], outcome: "failure" } })?.step).toBe("a");
    expect(c.match({ ...base, event: { dataset: "sshd", category: ["network"], outcome: "failure" } })).toBeUndefined();
    expect(groupKeyOf(r, m!)).toBe('["1.2.3.4"]');
    expect(project(r, { ...base, event: { dataset: "sshd" } }, { who: "x" }, "b")).toEqual({ ...m, captures: { who: "x" } });
    expect(groupKeyOf(rule({ type: "single" }), m!)).toBe("[]");
    // no group_by value → the event does not enter the rule
    expect(c.match({ ...base, source: {}, event: { dataset: "sshd", category: ["authentication"], outcome: "failure" } })).toBeUndefined();
    expect(compileRule(rule({ type: "single", group_by: ["who"], match: { message: { regex: "for (?<who>\\w*)" } } })).match({ ...base, message: "for ", event: { dataset: "x" } })).toBeUndefined();
  });
  it("compileRuleSet (dataset-indexed) matches exactly what each rule's match does", () => {
    const rules = [
      rule({ id: "a", type: "single", match: { "event.dataset": "sshd", "event.outcome": "failure" } }),
      rule({ id: "b", type: "single", match: { "event.dataset": { in: ["sshd", "dropbear"] } } }),
      rule({ id: "c", type: "single", match: { "source.ip": { cidr: "10.0.0.0/8" } } }),
      rule({ id: "d", type: "single", match: { "event.dataset": { in: ["x"], exists: true } } }),
      rule({ id: "e", type: "single", match: {} }),
      rule({ id: "f", type: "single", match: { all: [{ "source.ip": { exists: true } }, { "event.dataset": "sshd" }] } }),
      rule({ id: "g", type: "single", match: { any: [{ "event.dataset": "x" }, { all: [{ "event.dataset": "iptables" }] }] } }),
      rule({ id: "h", type: "single", match: { any: [{ "event.dataset": "x" }, { "event.outcome": "success" }] } }),
    ];
    const events = ["sshd", "dropbear", "x", "iptables", undefined].flatMap((dataset, i) =>
      ["failure", "success"].map((outcome, j) => ({ id: `${i}${j}`, "@timestamp": T0 + i, received_at: 0, raw: "", event: { dataset, outcome }, source: { ip: j ? "10.1.1.1" : "8.8.8.8" } }) as never),
    );
    const viaSet = compileRuleSet(rules).matchBatch(events).map((l) => l.map((m) => m.id));
    const viaEach = rules.map((r) => { const c = compileRule(r); return events.map((e) => c.match(e)).filter(Boolean).map((m) => m!.id); });
    expect(viaSet).toEqual(viaEach);
    expect(viaSet.map((l) => l.length)).toEqual([1, 4, 5, 2, 10, 2, 4, 6]);
  });
  it("compileRuleSet (indexed by required field values) matches exactly what each rule's match does, for random rules and events", () => {
    const value = fc.constantFrom("a", "b", "22", "", " ", "x y");
    const scalar = fc.oneof(value, fc.constantFrom(22, 0, true));
    const field = fc.constantFrom("event.dataset", "event.category", "process.name", "network.transport", "source.port", "tags");
    const leaf = fc.tuple(field, fc.oneof(scalar, fc.record({ in: fc.array(scalar, { minLength: 1, maxLength: 3 }) }), fc.record({ eq: scalar }), fc.record({ in: fc.array(value, { minLength: 1, maxLength: 2 }), exists: fc.boolean() }), fc.record({ exists: fc.boolean() }), fc.record({ regex: fc.constantFrom("(?<w>a)", "^(?<w>2)") })))
      .map(([f, spec]) => ({ [f]: spec }));
    const cond: fc.Arbitrary<Record<string, unknown>> = fc.letrec((tie) => ({
      c: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, leaf, fc.record({ any: fc.array(tie("c"), { minLength: 1, maxLength: 3 }) }), fc.record({ all: fc.array(tie("c"), { minLength: 1, maxLength: 3 }) }), fc.record({ not: tie("c") }),
        fc.tuple(leaf, leaf).map(([x, y]) => ({ ...x, ...y }))),
    })).c as fc.Arbitrary<Record<string, unknown>>;
    const fieldValue = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.constant(undefined), fc.constant(null));
    const event = fc.record({ dataset: fieldValue, category: fieldValue, pname: fieldValue, transport: fieldValue, port: fieldValue, tags: fieldValue, flat: fc.boolean() })
      .map((v) => ({
        id: "", "@timestamp": Date.UTC(2026, 10, 22, 10), received_at: 0, raw: "",
        event: { dataset: v.dataset, category: v.category }, network: { transport: v.transport }, source: { port: v.port }, tags: v.tags,
        // a flat dotted key is read when the object path is absent (compileGetter)
        ...(v.flat ? { "process.name": v.pname } : { process: { name: v.pname } }),
      }) as never);
    // projections: a few shapes, so that several rules of a set often project the same fields
    const shape = fc.constantFrom<Record<string, unknown>>({}, { group_by: ["source.port"] }, { title: "{{process.name}} {{event.dataset}}" }, { group_by: ["tags"], title: "{{event.category}}" },
      { type: "sequence", window: "5m", group_by: ["source.port"], a: { match: { "event.dataset": "a" } }, b: { match: { tags: { regex: "^(?<t>[ab])" } } } });
    const each = (rules: RuleDef[], events: never[]) => rules.map((r) => { const c = compileRule(r); return events.map((e) => c.match(e)).filter(Boolean); });
    fc.assert(
      fc.property(fc.array(fc.tuple(cond, shape), { minLength: 1, maxLength: 6 }), fc.array(event, { minLength: 1, maxLength: 20 }), (conds, events) => {
        const events2 = (events as Record<string, unknown>[]).map((e, i) => ({ ...e, id: `e${i}` })) as never[]; // ids by position
        const rules = conds.map(([match, extra], i) => rule({ id: `r${i}`, type: "single", match, ...extra }));
        const set = compileRuleSet(rules);
        // whole matches (projected fields included), not only which events matched
        expect(set.matchBatch(events2)).toStrictEqual(each(rules, events2));
        // the same event objects, changed, in the next batch: nothing is remembered from the last one
        for (const e of events2 as { source: { port: unknown }; tags: unknown }[]) [e.source.port, e.tags] = [e.tags, e.source.port];
        expect(set.matchBatch(events2)).toStrictEqual(each(rules, events2));
      }),
      { numRuns: 300 },
    );
  });
  it("projects the event's time, ms, as the event carries it (no text on the way)", () => {
    const c = compileRule(rule({ type: "single", title: "at {{@timestamp}}" }));
    fc.assert(fc.property(fc.integer({ min: -8_000_000_000_000, max: 253_402_300_799_999 }), (t) => {
      const m = c.match({ id: "t", "@timestamp": t, received_at: 0, raw: "", event: { dataset: "x" } })!;
      // the time itself, and as text only where it leaves for an alert (a template variable)
      return m.ts === t && m.fields["@timestamp"] === new Date(t).toISOString();
    }));
  });
  it("magnitude ranks by severity first, then by count over the limit", () => {
    const t = rule({ type: "threshold", threshold: 5, window: "60s", severity: "high" });
    expect(magnitude(t, 5)).toBe(400);
    expect(magnitude(t, 20)).toBe(450);
    expect(magnitude(t, 1e9)).toBe(499);
    expect(magnitude(t, 5, "critical")).toBeGreaterThan(magnitude(t, 1e9));
    expect(magnitude(rule({ type: "bucket", capacity: 5, leakspeed: "10s" }), 6)).toBe(400);
  });
});
