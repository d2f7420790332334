/**
 * The service worker's Web Push handler in a real browser (issue 11): Debian's Chromium loads
 * web/public/sw.js from a loopback static server, and the DevTools protocol delivers a push
 * (ServiceWorker.deliverPushMessage) carrying the JSON the Notifier sends (workers/notify/model.ts
 * pushData). The notification must show the alert's title and text with "Ack" and "Open" actions and
 * keep the alert page and the one-time ack link for notificationclick. The DevTools protocol cannot
 * click a notification, so the click is a NotificationEvent dispatched in the worker's own scope with
 * the shown notification: "Ack" must POST the one-time link and close the notification, and a link
 * that fails must leave a notification that says so. (A dispatched event is not trusted: its
 * waitUntil throws, after the handler has started the work it passes; "Open" needs the user
 * activation of a real click to open a window, so only its reading of the page URL is covered.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import type { Browser } from "playwright-core";
import { pushData } from "../../workers/notify/model.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const PUB = join(ROOT, "web/public");
const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const msg = `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the push test`;
  if (process.env.CI) throw new Error(msg);
  console.warn(`\nSKIPPED: ${msg}\n`);
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".png": "image/png", ".svg": "image/svg+xml", ".webmanifest": "application/manifest+json" };

let server: Server | null = null;
const acks: string[] = [];
let base = "";
let browser: Browser | null = null;

beforeAll(async () => {
  if (!haveChromium) return;
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    // The one-time ack links the service worker POSTs: "ok" ones answer 200, "gone" ones 410.
    if (path.startsWith("/v1/notify/action/")) {
      acks.push(`${req.method} ${path}`);
      res.writeHead(path.endsWith("gone") ? 410 : 200, { "content-type": "text/plain" }).end("ok");
      return;
    }
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>push test</title><p>push test</p>");
      return;
    }
    const file = normalize(join(PUB, path));
    if (!file.startsWith(PUB) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

describe.skipIf(!haveChromium)("service worker push", () => {
  it("a delivered push shows the alert with Ack and Open actions; Ack posts the one-time link", async () => {
    const ctx = await browser!.newContext();
    await ctx.grantPermissions(["notifications"], { origin: base });
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    const cdp = await ctx.newCDPSession(page);
    const registered = new Promise<string>((resolveId) => {
      cdp.on("ServiceWorker.workerVersionUpdated", (e: { versions: { registrationId: string; status: string }[] }) => {
        const v = e.versions.find((x) => x.status === "activated");
        if (v) resolveId(v.registrationId);
      });
    });
    await cdp.send("ServiceWorker.enable");
    await page.evaluate(async () => {
      await navigator.serviceWorker.register("/sw.js", { scope: "/" });
      await navigator.serviceWorker.ready;
    });
    const registrationId = await registered;

    const data = pushData({
      title: "SSH brute force from 203.0.113.7",
      body: "5 failed logins in 60s\nhigh · ssh-brute-force · nas",
      clickUrl: `${base}/alerts/al_0123456789abcdef01234567`,
      ackUrl: `${base}/v1/notify/action/payload.signature`,
      alert: { id: "al_0123456789abcdef01234567" },
      deliveryId: "d1",
      severity: "high",
    });
    await cdp.send("ServiceWorker.deliverPushMessage", { origin: base, registrationId, data: JSON.stringify(data) });
    // getNotifications reflects showNotification once the push event's waitUntil settles: poll that state.
    await expect
      .poll(() => page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).length), { timeout: 10_000 })
      .toBe(1);
    const shown = await page.evaluate(async () =>
      (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data, actions: (n as unknown as { actions: { action: string; title: string }[] }).actions.map((a) => ({ action: a.action, title: a.title })) })),
    );
    expect(shown).toEqual([
      {
        title: "SSH brute force from 203.0.113.7",
        body: "5 failed logins in 60s\nhigh · ssh-brute-force · nas",
        tag: "al_0123456789abcdef01234567",
        data: { url: `${base}/alerts/al_0123456789abcdef01234567`, ack_url: `${base}/v1/notify/action/payload.signature` },
        actions: [{ action: "ack", title: "Ack" }, { action: "open", title: "Open" }],
      },
    ]);

    // Tapping "Ack": the handler POSTs the one-time link and closes the notification.
    const sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent("serviceworker"));
    const click = (action: string) =>
      sw.evaluate(async (a) => {
        const g = self as unknown as { registration: ServiceWorkerRegistration; dispatchEvent(e: Event): boolean };
        const [n] = await g.registration.getNotifications();
        const Ev = (self as unknown as { NotificationEvent: new (t: string, i: { notification: Notification; action: string }) => Event }).NotificationEvent;
        g.dispatchEvent(new Ev("notificationclick", { notification: n!, action: a }));
      }, action);
    const count = () => page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => n.title));
    await click("ack");
    await expect.poll(() => acks.slice()).toEqual(["POST /v1/notify/action/payload.signature"]);
    await expect.poll(count).toEqual([]);

    // A link that no longer works (410): the alert is not acknowledged, and a notification says so.
    await cdp.send("ServiceWorker.deliverPushMessage", { origin: base, registrationId, data: JSON.stringify({ ...data, ack_url: `${base}/v1/notify/action/used.gone` }) });
    await expect.poll(count, { timeout: 10_000 }).toEqual(["SSH brute force from 203.0.113.7"]);
    await click("ack");
    await expect.poll(() => acks.slice()).toEqual(["POST /v1/notify/action/payload.signature", "POST /v1/notify/action/used.gone"]);
    await expect.poll(count).toEqual(["Porchlight: could not acknowledge"]);
    await ctx.close();
  });
});
