/**
 * The alert store and /v1/alerts in workerd: Alerta de-duplication and correlation, the lifecycle
 * (ack, shelve with auto-unshelve, close, reopen, expiry, clear), idempotent firings, filters and
 * cursors, source events, validation errors and scopes.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { AlertInput, AlertJson } from "../../workers/store/alerts.ts";
import { d1Store } from "../../workers/store/d1.ts";
import type { Severity } from "../../workers/rules/types.ts";
import { api, tokenWith } from "./api-client.ts";
import { uid } from "./rules-fixtures.ts";

const MIN = 60_000;
const store = d1Store(env.DB);

let seq = 0;
function firing(ruleId: string, over: Partial<AlertInput> = {}): AlertInput {
  return {
    firingId: `f-${ruleId}-${seq++}`,
    ruleId,
    action: "raise",
    resource: "nas",
    group: { "source.ip": "203.0.113.7" },
    severity: "medium",
    title: "Brute force",
    text: "5 failed logins",
    count: 5,
    eventIds: [`E${seq}`],
    magnitude: 300,
    tags: ["ssh"],
    attributes: {},
    at: Date.now(),
    ...over,
  };
}

async function one(ruleId: string, now = Date.now()): Promise<AlertJson> {
  const { alerts } = await store.listAlerts({ rule: [ruleId], limit: 10 }, now);
  expect(alerts).toHaveLength(1);
  return alerts[0]!;
}

async function act(id: string, action: string, json?: unknown, token?: string) {
  const res = await api(`/v1/alerts/${id}/${action}`, { method: "POST", ...(json === undefined ? {} : { json }), ...(token ? { token } : {}) });
  return { status: res.status, body: (await res.json()) as any };
}

describe("de-duplication and correlation", () => {
  it("two batches firing one alert at the same time both count (no lost duplicate)", async () => {
    const r = uid("race");
    const t = Date.now();
    await store.applyFirings([firing(r, { at: t - MIN })], t);
    // Both read the alert before either writes: the second write must not overwrite the first's count.
    await Promise.all([
      store.applyFirings([firing(r, { at: t, eventIds: ["E-a"] })], t),
      store.applyFirings([firing(r, { at: t, eventIds: ["E-b"] })], t + 1),
      store.applyFirings([firing(r, { at: t, eventIds: ["E-c"] })], t + 2),
    ]);
    const a = await one(r, t + 3);
    expect(a.duplicate_count).toBe(3);
    expect(a.event_ids).toEqual(expect.arrayContaining(["E-a", "E-b", "E-c"]));
  });

  it("a repeat of the same rule, resource and group is a duplicate, not a new alert", async () => {
    const r = uid("dd");
    const t = Date.now();
    await store.applyFirings([firing(r, { at: t - 2 * MIN })], t);
    await store.applyFirings([firing(r, { at: t - MIN, count: 7, eventIds: ["E-late"] }), firing(r, { at: t })], t);
    await store.applyFirings([firing(r, { resource: "router" })], t);
    const { alerts } = await store.listAlerts({ rule: [r], limit: 10 }, t);
    expect(alerts).toHaveLength(2);
    const nas = alerts.find((a) => a.resource === "nas")!;
    expect(nas).toMatchObject({ duplicate_count: 2, status: "open", first_seen: new Date(t - 2 * MIN).toISOString(), last_seen: new Date(t).toISOString() });
    expect(nas.event_ids).toContain("E-late");
  });

  it("a different severity is correlated: severity replaced, previous kept, history written", async () => {
    const r = uid("corr");
    await store.applyFirings([firing(r, { severity: "medium" })], Date.now());
    await store.applyFirings([firing(r, { severity: "critical" })], Date.now());
    const a = await one(r);
    expect([a.severity, a.previous_severity, a.duplicate_count]).toEqual(["critical", "medium", 1]);
    const detail = (await (await api(`/v1/alerts/${a.id}`)).json()) as AlertJson;
    expect(detail.history!.map((h) => h.action)).toEqual(["create", "severity"]);
  });

  it("re-applied firing ids (a retried batch) change nothing", async () => {
    const r = uid("idem");
    const batch = [firing(r), firing(r)];
    const first = await store.applyFirings(batch, Date.now());
    expect(first).toMatchObject({ applied: 2, skipped: 0 });
    const again = await store.applyFirings(batch, Date.now());
    expect(again).toMatchObject({ applied: 0, skipped: 2, changed: [] });
    expect((await one(r)).duplicate_count).toBe(1);
  });
});

describe("lifecycle", () => {
  it("ack stays acked on a repeat of equal or lower severity and reopens when severity rises", async () => {
    const r = uid("ack");
    await store.applyFirings([firing(r, { severity: "high" })], Date.now());
    const a = await one(r);
    expect((await act(a.id, "ack", { note: "looking" })).body.status).toBe("ack");
    await store.applyFirings([firing(r, { severity: "medium" })], Date.now());
    expect((await one(r)).status).toBe("ack");
    await store.applyFirings([firing(r, { severity: "critical" })], Date.now());
    const after = await one(r);
    expect([after.status, after.severity, after.previous_severity]).toEqual(["open", "critical", "medium"]);
    const hist = ((await (await api(`/v1/alerts/${a.id}`)).json()) as AlertJson).history!;
    expect(hist.find((h) => h.action === "ack")).toMatchObject({ who: "admin", note: "looking", status: "ack" });
    expect(hist.at(-1)).toMatchObject({ action: "reopen", who: `rule:${r}` });
  });

  it("unack returns to open; invalid transitions answer 409 naming the status", async () => {
    const r = uid("unack");
    await store.applyFirings([firing(r)], Date.now());
    const a = await one(r);
    expect((await act(a.id, "unack")).status).toBe(409);
    await act(a.id, "ack");
    expect((await act(a.id, "unack")).body.status).toBe("open");
    await act(a.id, "close");
    const bad = await act(a.id, "ack");
    expect(bad.status).toBe(409);
    expect(bad.body.error.message).toMatch(/closed/);
  });

  it("shelve hides until shelved_until, then the alert is open again when anyone looks", async () => {
    const r = uid("shelve");
    await store.applyFirings([firing(r)], Date.now());
    const a = await one(r);
    const shelved = await act(a.id, "shelve", { duration: "2h", note: "maintenance" });
    expect(shelved.body.status).toBe("shelved");
    const until = Date.parse(shelved.body.shelved_until);
    expect(until - Date.now()).toBeGreaterThan(2 * 60 * MIN - 5000);
    // A repeat while shelved stays shelved.
    await store.applyFirings([firing(r)], Date.now());
    expect((await one(r)).status).toBe("shelved");
    // Looked at one ms before and at the end of the period (reads apply due transitions lazily).
    expect((await one(r, until - 1)).status).toBe("shelved");
    const back = await one(r, until);
    expect([back.status, back.shelved_until]).toEqual(["open", null]);
    const row = await store.getAlert(a.id);
    expect(row!.status).toBe("open"); // written, not only displayed
  });

  it("shelve validates its duration; close then a new occurrence reopens the same alert", async () => {
    const r = uid("reopen");
    await store.applyFirings([firing(r)], Date.now());
    const a = await one(r);
    const bad = await act(a.id, "shelve", { duration: "soon" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe("duration");
    expect((await act(a.id, "close", { note: "fixed" })).body.status).toBe("closed");
    await store.applyFirings([firing(r)], Date.now());
    const again = await one(r);
    expect([again.id, again.status, again.duplicate_count]).toEqual([a.id, "open", 1]);
    expect(((await (await api(`/v1/alerts/${a.id}`)).json()) as AlertJson).history!.map((h) => h.action)).toEqual(["create", "close", "reopen"]);
  });

  it("expires after the rule's timeout without a new occurrence; a repeat pushes the expiry", async () => {
    const r = uid("expire");
    const t = Date.now();
    await store.applyFirings([firing(r, { timeoutMs: 10 * MIN })], t);
    await store.applyFirings([firing(r, { timeoutMs: 10 * MIN })], t + 5 * MIN);
    expect((await one(r, t + 14 * MIN)).status).toBe("open");
    const exp = await one(r, t + 15 * MIN);
    expect(exp.status).toBe("expired");
    await store.applyFirings([firing(r, { timeoutMs: 10 * MIN })], t + 20 * MIN);
    expect((await one(r, t + 20 * MIN)).status).toBe("open");
  });

  it("an expired alert reopened by hand stays open (its passed expiry is cleared)", async () => {
    const r = uid("exp-reopen");
    await store.applyFirings([firing(r, { timeoutMs: 1 })], Date.now() - MIN);
    const a = await one(r);
    expect(a.status).toBe("expired");
    const reopened = await act(a.id, "reopen", { note: "still investigating" });
    expect([reopened.status, reopened.body.status, reopened.body.expires_at]).toEqual([200, "open", null]);
    expect((await one(r)).status).toBe("open");
  });

  it("a clear firing closes the alert; a clear without an open alert does nothing", async () => {
    const r = uid("clear");
    await store.applyFirings([firing(r, { action: "clear" })], Date.now());
    expect((await store.listAlerts({ rule: [r], limit: 10 }, Date.now())).alerts).toEqual([]);
    await store.applyFirings([firing(r), firing(r, { action: "clear" })], Date.now());
    expect((await one(r)).status).toBe("closed");
  });
});

describe("GET /v1/alerts", () => {
  it("filters by status, severity, rule, resource; repeatable and not_ negatable; pages with a cursor", async () => {
    const r = uid("list");
    const t = Date.now();
    const sev: Severity[] = ["low", "high", "critical", "high"];
    await store.applyFirings(sev.map((s, i) => firing(r, { severity: s, resource: `h${i}`, at: t - i * MIN })), t);
    const q = async (qs: string) => ((await (await api(`/v1/alerts?rule=${r}&${qs}`)).json()) as { alerts: AlertJson[]; cursor: string | null });
    expect((await q("severity=high")).alerts.map((a) => a.resource)).toEqual(["h1", "h3"]);
    expect((await q("severity=high&severity=critical")).alerts.map((a) => a.resource)).toEqual(["h1", "h2", "h3"]);
    expect((await q("not_severity=high")).alerts.map((a) => a.resource)).toEqual(["h0", "h2"]);
    expect((await q("resource=h2&resource=h0")).alerts.map((a) => a.resource)).toEqual(["h0", "h2"]);
    expect((await q(`since=${new Date(t - 90_000).toISOString()}`)).alerts.map((a) => a.resource)).toEqual(["h0", "h1"]);
    const p1 = await q("limit=3");
    expect(p1.alerts.map((a) => a.resource)).toEqual(["h0", "h1", "h2"]);
    const p2 = await q(`limit=3&cursor=${p1.cursor}`);
    expect([p2.alerts.map((a) => a.resource), p2.cursor]).toEqual([["h3"], null]);
    expect((await q("status=closed")).alerts).toEqual([]);
  });

  it("rejects bad filters with 400 naming the parameter", async () => {
    for (const [qs, field] of [["status=bogus", "status"], ["limit=0", "limit"], ["since=yesterday-ish", "since"], ["cursor=zzz", "cursor"], ["not_severity=huge", "not_severity"]]) {
      const res = await api(`/v1/alerts?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(((await res.json()) as any).error.details.field).toBe(field);
    }
  });

  it("404 for an unknown alert and an unknown action; the alert carries its history", async () => {
    expect((await api("/v1/alerts/al_000000000000000000000000")).status).toBe(404);
    const r = uid("misc");
    await store.applyFirings([firing(r)], Date.now());
    const a = await one(r);
    expect((await act(a.id, "explode")).status).toBe(404);
    expect((await act(a.id, "ack", { note: 5 })).status).toBe(400);
  });
});

describe("scopes", () => {
  it("read tokens list and read alerts but cannot change them; ingest tokens cannot read", async () => {
    const r = uid("scope");
    await store.applyFirings([firing(r)], Date.now());
    const a = await one(r);
    const read = await tokenWith("read");
    const ingestOnly = await tokenWith("ingest");
    expect((await api(`/v1/alerts?rule=${r}`, { token: read })).status).toBe(200);
    expect((await api(`/v1/alerts/${a.id}`, { token: read })).status).toBe(200);
    for (const action of ["ack", "shelve", "close", "reopen", "unack"]) expect((await act(a.id, action, undefined, read)).status, action).toBe(403);
    expect((await api(`/v1/alerts/${a.id}`, { method: "DELETE", token: read })).status).toBe(403);
    expect((await api(`/v1/alerts`, { token: ingestOnly })).status).toBe(403);
    expect((await api(`/v1/alerts`, { token: null })).status).toBe(401);
    expect((await one(r)).status).toBe("open");
  });

  it("admin deletes an alert with its history", async () => {
    const r = uid("del");
    await store.applyFirings([firing(r)], Date.now());
    const a = await one(r);
    expect((await api(`/v1/alerts/${a.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await api(`/v1/alerts/${a.id}`)).status).toBe(404);
    const h = await env.DB.prepare("SELECT COUNT(*) AS n FROM alert_history WHERE alert_id = ?1").bind(a.id).first<{ n: number }>();
    expect(h!.n).toBe(0);
  });
});
