/**
 * evaluateBatch end to end in workerd: rules from D1 (created through the API), stateless matching,
 * real RuleState objects, alerts in D1. One test per rule type, window edges, suppression, retried
 * batches, live rule changes, and one test through POST /v1/ingest.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { evaluateBatch } from "../../workers/rules/evaluate.ts";
import { groupKeyOf } from "../../workers/rules/project.ts";
import { RULE_SHARDS, ruleObjectName, shardOf } from "../../workers/rules/registry.ts";
import type { RuleDef } from "../../workers/rules/types.ts";
import { api, ingest } from "./api-client.ts";
import { alertsOf, createRule, ev, runAlarmAt, SSH_FAIL_MATCH, sshFail, sshOk, T0, uid, ruleObject } from "./rules-fixtures.ts";

const S = 1000;

describe("evaluateBatch: rule types", () => {
  it("single: every matching event raises; repeats of the same group de-duplicate", async () => {
    const id = uid("single");
    await createRule({ id, name: "Root login", type: "single", match: { "user.name": "root", "event.outcome": "success" }, group_by: ["source.ip"], severity: "high", title: "Root login from {{source.ip}}" });
    const r = await evaluateBatch(env, uid("b"), [sshOk("198.51.100.1", T0, "root"), sshOk("198.51.100.1", T0 + S, "root"), sshOk("198.51.100.2", T0 + 2 * S, "root"), sshOk("198.51.100.3", T0, "bob")]);
    expect(r.alerts).toBe(2);
    const alerts = await alertsOf(id);
    expect(alerts.map((a) => [a.title, a.duplicate_count, a.severity, a.status])).toEqual([
      ["Root login from 198.51.100.1", 1, "high", "open"],
      ["Root login from 198.51.100.2", 0, "high", "open"],
    ]);
    expect(alerts[0]!.group).toEqual({ "source.ip": "198.51.100.1" });
    expect(alerts[0]!.resource).toBe("198.51.100.1"); // no resource template: the group values
  });

  it("threshold: fires once at the N-th match within the window, across batches, with the template rendered", async () => {
    const id = uid("thr");
    await createRule({
      id, name: "SSH brute force", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 5, window: "60s", severity: "high",
      resource: "{{host.hostname}}", title: "Brute force from {{source.ip}}", text: "{{count}} failed logins in {{window}}, last user {{user.name}}",
    });
    const ip = "203.0.113.7";
    await evaluateBatch(env, uid("b"), [0, 10, 20].map((s, i) => sshFail(ip, T0 + s * S, `u${i}`)));
    expect(await alertsOf(id)).toEqual([]);
    // Out of order inside the batch: sorted by event time before the engine sees them.
    await evaluateBatch(env, uid("b"), [sshFail(ip, T0 + 40 * S, "admin"), sshFail(ip, T0 + 30 * S, "u3"), sshFail("203.0.113.8", T0 + 30 * S)]);
    const alerts = await alertsOf(id);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ title: "Brute force from 203.0.113.7", text: "5 failed logins in 60s, last user admin", resource: "nas", count: 5, severity: "high", group: { "source.ip": ip } });
    expect(alerts[0]!.event_ids).toHaveLength(5);
    // Later matches of the same window are absorbed: no new firing, no duplicate.
    await evaluateBatch(env, uid("b"), [sshFail(ip, T0 + 50 * S)]);
    expect((await alertsOf(id))[0]!.duplicate_count).toBe(0);
  });

  it("threshold window edges: the N-th match exactly at start + window fires, one ms later does not", async () => {
    const onEdge = uid("edge");
    const past = uid("edge-past");
    for (const id of [onEdge, past]) await createRule({ id, name: id, type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 3, window: "60s" });
    await evaluateBatch(env, uid("b"), [
      sshFail("192.0.2.1", T0), sshFail("192.0.2.1", T0 + 30 * S), sshFail("192.0.2.1", T0 + 60 * S),
      sshFail("192.0.2.2", T0 + 0), sshFail("192.0.2.2", T0 + 30 * S), sshFail("192.0.2.2", T0 + 60 * S + 1),
    ]);
    const a = await alertsOf(onEdge);
    const b = await alertsOf(past);
    // Both rules see both IPs: the on-edge IP fires in both rules, the one-ms-late IP in neither.
    expect(a.map((x) => x.group["source.ip"])).toEqual(["192.0.2.1"]);
    expect(b.map((x) => x.group["source.ip"])).toEqual(["192.0.2.1"]);
  });

  it("threshold out of order across batches: a late match inside the window counts, one older than the window does not", async () => {
    const id = uid("ooo");
    // A category no other rule of this file matches, so `late` counts this rule alone.
    await createRule({ id, name: "ooo", type: "threshold", match: { "event.category": "intrusion_detection" }, group_by: ["source.ip"], threshold: 3, window: "60s" });
    const ids = (ts: number) => ev(`<36>Nov 22 10:00:00 gw snort[1]: [1:1000001:1] probe from 192.0.2.70`, ts, { source: { ip: "192.0.2.70" }, event: { category: ["intrusion_detection"] } });
    await evaluateBatch(env, uid("b"), [ids(T0 + 100 * S), ids(T0 + 110 * S)]);
    // 70 s older than the newest match: outside any window that could still fire → dropped, and counted.
    expect((await evaluateBatch(env, uid("b"), [ids(T0 + 40 * S)])).late).toBe(1);
    expect(await alertsOf(id)).toEqual([]);
    // Arrives late but lies within the window of the two before it → the third match.
    expect((await evaluateBatch(env, uid("b"), [ids(T0 + 90 * S)])).late).toBe(0);
    expect((await alertsOf(id)).map((a) => a.count)).toEqual([3]);
  });

  it("threshold distinct: counts distinct users per source", async () => {
    const id = uid("distinct");
    await createRule({ id, name: "Spray", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 3, window: "5m", distinct: "user.name" });
    await evaluateBatch(env, uid("b"), ["a", "a", "b", "b", "a"].map((u, i) => sshFail("192.0.2.9", T0 + i * S, u)));
    expect(await alertsOf(id)).toEqual([]);
    await evaluateBatch(env, uid("b"), [sshFail("192.0.2.9", T0 + 10 * S, "c")]);
    expect(await alertsOf(id)).toHaveLength(1);
  });

  it("bucket: overflows past capacity within the leak rate, not for a slow trickle", async () => {
    const id = uid("bucket");
    await createRule({ id, name: "Leaky", type: "bucket", match: SSH_FAIL_MATCH, group_by: ["source.ip"], capacity: 3, leakspeed: "10s", title: "Bucket {{source.ip}}" });
    const fast = [0, 1, 2, 3].map((s) => sshFail("198.51.100.20", T0 + s * S));
    const slow = [0, 15, 30, 45, 60].map((s) => sshFail("198.51.100.21", T0 + s * S));
    await evaluateBatch(env, uid("b"), [...fast, ...slow]);
    const alerts = await alertsOf(id);
    expect(alerts.map((a) => a.title)).toEqual(["Bucket 198.51.100.20"]);
    expect(alerts[0]!.count).toBe(4);
  });

  it("sequence: failures then a success from the same source raises with the success's user", async () => {
    const id = uid("seq");
    await createRule({
      id, name: "Login after failures", type: "sequence", match: { "event.category": "authentication" }, group_by: ["source.ip"],
      a: { match: { "event.outcome": "failure" }, count: 3 }, b: { match: { "event.outcome": "success" } }, window: "5m", title: "{{user.name}} logged in from {{source.ip}} after failures",
    });
    await evaluateBatch(env, uid("b"), [sshFail("203.0.113.30", T0), sshFail("203.0.113.30", T0 + S), sshOk("203.0.113.30", T0 + 2 * S)]);
    expect(await alertsOf(id)).toEqual([]); // only 2 failures before the success
    await evaluateBatch(env, uid("b"), [sshFail("203.0.113.30", T0 + 3 * S), sshFail("203.0.113.30", T0 + 4 * S), sshFail("203.0.113.30", T0 + 5 * S)]);
    await evaluateBatch(env, uid("b"), [sshOk("203.0.113.30", T0 + 6 * S, "admin")]);
    const alerts = await alertsOf(id);
    expect(alerts.map((a) => a.title)).toEqual(["admin logged in from 203.0.113.30 after failures"]);
  });

  it("sequence absent: raises when the window ends without B (noticed by the group's next event)", async () => {
    const id = uid("absent");
    await createRule({
      id, name: "Backup never finished", type: "sequence", match: { "process.name": "backup" }, group_by: ["host.hostname"],
      a: { match: { message: { regex: "started" } } }, b: { match: { message: { regex: "finished" } } }, window: "1h", absent: true,
    });
    const line = (host: string, what: string, ts: number) => ev(`<14>Nov 22 10:00:00 ${host} backup[1]: backup ${what}`, ts, { host: { hostname: host }, process: { name: "backup" }, message: `backup ${what}` });
    await evaluateBatch(env, uid("b"), [line("nas", "started", T0), line("nas", "finished", T0 + 50 * 60 * S), line("pi", "started", T0)]);
    expect(await alertsOf(id)).toEqual([]);
    await evaluateBatch(env, uid("b"), [line("pi", "started", T0 + 2 * 3600 * S)]);
    const alerts = await alertsOf(id);
    expect(alerts.map((a) => a.group)).toEqual([{ "host.hostname": "pi" }]);
  });

  it("new_value: alerts the first time a value is seen per key (one alert per device via resource), nothing on repeats", async () => {
    const id = uid("newval");
    await createRule({ id, name: "New device", type: "new_value", match: { "event.action": "dhcp_ack" }, group_by: ["observer.hostname"], fields: ["source.mac"], resource: "{{source.mac}}", title: "New device {{source.mac}}" });
    const dhcp = (mac: string, ts: number) => ev(`<30>Nov 22 10:00:00 router dnsmasq-dhcp[1]: DHCPACK(br-lan) 192.168.1.50 ${mac} phone`, ts, { observer: { hostname: "router" }, source: { mac }, event: { action: "dhcp_ack" } });
    await evaluateBatch(env, uid("b"), [dhcp("aa:bb:cc:00:00:01", T0), dhcp("aa:bb:cc:00:00:01", T0 + S), dhcp("aa:bb:cc:00:00:02", T0 + 2 * S)]);
    await evaluateBatch(env, uid("b"), [dhcp("aa:bb:cc:00:00:02", T0 + 3 * S), dhcp("aa:bb:cc:00:00:03", T0 + 4 * S)]);
    expect((await alertsOf(id)).map((a) => a.title)).toEqual(["New device aa:bb:cc:00:00:01", "New device aa:bb:cc:00:00:02", "New device aa:bb:cc:00:00:03"]);
  });

  it("heartbeat rule: a missed beat raises at the deadline via the object's alarm; the next beat clears it", async () => {
    const id = uid("hb");
    await createRule({ id, name: "Backup heartbeat", type: "heartbeat", match: { "event.action": "backup_done" }, group_by: ["host.hostname"], timeout: "26h", title: "No backup from {{host.hostname}}" });
    const beat = (ts: number) => ev(`<14>Nov 22 10:00:00 nas backup[1]: backup done`, ts, { host: { hostname: "nas" }, event: { action: "backup_done" } });
    const wall = Date.now();
    await evaluateBatch(env, uid("b"), [beat(wall - 1000)]);
    const key = groupKeyOf({ group_by: ["host.hostname"] } as RuleDef, { id: "", ts: 0, fields: { "host.hostname": "nas" } });
    const obj = ruleObject(ruleObjectName(id, shardOf(key)));
    const stub = obj.stub;
    const before = await obj.inspect();
    expect(before.alarm).toBe(wall - 1000 + 26 * 3600 * S);
    // Not yet due: the alarm runs and raises nothing.
    expect(await runAlarmAt(stub, wall + 25 * 3600 * S)).toBe(true);
    expect(await alertsOf(id)).toEqual([]);
    // The platform runs the alarm at the deadline; here the clock is set past it and the alert is stamped with the alarm's time.
    await runAlarmAt(stub, wall + 27 * 3600 * S);
    let alerts = await alertsOf(id);
    expect(alerts.map((a) => [a.title, a.status, a.last_seen])).toEqual([["No backup from nas", "open", new Date(wall + 27 * 3600 * S).toISOString()]]);
    expect((await obj.inspect()).alarm).toBe(null); // raised once; nothing more is due until the next beat
    const listed = (await (await api("/v1/heartbeats")).json()) as { heartbeats: { name: string; source: string; state: string }[] };
    expect(listed.heartbeats.find((h) => h.source === id)).toMatchObject({ name: "nas", state: "late" });
    await evaluateBatch(env, uid("b"), [beat(Date.now())]);
    alerts = await alertsOf(id);
    expect(alerts.map((a) => a.status)).toEqual(["closed"]);
  });
});

describe("evaluateBatch: suppression, idempotency, live rule changes", () => {
  it("suppress: matching events are kept out of every other rule", async () => {
    const id = uid("thr-s");
    await createRule({ id: uid("sup"), name: "Known scanner", type: "suppress", match: { "source.ip": { cidr: "198.18.0.0/15" } } });
    await createRule({ id, name: "Brute", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 2, window: "60s" });
    const r = await evaluateBatch(env, uid("b"), [sshFail("198.18.0.5", T0), sshFail("198.18.0.5", T0 + S), sshFail("203.0.113.77", T0), sshFail("203.0.113.77", T0 + S)]);
    expect(r.suppressed).toBe(2);
    expect((await alertsOf(id)).map((a) => a.group["source.ip"])).toEqual(["203.0.113.77"]);
  });

  it("a retried batch is not double-counted, even when the objects applied it before the first attempt failed", async () => {
    const id = uid("retry");
    await createRule({ id, name: "Retry", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 2, window: "60s" });
    const single = uid("retry-single");
    await createRule({ id: single, name: "Every failure", type: "single", match: SSH_FAIL_MATCH });
    const batch = uid("b");
    const events = [sshFail("192.0.2.50", T0), sshFail("192.0.2.50", T0 + S)];
    // First attempt reached the object (state counted) but died before writing alerts.
    const rule = (await (await api(`/v1/rules/${id}`)).json()) as RuleDef & { version: number };
    const { compileRule } = await import("../../workers/rules/project.ts");
    const matched = events.map((e) => compileRule(rule).match(e)!);
    const key = groupKeyOf(rule, matched[0]!);
    const first = await ruleObject(ruleObjectName(id, shardOf(key))).apply(batch, rule, rule.version, matched);
    expect(first.replayed).toBe(false);
    expect(first.firings).toHaveLength(1);
    // The retry: the object replays its firings, the alert is written once.
    await evaluateBatch(env, batch, events);
    await evaluateBatch(env, batch, events);
    const alerts = await alertsOf(id);
    expect(alerts.map((a) => [a.duplicate_count, a.count])).toEqual([[0, 2]]);
    const singles = await alertsOf(single);
    expect(singles.map((a) => a.duplicate_count)).toEqual([1]); // two events, one alert + one duplicate, however many retries
    const inspect = await ruleObject(ruleObjectName(id, shardOf(key))).inspect();
    expect(inspect.appliedBatches).toBe(1);
  });

  it("one RPC per (rule, shard) per batch: 200 sources of a rule with shards: 4 reach its 4 objects, each once", async () => {
    const id = uid("shards");
    await createRule({ id, name: "Shards", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 50, window: "60s", shards: 4 });
    const events = Array.from({ length: 200 }, (_, i) => sshFail(`10.9.${i >> 8}.${i & 255}`, T0 + i));
    const { loadEnabledRules } = await import("../../workers/rules/registry.ts");
    const { planBatch, ruleSets } = await import("../../workers/rules/evaluate.ts");
    const batch = uid("b");
    const plan = planBatch(ruleSets(await loadEnabledRules(env)), batch, events);
    const mine = plan.calls.filter((c) => c.rule.id === id);
    expect(mine.length).toBe(4);
    expect(mine.reduce((n, c) => n + c.events.length, 0)).toBe(200);
    // each group in the object its key hashes to
    for (const c of mine) for (const m of c.events) expect(c.name).toBe(ruleObjectName(id, shardOf(groupKeyOf(c.rule, m), 4)));
    await evaluateBatch(env, batch, events);
    for (let shard = 0; shard < 4; shard++) {
      const state = await ruleObject(ruleObjectName(id, shard)).inspect();
      expect(state.appliedBatches, `shard ${shard}`).toBe(1);
      expect(state.groups.length).toBe(mine.find((c) => c.name === ruleObjectName(id, shard))!.events.length);
    }
  });

  it("a rule without shards keeps all its groups in one object: one RPC per batch", async () => {
    const id = uid("one-shard");
    await createRule({ id, name: "One shard", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 50, window: "60s" });
    const events = Array.from({ length: 200 }, (_, i) => sshFail(`10.8.${i >> 8}.${i & 255}`, T0 + i));
    const { loadEnabledRules } = await import("../../workers/rules/registry.ts");
    const { planBatch, ruleSets } = await import("../../workers/rules/evaluate.ts");
    const batch = uid("b");
    const mine = planBatch(ruleSets(await loadEnabledRules(env)), batch, events).calls.filter((c) => c.rule.id === id);
    expect(mine.map((c) => [c.name, c.events.length])).toEqual([[ruleObjectName(id, 0), 200]]);
    await evaluateBatch(env, batch, events);
    expect((await ruleObject(ruleObjectName(id, 0)).inspect()).groups).toHaveLength(200);
    for (let shard = 1; shard < RULE_SHARDS; shard++) expect((await ruleObject(ruleObjectName(id, shard)).inspect()).groups).toEqual([]);
  });

  it("a batch raising 2500 alerts is applied (in chunks of JSON parameters) and its retry adds nothing", async () => {
    const id = uid("many");
    await createRule({ id, name: "Every failure", type: "single", match: SSH_FAIL_MATCH, group_by: ["source.ip", "source.port"], title: "{{source.ip}}:{{source.port}}" });
    const events = Array.from({ length: 2500 }, (_, i) => {
      const e = sshFail(`10.0.${i >> 8}.${i & 255}`, T0 + i);
      (e.source as { port?: number }).port = 40000 + i;
      return e;
    });
    const batch = uid("b");
    // (Other rules of this file match these events too, so the return counts at least ours.)
    expect((await evaluateBatch(env, batch, events)).alerts).toBeGreaterThanOrEqual(2500);
    expect((await evaluateBatch(env, batch, events)).alerts).toBe(0); // the retry finds every firing applied
    const n = await env.DB.prepare("SELECT COUNT(*) AS n, SUM(duplicate_count) AS d FROM alerts WHERE rule_id = ?1").bind(id).first<{ n: number; d: number }>();
    expect(n).toEqual({ n: 2500, d: 0 });
  });

  it("a rule deleted and created again with the same id runs its new definition from empty windows", async () => {
    const id = uid("recreate");
    const def = { id, name: "Recreated", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 5, window: "60s" };
    await createRule(def);
    await evaluateBatch(env, uid("b"), [sshFail("192.0.2.80", T0), sshFail("192.0.2.80", T0 + S), sshFail("192.0.2.81", T0)]);
    expect((await api(`/v1/rules/${id}`, { method: "DELETE" })).status).toBe(200);
    await createRule({ ...def, threshold: 2 }); // version is 1 again; only the revision tells them apart
    await evaluateBatch(env, uid("b"), [sshFail("192.0.2.81", T0 + 2 * S), sshFail("192.0.2.82", T0 + 3 * S), sshFail("192.0.2.82", T0 + 4 * S)]);
    // .82 reached the new threshold; .81's earlier match belonged to the old rule and was forgotten.
    expect((await alertsOf(id)).map((a) => a.group["source.ip"])).toEqual(["192.0.2.82"]);
  });

  it("a rule change applies to the next batch without redeploy; disabled rules stop alerting", async () => {
    const id = uid("live");
    await createRule({ id, name: "Live", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 3, window: "60s" });
    await evaluateBatch(env, uid("b"), [sshFail("192.0.2.60", T0), sshFail("192.0.2.60", T0 + S)]);
    expect(await alertsOf(id)).toEqual([]);
    const patched = await api(`/v1/rules/${id}`, { method: "PATCH", json: { threshold: 2 } });
    expect(patched.status).toBe(200);
    await evaluateBatch(env, uid("b"), [sshFail("192.0.2.61", T0 + 10 * S), sshFail("192.0.2.61", T0 + 11 * S)]);
    expect((await alertsOf(id)).map((a) => a.group["source.ip"])).toEqual(["192.0.2.61"]);
    await api(`/v1/rules/${id}`, { method: "PATCH", json: { enabled: false } });
    await evaluateBatch(env, uid("b"), [sshFail("192.0.2.62", T0 + 20 * S), sshFail("192.0.2.62", T0 + 21 * S)]);
    expect(await alertsOf(id)).toHaveLength(1);
  });
});

describe("POST /v1/ingest → rules → alerts", () => {
  it("a brute force posted as syslog lines raises one alert, and the retried batch changes nothing", async () => {
    const id = uid("ingest-bf");
    await createRule({
      id, name: "Ingest brute force", type: "threshold", match: { message: { regex: "Failed password for (?<login>\\S+) from (?<attacker>[0-9.]+) port" } },
      threshold: 3, window: "10m", severity: "high", title: "Brute force from {{attacker}} ({{count}} tries, last {{login}})",
    });
    const lines = [1, 2, 3].map((n) => `<38>Nov 22 10:00:0${n} nas sshd[811]: Failed password for user${n} from 203.0.113.99 port 5214${n} ssh2`);
    const key = uid("ingest-key");
    const first = await ingest(lines, { headers: { "idempotency-key": key } });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const again = await ingest(lines, { headers: { "idempotency-key": key } });
    expect(again.status).toBe(200);
    const res = await api(`/v1/alerts?rule=${id}`);
    const { alerts } = (await res.json()) as { alerts: { title: string; duplicate_count: number; event_ids: string[] }[] };
    expect(alerts.map((a) => [a.title, a.duplicate_count, a.event_ids.length])).toEqual([["Brute force from 203.0.113.99 (3 tries, last user3)", 0, 3]]);
    // The alert detail carries its stored source events.
    const detail = (await (await api(`/v1/alerts/${(alerts[0] as unknown as { id: string }).id}`)).json()) as { events: { id: string; raw: string; message: string; "@timestamp": string }[] };
    expect(detail.events.map((e) => e.raw).sort()).toEqual([...lines].sort());
    // ...in the same shape as GET /v1/events: id, event time and message, not only the ECS document.
    for (const e of detail.events) {
      expect(alerts[0]!.event_ids).toContain(e.id);
      expect(e.message).toMatch(/^Failed password for user\d from 203\.0\.113\.99/);
      expect(e["@timestamp"]).toMatch(/^\d{4}-11-22T10:00:0[123]\.000Z$/);
    }
  });

  it("real sshd lines through the parsers and the default pack's brute-force and login-after-failures rules", async () => {
    const { default: pack } = (await import("../../workers/rules/default-pack.json")) as { default: Record<string, unknown>[] };
    const bf = uid("pack-bf");
    const seq = uid("pack-seq");
    await createRule({ ...pack.find((r) => r.id === "login-brute-force")!, id: bf });
    await createRule({ ...pack.find((r) => r.id === "login-after-failures")!, id: seq });
    const ip = "203.0.113.120";
    const lines = [
      ...[1, 2, 3, 4, 5, 6].map((n) => `<38>Nov 22 09:00:0${n} nas sshd[811]: Failed password for invalid user guest${n} from ${ip} port 5214${n} ssh2`),
      `<38>Nov 22 09:00:09 nas sshd[811]: Accepted password for admin from ${ip} port 52150 ssh2`,
    ];
    const res = await ingest(lines, { headers: { "idempotency-key": uid("pack-key") } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [brute] = await alertsOf(bf);
    expect(brute).toMatchObject({ title: `Login brute force from ${ip}`, resource: ip, severity: "high", count: 5, group: { "source.ip": ip }, tags: ["brute-force", "attack.T1110"] });
    expect(brute!.text).toBe("5 failed logins in 60s, last on nas (sshd), last user guest5");
    const [login] = await alertsOf(seq);
    expect(login!.title).toMatch(new RegExp(`^Login as admin from ${ip.replace(/\./g, "\\.")} after \\d+ failures$`));
    expect(login!.severity).toBe("critical");
  });
});
