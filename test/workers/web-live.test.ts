/**
 * Live updates: /live upgrades to a WebSocket only for a logged-in, same-origin browser; the LiveHub
 * (hibernation API) fans notifyAlerts() out to every socket; notifyAlerts never throws into ingest.
 */
import { SELF, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { notifyAlerts } from "../../workers/live.ts";
import { LIVE_HUB_NAME, type LiveHub } from "../../durable-objects/live-hub.ts";
import type { Env } from "../../workers/env.ts";
import { ADMIN, BASE, login } from "./web-helpers.ts";

async function open(cookie: string): Promise<{ ws: WebSocket; messages: unknown[]; next: () => Promise<unknown> }> {
  const res = await SELF.fetch(`${BASE}/live`, { headers: { upgrade: "websocket", cookie, origin: BASE } });
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

  it("notifyAlerts never throws, even when the hub binding is broken", async () => {
    const broken = { ...env, LIVE: { idFromName: () => { throw new Error("boom"); } } } as unknown as Env;
    await expect(notifyAlerts(broken, [{ id: "x" }])).resolves.toBeUndefined();
    await expect(notifyAlerts(env as unknown as Env, [])).resolves.toBeUndefined();
  });
});
