/**
 * Channels and push subscriptions with their secrets: sealed with NOTIFY_KEY (crypto.ts) before they
 * reach the Store (NotifyStore, workers/store/notify.ts, which holds only sealed text) and opened only
 * in the Notifier or a test send. Answers for the API are redacted here, so no route can leak a secret.
 */
import { formatDuration } from "../rules/duration.ts";
import type { NotifyStore, StoredChannel } from "../store/notify.ts";
import { seal, unseal } from "./crypto.ts";
import { redactedConfig, splitSecrets, type ChannelType, type DailyDigest, type Filter } from "./model.ts";

// --- Types

interface ChannelCommon {
  id: string;
  name: string;
  type: ChannelType;
  enabled: boolean;
  config: Record<string, unknown>;
  filter: Filter;
}

/** A channel with its secrets opened: only the Notifier and the test route hold one. */
export interface Channel extends ChannelCommon {
  repeatMs: number | null;
  onClose: boolean;
  blackoutDigest: boolean;
  dailyDigest: DailyDigest | null;
}

/** A channel as the API answers it (secrets redacted in `config`). */
export interface ChannelJson extends ChannelCommon {
  repeat: string | null;
  on_close: boolean;
  blackout_digest: boolean;
  daily_digest: DailyDigest | null;
  created_at: string;
  updated_at: string;
}

/** What creating or updating a channel writes (secrets still open: sealed here before the store). */
export type ChannelWrite = Omit<Channel, "id">;

export interface PushSubscriptionJson {
  endpoint: string;
  expirationTime: number | null;
  keys: { p256dh: string; auth: string };
}

// --- Sealing and redaction

async function toJson(ch: StoredChannel, key: string | undefined): Promise<ChannelJson> {
  const opened = ch.secrets ? (JSON.parse(await unseal(key, ch.secrets)) as Record<string, unknown>) : null;
  // Webhook URLs are secrets; their redacted form keeps the host (opened only to redact it).
  const secrets = opened && ch.type === "webhook" ? opened : undefined;
  return {
    id: ch.id,
    name: ch.name,
    type: ch.type,
    enabled: ch.enabled,
    config: redactedConfig(ch.type, ch.config, opened ? Object.keys(opened) : [], secrets),
    filter: ch.filter,
    repeat: ch.repeatMs === null ? null : formatDuration(ch.repeatMs),
    on_close: ch.onClose,
    blackout_digest: ch.blackoutDigest,
    daily_digest: ch.dailyDigest,
    created_at: new Date(ch.createdAt).toISOString(),
    updated_at: new Date(ch.updatedAt).toISOString(),
  };
}

async function open(ch: StoredChannel, key: string | undefined): Promise<Channel> {
  const secrets = ch.secrets ? (JSON.parse(await unseal(key, ch.secrets)) as Record<string, unknown>) : {};
  return {
    id: ch.id,
    name: ch.name,
    type: ch.type,
    enabled: ch.enabled,
    config: { ...ch.config, ...secrets },
    filter: ch.filter,
    repeatMs: ch.repeatMs,
    onClose: ch.onClose,
    blackoutDigest: ch.blackoutDigest,
    dailyDigest: ch.dailyDigest,
  };
}

async function sealed(key: string | undefined, w: ChannelWrite) {
  const { pub, secrets } = splitSecrets(w.type, w.config);
  return { ...w, config: pub, secrets: Object.keys(secrets).length ? await seal(key, JSON.stringify(secrets)) : null };
}

// --- Channels

export async function createChannel(store: NotifyStore, key: string | undefined, w: ChannelWrite, now: number): Promise<ChannelJson> {
  return toJson(await store.createChannel(await sealed(key, w), now), key);
}

export async function updateChannel(store: NotifyStore, key: string | undefined, id: string, w: ChannelWrite, now: number): Promise<ChannelJson | null> {
  const ch = await store.updateChannel(id, await sealed(key, w), now);
  return ch ? toJson(ch, key) : null;
}

export async function listChannels(store: NotifyStore, key: string | undefined): Promise<ChannelJson[]> {
  return Promise.all((await store.listChannels()).map((c) => toJson(c, key)));
}

export async function getChannelJson(store: NotifyStore, key: string | undefined, id: string): Promise<ChannelJson | null> {
  const ch = await store.getChannel(id);
  return ch ? toJson(ch, key) : null;
}

/** The channel with secrets opened (for sending and for merging a PATCH). */
export async function loadChannel(store: NotifyStore, key: string | undefined, id: string): Promise<Channel | null> {
  const ch = await store.getChannel(id);
  return ch ? open(ch, key) : null;
}

export async function loadEnabledChannels(store: NotifyStore, key: string | undefined): Promise<Channel[]> {
  return Promise.all((await store.listEnabledChannels()).map((c) => open(c, key)));
}

// --- Web Push subscriptions

/** Adds (or replaces, by endpoint) a subscription of channel `channelId`, sealed. Returns its id. */
export async function addPushSubscription(store: NotifyStore, key: string | undefined, channelId: string, sub: PushSubscriptionJson, endpointHash: string, now: number): Promise<string> {
  return store.addPushSubscription(channelId, await seal(key, JSON.stringify(sub)), endpointHash, now);
}

export async function pushSubscriptionsOf(store: NotifyStore, key: string | undefined, channelId: string): Promise<{ id: string; sub: PushSubscriptionJson }[]> {
  return Promise.all((await store.pushSubscriptions(channelId)).map(async (r) => ({ id: r.id, sub: JSON.parse(await unseal(key, r.sealed)) as PushSubscriptionJson })));
}
