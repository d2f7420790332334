/**
 * E-mail through Cloudflare's `send_email` binding (EMAIL): the message is built by mimetext (RFC 5322
 * headers, encoded words, multipart/alternative) and handed over raw as an EmailMessage. The browser
 * build of mimetext is used: it needs no Node modules. The sender is the channel's `from`, else
 * NOTIFY_EMAIL_FROM; Cloudflare only delivers to verified destination addresses.
 */
import { EmailMessage } from "cloudflare:email";
import { createMimeMessage } from "mimetext/browser";
import type { Env } from "../env.ts";
import type { Message, SendOutcome } from "./send.ts";

export function buildMime(from: string, to: string, m: Message): string {
  const msg = createMimeMessage();
  msg.setSender({ name: "Porchlight", addr: from });
  msg.setRecipient(to);
  msg.setSubject(m.title);
  msg.setHeader("X-Porchlight-Delivery", m.deliveryId);
  msg.addMessage({ contentType: "text/plain", data: `${m.body}\n\nOpen: ${m.clickUrl}\n${m.ackUrl ? `Acknowledge (one use): ${m.ackUrl}\n` : ""}` });
  return msg.asRaw();
}

export async function sendEmail(env: Env, config: Record<string, unknown>, m: Message): Promise<SendOutcome> {
  const from = (config.from as string | undefined) ?? env.NOTIFY_EMAIL_FROM;
  if (!env.EMAIL) return { ok: false, status: null, answer: "no send_email binding named EMAIL in wrangler.toml", retryable: false, retryAfterMs: null };
  if (!from) return { ok: false, status: null, answer: "no sender: set config.from or NOTIFY_EMAIL_FROM", retryable: false, retryAfterMs: null };
  const to = config.to as string;
  try {
    await env.EMAIL.send(new EmailMessage(from, to, buildMime(from, to, m)));
    return { ok: true, status: 250, answer: `accepted for ${to}` };
  } catch (err) {
    // The binding throws for a refused destination or sender (permanent) and for transient service errors; its
    // messages do not tell them apart reliably, so a failure is retried within the bounded attempts.
    return { ok: false, status: null, answer: String((err as Error)?.message ?? err).slice(0, 500), retryable: true, retryAfterMs: null };
  }
}
