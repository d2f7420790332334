/**
 * Unauthenticated routes that act on an alert from a notification, each proving itself another way:
 * - POST /v1/notify/action/:token: a one-time, short-lived URL signed with NOTIFY_KEY (HMAC-SHA256),
 *   scoped to one alert and one action (ntfy's http action button, Web Push's "Ack", e-mail).
 *   The signature and expiry are checked first; the nonce's single use is recorded in D1.
 * - POST /v1/notify/telegram/:channelId: Telegram's webhook for the inline "Ack" button; Telegram
 *   echoes the secret_token given to setWebhook in X-Telegram-Bot-Api-Secret-Token (a per-channel HMAC
 *   of NOTIFY_KEY), and the callback must come from the channel's own chat.
 */
import type { Hono } from "hono";
import { safeEqual, type AppEnv } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { telegramSecret, verifyAction } from "../notify/crypto.ts";
import { escapeHtml } from "../notify/model.ts";
import { notifyAlerts } from "../live.ts";
import { storeOf } from "../store/d1.ts";
import { loadChannel } from "../notify/channels.ts";
import { requireScope } from "../auth.ts";

/** Largest Telegram update read, bytes (a callback query is about 1 KB). */
const TELEGRAM_UPDATE_MAX_BYTES = 65_536;


/** A minimal page for a browser that opened an action link (from an e-mail): text only, the console's stylesheet, no script. */
function actionPage(title: string, text: string, form: boolean): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)} · Porchlight</title><link rel="stylesheet" href="/styles.css"></head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${
    form ? `<form method="post"><button type="submit" class="btn primary">Acknowledge</button></form>` : ""
  }</main></body></html>`;
}

export function registerNotifyActionRoutes(app: Hono<AppEnv>): void {
  app.post("/v1/notify/action/:token", async (c) => {
    const now = Date.now();
    // A browser (the form of the GET page) gets a page back; ntfy, the service worker and scripts get JSON.
    const html = (c.req.header("accept") ?? "").includes("text/html");
    try {
      const v = await verifyAction(c.env.NOTIFY_KEY, c.req.param("token"), now);
      if (v.status === "invalid") throw new PorchlightError("forbidden", "This action link is not valid");
      if (v.status === "expired") throw new PorchlightError("forbidden", "This action link has expired; open the alert instead");
      const { claim } = v;
      if (!(await storeOf(c.env).useActionNonce(claim.n, claim.a, claim.e * 1000, now))) throw new PorchlightError("conflict", "This action link was already used");
      const res = await storeOf(c.env).transitionAlert(claim.a, claim.x, { who: "notification link", note: "acknowledged from a notification" }, now);
      if (res.status === "not_found") throw new PorchlightError("not_found", `No alert "${claim.a}"`);
      if (res.status === "conflict") {
        return html ? c.html(actionPage("Not changed", res.message, false)) : c.json({ id: claim.a, action: claim.x, done: false, message: res.message });
      }
      await notifyAlerts(c.env, [res.alert]);
      return html ? c.html(actionPage("Acknowledged", `“${res.alert.title}” is acknowledged.`, false)) : c.json({ id: claim.a, action: claim.x, done: true, status: res.alert.status });
    } catch (err) {
      if (html && err instanceof PorchlightError) return c.html(actionPage("Not done", err.message, false), err.status as 403);
      throw err;
    }
  });

  // A GET never acts (mail scanners and link previews fetch links): it shows a page whose button POSTs.
  app.get("/v1/notify/action/:token", async (c) => {
    const v = await verifyAction(c.env.NOTIFY_KEY, c.req.param("token"), Date.now());
    if (v.status !== "ok") return c.html(actionPage("Not valid", v.status === "expired" ? "This action link has expired; open the alert instead." : "This action link is not valid.", false), 403);
    return c.html(actionPage("Acknowledge this alert?", "The link works once.", true));
  });

  app.post("/v1/notify/telegram/:channelId", async (c) => {
    const channelId = c.req.param("channelId");
    const given = c.req.header("x-telegram-bot-api-secret-token") ?? "";
    if (!/^ch_[0-9a-f]{18}$/.test(channelId) || !(await safeEqual(given, await telegramSecret(c.env.NOTIFY_KEY, channelId))))
      throw new PorchlightError("unauthorized", "Bad or missing X-Telegram-Bot-Api-Secret-Token");
    const text = await c.req.text();
    if (text.length > TELEGRAM_UPDATE_MAX_BYTES) throw new PorchlightError("payload_too_large", "Update too large");
    let update: { callback_query?: { id?: string; data?: string; from?: { id?: number; username?: string }; message?: { chat?: { id?: number | string } } } };
    try {
      update = JSON.parse(text);
    } catch {
      throw new PorchlightError("invalid_body", "The update must be JSON");
    }
    const q = update?.callback_query;
    // Anything but a callback query is acknowledged and ignored (Telegram retries non-2xx answers).
    if (!q || typeof q.id !== "string" || typeof q.data !== "string") return c.json({ ok: true });
    const ch = await loadChannel(storeOf(c.env), c.env.NOTIFY_KEY, channelId);
    const reply = (t: string) => c.json({ method: "answerCallbackQuery", callback_query_id: q.id, text: t });
    if (!ch || ch.type !== "telegram") return reply("This channel no longer exists");
    if (String(q.message?.chat?.id ?? "") !== String(ch.config.chat_id)) return reply("Not from this channel's chat");
    const m = /^ack:(al_[0-9a-f]{24})$/.exec(q.data);
    if (!m) return reply("Unknown action");
    const who = `telegram:${q.from?.username ?? q.from?.id ?? "?"}`;
    const res = await storeOf(c.env).transitionAlert(m[1]!, "ack", { who, note: "acknowledged from Telegram" }, Date.now());
    if (res.status === "not_found") return reply("Alert not found");
    if (res.status === "conflict") return reply(res.message);
    await notifyAlerts(c.env, [res.alert]);
    // Telegram accepts a method call as the webhook's answer: the button stops spinning without another request.
    return reply("Acknowledged");
  });

  /** Registers this Worker as the channel's bot webhook (setWebhook with the per-channel secret_token). */
  app.post("/v1/channels/:id/telegram-webhook", requireScope("admin"), async (c) => {
    const id = c.req.param("id");
    const ch = /^ch_[0-9a-f]{18}$/.test(id) ? await loadChannel(storeOf(c.env), c.env.NOTIFY_KEY, id) : null;
    if (!ch || ch.type !== "telegram") throw new PorchlightError("not_found", `No telegram channel "${id.slice(0, 64)}"`);
    const base = c.env.PUBLIC_URL ?? new URL(c.req.url).origin;
    const res = await fetch(`${(ch.config.api_base as string).replace(/\/+$/, "")}/bot${ch.config.bot_token as string}/setWebhook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: `${base}/v1/notify/telegram/${id}`, secret_token: await telegramSecret(c.env.NOTIFY_KEY, id), allowed_updates: ["callback_query"] }),
    }).catch((e: unknown) => new Response(JSON.stringify({ ok: false, description: String(e) }), { status: 502 }));
    return c.json({ ok: res.ok, status: res.status, answer: (await res.text()).slice(0, 1000) });
  });
}
