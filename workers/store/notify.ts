/**
 * The notify_* tables over the `Sql` port, reached through the Store (NotifyStore): channels,
 * blackouts, Web Push subscriptions and the single-use record of action URLs. The store holds secrets
 * only sealed: a channel's secret fields and a push subscription are sealed with NOTIFY_KEY before they
 * reach it and opened after (workers/notify/channels.ts); nothing here sees a key.
 *
 * Writers: notify_channels and notify_blackouts are written only by the channels API
 * (routes/channels.ts; the push subscribe route creates a webpush channel through it too);
 * notify_push_subscriptions by the subscribe route, and rows go with their channel, or when the push
 * service answers that a subscription is gone (404/410, the Notifier's send, `deletePushSubscription`);
 * notify_action_uses only by the action route (routes/notify-actions.ts). Delivery state is the
 * Notifier object's own SQLite, not these tables.
 */
import type { Blackout, BlackoutCreate, ChannelType, DailyDigest, Filter } from "../notify/model.ts";
import { one, rows, stmt } from "./sql.ts";
import type { Sql } from "./types.ts";

// --- Types

/** A channel as stored: its public config decoded, its secret fields still sealed. Times in wall ms. */
export interface StoredChannel {
  id: string;
  name: string;
  type: ChannelType;
  enabled: boolean;
  /** The config without its secret fields (workers/notify/model.ts splitSecrets). */
  config: Record<string, unknown>;
  /** The secret fields as one sealed JSON object (workers/notify/crypto.ts), null when there are none. */
  secrets: string | null;
  filter: Filter;
  repeatMs: number | null;
  onClose: boolean;
  blackoutDigest: boolean;
  dailyDigest: DailyDigest | null;
  createdAt: number;
  updatedAt: number;
}

/** What creating or updating a channel writes (secrets already sealed). */
export type ChannelRecord = Omit<StoredChannel, "id" | "createdAt" | "updatedAt">;

/** A push subscription as stored: its id and the sealed subscription JSON. */
export interface StoredPushSubscription {
  id: string;
  sealed: string;
}

export interface NotifyStore {
  /** Stores a new channel under a fresh `ch_` id and returns it as stored. */
  createChannel(rec: ChannelRecord, now: number): Promise<StoredChannel>;
  /** Replaces every field but the type (the row must have `rec.type`); null when no such channel of that type. */
  updateChannel(id: string, rec: ChannelRecord, now: number): Promise<StoredChannel | null>;
  /** Every channel, oldest first. */
  listChannels(): Promise<StoredChannel[]>;
  /** The enabled channels, by id (what the Notifier fans out to). */
  listEnabledChannels(): Promise<StoredChannel[]>;
  getChannel(id: string): Promise<StoredChannel | null>;
  /** Deletes a channel and its push subscriptions (one transaction); false when there was none. */
  deleteChannel(id: string): Promise<boolean>;

  /** Stores a blackout under a fresh `bo_` id. */
  createBlackout(b: BlackoutCreate, now: number): Promise<Blackout>;
  /** Every blackout, oldest first. */
  listBlackouts(): Promise<Blackout[]>;
  getBlackout(id: string): Promise<Blackout | null>;
  deleteBlackout(id: string): Promise<boolean>;

  /** Adds a subscription of `channelId` under a fresh `ps_` id, replacing any with the same endpoint hash. */
  addPushSubscription(channelId: string, sealed: string, endpointHash: string, now: number): Promise<string>;
  /** The subscriptions of a channel, by id. */
  pushSubscriptions(channelId: string): Promise<StoredPushSubscription[]>;
  countPushSubscriptions(channelId: string): Promise<number>;
  deletePushSubscription(id: string): Promise<boolean>;

  /**
   * Records the use of an action URL's nonce. True the first time, false ever after (the primary key
   * makes two concurrent uses race safely: one insert wins). Rows expired before `now` are pruned on the way.
   */
  useActionNonce(nonce: string, alertId: string, expiresAt: number, now: number): Promise<boolean>;
}

// --- Queries

const COLUMNS = "id, name, type, enabled, config, secrets, filter, repeat_ms, on_close, blackout_digest, daily_digest, created_at, updated_at";
const BLACKOUT_COLUMNS = "id, name, definition, created_at";

/** A random id: `prefix` and 18 hex digits (what the routes' id patterns accept). */
export function newId(prefix: string): string {
  const b = crypto.getRandomValues(new Uint8Array(9));
  return prefix + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

const channelOf = (r: Record<string, unknown>): StoredChannel => ({
  id: String(r.id),
  name: String(r.name),
  type: String(r.type) as ChannelType,
  enabled: !!r.enabled,
  config: JSON.parse(String(r.config)) as Record<string, unknown>,
  secrets: r.secrets == null ? null : String(r.secrets),
  filter: JSON.parse(String(r.filter)) as Filter,
  repeatMs: r.repeat_ms == null ? null : Number(r.repeat_ms),
  onClose: !!r.on_close,
  blackoutDigest: !!r.blackout_digest,
  dailyDigest: r.daily_digest ? (JSON.parse(String(r.daily_digest)) as DailyDigest) : null,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** The bound values ?2..?11 of a channel write, in COLUMNS order after the id. */
const recordValues = (w: ChannelRecord): unknown[] => [
  w.name, w.type, w.enabled ? 1 : 0, JSON.stringify(w.config), w.secrets, JSON.stringify(w.filter), w.repeatMs,
  w.onClose ? 1 : 0, w.blackoutDigest ? 1 : 0, w.dailyDigest ? JSON.stringify(w.dailyDigest) : null,
];

const blackoutOf = (r: Record<string, unknown>): Blackout => ({ id: String(r.id), ...(JSON.parse(String(r.definition)) as Omit<Blackout, "id">) });

export const notifyQueries = (sql: Sql): NotifyStore => ({
  async createChannel(rec, now) {
    const r = await one(
      sql,
      `INSERT INTO notify_channels (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) RETURNING ${COLUMNS}`,
      newId("ch_"), ...recordValues(rec), now,
    );
    return channelOf(r.rows[0]!);
  },
  async updateChannel(id, rec, now) {
    const r = await one(
      sql,
      `UPDATE notify_channels SET name = ?2, enabled = ?4, config = ?5, secrets = ?6, filter = ?7, repeat_ms = ?8, on_close = ?9, blackout_digest = ?10, daily_digest = ?11, updated_at = ?12
       WHERE id = ?1 AND type = ?3 RETURNING ${COLUMNS}`,
      id, ...recordValues(rec), now,
    );
    return r.rows[0] ? channelOf(r.rows[0]) : null;
  },
  async listChannels() {
    return (await rows<Record<string, unknown>>(sql, `SELECT ${COLUMNS} FROM notify_channels ORDER BY created_at, id`)).map(channelOf);
  },
  async listEnabledChannels() {
    return (await rows<Record<string, unknown>>(sql, `SELECT ${COLUMNS} FROM notify_channels WHERE enabled = 1 ORDER BY id`)).map(channelOf);
  },
  async getChannel(id) {
    const [r] = await rows<Record<string, unknown>>(sql, `SELECT ${COLUMNS} FROM notify_channels WHERE id = ?1`, id);
    return r ? channelOf(r) : null;
  },
  async deleteChannel(id) {
    const res = await sql.batch([
      stmt("DELETE FROM notify_push_subscriptions WHERE channel_id = ?1", id),
      stmt("DELETE FROM notify_channels WHERE id = ?1", id),
    ]);
    return res[1]!.changes > 0;
  },

  async createBlackout(b, now) {
    const id = newId("bo_");
    await one(sql, `INSERT INTO notify_blackouts (${BLACKOUT_COLUMNS}) VALUES (?1, ?2, ?3, ?4)`, id, b.name, JSON.stringify(b), now);
    return { id, ...b };
  },
  async listBlackouts() {
    return (await rows<Record<string, unknown>>(sql, `SELECT ${BLACKOUT_COLUMNS} FROM notify_blackouts ORDER BY created_at, id`)).map(blackoutOf);
  },
  async getBlackout(id) {
    const [r] = await rows<Record<string, unknown>>(sql, `SELECT ${BLACKOUT_COLUMNS} FROM notify_blackouts WHERE id = ?1`, id);
    return r ? blackoutOf(r) : null;
  },
  async deleteBlackout(id) {
    return (await one(sql, "DELETE FROM notify_blackouts WHERE id = ?1", id)).changes > 0;
  },

  async addPushSubscription(channelId, sealed, endpointHash, now) {
    const id = newId("ps_");
    await sql.batch([
      stmt("DELETE FROM notify_push_subscriptions WHERE endpoint_hash = ?1", endpointHash),
      stmt("INSERT INTO notify_push_subscriptions (id, channel_id, endpoint_hash, subscription, created_at) VALUES (?1, ?2, ?3, ?4, ?5)", id, channelId, endpointHash, sealed, now),
    ]);
    return id;
  },
  async pushSubscriptions(channelId) {
    const r = await rows<{ id: string; subscription: string }>(sql, "SELECT id, subscription FROM notify_push_subscriptions WHERE channel_id = ?1 ORDER BY id", channelId);
    return r.map((x) => ({ id: String(x.id), sealed: String(x.subscription) }));
  },
  async countPushSubscriptions(channelId) {
    const [r] = await rows<{ n: number }>(sql, "SELECT COUNT(*) AS n FROM notify_push_subscriptions WHERE channel_id = ?1", channelId);
    return Number(r?.n ?? 0);
  },
  async deletePushSubscription(id) {
    return (await one(sql, "DELETE FROM notify_push_subscriptions WHERE id = ?1", id)).changes > 0;
  },

  async useActionNonce(nonce, alertId, expiresAt, now) {
    const res = await sql.batch([
      stmt("DELETE FROM notify_action_uses WHERE expires_at < ?1", now),
      stmt("INSERT OR IGNORE INTO notify_action_uses (nonce, alert_id, used_at, expires_at) VALUES (?1, ?2, ?3, ?4)", nonce, alertId, now, expiresAt),
    ]);
    return res[1]!.changes === 1;
  },
});
