/**
 * The notification model, pure: channel and blackout shapes as the API takes them (zod), redaction of
 * secrets for every answer, routing (does a channel want this alert?), and the reasons to notify.
 * No I/O here: the routes, the store and the Notifier Durable Object share these functions.
 */
import { z } from "zod";
import type { Severity } from "../rules/types.ts";
import { parseDuration } from "../rules/duration.ts";
import { isValidZone } from "../parse/time.ts";
import type { NotifyReason } from "../api-types.ts";

export const SEVERITY_ORDER: readonly Severity[] = ["informational", "low", "medium", "high", "critical"];
export const rankOf = (s: string): number => SEVERITY_ORDER.indexOf(s as Severity);

export const CHANNEL_TYPES = ["ntfy", "webhook", "telegram", "email", "webpush"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];
export const WEBHOOK_PRESETS = ["discord", "slack", "matrix", "gotify"] as const;
export type WebhookPreset = (typeof WEBHOOK_PRESETS)[number];

/** Why a delivery is made. `test` is POST /v1/channels/:id/test; `digest` ends a blackout; `daily` is the daily digest. */
export type Reason = NotifyReason;

/** The value that stands for a stored secret in every answer (and, sent back in a PATCH, keeps it). */
export const REDACTED = "***";

// --- Shapes (the API contract, issue 11)

const httpUrl = z
  .string()
  .max(2048)
  .refine((u) => {
    try {
      const p = new URL(u).protocol;
      return p === "https:" || p === "http:";
    } catch {
      return false;
    }
  }, "must be an http(s) URL");

const NtfyConfig = z.strictObject({
  url: httpUrl.default("https://ntfy.sh"),
  topic: z.string().regex(/^[-_A-Za-z0-9]{1,64}$/, "1-64 letters, digits, '-' or '_' (ntfy's topic rule)"),
  token: z.string().min(1).max(256).optional(),
});
const WebhookConfig = z.strictObject({
  url: httpUrl,
  secret: z.string().min(1).max(256).optional(),
  preset: z.enum(WEBHOOK_PRESETS).optional(),
});
const TelegramConfig = z.strictObject({
  bot_token: z.string().regex(/^\d{1,20}:[A-Za-z0-9_-]{10,100}$/, "must look like 123456:ABC-DEF... (from @BotFather)"),
  chat_id: z.union([z.string().regex(/^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$/, "a numeric chat id or @channelname"), z.number().int()]).transform(String),
  api_base: httpUrl.default("https://api.telegram.org"),
});
const EmailConfig = z.strictObject({
  to: z.email().max(254),
  from: z.email().max(254).optional(),
});
const WebpushConfig = z.strictObject({});

export const CONFIG_SCHEMAS = { ntfy: NtfyConfig, webhook: WebhookConfig, telegram: TelegramConfig, email: EmailConfig, webpush: WebpushConfig } as const;

/** Fields of each type's config that are secrets: sealed at rest, redacted in answers. */
export const SECRET_FIELDS: Record<ChannelType, readonly string[]> = {
  ntfy: ["token"],
  webhook: ["url", "secret"],
  telegram: ["bot_token"],
  email: [],
  webpush: [],
};

export const Filter = z.strictObject({
  min_severity: z.enum(SEVERITY_ORDER as [Severity, ...Severity[]]).optional(),
  rules: z.array(z.string().min(1).max(128)).max(200).default([]),
  tags: z.array(z.string().min(1).max(64)).max(50).default([]),
});
export type Filter = z.output<typeof Filter>;

const Repeat = z
  .union([z.string(), z.null()])
  .refine((r) => r === null || parseDuration(r) !== undefined, 'must be a duration like "4h" (or null: never repeat)');

/** POST /v1/channels. `config` is checked against the type's schema in `parseChannelConfig`. */
export const ChannelCreate = z.strictObject({
  name: z.string().trim().min(1).max(64),
  type: z.enum(CHANNEL_TYPES),
  enabled: z.boolean().default(true),
  config: z.record(z.string(), z.unknown()).default({}),
  filter: Filter.default({ rules: [], tags: [] }),
  repeat: Repeat.default(null),
  /** Also notify when an alert closes. */
  on_close: z.boolean().default(false),
  /** Send one digest of what a blackout held back, at its end. */
  blackout_digest: z.boolean().default(true),
  /** Optional daily digest: one message a day at `at` (local time in `timezone`) listing the last 24 h of alerts. */
  daily_digest: z.lazy(() => DailyDigest).nullable().default(null),
});
export type ChannelCreate = z.output<typeof ChannelCreate>;

/** PATCH /v1/channels/:id: any field but `type`; `config` fields merge into the stored ones. */
export const ChannelPatch = z.strictObject({
  name: z.string().trim().min(1).max(64).optional(),
  enabled: z.boolean().optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  filter: Filter.optional(),
  repeat: Repeat.optional(),
  on_close: z.boolean().optional(),
  blackout_digest: z.boolean().optional(),
  daily_digest: z.lazy(() => DailyDigest).nullable().optional(),
});

export type ConfigCheck = { ok: true; config: Record<string, unknown> } | { ok: false; field: string; message: string };

/** Validates a full config of `type` (after merging a patch). */
export function parseChannelConfig(type: ChannelType, config: Record<string, unknown>): ConfigCheck {
  const r = CONFIG_SCHEMAS[type].safeParse(config);
  if (r.success) return { ok: true, config: r.data as Record<string, unknown> };
  const issue = r.error.issues[0];
  return { ok: false, field: ["config", ...(issue?.path ?? [])].join("."), message: issue?.message ?? "invalid" };
}

/** Splits a validated config into its public part and its secrets (sealed by the store). */
export function splitSecrets(type: ChannelType, config: Record<string, unknown>): { pub: Record<string, unknown>; secrets: Record<string, unknown> } {
  const pub: Record<string, unknown> = {};
  const secrets: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) (SECRET_FIELDS[type].includes(k) ? secrets : pub)[k] = v;
  return { pub, secrets };
}

/**
 * A URL as an answer may show it: user and password, every path segment and every query value are
 * replaced by REDACTED (a webhook's path is its credential at Discord, Slack and most receivers, and
 * may start at the first segment). Scheme, host and port stay, so the user can tell channels apart.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const segs = u.pathname.split("/").filter(Boolean);
    const path = "/" + segs.map(() => REDACTED).join("/");
    const query = [...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=${REDACTED}`).join("&");
    return `${u.protocol}//${u.username || u.password ? `${REDACTED}@` : ""}${u.host}${path}${query ? "?" + query : ""}`;
  } catch {
    return REDACTED;
  }
}

/** `text` (an error message) with `url` redacted wherever it appears, and any Telegram bot token in it. */
export function scrubUrl(text: string, url: string): string {
  return text.split(url).join(redactUrl(url)).replace(/bot\d+:[A-Za-z0-9_-]+/g, "bot***");
}

/** The config an answer shows: public fields, and each stored secret as REDACTED (a webhook URL redacted by redactUrl). */
export function redactedConfig(type: ChannelType, pub: Record<string, unknown>, secretNames: readonly string[], secrets?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...pub };
  for (const k of secretNames) out[k] = k === "url" && secrets && typeof secrets.url === "string" ? redactUrl(secrets.url) : REDACTED;
  // A server URL is no secret, unless it carries credentials.
  if (typeof out.url === "string" && /@|\?/.test(out.url as string)) out.url = redactUrl(out.url as string);
  return out;
}

// --- Blackouts

export const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be "HH:MM" (24 h)');
const Zone = z.string().max(64).refine(isValidZone, "must be an IANA time zone such as Europe/Berlin").default("UTC");
export const DailyDigest = z.strictObject({ at: HHMM, timezone: Zone });
export type DailyDigest = z.output<typeof DailyDigest>;
const BlackoutFilter = z.strictObject({
  channels: z.array(z.string().min(1).max(64)).max(100).default([]),
  rules: z.array(z.string().min(1).max(128)).max(200).default([]),
  tags: z.array(z.string().min(1).max(64)).max(50).default([]),
});
const rfc3339 = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const t = typeof v === "number" ? v : Date.parse(v);
  if (!Number.isFinite(t)) {
    ctx.addIssue({ code: "custom", message: "must be an RFC 3339 time or ms since the epoch" });
    return z.NEVER;
  }
  return t;
});

export const BlackoutCreate = z.union([
  z
    .strictObject({ name: z.string().trim().min(1).max(64), filter: BlackoutFilter.default({ channels: [], rules: [], tags: [] }), start: rfc3339, end: rfc3339 })
    .refine((b) => b.end > b.start, { message: "end must be after start", path: ["end"] }),
  z.strictObject({
    name: z.string().trim().min(1).max(64),
    filter: BlackoutFilter.default({ channels: [], rules: [], tags: [] }),
    days: z.array(z.enum(DAYS)).min(1).max(7),
    from: HHMM,
    to: HHMM,
    timezone: Zone,
  }).refine((b) => b.from !== b.to, { message: "from and to must differ", path: ["to"] }),
]);
export type BlackoutCreate = z.output<typeof BlackoutCreate>;
export type BlackoutFilter = z.output<typeof BlackoutFilter>;

export interface Blackout {
  id: string;
  name: string;
  filter: BlackoutFilter;
  /** One-off window, ms. */
  start?: number;
  end?: number;
  /** Recurring window: local wall time in `timezone`, starting on each of `days` (a window may cross midnight). */
  days?: (typeof DAYS)[number][];
  from?: string;
  to?: string;
  timezone?: string;
}

// --- Routing

/**
 * The alert fields routing and messages read: a slice of the API's alert (AlertJson in
 * workers/store/alerts.ts, not imported here so that this module stays free of Workers types).
 */
export type AlertSummary = { id: string; rule_id: string; resource: string; severity: string; previous_severity?: string | null; status: string } & {
  title: string; text: string; duplicate_count: number; tags: string[]; first_seen: string; last_seen: string; updated_at: string;
};

export function summarizeAlert(a: AlertSummary): AlertSummary {
  return {
    id: a.id,
    rule_id: a.rule_id,
    resource: a.resource,
    severity: a.severity,
    previous_severity: a.previous_severity ?? null,
    status: a.status,
    title: a.title,
    text: a.text,
    duplicate_count: a.duplicate_count,
    tags: a.tags,
    first_seen: a.first_seen,
    last_seen: a.last_seen,
    updated_at: a.updated_at,
  };
}

export function matchesFilter(f: Filter, a: AlertSummary): boolean {
  if (f.min_severity && rankOf(a.severity) < rankOf(f.min_severity)) return false;
  if (f.rules.length && !f.rules.includes(a.rule_id)) return false;
  if (f.tags.length && !a.tags.some((t) => f.tags.includes(t))) return false;
  return true;
}

/** What the Notifier last saw of an alert (its own memory, so a replayed hand-off finds nothing new). */
export interface SeenState {
  severity: string;
  status: string;
  duplicate_count: number;
}

/**
 * Why an alert change deserves a message, comparing it with what was seen before (null: never seen).
 * A first sight of an open alert is `new`; open after closed/expired is `reopened`; a higher severity
 * is `severity`; a higher duplicate count of an open alert is `repeat` (each channel then applies its
 * `repeat` interval); a first closed state is `close` (only channels with on_close). Idempotent: the
 * same change seen twice yields nothing the second time.
 */
export function reasonFor(prev: SeenState | null, a: AlertSummary): Reason | null {
  const open = a.status === "open";
  if (!prev) return open ? "new" : null;
  const wasDown = prev.status === "closed" || prev.status === "expired";
  if (open && wasDown) return "reopened";
  if (open && rankOf(a.severity) > rankOf(prev.severity)) return "severity";
  if (a.status === "closed" && prev.status !== "closed") return "close";
  if (open && a.duplicate_count > prev.duplicate_count) return "repeat";
  return null;
}

/** Unique key of a delivery: at most one per (alert, channel, reason, occurrence of that reason). */
export function deliveryKey(alertId: string, channelId: string, reason: Reason, a: AlertSummary): string {
  const occurrence = reason === "new" ? a.first_seen : reason === "severity" ? `${a.severity}@${a.updated_at}` : reason === "repeat" ? String(a.duplicate_count) : a.updated_at;
  return `${alertId}|${channelId}|${reason}|${occurrence}`;
}

/** Text for HTML (Telegram's HTML mode, Matrix's formatted_body, the action page): &, <, > and " escaped. */
export const escapeHtml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The JSON a Web Push carries; web/public/sw.js reads exactly these fields. */
export function pushData(m: { title: string; body: string; clickUrl: string; ackUrl: string | null; alert: { id: string } | null; deliveryId: string; severity: string }): Record<string, string | null> {
  return { title: m.title, body: m.body, url: m.clickUrl, ack_url: m.ackUrl, alert_id: m.alert?.id ?? null, tag: m.alert?.id ?? m.deliveryId, severity: m.severity };
}
