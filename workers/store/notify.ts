/**
 * D1 queries of notifications: channels (secrets sealed with NOTIFY_KEY before they are written and
 * opened only in the Notifier or a test send), blackouts, Web Push subscriptions and the single-use
 * record of action URLs. Answers for the API are redacted here, so no route can leak a secret.
 */
import { seal, unseal } from "../notify/crypto.ts";
import {
  SECRET_FIELDS,
  redactedConfig,
  splitSecrets,
  type Blackout,
  type BlackoutCreate,
  type ChannelType,
  type DailyDigest,
  type Filter,
} from "../notify/model.ts";
import { formatDuration } from "../rules/duration.ts";

// --- Types

interface ChannelRow {
  id: string;
  name: string;
  type: string;
  enabled: number;
  config: string;
  secrets: string | null;
  filter: string;
  repeat_ms: number | null;
  on_close: number;
  blackout_digest: number;
  daily_digest: string | null;
  created_at: number;
  updated_at: number;
}

/** A channel with its secrets opened: only the Notifier and the test route hold one. */
export interface Channel {
  id: string;
  name: string;
  type: ChannelType;
  enabled: boolean;
  config: Record<string, unknown>;
  filter: Filter;
  repeatMs: number | null;
  onClose: boolean;
  blackoutDigest: boolean;
  dailyDigest: DailyDigest | null;
}

/** A channel as the API answers it (secrets redacted). */
export interface ChannelJson {
  id: string;
  name: string;
  type: ChannelType;
  enabled: boolean;
  config: Record<string, unknown>;
  filter: Filter;
  repeat: string | null;
  on_close: boolean;
  blackout_digest: boolean;
  daily_digest: DailyDigest | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = "id, name, type, enabled, config, secrets, filter, repeat_ms, on_close, blackout_digest, daily_digest, created_at, updated_at";

export function newId(prefix: string): string {
  const b = crypto.getRandomValues(new Uint8Array(9));
  return prefix + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

async function toJson(row: ChannelRow, key: string | undefined): Promise<ChannelJson> {
  const type = row.type as ChannelType;
  const secretNames = row.secrets ? Object.keys(JSON.parse(await unseal(key, row.secrets)) as object) : [];
  // Webhook URLs are secrets; their redacted form keeps the host (opened only to redact it).
  const secrets = row.secrets && type === "webhook" ? (JSON.parse(await unseal(key, row.secrets)) as Record<string, unknown>) : undefined;
  return {
    id: row.id,
    name: row.name,
    type,
    enabled: !!row.enabled,
    config: redactedConfig(type, JSON.parse(row.config) as Record<string, unknown>, secretNames, secrets),
    filter: JSON.parse(row.filter) as Filter,
    repeat: row.repeat_ms === null ? null : formatDuration(row.repeat_ms),
    on_close: !!row.on_close,
    blackout_digest: !!row.blackout_digest,
    daily_digest: row.daily_digest ? (JSON.parse(row.daily_digest) as DailyDigest) : null,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

async function open(row: ChannelRow, key: string | undefined): Promise<Channel> {
  const secrets = row.secrets ? (JSON.parse(await unseal(key, row.secrets)) as Record<string, unknown>) : {};
  return {
    id: row.id,
    name: row.name,
    type: row.type as ChannelType,
    enabled: !!row.enabled,
    config: { ...(JSON.parse(row.config) as Record<string, unknown>), ...secrets },
    filter: JSON.parse(row.filter) as Filter,
    repeatMs: row.repeat_ms,
    onClose: !!row.on_close,
    blackoutDigest: !!row.blackout_digest,
    dailyDigest: row.daily_digest ? (JSON.parse(row.daily_digest) as DailyDigest) : null,
  };
}

// --- Channels

/** What creating or updating a channel writes (secrets still open: rowValues seals them). */
export type ChannelWrite = Omit<Channel, "id">;

async function rowValues(key: string | undefined, w: ChannelWrite): Promise<unknown[]> {
  const { pub, secrets } = splitSecrets(w.type, w.config);
  const sealed = Object.keys(secrets).length ? await seal(key, JSON.stringify(secrets)) : null;
  return [w.name, w.type, w.enabled ? 1 : 0, JSON.stringify(pub), sealed, JSON.stringify(w.filter), w.repeatMs, w.onClose ? 1 : 0, w.blackoutDigest ? 1 : 0, w.dailyDigest ? JSON.stringify(w.dailyDigest) : null];
}

export async function createChannel(db: D1Database, key: string | undefined, w: ChannelWrite, now: number): Promise<ChannelJson> {
  const id = newId("ch_");
  const row = await db
    .prepare(`INSERT INTO notify_channels (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) RETURNING ${COLUMNS}`)
    .bind(id, ...(await rowValues(key, w)), now)
    .first<ChannelRow>();
  return toJson(row!, key);
}

export async function updateChannel(db: D1Database, key: string | undefined, id: string, w: ChannelWrite, now: number): Promise<ChannelJson | null> {
  const v = await rowValues(key, w);
  const row = await db
    .prepare(
      `UPDATE notify_channels SET name = ?2, enabled = ?4, config = ?5, secrets = ?6, filter = ?7, repeat_ms = ?8, on_close = ?9, blackout_digest = ?10, daily_digest = ?11, updated_at = ?12
       WHERE id = ?1 AND type = ?3 RETURNING ${COLUMNS}`,
    )
    .bind(id, ...v, now)
    .first<ChannelRow>();
  return row ? toJson(row, key) : null;
}

export async function listChannels(db: D1Database, key: string | undefined): Promise<ChannelJson[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM notify_channels ORDER BY created_at, id`).all<ChannelRow>();
  return Promise.all(results.map((r) => toJson(r, key)));
}

export async function getChannelJson(db: D1Database, key: string | undefined, id: string): Promise<ChannelJson | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM notify_channels WHERE id = ?1`).bind(id).first<ChannelRow>();
  return row ? toJson(row, key) : null;
}

/** The channel with secrets opened (for sending and for merging a PATCH). */
export async function loadChannel(db: D1Database, key: string | undefined, id: string): Promise<Channel | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM notify_channels WHERE id = ?1`).bind(id).first<ChannelRow>();
  return row ? open(row, key) : null;
}

export async function loadEnabledChannels(db: D1Database, key: string | undefined): Promise<Channel[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM notify_channels WHERE enabled = 1 ORDER BY id`).all<ChannelRow>();
  return Promise.all(results.map((r) => open(r, key)));
}

export async function deleteChannel(db: D1Database, id: string): Promise<boolean> {
  const res = await db.batch([
    db.prepare("DELETE FROM notify_push_subscriptions WHERE channel_id = ?1").bind(id),
    db.prepare("DELETE FROM notify_channels WHERE id = ?1").bind(id),
  ]);
  return (res[1]!.meta.changes ?? 0) > 0;
}

export const secretFieldsOf = (type: ChannelType): readonly string[] => SECRET_FIELDS[type];

// --- Blackouts

interface BlackoutRow {
  id: string;
  name: string;
  definition: string;
  created_at: number;
}

const toBlackout = (r: BlackoutRow): Blackout => ({ id: r.id, ...(JSON.parse(r.definition) as Omit<Blackout, "id">) });

export async function createBlackout(db: D1Database, b: BlackoutCreate, now: number): Promise<Blackout> {
  const id = newId("bo_");
  await db.prepare("INSERT INTO notify_blackouts (id, name, definition, created_at) VALUES (?1, ?2, ?3, ?4)").bind(id, b.name, JSON.stringify(b), now).run();
  return { id, ...b };
}

export async function listBlackouts(db: D1Database): Promise<Blackout[]> {
  const { results } = await db.prepare("SELECT id, name, definition, created_at FROM notify_blackouts ORDER BY created_at, id").all<BlackoutRow>();
  return results.map(toBlackout);
}

export async function getBlackout(db: D1Database, id: string): Promise<Blackout | null> {
  const r = await db.prepare("SELECT id, name, definition, created_at FROM notify_blackouts WHERE id = ?1").bind(id).first<BlackoutRow>();
  return r ? toBlackout(r) : null;
}

export async function deleteBlackout(db: D1Database, id: string): Promise<boolean> {
  const res = await db.prepare("DELETE FROM notify_blackouts WHERE id = ?1").bind(id).run();
  return (res.meta.changes ?? 0) > 0;
}

// --- Web Push subscriptions

export interface PushSubscriptionJson {
  endpoint: string;
  expirationTime: number | null;
  keys: { p256dh: string; auth: string };
}

/** Adds (or replaces, by endpoint) a subscription of channel `channelId`. Returns its id. */
export async function addPushSubscription(db: D1Database, key: string | undefined, channelId: string, sub: PushSubscriptionJson, endpointHash: string, now: number): Promise<string> {
  const id = newId("ps_");
  await db.batch([
    db.prepare("DELETE FROM notify_push_subscriptions WHERE endpoint_hash = ?1").bind(endpointHash),
    db
      .prepare("INSERT INTO notify_push_subscriptions (id, channel_id, endpoint_hash, subscription, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
      .bind(id, channelId, endpointHash, await seal(key, JSON.stringify(sub)), now),
  ]);
  return id;
}

export async function pushSubscriptionsOf(db: D1Database, key: string | undefined, channelId: string): Promise<{ id: string; sub: PushSubscriptionJson }[]> {
  const { results } = await db
    .prepare("SELECT id, subscription FROM notify_push_subscriptions WHERE channel_id = ?1 ORDER BY id")
    .bind(channelId)
    .all<{ id: string; subscription: string }>();
  return Promise.all(results.map(async (r) => ({ id: r.id, sub: JSON.parse(await unseal(key, r.subscription)) as PushSubscriptionJson })));
}

export async function countPushSubscriptions(db: D1Database, channelId: string): Promise<number> {
  const r = await db.prepare("SELECT COUNT(*) AS n FROM notify_push_subscriptions WHERE channel_id = ?1").bind(channelId).first<{ n: number }>();
  return r?.n ?? 0;
}

export async function deletePushSubscription(db: D1Database, id: string): Promise<boolean> {
  const res = await db.prepare("DELETE FROM notify_push_subscriptions WHERE id = ?1").bind(id).run();
  return (res.meta.changes ?? 0) > 0;
}

// --- Action URLs (single use)

/**
 * Records the use of an action URL's nonce. True the first time, false ever after (the primary key
 * makes two concurrent uses race safely: one insert wins). Expired rows are pruned on the way.
 */
export async function useActionNonce(db: D1Database, nonce: string, alertId: string, expiresAt: number, now: number): Promise<boolean> {
  const res = await db.batch([
    db.prepare("DELETE FROM notify_action_uses WHERE expires_at < ?1").bind(now),
    db.prepare("INSERT OR IGNORE INTO notify_action_uses (nonce, alert_id, used_at, expires_at) VALUES (?1, ?2, ?3, ?4)").bind(nonce, alertId, now, expiresAt),
  ]);
  return (res[1]!.meta.changes ?? 0) === 1;
}
