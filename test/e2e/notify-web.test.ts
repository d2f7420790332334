/**
 * Notifications through the web view, end to end (issue 11): Chromium against `wrangler dev` (local D1
 * and Durable Objects in a temp dir) with an ntfy-speaking loopback receiver. Settings → Notifications
 * adds a channel and tests it (the receiver gets the publish); an ingested line raises an alert that the
 * Notifier's real alarm delivers, and the alert page lists the delivery; a recurring blackout shows its
 * next start; a heartbeat is added and deleted on the Beats page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { Browser, Page } from "playwright-core";
import { startWranglerDev } from "../../bench/wrangler-dev.ts";

const CHROMIUM = "/usr/bin/chromium";
const ADMIN = `e2e-notify-${Math.random().toString(36).slice(2)}-0123456789`;
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const msg = `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the notification web test`;
  if (process.env.CI) throw new Error(msg);
  console.warn(`\nSKIPPED: ${msg}\n`);
}

interface Publish {
  topic: string;
  title: string;
  message: string;
  priority: number;
  click: string;
  actions?: { url: string }[];
}

let receiver: Server | null = null;
let recv = "";
const published: Publish[] = [];
let dev: { base: string; stop: () => Promise<void> } | null = null;
let browser: Browser | null = null;

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

async function api(path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(dev!.base + path, { method: body === undefined ? "GET" : "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  if (!haveChromium) return;
  // ntfy's JSON publish: POST to the server's base URL, answered with the message event.
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const msg = JSON.parse(Buffer.concat(chunks).toString()) as Publish;
      published.push(msg);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: `m${published.length}`, event: "message", topic: msg.topic }));
    });
  });
  await new Promise<void>((r) => receiver!.listen(0, "127.0.0.1", r));
  recv = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  dev = await startWranglerDev({ ADMIN_TOKEN: ADMIN, NOTIFY_KEY: "ZTJlLW5vdGlmeS1rZXktMDEyMzQ1Njc4OWFiY2RlZg", PUBLIC_URL: (b) => b });
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"] });
}, 150_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await dev?.stop();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
});

async function logIn(page: Page): Promise<void> {
  await page.goto(`${dev!.base}/login`);
  await page.getByLabel("Access token").fill(ADMIN);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${dev!.base}/`);
}

describe.skipIf(!haveChromium)("notifications in the web view", () => {
  it("adds and tests an ntfy channel, gets an alert delivered by the Notifier, and shows it on the alert page", async () => {
    const ctx = await browser!.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await ctx.newPage();
    page.on("dialog", (d) => void d.accept());
    await logIn(page);
    await page.goto(`${dev!.base}/settings`);
    const form = page.locator("#channel-form");
    await form.getByLabel("Name").fill("my phone");
    await form.getByLabel("Type").selectOption("ntfy");
    await form.getByLabel("ntfy server").fill(recv);
    await form.getByLabel("Topic").fill("porchlight-e2e");
    await form.getByLabel("Access token").fill("tk_e2e_secret");
    await form.getByLabel("At least").selectOption("medium");
    await form.getByRole("button", { name: "Save channel" }).click();
    await poll(() => page.locator("#channels").textContent()).toContain("my phone");
    await page.getByRole("button", { name: "Test my phone" }).click();
    await poll(() => page.locator("#msg").textContent()).toContain("Test sent to my phone (200)");
    expect(published.at(-1)).toMatchObject({ topic: "porchlight-e2e", title: "Porchlight test" });
    // The token never comes back to the page.
    expect(await page.content()).not.toContain("tk_e2e_secret");

    const rule = { id: "e2e-notify-root", name: "Root login", type: "single", match: { message: { regex: "Accepted password for root from (?<ip>\\S+)" } }, severity: "high", title: "Root login from {{ip}}" };
    expect((await api("/v1/rules", rule)).status).toBe(201);
    const line = `<38>1 ${new Date().toISOString()} nas sshd 4242 - - Accepted password for root from 198.51.100.77 port 4242 ssh2`;
    const res = await fetch(`${dev!.base}/v1/ingest`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/plain" }, body: line + "\n" });
    expect(res.status).toBe(200);
    // The Notifier's alarm fires on its own in wrangler dev: wait for the receiver to get the publish.
    await poll(() => published.some((p) => p.title === "Root login from 198.51.100.77")).toBe(true);
    const msg = published.find((p) => p.title === "Root login from 198.51.100.77")!;
    expect(msg.priority).toBe(4);
    expect(msg.click).toMatch(new RegExp(`^${dev!.base}/alerts/al_[0-9a-f]{24}$`));
    expect(msg.actions?.[0]?.url).toMatch(new RegExp(`^${dev!.base}/v1/notify/action/`));

    await page.goto(msg.click);
    await poll(() => page.locator("#deliveries").textContent()).toMatch(/new\s*sent\s*via my phone/);
    // The action link opened in a browser (as from an e-mail): a page whose button acknowledges, once, without a session.
    const anon = await browser!.newContext();
    const linkPage = await anon.newPage();
    await linkPage.goto(msg.actions![0]!.url);
    await linkPage.getByRole("button", { name: "Acknowledge" }).click();
    await poll(() => linkPage.locator("h1").textContent()).toBe("Acknowledged");
    await anon.close();
    expect((await fetch(msg.actions![0]!.url, { method: "POST" })).status).toBe(409);
    await page.reload();
    await poll(() => page.locator("#alert .status").first().textContent()).toBe("ack");
    await ctx.close();
  });

  it("adds a recurring blackout with its next start, and adds then deletes a heartbeat", async () => {
    const ctx = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    page.on("dialog", (d) => void d.accept());
    await logIn(page);
    await page.goto(`${dev!.base}/settings`);
    const bf = page.locator("#blackout-form");
    await bf.getByLabel("Name").fill("night");
    await bf.getByLabel("Blackout timezone").fill("Europe/Berlin");
    await bf.getByRole("button", { name: /Add blackout/ }).click();
    await poll(() => page.locator("#blackouts").textContent()).toMatch(/night.*22:00–07:00 Europe\/Berlin.*next start/s);

    await page.goto(`${dev!.base}/heartbeats`);
    const hf = page.locator("#beat-form");
    await hf.getByLabel("Name").fill("nightly-backup");
    await hf.getByLabel("Expect a ping every").fill("26h");
    await hf.getByRole("button", { name: "Save heartbeat" }).click();
    await poll(() => page.locator("#list").textContent()).toContain("nightly-backup");
    await page.getByRole("button", { name: "Delete heartbeat nightly-backup" }).click();
    await poll(() => page.locator("#list").textContent()).not.toContain("nightly-backup");
    await ctx.close();
  });
});
