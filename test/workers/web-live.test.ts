/**
 * Live updates: /live upgrades to a WebSocket only for a logged-in, same-origin browser; the LiveHub
 * (hibernation API) fans notifyAlerts() out to every socket; notifyAlerts never throws into ingest.
 */
import { SELF, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LIVE_DROPPED_COUNTER, notifyAlerts } from "../../workers/live.ts";
import { LIVE_HUB_NAME, type LiveHub } from "../../durable-objects/live-hub.ts";
import type { Env } from "../../workers/env.ts";
import { api } from "./api-client.ts";
import { ADMIN, BASE, login, makeToken } from "./web-helpers.ts";

async function open(cookie: string, extra: Record<string, string> = {}): Promise<{ ws: WebSocket; messages: unknown[]; next: () => Promise<unknown> }> {
  const res = await SELF.fetch(`${BASE}/live`, { headers: { upgrade: "websocket", ...(cookie ? { cookie, origin: BASE } : {}), ...extra } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const messages: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  ws.addEventListener("message", (e) => {
    if (e.data === "pong") return;
    const m = JSON.parse(String(e.data));
    const w = waiters.shift();
    if (w) w(m);
    else messages.push(m);
  });
  const next = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise<unknown>((r) => waiters.push(r)));
  return { ws, messages, next };
}

describe("/live", () => {
  it("refuses anonymous and cross-origin upgrades", async () => {
    const anon = await SELF.fetch(`${BASE}/live`, { headers: { upgrade: "websocket" } });
    expect(anon.status).toBe(401);
    const l = await login(ADMIN);
    const cross = await SELF.fetch(`${BASE}/live`, { headers: { upgrade: "websocket", cookie: l.sessionId, origin: "https://evil.example" } });
    expect(cross.status).toBe(403);
    const plain = await SELF.fetch(`${BASE}/live`, { headers: { cookie: l.sessionId } });
    expect(plain.status).toBe(426);
  });

  it("delivers notifyAlerts() to every connected console", async () => {
    const a = await open((await login(ADMIN)).sessionId);
    const b = await open((await login(ADMIN)).sessionId);
    expect(await a.next()).toMatchObject({ type: "hello" });
    expect(await b.next()).toMatchObject({ type: "hello" });
    await notifyAlerts(env as unknown as Env, [{ id: "al1", rule_id: "ssh-brute-force", severity: "high", status: "open", title: "Brute force", text: "long text not sent", duplicateCount: 2 }]);
    for (const c of [a, b]) {
      const m = (await c.next()) as { type: string; alerts: Record<string, unknown>[] };
      expect(m.type).toBe("alerts");
      expect(m.alerts).toEqual([{ id: "al1", rule_id: "ssh-brute-force", severity: "high", status: "open", title: "Brute force", duplicate_count: 2 }]);
    }
    a.ws.close(1000, "bye");
    b.ws.close(1000, "bye");
  });

  it("answers ping with pong (runtime auto-response) and counts sockets in the hub", async () => {
    const c = await open((await login(ADMIN)).sessionId);
    await c.next();
    const pong = new Promise<string>((r) => c.ws.addEventListener("message", (e) => r(String(e.data)), { once: true }));
    c.ws.send("ping");
    expect(await pong).toBe("pong");
    const stub = env.LIVE.get(env.LIVE.idFromName(LIVE_HUB_NAME));
    expect(await stub.connections()).toBeGreaterThanOrEqual(1);
    expect(await runInDurableObject(stub, (hub: LiveHub) => hub.connections())).toBeGreaterThanOrEqual(1);
    c.ws.close(1000, "bye");
  });

  it("logging out closes that session's sockets, and only those", async () => {
    const l = await login(ADMIN);
    const other = await open((await login(ADMIN)).sessionId);
    const mine = await open(l.sessionId);
    await mine.next();
    await other.next();
    const closed = new Promise<number>((r) => mine.ws.addEventListener("close", (e) => r(e.code), { once: true }));
    const out = await SELF.fetch(`${BASE}/logout`, { method: "POST", headers: { cookie: l.sessionId, origin: BASE, "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ csrf: l.csrf }), redirect: "manual" });
    expect(out.status).toBe(303);
    expect(await closed).toBe(4001);
    await notifyAlerts(env as unknown as Env, [{ id: "after-logout" }]);
    expect(await other.next()).toMatchObject({ type: "alerts", alerts: [{ id: "after-logout" }] });
    other.ws.close(1000, "bye");
  });

  it("a socket whose session expired gets no more updates", async () => {
    const l = await login(ADMIN);
    const c = await open(l.sessionId);
    await c.next();
    const stub = env.LIVE.get(env.LIVE.idFromName(LIVE_HUB_NAME));
    await runInDurableObject(stub, (_hub: LiveHub, state) => {
      for (const ws of state.getWebSockets()) ws.serializeAttachment({ expiresAt: Date.now() - 1 });
    });
    const closed = new Promise<number>((r) => c.ws.addEventListener("close", (e) => r(e.code), { once: true }));
    await notifyAlerts(env as unknown as Env, [{ id: "late" }]);
    expect(await closed).toBe(4001);
    expect(c.messages).toEqual([]);
  });

  it("accepts a bearer token with the read scope (porchlight tail), refuses a bad or ingest-only one", async () => {
    const bad = await SELF.fetch(`${BASE}/live`, { headers: { upgrade: "websocket", authorization: "Bearer pl_nosuchtoken_0123456789abcdef" } });
    expect(bad.status).toBe(401);
    const malformed = await SELF.fetch(`${BASE}/live`, { headers: { upgrade: "websocket", authorization: "Basic abc" } });
    expect(malformed.status).toBe(401);
    const ingest = await makeToken(["ingest"]);
    const forbidden = await SELF.fetch(`${BASE}/live`, { headers: { upgrade: "websocket", authorization: `Bearer ${ingest.token}` } });
    expect(forbidden.status).toBe(403);
    // A bad bearer is never rescued by a valid session cookie sent alongside it.
    const l = await login(ADMIN);
    const mixed = await SELF.fetch(`${BASE}/live`, { headers: { upgrade: "websocket", authorization: "Bearer nope", cookie: l.sessionId, origin: BASE } });
    expect(mixed.status).toBe(401);
    const reader = await makeToken(["read"]);
    const c = await open("", { authorization: `Bearer ${reader.token}` });
    expect(await c.next()).toMatchObject({ type: "hello" });
    await notifyAlerts(env as unknown as Env, [{ id: "to-the-terminal" }]);
    expect(await c.next()).toMatchObject({ type: "alerts", alerts: [{ id: "to-the-terminal" }] });
    c.ws.close(1000, "bye");
  });

  it("notifyAlerts never throws, even when the hub binding is broken, and counts the dropped publish in /v1/metrics", async () => {
    const broken = { ...env, LIVE: { idFromName: () => { throw new Error("boom"); } } } as unknown as Env;
    const dropped = async () => ((await (await api("/v1/metrics")).json()) as { counters: Record<string, number> }).counters[LIVE_DROPPED_COUNTER] ?? 0;
    const before = await dropped();
    await expect(notifyAlerts(broken, [{ id: "x" }])).resolves.toBeUndefined();
    expect(await dropped()).toBe(before + 1);
    await expect(notifyAlerts(env as unknown as Env, [])).resolves.toBeUndefined();
    expect(await dropped()).toBe(before + 1);
  });
});
