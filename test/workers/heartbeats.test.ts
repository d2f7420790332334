/**
 * Pinged heartbeats in workerd: POST /v1/heartbeats/:name arms the name's Heartbeat object's deadline alarm;
 * the alarm raises exactly at the deadline (clock set past it, runDurableObjectAlarm — no sleeping);
 * the next ping clears the alert; GET /v1/heartbeats lists state and time to deadline.
 */
import { describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { PING_RULE_ID, type Heartbeat } from "../../durable-objects/heartbeat.ts";
import { api, tokenWith } from "./api-client.ts";
import { alertsOf, heartbeatObject, runAlarmAt, uid } from "./rules-fixtures.ts";

const H = 3_600_000;

async function listed(name: string) {
  const body = (await (await api("/v1/heartbeats")).json()) as { heartbeats: { name: string; source: string; state: string; timeout: string; ms_to_deadline: number | null }[] };
  return body.heartbeats.find((h) => h.source === "ping" && h.name === name);
}

describe("POST /v1/heartbeats/:name", () => {
  it("a ping arms the deadline; a missed one raises exactly at it; the next ping clears it", async () => {
    const name = uid("nightly-backup");
    const res = await api(`/v1/heartbeats/${name}`, { method: "POST", json: { timeout: "26h" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { deadline: string; last_beat: string; timeout: string; cleared: boolean };
    expect(body.timeout).toBe("26h");
    expect(Date.parse(body.deadline) - Date.parse(body.last_beat)).toBe(26 * H);
    const obj = heartbeatObject(name);
    expect((await obj.inspect()).alarm).toBe(Date.parse(body.deadline));
    const hb = await listed(name);
    expect(hb).toMatchObject({ state: "ok", timeout: "26h" });
    expect(hb!.ms_to_deadline).toBeGreaterThan(26 * H - 60_000);

    // One ms before the deadline nothing happens; at the deadline the alert is raised, stamped with it.
    await runAlarmAt(obj.stub, Date.parse(body.deadline) - 1);
    expect(await alertsOf(PING_RULE_ID).then((as) => as.filter((a) => a.resource === name))).toEqual([]);
    await runAlarmAt(obj.stub, Date.parse(body.deadline));
    const raised = (await alertsOf(PING_RULE_ID)).filter((a) => a.resource === name);
    expect(raised.map((a) => [a.status, a.severity, a.last_seen, a.title])).toEqual([["open", "high", body.deadline, `Heartbeat ${name} missed`]]);
    expect((await listed(name))!.state).toBe("late");

    // The next ping (no timeout given) keeps 26h and clears the alert.
    const again = (await (await api(`/v1/heartbeats/${name}`, { method: "POST" })).json()) as { cleared: boolean; timeout: string };
    expect(again).toMatchObject({ cleared: true, timeout: "26h" });
    expect((await alertsOf(PING_RULE_ID)).filter((a) => a.resource === name).map((a) => a.status)).toEqual(["closed"]);
    expect((await listed(name))!.state).toBe("ok");
  });

  it("defaults to 24h for a new name and keeps each name's own timeout", async () => {
    const a = uid("hb-a");
    const b = uid("hb-b");
    const ra = (await (await api(`/v1/heartbeats/${a}`, { method: "POST" })).json()) as { timeout: string };
    const rb = (await (await api(`/v1/heartbeats/${b}`, { method: "POST", json: { timeout: "15m", severity: "critical" } })).json()) as { timeout: string };
    expect([ra.timeout, rb.timeout]).toEqual(["1d", "15m"]);
    const rb2 = (await (await api(`/v1/heartbeats/${b}`, { method: "POST" })).json()) as { timeout: string };
    expect(rb2.timeout).toBe("15m");
    // The severity given once is kept too: the missed-beat alert of b is critical.
    const obj = heartbeatObject(b);
    await runAlarmAt(obj.stub, Date.now() + 16 * 60_000);
    expect((await alertsOf(PING_RULE_ID)).filter((x) => x.resource === b).map((x) => x.severity)).toEqual(["critical"]);
  });

  it("validates name, timeout and severity with 400 naming the field; needs ingest or admin", async () => {
    const cases: [string, unknown, string][] = [
      [`/v1/heartbeats/${uid("x")}`, { timeout: "soon" }, "timeout"],
      [`/v1/heartbeats/${uid("x")}`, { severity: "meh" }, "severity"],
      ["/v1/heartbeats/-bad", {}, "name"],
    ];
    for (const [path, json, field] of cases) {
      const res = await api(path, { method: "POST", json });
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as any).error.details.field).toBe(field);
    }
    expect((await api(`/v1/heartbeats/${uid("x")}`, { method: "POST", body: "{not json", headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await api(`/v1/heartbeats/${uid("x")}`, { method: "POST", token: null })).status).toBe(401);
    expect((await api("/v1/heartbeats", { token: null })).status).toBe(401);
  });

  it("DELETE stops watching a pinged heartbeat: no alarm, not listed; admin only", async () => {
    const name = uid("retired");
    await api(`/v1/heartbeats/${name}`, { method: "POST", json: { timeout: "1h" } });
    const obj = heartbeatObject(name);
    expect((await obj.inspect()).alarm).not.toBe(null);
    const tok = await tokenWith("ingest");
    expect((await api(`/v1/heartbeats/${name}`, { method: "POST", token: tok })).status).toBe(200); // ingest tokens ping
    expect((await api(`/v1/heartbeats/${name}`, { method: "DELETE", token: tok })).status).toBe(403);
    expect((await api(`/v1/heartbeats/${name}`, { method: "DELETE" })).status).toBe(200);
    expect((await obj.inspect()).alarm).toBe(null);
    expect(await listed(name)).toBeUndefined();
    expect((await api(`/v1/heartbeats/${name}`, { method: "DELETE" })).status).toBe(404);
  });

  it("raises a missed ping once however often the alarm is delivered; the Heartbeat object keeps one schedule row", async () => {
    const name = uid("once");
    const body = (await (await api(`/v1/heartbeats/${name}`, { method: "POST", json: { timeout: "1h" } })).json()) as { deadline: string };
    const obj = heartbeatObject(name);
    expect((await obj.inspect()).schedule.map((r) => [r.kind, r.time])).toEqual([["deadline", Date.parse(body.deadline)]]);
    expect(await runAlarmAt(obj.stub, Date.parse(body.deadline) + 5)).toBe(true);
    await runInDurableObject(obj.stub, (instance: Heartbeat) => instance.alarm());
    expect((await alertsOf(PING_RULE_ID)).filter((a) => a.resource === name).map((a) => [a.status, a.duplicate_count])).toEqual([["open", 0]]);
    const after = await obj.inspect();
    expect(after).toMatchObject({ schedule: [], outbox: 0, alarm: null, state: { raised: true } });
  });
});
