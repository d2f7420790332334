/**
 * POST /v1/rules/backtest in workerd: stored events replayed through a rule (saved or not) in
 * scratch state; the answer lists the alerts it would raise; no alert, rule state or object is touched.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { EcsEvent } from "../../workers/ecs.ts";
import { eventId } from "../../workers/parse/id.ts";
import type { BacktestResult } from "../../workers/rules/backtest.ts";
import { api } from "./api-client.ts";
import { eventRow, insertEventStatements } from "../../workers/store/store.ts";
import { alertsOf, createRule, ev, SSH_FAIL_MATCH, sshFail, uid } from "./rules-fixtures.ts";

const S = 1000;
const H = 3600 * S;

/** Stores events exactly as ingest does (the store's rows and INSERT statements), with deterministic ids. */
async function store(events: EcsEvent[]): Promise<void> {
  const batch = uid("bt-store");
  const rows = events.map((e, i) => eventRow({ ...e, id: eventId(e["@timestamp"], batch, i) }));
  await env.DB.batch(insertEventStatements(rows).map((s) => env.DB.prepare(s.sql).bind(...s.params)));
}

async function backtest(body: unknown): Promise<{ status: number; body: BacktestResult & { error?: { details: { field: string } } } }> {
  const res = await api("/v1/rules/backtest", { method: "POST", json: body });
  return { status: res.status, body: (await res.json()) as BacktestResult & { error?: { details: { field: string } } } };
}

const brute = (id: string) => ({ id, name: "Brute", type: "threshold", match: SSH_FAIL_MATCH, group_by: ["source.ip"], threshold: 5, window: "60s", title: "Brute force from {{source.ip}}" });

describe("POST /v1/rules/backtest", () => {
  it("replays a time range through an unsaved rule and touches no live state", async () => {
    const base = Date.parse("2025-03-01T00:00:00Z");
    await store([
      ...[0, 5, 10, 15, 20, 25].map((s) => sshFail("203.0.113.50", base + s * S)),
      sshFail("203.0.113.51", base + S),
      sshFail("203.0.113.51", base + 2 * S),
      // Outside the range asked for.
      ...[0, 1, 2, 3, 4].map((s) => sshFail("203.0.113.52", base + 2 * H + s * S)),
    ]);
    const id = uid("bt-unsaved");
    const { status, body } = await backtest({ rule: brute(id), from: new Date(base).toISOString(), to: new Date(base + H).toISOString() });
    expect(status).toBe(200);
    expect(body).toMatchObject({ rule: id, scanned: 8, matched: 8, firings: 1, truncated: false, limit: 50_000 });
    expect(body.alerts.map((a) => [a.title, a.count, a.duplicate_count, a.first_seen])).toEqual([["Brute force from 203.0.113.50", 5, 0, new Date(base + 20 * S).toISOString()]]);
    expect(await alertsOf(id)).toEqual([]);
    expect((await api(`/v1/rules/${id}`)).status).toBe(404);
    // A smaller scan bound cuts the range short and says where.
    const cut = await backtest({ rule: brute(id), from: base, to: base + H, limit: 3 });
    expect(cut.body).toMatchObject({ scanned: 3, truncated: true, limit: 3, scanned_until: new Date(base + 2 * S).toISOString(), alerts: [] }); // 0 s, 1 s, 2 s
  });

  it("runs a saved rule by id, de-duplicating repeated firings into one alert like the store", async () => {
    const base = Date.parse("2025-03-02T00:00:00Z");
    // Two separate bursts of 5 from one source: two firings, one alert with a duplicate.
    await store([0, 1, 2, 3, 4, 120, 121, 122, 123, 124].map((s) => sshFail("198.51.100.60", base + s * S)));
    const id = uid("bt-saved");
    await createRule(brute(id));
    const { body } = await backtest({ rule_id: id, from: base, to: base + H });
    expect(body.firings).toBe(2);
    expect(body.alerts.map((a) => [a.duplicate_count, a.first_seen, a.last_seen])).toEqual([[1, new Date(base + 4 * S).toISOString(), new Date(base + 124 * S).toISOString()]]);
    expect(await alertsOf(id)).toEqual([]);
  });

  it("runs deadlines on event time: a heartbeat gap raises where the deadline fell", async () => {
    const base = Date.parse("2025-03-03T00:00:00Z");
    // Stored events are re-derived from their lines when read, so the beat is a real backup completion.
    const beat = (ts: number) => ev(`<14>Mar  3 00:00:00 nas rsnapshot[1]: /usr/bin/rsnapshot daily: completed successfully`, ts);
    await store([beat(base), beat(base + H), beat(base + 5 * H)]);
    const { body } = await backtest({
      rule: { id: uid("bt-hb"), name: "Backups", type: "heartbeat", match: { "event.action": "backup_completed" }, group_by: ["host.hostname"], timeout: "2h", title: "No backup from {{host.hostname}}" },
      from: base,
      to: base + 6 * H,
    });
    expect(body.alerts.map((a) => [a.title, a.status, a.first_seen])).toEqual([["No backup from nas", "closed", new Date(base + 3 * H).toISOString()]]);
  });

  it("leaves out events that the enabled suppress rules keep out of alerting", async () => {
    const base = Date.parse("2025-03-04T00:00:00Z");
    await store([0, 1, 2, 3, 4].flatMap((s) => [sshFail("192.0.2.200", base + s * S), sshFail("192.0.2.201", base + s * S)]));
    await createRule({ id: uid("bt-sup"), name: "Scanner", type: "suppress", match: { "source.ip": "192.0.2.200" } });
    const { body } = await backtest({ rule: brute(uid("bt-s")), from: base, to: base + H });
    expect([body.scanned, body.suppressed, body.matched]).toEqual([10, 5, 5]);
    expect(body.alerts.map((a) => a.group["source.ip"])).toEqual(["192.0.2.201"]);
  });

  it("sees events as ingest stored them: a rule on the message text matches and times are real", async () => {
    const base = Date.parse("2025-03-05T00:00:00Z");
    await store([0, 1, 2].map((s) => sshFail("192.0.2.90", base + s * S, "oracle")));
    const rule = { id: uid("bt-msg"), name: "Oracle", type: "single", match: { message: { regex: "Failed password for oracle" } }, title: "{{source.ip}}" };
    const { status, body } = await backtest({ rule, from: base, to: base + H });
    expect(status).toBe(200);
    expect(body).toMatchObject({ scanned: 3, matched: 3 });
    expect(body.alerts[0]?.first_seen).toBe(new Date(base).toISOString());
  });

  it("validates its input with 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      [{}, "rule"],
      [{ rule: { ...brute("x"), window: "later" } }, "rule.window"],
      [{ rule: brute("x"), from: "not a time" }, "from"],
      [{ rule: brute("x"), from: 2000, to: 1000 }, "from"],
      [{ rule: brute("x"), limit: 0 }, "limit"],
      [{ rule: brute("x"), limit: 50_001 }, "limit"],
      [[], ""],
    ];
    for (const [json, field] of cases) {
      const r = await backtest(json);
      expect(r.status, JSON.stringify(json)).toBe(400);
      expect(r.body.error!.details.field).toBe(field);
    }
    expect((await backtest({ rule_id: "no-such-rule" })).status).toBe(404);
  });
});
