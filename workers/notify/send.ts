/**
 * Channel clients: each speaks its receiver's real protocol (ntfy's JSON publish, a signed webhook with
 * Discord/Slack/Matrix/Gotify presets, Telegram's Bot API sendMessage, e-mail through Cloudflare's
 * send_email binding, Web Push per RFC 8030/8291/8292) and reports one outcome that the Notifier's retry
 * policy reads: ok, retryable (408, 429, 5xx, network; with Retry-After when given) or permanent.
 *
 * Invariant: no secret reaches a log or an outcome's `answer` (the receiver's own answer, truncated).
 */
import { buildPushPayload, type PushSubscription } from "@block65/webcrypto-web-push";
import type { Env } from "../env.ts";
import { TELEGRAM_MAX_TEXT } from "../constants.ts";
import { b64url, hmacHex } from "./crypto.ts";
import { escapeHtml, pushData, rankOf, scrubUrl, type AlertSummary, type Reason, type WebhookPreset } from "./model.ts";
import { pushSubscriptionsOf, type Channel } from "./channels.ts";
import { storeOf } from "../store/d1.ts";
import { sendEmail } from "./email.ts";
import { MAX_RETRY_AFTER_MS, classify, retryAfterMs, type SendOutcome } from "./retry.ts";

export type { SendOutcome };

// --- Types

/** What a channel says: one message, built once per delivery by the Notifier. */
export interface Message {
  reason: Reason;
  /** The alert (null for a test or a digest). */
  alert: AlertSummary | null;
  title: string;
  body: string;
  severity: string;
  /** The alert's page (or the alert list). */
  clickUrl: string;
  /** One-time signed URL that acknowledges the alert (POST), when there is an alert. */
  ackUrl: string | null;
  /** Stable id of the delivery: Matrix's transaction id, the push notification's tag. */
  deliveryId: string;
}

/** Most characters of a receiver's answer kept in a delivery record. */
export const ANSWER_MAX = 1000;
/** A receiver that has not answered in this long counts as a network error (retryable), ms. */
export const SEND_TIMEOUT_MS = 10_000;
async function httpSend(req: Request, now: () => number): Promise<SendOutcome> {
  let res: Response;
  try {
    res = await fetch(req, { signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
  } catch (err) {
    // The runtime's message may quote the URL, which holds secrets (Telegram's bot token, a webhook's path).
    const msg = scrubUrl(String((err as Error)?.message ?? err), req.url);
    return { ok: false, status: null, answer: `network error: ${msg.slice(0, 200)}`, retryable: true, retryAfterMs: null };
  }
  const answer = (await res.text().catch(() => "")).slice(0, ANSWER_MAX);
  let ra = retryAfterMs(res.headers.get("retry-after"), now());
  if (ra === null && res.status === 429) {
    // Telegram says when in the body: {"parameters": {"retry_after": s}}.
    try {
      const s = (JSON.parse(answer) as { parameters?: { retry_after?: number } }).parameters?.retry_after;
      if (typeof s === "number") ra = Math.min(s * 1000, MAX_RETRY_AFTER_MS);
    } catch {
      /* not JSON */
    }
  }
  return classify(res.status, answer, ra);
}

// --- ntfy (https://docs.ntfy.sh/publish/#publish-as-json)

/** ntfy priority 1 (min) .. 5 (max) by Sigma level. */
export const NTFY_PRIORITY: Record<string, number> = { informational: 1, low: 2, medium: 3, high: 4, critical: 5 };
const NTFY_TAG: Record<string, string> = { informational: "information_source", low: "large_blue_circle", medium: "warning", high: "rotating_light", critical: "skull" };

export function ntfyRequest(config: Record<string, unknown>, m: Message): Request {
  const body: Record<string, unknown> = {
    topic: config.topic,
    title: m.title,
    message: m.body,
    priority: NTFY_PRIORITY[m.severity] ?? 3,
    tags: [NTFY_TAG[m.severity] ?? "bell", ...(m.alert ? [m.alert.rule_id, ...m.alert.tags] : [m.reason])].slice(0, 8),
    click: m.clickUrl,
  };
  if (m.ackUrl) body.actions = [{ action: "http", label: "Ack", url: m.ackUrl, method: "POST", clear: true }];
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (config.token) headers.authorization = `Bearer ${config.token as string}`;
  // JSON publishing goes to the server's base URL (the topic is in the body), not the topic URL.
  return new Request((config.url as string).replace(/\/*$/, "/"), { method: "POST", headers, body: JSON.stringify(body) });
}

// --- Webhook (+ presets)

const DISCORD_COLOR: Record<string, number> = { informational: 0x8899aa, low: 0x3b82f6, medium: 0xf59e0b, high: 0xef4444, critical: 0x7f1d1d };
const GOTIFY_PRIORITY: Record<string, number> = { informational: 1, low: 3, medium: 5, high: 8, critical: 10 };


/** The body of a webhook delivery, formatted for the preset's receiver (Porchlight's own JSON without one). */
export function webhookBody(preset: WebhookPreset | undefined, m: Message): Record<string, unknown> {
  switch (preset) {
    case "discord":
      return { content: null, embeds: [{ title: m.title.slice(0, 256), description: m.body.slice(0, 4000), url: m.clickUrl, color: DISCORD_COLOR[m.severity] ?? 0 }], allowed_mentions: { parse: [] } };
    case "slack":
      return { text: `*${m.title}*\n${m.body}\n<${m.clickUrl}|Open in Porchlight>` };
    case "matrix":
      return { msgtype: "m.text", body: `${m.title}\n${m.body}\n${m.clickUrl}`, format: "org.matrix.custom.html", formatted_body: `<b>${escapeHtml(m.title)}</b><br>${escapeHtml(m.body)}<br><a href="${escapeHtml(m.clickUrl)}">Open</a>` };
    case "gotify":
      return { title: m.title, message: m.body, priority: GOTIFY_PRIORITY[m.severity] ?? 5, extras: { "client::notification": { click: { url: m.clickUrl } } } };
    default:
      return { reason: m.reason, title: m.title, text: m.body, severity: m.severity, url: m.clickUrl, ack_url: m.ackUrl, alert: m.alert };
  }
}

export async function webhookRequest(config: Record<string, unknown>, m: Message): Promise<Request> {
  const preset = config.preset as WebhookPreset | undefined;
  const body = JSON.stringify(webhookBody(preset, m));
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "Porchlight" };
  if (config.secret) headers["x-porchlight-signature"] = `sha256=${await hmacHex(config.secret as string, body)}`;
  let url = config.url as string;
  // Matrix's client-server API sends an event with PUT to .../send/m.room.message/{txnId}; the delivery id makes a retry idempotent.
  if (preset === "matrix") {
    const u = new URL(url);
    u.pathname = `${u.pathname.replace(/\/+$/, "")}/${encodeURIComponent(m.deliveryId.replace(/[^A-Za-z0-9]/g, "").slice(-64))}`;
    url = u.toString();
    return new Request(url, { method: "PUT", headers, body });
  }
  return new Request(url, { method: "POST", headers, body });
}

// --- Telegram (https://core.telegram.org/bots/api#sendmessage)

export function telegramRequest(config: Record<string, unknown>, m: Message): Request {
  const row: Record<string, string>[] = [];
  if (m.alert && m.ackUrl) row.push({ text: "Ack", callback_data: `ack:${m.alert.id}` });
  // Telegram refuses URL buttons that are not public https addresses.
  if (m.clickUrl.startsWith("https://")) row.push({ text: "Open", url: m.clickUrl });
  const body = {
    chat_id: config.chat_id,
    // Telegram counts the limit on the text after parsing the HTML: cut the plain parts, then escape (a cut
    // through an entity would be refused with a permanent 400).
    text: `<b>${escapeHtml(m.title.slice(0, 256))}</b>\n${escapeHtml(m.body.slice(0, TELEGRAM_MAX_TEXT - 300))}`,
    parse_mode: "HTML",
    link_preview_options: { is_disabled: true },
    ...(row.length ? { reply_markup: { inline_keyboard: [row] } } : {}),
  };
  const base = (config.api_base as string).replace(/\/+$/, "");
  return new Request(`${base}/bot${config.bot_token as string}/sendMessage`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

// --- Web Push

export async function pushRequest(env: Env, sub: PushSubscription, m: Message): Promise<Request> {
  if (!env.VAPID_PUBLIC_KEY || !env.VAPID_PRIVATE_KEY) throw new Error("VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are not set (npm start generates them; `wrangler secret put` in production)");
  const urgency = rankOf(m.severity) >= rankOf("high") ? "high" : "normal";
  const p = await buildPushPayload(
    { data: pushData(m), options: { ttl: 86_400, urgency } },
    sub,
    { subject: env.VAPID_SUBJECT ?? "mailto:porchlight@localhost", publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY },
  );
  return new Request(sub.endpoint, { method: p.method, headers: p.headers, body: p.body });
}

async function sendPush(env: Env, ch: Channel, m: Message, now: () => number): Promise<SendOutcome> {
  const store = storeOf(env);
  const subs = await pushSubscriptionsOf(store, env.NOTIFY_KEY, ch.id);
  if (subs.length === 0) return { ok: false, status: null, answer: "no push subscription: enable push on a phone in Settings", retryable: false, retryAfterMs: null };
  const outcomes: SendOutcome[] = [];
  for (const { id, sub } of subs) {
    const o = await httpSend(await pushRequest(env, sub as PushSubscription, m), now);
    // RFC 8030 §7.3: 404 or 410 means the subscription is gone for good.
    if (!o.ok && (o.status === 404 || o.status === 410)) await store.deletePushSubscription(id);
    outcomes.push(o);
  }
  const ok = outcomes.find((o) => o.ok);
  if (ok) return { ...ok, answer: `${outcomes.filter((o) => o.ok).length}/${outcomes.length} subscriptions accepted` };
  return outcomes.find((o) => !o.ok && o.retryable) ?? outcomes[0]!;
}

// --- Entry point

/**
 * Sends `m` on channel `ch`. Never throws: a misconfiguration of this Worker (no VAPID keys, an
 * unreadable subscription) is a permanent failure whose answer says what to fix, so a delivery can never
 * stay leased and retried forever.
 */
export async function send(env: Env, ch: Channel, m: Message, now: () => number = Date.now): Promise<SendOutcome> {
  try {
    return await sendOnce(env, ch, m, now);
  } catch (err) {
    return { ok: false, status: null, answer: `not sent: ${String((err as Error)?.message ?? err).slice(0, 300)}`, retryable: false, retryAfterMs: null };
  }
}

async function sendOnce(env: Env, ch: Channel, m: Message, now: () => number): Promise<SendOutcome> {
  switch (ch.type) {
    case "ntfy":
      return httpSend(ntfyRequest(ch.config, m), now);
    case "webhook":
      return httpSend(await webhookRequest(ch.config, m), now);
    case "telegram":
      return httpSend(telegramRequest(ch.config, m), now);
    case "webpush":
      return sendPush(env, ch, m, now);
    case "email":
      return sendEmail(env, ch.config, m);
  }
}

export { b64url };
