/**
 * The console's use of the API with a session: alert actions need admin scope and the CSRF token on
 * the real /v1/alerts routes; the read-scope aggregates (/v1/stats/overview, /v1/relays) count what
 * ingest stored.
 */
import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, BASE, login, makeToken } from "./web-helpers.ts";

async function insertAlert(id: string): Promise<void> {
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO alerts (id, rule_id, resource, group_key, dedup_key, severity, status, title, text, duplicate_count, count, event_ids, magnitude, tags, attributes, first_seen, last_seen, updated_at)
     VALUES (?1, 'r1', 'nas', '{}', ?2, 'high', 'open', 'Test alert', 'text', 0, 1, '[]', 1, '[]', '{}', ?3, ?3, ?3)`,
  )
    .bind(id, `r1|nas|{}|${id}`, now)
    .run();
}

const ack = (id: string, headers: Record<string, string>) =>
  SELF.fetch(`${BASE}/v1/alerts/${id}/ack`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ note: "seen" }) });

describe("alert actions from a session", () => {
  it("a read-only session cannot ack, even with its CSRF token", async () => {
    await insertAlert("alert-ro");
    const t = await makeToken(["read"]);
    const l = await login(t.token);
    const res = await ack("alert-ro", { cookie: l.sessionId, "x-csrf-token": l.csrf, origin: BASE });
    expect(res.status).toBe(403);
    const a = (await (await SELF.fetch(`${BASE}/v1/alerts/alert-ro`, { headers: { cookie: l.sessionId } })).json()) as { status: string };
    expect(a.status).toBe("open");
  });

  it("an admin session acks only with the CSRF token", async () => {
    await insertAlert("alert-admin");
    const l = await login(ADMIN);
    expect((await ack("alert-admin", { cookie: l.sessionId })).status).toBe(403);
    expect((await ack("alert-admin", { cookie: l.sessionId, "x-csrf-token": "nope" })).status).toBe(403);
    const ok = await ack("alert-admin", { cookie: l.sessionId, "x-csrf-token": l.csrf, origin: BASE });
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { status: string; history: { action: string; who: string; note: string | null }[] };
    expect(body.status).toBe("ack");
    expect(body.history.at(-1)).toMatchObject({ action: "ack", who: "admin", note: "seen" });
  });
});

describe("read-scope aggregates", () => {
  it("/v1/stats/overview counts events per hour by dataset, blocked sources and failed logins from what ingest stored", async () => {
    const ingest = await makeToken(["ingest"]);
    const now = new Date();
    const line = (prog: string, msg: string) => `<38>1 ${now.toISOString()} nas ${prog} 1 - - ${msg}`;
    const body = [
      line("sshd", "Failed password for root from 203.0.113.50 port 1 ssh2"),
      line("sshd", "Failed password for admin from 203.0.113.50 port 2 ssh2"),
      line("kernel", "DROP(src wan)IN=eth0 OUT= SRC=198.51.100.5 DST=192.0.2.1 LEN=60 TTL=50 PROTO=TCP SPT=4444 DPT=23"),
      line("kernel", "DROP(src wan)IN=eth0 OUT= SRC=198.51.100.5 DST=192.0.2.1 LEN=60 TTL=50 PROTO=TCP SPT=4445 DPT=22"),
      line("kernel", "DROP(src wan)IN=eth0 OUT= SRC=198.51.100.6 DST=192.0.2.1 LEN=60 TTL=50 PROTO=TCP SPT=4446 DPT=22"),
    ].join("\n");
    const ing = await SELF.fetch(`${BASE}/v1/ingest`, { method: "POST", headers: { authorization: `Bearer ${ingest.token}`, "content-type": "text/plain", "x-relay-name": "nas-relay" }, body });
    expect(ing.status).toBe(200);
    const l = await login(ADMIN);
    const res = await SELF.fetch(`${BASE}/v1/stats/overview?last=24h`, { headers: { cookie: l.sessionId } });
    expect(res.status).toBe(200);
    const o = (await res.json()) as {
      events_per_hour: { buckets: number[]; series: Record<string, number[]> };
      failed_logins_per_hour: { counts: number[] };
      top_blocked_sources: { ip: string; count: number }[];
      alerts_per_day: { buckets: number[] };
    };
    expect(o.events_per_hour.buckets.length).toBeGreaterThanOrEqual(24);
    const total = Object.values(o.events_per_hour.series).flat().reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(5);
    expect(o.top_blocked_sources.slice(0, 2)).toEqual([
      { ip: "198.51.100.5", count: 2 },
      { ip: "198.51.100.6", count: 1 },
    ]);
    expect(o.failed_logins_per_hour.counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
    expect(o.alerts_per_day.buckets.length).toBeGreaterThanOrEqual(1);
  });

  it("/v1/stats/overview rejects a bad range with 400", async () => {
    const res = await SELF.fetch(`${BASE}/v1/stats/overview?last=99y`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_request");
  });

  it("/v1/relays lists relays seen at ingest", async () => {
    await env.DB.prepare("INSERT OR REPLACE INTO relays (name, last_seen_at, last_ip, batches, lines, bytes) VALUES ('garage', ?1, '192.168.1.9', 3, 120, 9000)").bind(Date.now()).run();
    const res = await SELF.fetch(`${BASE}/v1/relays`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const body = (await res.json()) as { relays: { name: string; lines: number; last_ip: string; last_seen: string }[] };
    expect(body.relays.find((r) => r.name === "garage")).toMatchObject({ lines: 120, last_ip: "192.168.1.9" });
    expect(Date.parse(body.relays.find((r) => r.name === "garage")!.last_seen)).toBeGreaterThan(0);
  });
});
