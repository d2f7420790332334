/**
 * Routes of notifications (issue 11): /v1/channels (CRUD, test, deliveries), /v1/blackouts and
 * /v1/push (the VAPID public key, subscriptions). Reads need `read`, changes `admin`. Secrets are
 * sealed before the store and never answered (workers/notify/channels.ts, model.ts redaction).
 */
import type { Hono } from "hono";
import { z } from "zod";
import { requireScope, sha256Hex, type AppEnv } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { parseDuration } from "../rules/duration.ts";
import { MissingNotifyKey } from "../notify/crypto.ts";
import { BlackoutCreate, ChannelCreate, ChannelPatch, REDACTED, parseChannelConfig, type ChannelType } from "../notify/model.ts";
import { nextStart, activeWindow } from "../notify/blackout.ts";
import { notifierStub } from "../notify/outbox.ts";
import { addPushSubscription, createChannel, getChannelJson, listChannels, loadChannel, updateChannel, type ChannelWrite } from "../notify/channels.ts";
import { storeOf } from "../store/d1.ts";
import type { Blackout } from "../notify/model.ts";
import { parseJsonBody } from "./json-body.ts";

const ID = /^(ch|bo|ps)_[0-9a-f]{18}$/;
const DELIVERIES_MAX_LIMIT = 500;

function checkId(id: string, what: string): string {
  if (!ID.test(id)) throw new PorchlightError("not_found", `No ${what} "${id.slice(0, 64)}"`);
  return id;
}

function validConfig(type: ChannelType, config: Record<string, unknown>): Record<string, unknown> {
  const r = parseChannelConfig(type, config);
  if (!r.ok) throw new PorchlightError("validation_failed", `${r.field}: ${r.message}`, { field: r.field });
  return r.config;
}

/** NOTIFY_KEY missing is a deployment error the user must see as such (503 with the fix), not a 500. */
async function withKey<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof MissingNotifyKey) throw new PorchlightError("unavailable", err.message);
    throw err;
  }
}

const PushSubscriptionBody = z.strictObject({
  subscription: z.object({
    // RFC 8030: push resources are https.
    endpoint: z.url({ protocol: /^https$/ }).max(2048),
    expirationTime: z.number().nullable().optional(),
    keys: z.object({ p256dh: z.string().regex(/^[A-Za-z0-9_-]{80,100}=*$/, "a base64url P-256 point"), auth: z.string().regex(/^[A-Za-z0-9_-]{16,32}=*$/, "a base64url secret") }),
  }),
  /** The webpush channel to attach to; without it, one is created (named `name`). */
  channel_id: z.string().optional(),
  name: z.string().trim().min(1).max(64).default("This phone"),
});

function blackoutJson(b: Blackout, now: number) {
  const active = activeWindow(b, now);
  return { ...b, ...(b.start !== undefined ? { start: new Date(b.start).toISOString(), end: new Date(b.end!).toISOString() } : {}), active: active !== null, active_until: active ? new Date(active.end).toISOString() : null, next_start: iso(nextStart(b, now)) };
}
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Tells the Notifier a channel's daily digest changed (set, moved, removed with the channel). The
 * channel is already saved: a failure here is logged, and the digest is re-armed on the next change.
 */
async function syncDaily(env: AppEnv["Bindings"], channelId: string): Promise<void> {
  try {
    await notifierStub(env).syncDaily(channelId);
  } catch (e) {
    console.error(JSON.stringify({ level: "error", where: "channels.syncDaily", channel: channelId, error: String(e) }));
  }
}

export function registerChannelRoutes(app: Hono<AppEnv>): void {
  // --- Channels

  app.post("/v1/channels", requireScope("admin"), async (c) => {
    const body = await parseJsonBody(c.req.raw, ChannelCreate);
    const w: ChannelWrite = {
      name: body.name,
      type: body.type,
      enabled: body.enabled,
      config: validConfig(body.type, body.config),
      filter: body.filter,
      repeatMs: body.repeat === null ? null : parseDuration(body.repeat)!,
      onClose: body.on_close,
      blackoutDigest: body.blackout_digest,
      dailyDigest: body.daily_digest,
    };
    const created = await withKey(() => createChannel(storeOf(c.env), c.env.NOTIFY_KEY, w, Date.now()));
    await syncDaily(c.env, created.id);
    return c.json(created, 201);
  });

  app.get("/v1/channels", requireScope("read"), async (c) => c.json({ channels: await withKey(() => listChannels(storeOf(c.env), c.env.NOTIFY_KEY)) }));

  app.get("/v1/channels/:id", requireScope("read"), async (c) => {
    const id = checkId(c.req.param("id"), "channel");
    const ch = await withKey(() => getChannelJson(storeOf(c.env), c.env.NOTIFY_KEY, id));
    if (!ch) throw new PorchlightError("not_found", `No channel "${id}"`);
    const extra = ch.type === "webpush" ? { subscriptions: await storeOf(c.env).countPushSubscriptions(id) } : {};
    return c.json({ ...ch, ...extra });
  });

  app.patch("/v1/channels/:id", requireScope("admin"), async (c) => {
    const id = checkId(c.req.param("id"), "channel");
    const patch = await parseJsonBody(c.req.raw, ChannelPatch);
    return withKey(async () => {
      const cur = await loadChannel(storeOf(c.env), c.env.NOTIFY_KEY, id);
      if (!cur) throw new PorchlightError("not_found", `No channel "${id}"`);
      // Config fields merge; a secret sent back as REDACTED (or a redacted URL) keeps the stored value; null removes an optional field.
      const config = { ...cur.config };
      for (const [k, v] of Object.entries(patch.config ?? {})) {
        if (typeof v === "string" && v.includes(REDACTED) && k in cur.config) continue;
        if (v === null) delete config[k];
        else config[k] = v;
      }
      const w: ChannelWrite = {
        name: patch.name ?? cur.name,
        type: cur.type,
        enabled: patch.enabled ?? cur.enabled,
        config: validConfig(cur.type, config),
        filter: patch.filter ?? cur.filter,
        repeatMs: patch.repeat === undefined ? cur.repeatMs : patch.repeat === null ? null : parseDuration(patch.repeat)!,
        onClose: patch.on_close ?? cur.onClose,
        blackoutDigest: patch.blackout_digest ?? cur.blackoutDigest,
        dailyDigest: patch.daily_digest === undefined ? cur.dailyDigest : patch.daily_digest,
      };
      const updated = await updateChannel(storeOf(c.env), c.env.NOTIFY_KEY, id, w, Date.now());
      if (!updated) throw new PorchlightError("not_found", `No channel "${id}"`);
      await syncDaily(c.env, id);
      return c.json(updated);
    });
  });

  app.delete("/v1/channels/:id", requireScope("admin"), async (c) => {
    const id = checkId(c.req.param("id"), "channel");
    if (!(await storeOf(c.env).deleteChannel(id))) throw new PorchlightError("not_found", `No channel "${id}"`);
    await syncDaily(c.env, id);
    return c.json({ deleted: id });
  });

  app.post("/v1/channels/:id/test", requireScope("admin"), async (c) => {
    const id = checkId(c.req.param("id"), "channel");
    const r = await withKey(async () => notifierStub(c.env).testChannel(id));
    if (!r) throw new PorchlightError("not_found", `No channel "${id}"`);
    const o = r.outcome;
    return c.json({ ok: o.ok, status: o.status, answer: o.answer, ...(o.ok ? {} : { retryable: o.retryable }), delivery: r.delivery });
  });

  app.get("/v1/channels/:id/deliveries", requireScope("read"), async (c) => {
    const id = checkId(c.req.param("id"), "channel");
    const limitText = c.req.query("limit");
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > DELIVERIES_MAX_LIMIT)
      throw new PorchlightError("validation_failed", `limit: must be an integer from 1 to ${DELIVERIES_MAX_LIMIT}`, { field: "limit" });
    return c.json({ deliveries: await notifierStub(c.env).deliveries({ channelId: id, limit }) });
  });

  // --- Web Push

  app.get("/v1/push/key", requireScope("read"), async (c) => {
    if (!c.env.VAPID_PUBLIC_KEY) throw new PorchlightError("unavailable", "Web Push is not configured: set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY (npm start generates them)");
    return c.json({ public_key: c.env.VAPID_PUBLIC_KEY });
  });

  app.post("/v1/push/subscriptions", requireScope("admin"), async (c) => {
    const body = await parseJsonBody(c.req.raw, PushSubscriptionBody);
    return withKey(async () => {
      let channelId = body.channel_id;
      if (channelId) {
        const ch = await getChannelJson(storeOf(c.env), c.env.NOTIFY_KEY, checkId(channelId, "channel"));
        if (!ch) throw new PorchlightError("not_found", `No channel "${channelId}"`);
        if (ch.type !== "webpush") throw new PorchlightError("validation_failed", `channel_id: "${channelId}" is a ${ch.type} channel, not webpush`, { field: "channel_id" });
      } else {
        const ch = await createChannel(storeOf(c.env), c.env.NOTIFY_KEY, { name: body.name, type: "webpush", enabled: true, config: {}, filter: { rules: [], tags: [] }, repeatMs: null, onClose: false, blackoutDigest: true, dailyDigest: null }, Date.now());
        channelId = ch.id;
      }
      const sub = { endpoint: body.subscription.endpoint, expirationTime: body.subscription.expirationTime ?? null, keys: body.subscription.keys };
      const id = await addPushSubscription(storeOf(c.env), c.env.NOTIFY_KEY, channelId, sub, await sha256Hex(sub.endpoint), Date.now());
      return c.json({ id, channel_id: channelId }, 201);
    });
  });

  // --- Blackouts

  app.post("/v1/blackouts", requireScope("admin"), async (c) => {
    const body = await parseJsonBody(c.req.raw, BlackoutCreate);
    return c.json(blackoutJson(await storeOf(c.env).createBlackout(body, Date.now()), Date.now()), 201);
  });

  app.get("/v1/blackouts", requireScope("read"), async (c) => {
    const now = Date.now();
    return c.json({ blackouts: (await storeOf(c.env).listBlackouts()).map((b) => blackoutJson(b, now)) });
  });

  app.delete("/v1/blackouts/:id", requireScope("admin"), async (c) => {
    const id = checkId(c.req.param("id"), "blackout");
    if (!(await storeOf(c.env).deleteBlackout(id))) throw new PorchlightError("not_found", `No blackout "${id}"`);
    return c.json({ deleted: id });
  });
}
