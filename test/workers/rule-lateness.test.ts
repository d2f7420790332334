/**
 * `lateness` through the real pipeline: batches evaluated out of order raise one alert with the
 * in-order first_seen, last_seen and count (the reorder buffer drains by the Durable Object's alarm);
 * a match beyond the lateness is counted and shown by GET /v1/rules/:id as late_events and, through
 * ingest, as the rule's counter in GET /v1/metrics.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { evaluateBatch } from "../../workers/rules/evaluate.ts";
import { ruleObjectName } from "../../workers/rules/registry.ts";
import { api, ingest } from "./api-client.ts";
import { alertsOf, createRule, ruleStub, runAlarmAt, SSH_FAIL_MATCH, sshFail, T0, uid } from "./rules-fixtures.ts";

const S = 1000;

describe("lateness (order-independent windows)", () => {
  it("shuffled batches give the in-order alert; a match beyond the lateness is counted late", async () => {
    const id = uid("late");
    await createRule({ id, name: "late test", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 5, window: "60s", lateness: "5m" });
    const ip = "198.51.100.200";
    const f = (s: number) => sshFail(ip, T0 + s * S);
    // event seconds 0..40 in three batches arriving newest first
    await evaluateBatch(env, uid("b"), [f(30), f(40)]);
    await evaluateBatch(env, uid("b"), [f(10), f(20)]);
    await evaluateBatch(env, uid("b"), [f(0)]);
    expect(await alertsOf(id)).toEqual([]); // still buffered: the watermark has not passed them by 5 min
    // the group's alarm drains the buffer once the wall clock is past the lateness
    const stub = ruleStub(ruleObjectName(id, 0));
    expect(await runAlarmAt(stub, Date.now() + 10 * 60 * S)).toBe(true);
    const [a] = await alertsOf(id);
    expect(a).toMatchObject({ count: 5, first_seen: new Date(T0 + 40 * S).toISOString(), last_seen: new Date(T0 + 40 * S).toISOString() });
    // a match 10 min of event time behind the group's watermark: late, counted, not used
    await evaluateBatch(env, uid("b"), [f(700)]);
    await evaluateBatch(env, uid("b"), [f(50)]);
    const got = (await (await api(`/v1/rules/${id}`)).json()) as { late_events: number; lateness: string };
    expect(got).toMatchObject({ late_events: 1, lateness: "5m" });
    // through ingest, a late match is also a pipeline counter of its rule (GET /v1/metrics)
    const line = `<38>1 ${new Date(T0 + 60 * S).toISOString()} nas sshd 811 - - Failed password for root from ${ip} port 52144 ssh2`;
    const res = await ingest([line], { headers: { "idempotency-key": uid("late-key") } });
    expect(res.body).toMatchObject({ stored: 1 });
    const { counters } = (await (await api("/v1/metrics")).json()) as { counters: Record<string, number> };
    expect(counters[`late_matches.rule.${id}`]).toBe(1);
    expect((await (await api(`/v1/rules/${id}`)).json()) as { late_events: number }).toMatchObject({ late_events: 2 });
    // what GET answers can be PUT back as it is (late_events is not part of the rule)
    const read = (await (await api(`/v1/rules/${id}`)).json()) as Record<string, unknown>;
    expect((await api(`/v1/rules/${id}`, { method: "PUT", json: read })).status).toBe(200);
  });
});
