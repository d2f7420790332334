/**
 * RuleState in workerd: idempotent batches, state across eviction, rule versions, the one alarm at
 * the earliest deadline, idempotent alarm handling, reset. Deadlines run with runDurableObjectAlarm
 * and the object's clock set past them, never by sleeping.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RuleState } from "../../durable-objects/rule-state.ts";
import { compileRule } from "../../workers/rules/project.ts";
import { validateRule } from "../../workers/rules/validate.ts";
import type { MatchedEvent, RuleDef } from "../../workers/rules/types.ts";
import type { EcsEvent } from "../../workers/ecs.ts";
import { d1Store } from "../../workers/store/d1.ts";
import { alertsOf, ev, ruleObject, runAlarmAt, setClock, SSH_FAIL_MATCH, sshFail, T0, uid } from "./rules-fixtures.ts";

const S = 1000;
const H = 3600 * S;

function rule(def: Record<string, unknown>): RuleDef {
  const v = validateRule(def);
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.rule;
}

const matched = (r: RuleDef, events: EcsEvent[]): MatchedEvent[] => events.map((e) => compileRule(r).match(e)!);

const beat = (host: string, ts: number) => ev(`<14>Nov 22 10:00:00 ${host} backup[1]: backup done`, ts, { host: { hostname: host }, event: { action: "backup_done" } });

describe("RuleState.apply", () => {
  it("returns the stored firings for a batch applied before and counts nothing twice", async () => {
    const r = rule({ id: uid("rs"), name: "t", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 2, window: "60s" });
    const obj = ruleObject(`${r.id}:0`);
    const batch = matched(r, [sshFail("192.0.2.1", T0), sshFail("192.0.2.1", T0 + S)]);
    const first = await obj.apply("batch-1", r, 1, batch);
    expect(first.replayed).toBe(false);
    expect(first.firings.map((f) => [f.action, f.count, f.group])).toEqual([["raise", 2, { "source.ip": "192.0.2.1" }]]);
    const stateBefore = (await obj.inspect()).groups;
    const again = await obj.apply("batch-1", r, 1, batch);
    expect(again).toEqual({ firings: first.firings, replayed: true, late: 0 });
    expect((await obj.inspect()).groups).toEqual(stateBefore);
    // Same firing ids on replay: the alert store skips them.
    expect(again.firings[0]!.id).toBe(first.firings[0]!.id);
  });

  it("keeps a window across eviction: 3 matches, evicted, 2 more fire a threshold of 5", async () => {
    const r = rule({ id: uid("rs-evict"), name: "t", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 5, window: "60s" });
    const obj = ruleObject(`${r.id}:0`);
    const first = await obj.apply("e-1", r, 1, matched(r, [0, 1, 2].map((s) => sshFail("192.0.2.2", T0 + s * S))));
    expect(first.firings).toEqual([]);
    await evictDurableObject(obj.stub);
    const second = await obj.apply("e-2", r, 1, matched(r, [3, 4].map((s) => sshFail("192.0.2.2", T0 + s * S))));
    expect(second.firings.map((f) => f.count)).toEqual([5]);
    // And the applied-batch memory survives eviction too.
    await evictDurableObject(obj.stub);
    expect((await obj.apply("e-1", r, 1, [])).replayed).toBe(true);
  });

  it("a newer rule version resets windows; an older one (a stale isolate) does not", async () => {
    const r = rule({ id: uid("rs-ver"), name: "t", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 3, window: "60s" });
    const obj = ruleObject(`${r.id}:0`);
    await obj.apply("v-1", r, 2, matched(r, [sshFail("192.0.2.3", T0), sshFail("192.0.2.3", T0 + S)]));
    const stale = await obj.apply("v-2", r, 1, []);
    expect(stale.firings).toEqual([]);
    expect((await obj.inspect()).groups).toHaveLength(1);
    expect((await obj.inspect()).version).toBe(2);
    const changed = await obj.apply("v-3", r, 3, matched(r, [sshFail("192.0.2.3", T0 + 2 * S)]));
    expect(changed.firings).toEqual([]); // the third match counts from zero under version 3
    expect((await obj.inspect()).version).toBe(3);
  });
});

describe("RuleState.apply: a newer rule version", () => {
  it("drops the old groups' deadlines with their windows (no schedule row, no alarm left)", async () => {
    const r = rule({ id: uid("rs-ver-due"), name: "hb", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "1h" });
    const obj = ruleObject(`${r.id}:0`);
    await obj.apply("vd-1", r, 1, matched(r, [beat("nas", Date.now())]));
    expect((await obj.inspect()).schedule).toHaveLength(1);
    await obj.apply("vd-2", r, 2, []);
    expect(await obj.inspect()).toMatchObject({ groups: [], schedule: [], alarm: null, version: 2 });
  });
});

describe("RuleState.apply with a broken rule", () => {
  it("an engine that throws does not stall ingest: the batch is recorded without firings and the error returned", async () => {
    const good = rule({ id: uid("rs-broken"), name: "t", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 2, window: "60s" });
    const broken = { ...good, window: "never" } as RuleDef; // bypasses validation: durationMs throws inside the engine
    const obj = ruleObject(`${good.id}:0`);
    const res = await obj.apply("p-1", broken, 1, matched(good, [sshFail("192.0.2.5", T0)]));
    expect(res.firings).toEqual([]);
    expect(res.error).toMatch(/window/);
    expect((await obj.apply("p-1", broken, 1, [])).replayed).toBe(true);
    // Counted where a lost alert can be accounted for: GET /v1/metrics.
    expect((await d1Store(env.DB).counters()).rule_engine_errors).toBeGreaterThanOrEqual(1);
    expect((await obj.inspect()).groups).toEqual([]); // the failed transaction left no partial state
  });
});

describe("RuleState alarm", () => {
  it("keeps ONE alarm at the earliest deadline of its groups and moves it when that changes", async () => {
    const r = rule({ id: uid("rs-hb"), name: "hb", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "24h" });
    const obj = ruleObject(`${r.id}:0`);
    const wall = Date.now();
    await obj.apply("a-1", r, 1, matched(r, [beat("nas", wall - 2 * H), beat("pi", wall - H)]));
    expect((await obj.inspect()).alarm).toBe(wall - 2 * H + 24 * H);
    await obj.apply("a-2", r, 1, matched(r, [beat("nas", wall)]));
    expect((await obj.inspect()).alarm).toBe(wall - H + 24 * H); // pi is now the earliest
  });

  it("raises a missed heartbeat once however often the alarm runs (at-least-once delivery)", async () => {
    const r = rule({ id: uid("rs-once"), name: "Backup", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "1h", title: "No backup from {{host.hostname}}" });
    const obj = ruleObject(`${r.id}:0`);
    const wall = Date.now();
    await obj.apply("o-1", r, 1, matched(r, [beat("nas", wall)]));
    expect(await runAlarmAt(obj.stub, wall + 2 * H)).toBe(true);
    // A repeated delivery: run the handler again directly.
    await runInDurableObject(obj.stub, (instance: RuleState) => instance.alarm());
    await runInDurableObject(obj.stub, (instance: RuleState) => instance.alarm());
    const alerts = await alertsOf(r.id);
    expect(alerts.map((a) => [a.title, a.status, a.duplicate_count])).toEqual([["No backup from nas", "open", 0]]);
    expect(await runDurableObjectAlarm(obj.stub)).toBe(false); // nothing left to wake up for
    expect((await obj.inspect()).outbox).toBe(0);
  });

  it("keeps a missed heartbeat's alert queued while D1 fails, and writes it once on the retry alarm", async () => {
    const r = rule({ id: uid("rs-outbox"), name: "Backup", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "1h", title: "No backup from {{host.hostname}}" });
    const obj = ruleObject(`${r.id}:0`);
    const wall = Date.now();
    await obj.apply("ob-1", r, 1, matched(r, [beat("nas", wall)]));
    // A real D1 failure: the alerts table is away while the deadline passes (this file's storage is its own).
    await env.DB.exec("ALTER TABLE alerts RENAME TO alerts_away");
    try {
      expect(await runAlarmAt(obj.stub, wall + 2 * H)).toBe(true);
      const pending = await obj.inspect();
      expect(pending.outbox).toBe(1);
      expect(pending.alarm).toBe(wall + 2 * H + 30 * S); // the outbox retry, before any other deadline
    } finally {
      await env.DB.exec("ALTER TABLE alerts_away RENAME TO alerts");
    }
    expect(await alertsOf(r.id)).toEqual([]);
    expect(await runAlarmAt(obj.stub, wall + 2 * H + 30 * S)).toBe(true);
    const alerts = await alertsOf(r.id);
    expect(alerts.map((a) => [a.title, a.status, a.duplicate_count])).toEqual([["No backup from nas", "open", 0]]);
    const after = await obj.inspect();
    expect(after.outbox).toBe(0);
    expect(after.alarm).toBe(null); // the missed beat is raised; nothing is due until the next beat
  });

  it("a busy object's outbox retry fires at its time: batches applied meanwhile do not push it back", async () => {
    const r = rule({ id: uid("rs-busy"), name: "Backup", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "1h", title: "No backup from {{host.hostname}}" });
    const obj = ruleObject(`${r.id}:0`);
    const wall = Date.now();
    await setClock(obj.stub, wall);
    await obj.apply("busy-0", r, 1, matched(r, [beat("nas", wall)]));
    const missed = wall + 2 * H;
    await env.DB.exec("ALTER TABLE alerts RENAME TO alerts_away");
    try {
      expect(await runAlarmAt(obj.stub, missed)).toBe(true);
      expect((await obj.inspect()).alarm).toBe(missed + 30 * S);
    } finally {
      await env.DB.exec("ALTER TABLE alerts_away RENAME TO alerts");
    }
    // A batch every 5 s: each apply re-arms the alarm, which must stay at the retry's own time.
    for (let i = 1; i <= 5; i++) {
      await setClock(obj.stub, missed + i * 5 * S);
      await obj.apply(`busy-${i}`, r, 1, matched(r, [beat(`pi-${i}`, missed + i * 5 * S)]));
      expect((await obj.inspect()).alarm).toBe(missed + 30 * S);
    }
    expect(await alertsOf(r.id)).toEqual([]);
    expect(await runAlarmAt(obj.stub, missed + 30 * S)).toBe(true);
    expect((await alertsOf(r.id)).map((a) => [a.title, a.status])).toEqual([["No backup from nas", "open"]]);
    const after = await obj.inspect();
    expect(after.outbox).toBe(0);
    expect(after.schedule.map((row) => row.kind)).toEqual(["due", "due", "due", "due", "due"]); // the pi-N deadlines; no retry row left
  });

  it("an early alarm does nothing and re-arms at the deadline", async () => {
    const r = rule({ id: uid("rs-early"), name: "hb", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "1h" });
    const obj = ruleObject(`${r.id}:0`);
    const wall = Date.now();
    await obj.apply("x-1", r, 1, matched(r, [beat("nas", wall)]));
    expect(await runAlarmAt(obj.stub, wall + 30 * 60 * S)).toBe(true);
    expect(await alertsOf(r.id)).toEqual([]);
    expect((await obj.inspect()).alarm).toBe(wall + H);
  });

  it("threshold clear_after: the quiet period's end (an alarm) closes the alert", async () => {
    const id = uid("rs-clear");
    const r = rule({ id, name: "Flood", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 2, window: "60s", clear_after: "5m" });
    const obj = ruleObject(`${r.id}:0`);
    const wall = Date.now();
    await setClock(obj.stub, wall);
    const res = await obj.apply("c-1", r, 1, matched(r, [sshFail("192.0.2.4", T0), sshFail("192.0.2.4", T0 + S)]));
    // The Worker writes the raise (as evaluateBatch does); the object writes the clear from its alarm.
    const { d1Store } = await import("../../workers/store/d1.ts");
    const { toAlertInputs } = await import("../../workers/rules/evaluate.ts");
    const { env } = await import("cloudflare:test");
    await d1Store(env.DB).applyFirings(toAlertInputs(r, res.firings), wall);
    expect((await alertsOf(id)).map((a) => a.status)).toEqual(["open"]);
    const due = (await obj.inspect()).alarm!;
    expect(due).toBeGreaterThan(wall);
    expect(await runAlarmAt(obj.stub, due)).toBe(true);
    expect((await alertsOf(id)).map((a) => a.status)).toEqual(["closed"]);
  });
});

describe("RuleState schedule", () => {
  it("moves deadlines stored by earlier builds (groups.due_at) into the schedule when the object starts", async () => {
    const r = rule({ id: uid("rs-legacy"), name: "hb", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "1h" });
    const obj = ruleObject(`${r.id}:0`);
    const wall = Date.now();
    await obj.apply("l-1", r, 1, matched(r, [beat("nas", wall)]));
    const key = (await obj.inspect()).groups[0]!.key;
    // What an earlier build left behind: the deadline in the groups row, no schedule row.
    await runInDurableObject(obj.stub, (_i: RuleState, state: DurableObjectState) => {
      state.storage.sql.exec("UPDATE groups SET due_at = ? WHERE key = ?", wall + 2 * H, key);
      state.storage.sql.exec("DELETE FROM schedule");
    });
    await evictDurableObject(obj.stub);
    const after = await obj.inspect();
    expect(after.schedule).toEqual([{ id: `due:${key}`, kind: "due", payload: key, time: wall + 2 * H }]);
    expect(after.groups.map((g) => g.dueAt)).toEqual([wall + 2 * H]);
    expect(await runAlarmAt(obj.stub, wall + 2 * H)).toBe(true);
    expect((await alertsOf(r.id)).map((a) => a.status)).toEqual(["open"]);
  });
});

describe("RuleState.reset", () => {
  it("forgets groups and cancels the alarm, but still recognizes batches it applied", async () => {
    const r = rule({ id: uid("rs-reset"), name: "hb", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "1h" });
    const obj = ruleObject(`${r.id}:0`);
    await obj.apply("r-1", r, 1, matched(r, [beat("nas", Date.now())]));
    expect((await obj.inspect()).alarm).not.toBe(null);
    await obj.reset();
    const after = await obj.inspect();
    expect(after.groups).toEqual([]);
    expect(after.alarm).toBe(null);
    expect((await obj.apply("r-1", r, 1, [])).replayed).toBe(true);
  });
});
