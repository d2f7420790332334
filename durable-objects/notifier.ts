/**
 * Notifier: the durable outbox of notifications (one object, named `notifier`). The alert lifecycle
 * hands it every alert change (workers/notify/outbox.ts); it decides which channels want a message
 * and why, and sends from its alarm, never inside the ingest request.
 *
 * Storage (SQLite, created idempotently in the constructor):
 * - schedule(id, kind, payload, time): every timer of this object (a send or a retry of a delivery,
 *   a blackout's digest). ONE alarm, always at MIN(time), re-armed only when that changes.
 * - deliveries(id, ...): one row per (alert, channel, reason, occurrence of the reason): the primary key
 *   is the delivery key (model.ts deliveryKey), so a replayed hand-off inserts nothing new.
 * - seen(alert_id, severity, status, duplicate_count, updated, at): what the alert looked like last time (as
 *   of its updated_at); reasons are derived by comparing with it (model.ts reasonFor), so handing the same
 *   change twice is a no-op and an older change arriving late is ignored.
 *   Rows (and `notified` rows) untouched for SEEN_RETENTION_MS are pruned: an alert silent that long
 *   counts as new when it returns.
 * - notified(alert_id, channel_id, at): last message of an alert on a channel (its `repeat` interval).
 * - held(delivery_id, channel_id, until, alert): alerts a blackout kept back, listed by the digest.
 * Timers: `send:<delivery>`, `digest:<channel>:<end>` (a blackout's end), `daily:<channel>` (the daily digest,
 * re-armed for the next day each time it runs; set by syncDaily when a channel is saved).
 *
 * Invariants: at most one successful send per delivery row; a due row is leased (time pushed to
 * now + LEASE_MS) before its send, so a second alarm run cannot pick it up while the first awaits the
 * receiver; every attempt is bounded (SEND_TIMEOUT_MS) and counted; after MAX_ATTEMPTS the delivery is
 * `failed`. The alarm handler never throws (a throwing alarm is retried by the platform a bounded
 * number of times, after which timers would be stuck). Wall time is read through `clock` only.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env.ts";
import { WORKERS_SIMULTANEOUS_CONNECTIONS } from "../workers/constants.ts";
import { signAction } from "../workers/notify/crypto.ts";
import { activeWindow, blackoutCovers, nextDaily } from "../workers/notify/blackout.ts";
import { deliveryKey, matchesFilter, rankOf, reasonFor, summarizeAlert, type AlertSummary, type Blackout, type Reason, type SeenState } from "../workers/notify/model.ts";
import { send, type Message } from "../workers/notify/send.ts";
import { MAX_ATTEMPTS, retryDelay, type SendOutcome } from "../workers/notify/retry.ts";

export { MAX_ATTEMPTS };
import { loadChannel, loadEnabledChannels, type Channel } from "../workers/notify/channels.ts";
import { storeOf } from "../workers/store/d1.ts";
import { emptyUsage } from "../workers/store/usage.ts";
import { dayOf } from "../workers/usage.ts";

export const NOTIFIER_NAME = "notifier";

/** A due row is pushed this far ahead while its send runs (longer than SEND_TIMEOUT_MS), ms. */
const LEASE_MS = 60_000;
/** Sends in flight at once: the Workers limit of simultaneous open connections per invocation. */
const SEND_CONCURRENCY = WORKERS_SIMULTANEOUS_CONNECTIONS;
/** Due rows handled per alarm run; more re-arm the alarm at once (bounds one run's duration). */
const DUE_PER_ALARM = 300;
/** An action URL in a message stays valid this long, ms. */
export const ACTION_URL_TTL_MS = 12 * 3_600_000;
/** When D1 cannot be read in the alarm, due rows wait this long, ms. */
const D1_RETRY_MS = 30_000;
/** Delivery rows kept (newest win), pruned on hand-off. */
const DELIVERIES_KEPT = 20_000;
/** `seen` and `notified` rows untouched this long are pruned, ms. */
const SEEN_RETENTION_MS = 90 * 86_400_000;
/** Hand-offs between two prunes of `seen` and `notified` (a scan of each). */
const PRUNE_EVERY = 100;

import type { DeliveryJson, DeliveryStatus } from "../workers/api-types.ts";
export type { DeliveryJson, DeliveryStatus };

export interface NotifierStats {
  deliveries: Record<DeliveryStatus, number>;
  attempts: number;
  scheduled: number;
  next_alarm: string | null;
}

/** A `seen` row: what reasonFor compares with, and the alert's updated_at (ms) it was read at. */
type SeenRow = Pick<SeenState, "severity" | "status" | "duplicate_count"> & { updated: number } & Record<string, SqlStorageValue>;

type DeliveryRow = {
  id: string;
  alert_id: string | null;
  channel_id: string;
  reason: string;
  status: string;
  attempts: number;
  http_status: number | null;
  answer: string | null;
  alert: string | null;
  created_at: number;
  updated_at: number;
  next_at: number | null;
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class Notifier extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private armedAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(`CREATE TABLE IF NOT EXISTS schedule (id TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, time INTEGER NOT NULL)`);
      this.sql.exec(`CREATE INDEX IF NOT EXISTS schedule_time ON schedule (time)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, alert_id TEXT, channel_id TEXT NOT NULL, reason TEXT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, http_status INTEGER, answer TEXT, alert TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, next_at INTEGER)`);
      this.sql.exec(`CREATE INDEX IF NOT EXISTS deliveries_channel ON deliveries (channel_id, seq)`);
      this.sql.exec(`CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id, seq)`);
      this.sql.exec(`CREATE INDEX IF NOT EXISTS deliveries_seq ON deliveries (seq)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS seen (alert_id TEXT PRIMARY KEY, severity TEXT NOT NULL, status TEXT NOT NULL, duplicate_count INTEGER NOT NULL, updated INTEGER NOT NULL, at INTEGER NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS notified (alert_id TEXT NOT NULL, channel_id TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (alert_id, channel_id))`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS held (delivery_id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, until INTEGER NOT NULL, alert TEXT NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`);
      this.armedAt = await ctx.storage.getAlarm();
    });
  }

  /** The only clock of this object (wall ms); tests replace it inside runInDurableObject. */
  clock: () => number = () => Date.now();

  // --- RPC

  /**
   * Takes alert changes (a batch per call). Reads the enabled channels and blackouts from D1, then in
   * one transaction records what each alert looks like and queues a delivery per (reason, channel)
   * wanted; held ones wait for their blackout's digest. Returns counts.
   */
  async handOff(alerts: AlertSummary[]): Promise<{ queued: number; held: number }> {
    if (alerts.length === 0) return { queued: 0, held: 0 };
    const now = this.clock();
    const store = storeOf(this.env);
    const [channels, blackouts] = await Promise.all([loadEnabledChannels(store, this.env.NOTIFY_KEY), store.listBlackouts()]);
    let queued = 0;
    let held = 0;
    this.ctx.storage.transactionSync(() => {
      for (const raw of alerts) {
        const a = summarizeAlert(raw);
        const prev = this.sql.exec<SeenRow>("SELECT severity, status, duplicate_count, updated FROM seen WHERE alert_id = ?", a.id).toArray()[0] ?? null;
        // Two hand-offs can interleave while each reads D1: a change older than the one seen is stale, not news.
        const updated = Date.parse(a.updated_at);
        if (prev && updated < prev.updated) continue;
        const reason = reasonFor(prev, a);
        this.sql.exec(
          "INSERT INTO seen (alert_id, severity, status, duplicate_count, updated, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(alert_id) DO UPDATE SET severity = excluded.severity, status = excluded.status, duplicate_count = MAX(seen.duplicate_count, excluded.duplicate_count), updated = excluded.updated, at = excluded.at",
          a.id, a.severity, a.status, a.duplicate_count, updated, now,
        );
        if (!reason) continue;
        for (const ch of channels) {
          if (!matchesFilter(ch.filter, a)) continue;
          if (reason === "close" && !ch.onClose) continue;
          if (reason === "repeat") {
            if (ch.repeatMs === null) continue;
            const last = this.sql.exec<{ at: number }>("SELECT at FROM notified WHERE alert_id = ? AND channel_id = ?", a.id, ch.id).toArray()[0];
            if (last && now - last.at < ch.repeatMs) continue;
          }
          const id = deliveryKey(a.id, ch.id, reason, a);
          const blackout = reason === "close" ? null : this.blackoutEnd(blackouts, ch.id, a, now);
          const inserted = this.insertDelivery(id, a.id, ch.id, reason, blackout === null ? "pending" : "held", JSON.stringify(a), now);
          if (!inserted) continue;
          if (blackout === null) {
            this.schedule(`send:${id}`, "send", { delivery: id }, now);
            // Counted as notified when queued: a second change within the interval must not queue another.
            this.sql.exec("INSERT INTO notified (alert_id, channel_id, at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET at = excluded.at", a.id, ch.id, now);
            queued++;
          } else {
            this.sql.exec("INSERT OR IGNORE INTO held (delivery_id, channel_id, until, alert) VALUES (?, ?, ?, ?)", id, ch.id, blackout, JSON.stringify(a));
            if (ch.blackoutDigest) this.schedule(`digest:${ch.id}:${blackout}`, "digest", { channel: ch.id, until: blackout }, blackout);
            held++;
          }
        }
      }
      this.bump("handed_off", alerts.length);
      this.bump("handoffs", 1);
      this.prune(now);
    });
    await this.rearm();
    return { queued, held };
  }

  /** Sends a test message on a channel now (not queued) and records it; returns the receiver's answer. */
  async testChannel(channelId: string): Promise<{ outcome: SendOutcome; delivery: DeliveryJson } | null> {
    const ch = await loadChannel(storeOf(this.env), this.env.NOTIFY_KEY, channelId);
    if (!ch) return null;
    const now = this.clock();
    const id = `test|${channelId}|${now}|${crypto.randomUUID().slice(0, 8)}`;
    this.insertDelivery(id, null, channelId, "test", "pending", null, now);
    const outcome = await send(this.env, ch, await this.message(id, "test", null, []), this.clock);
    this.record(id, outcome, outcome.ok ? "sent" : "failed", null);
    return { outcome, delivery: this.delivery(id)! };
  }

  /** (Re)arms or removes the daily digest timer of a channel after it was created, changed or deleted. */
  async syncDaily(channelId: string): Promise<{ next: string | null }> {
    const ch = await loadChannel(storeOf(this.env), this.env.NOTIFY_KEY, channelId);
    const id = `daily:${channelId}`;
    let next: number | null = null;
    if (ch && ch.enabled && ch.dailyDigest) {
      next = nextDaily(ch.dailyDigest.at, ch.dailyDigest.timezone, this.clock());
      this.sql.exec(
        "INSERT INTO schedule (id, kind, payload, time) VALUES (?, 'daily', ?, ?) ON CONFLICT(id) DO UPDATE SET payload = excluded.payload, time = excluded.time",
        id, JSON.stringify({ channel: channelId }), next,
      );
    } else {
      this.sql.exec("DELETE FROM schedule WHERE id = ?", id);
    }
    await this.rearm();
    return { next: iso(next) };
  }

  async deliveries(q: { channelId?: string; alertId?: string; limit: number }): Promise<DeliveryJson[]> {
    const rows = q.alertId
      ? this.sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE alert_id = ? ORDER BY seq DESC LIMIT ?", q.alertId, q.limit).toArray()
      : this.sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE channel_id = ? ORDER BY seq DESC LIMIT ?", q.channelId ?? "", q.limit).toArray();
    return rows.map(toDeliveryJson);
  }

  async stats(): Promise<NotifierStats> {
    const deliveries: Record<DeliveryStatus, number> = { pending: 0, retrying: 0, sent: 0, failed: 0, held: 0, dropped: 0 };
    for (const r of this.sql.exec<{ status: DeliveryStatus; n: number }>("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")) deliveries[r.status] = r.n;
    const attempts = this.attemptsSoFar();
    const scheduled = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM schedule").one().n;
    return { deliveries, attempts, scheduled, next_alarm: iso(this.armedAt) };
  }

  // --- Alarm

  override async alarm(): Promise<void> {
    this.armedAt = null;
    const now = this.clock();
    const due = this.sql.exec<{ id: string; kind: string; payload: string; time: number }>("SELECT id, kind, payload, time FROM schedule WHERE time <= ? ORDER BY time, id LIMIT ?", now, DUE_PER_ALARM).toArray();
    if (due.length) {
      let channels: Map<string, Channel>;
      try {
        channels = new Map((await loadEnabledChannels(storeOf(this.env), this.env.NOTIFY_KEY)).map((c) => [c.id, c]));
      } catch (err) {
        console.error(JSON.stringify({ level: "error", where: "Notifier.alarm", msg: "channels unreadable", error: String(err) }));
        for (const r of due) this.sql.exec("UPDATE schedule SET time = ? WHERE id = ?", now + D1_RETRY_MS, r.id);
        await this.rearm();
        return;
      }
      // Lease every due row first: a concurrent run (an alarm retried while this one awaits) skips them.
      for (const r of due) this.sql.exec("UPDATE schedule SET time = ? WHERE id = ?", now + LEASE_MS, r.id);
      const attemptsBefore = this.attemptsSoFar();
      const work = due.map((r) => () => this.runTimer(r.id, r.kind, JSON.parse(r.payload) as Record<string, unknown>, r.time, channels));
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(SEND_CONCURRENCY, work.length) }, async () => {
          while (next < work.length) {
            const job = work[next++]!;
            try {
              await job();
            } catch (err) {
              console.error(JSON.stringify({ level: "error", where: "Notifier.alarm", error: String(err) }));
            }
          }
        }),
      );
      // The cost meter counts outbound notifications (one ledger upsert per alarm that sent any).
      const sent = this.attemptsSoFar() - attemptsBefore;
      if (sent > 0) await storeOf(this.env).addUsage(dayOf(now), { ...emptyUsage(), notifications: sent }).catch(() => {});
    }
    await this.rearm();
  }

  private attemptsSoFar(): number {
    return this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'attempts'").toArray()[0]?.value ?? 0;
  }

  private async runTimer(id: string, kind: string, payload: Record<string, unknown>, dueAt: number, channels: Map<string, Channel>): Promise<void> {
    if (kind === "digest") return this.runDigest(id, payload.channel as string, payload.until as number, channels);
    if (kind === "daily") return this.runDaily(id, payload.channel as string, dueAt, channels);
    const deliveryId = payload.delivery as string;
    const d = this.sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE id = ?", deliveryId).toArray()[0];
    if (!d || (d.status !== "pending" && d.status !== "retrying")) {
      this.sql.exec("DELETE FROM schedule WHERE id = ?", id);
      return;
    }
    const ch = channels.get(d.channel_id);
    if (!ch) {
      // Deleted or disabled since: nothing to send to.
      this.record(deliveryId, { ok: false, status: null, answer: "channel deleted or disabled", retryable: false, retryAfterMs: null }, "dropped", null);
      this.sql.exec("DELETE FROM schedule WHERE id = ?", id);
      return;
    }
    // A digest's `alert` column holds the list of alerts it reports.
    const isDigest = d.reason === "digest" || d.reason === "daily";
    const alert = d.alert && !isDigest ? (JSON.parse(d.alert) as AlertSummary) : null;
    const digest = isDigest ? (JSON.parse(d.alert ?? "[]") as AlertSummary[]) : [];
    const outcome = await send(this.env, ch, await this.message(deliveryId, d.reason as Reason, alert, digest), this.clock);
    const attempts = d.attempts + 1;
    const now = this.clock();
    if (outcome.ok) {
      this.record(deliveryId, outcome, "sent", null);
      this.sql.exec("DELETE FROM schedule WHERE id = ?", id);
    } else if (outcome.retryable && attempts < MAX_ATTEMPTS) {
      const at = now + retryDelay(attempts, outcome.retryAfterMs);
      this.record(deliveryId, outcome, "retrying", at);
      this.sql.exec("UPDATE schedule SET time = ? WHERE id = ?", at, id);
    } else {
      this.record(deliveryId, outcome, "failed", null);
      this.sql.exec("DELETE FROM schedule WHERE id = ?", id);
      console.warn(JSON.stringify({ level: "warn", where: "Notifier", msg: "delivery failed", channel: d.channel_id, reason: d.reason, attempts, status: outcome.status }));
    }
  }

  /** A blackout ended: one digest delivery listing what it held back on the channel (sent like any delivery, with retries). */
  private async runDigest(id: string, channelId: string, until: number, channels: Map<string, Channel>): Promise<void> {
    const rows = this.sql.exec<{ delivery_id: string; alert: string }>("SELECT delivery_id, alert FROM held WHERE channel_id = ? AND until <= ? ORDER BY delivery_id", channelId, until).toArray();
    const now = this.clock();
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM schedule WHERE id = ?", id);
      if (rows.length === 0 || !channels.has(channelId)) return;
      const digestId = `digest|${channelId}|${until}`;
      this.insertDelivery(digestId, null, channelId, "digest", "pending", JSON.stringify(rows.map((r) => JSON.parse(r.alert) as AlertSummary)), now);
      for (const r of rows) this.sql.exec("DELETE FROM held WHERE delivery_id = ?", r.delivery_id);
      this.schedule(`send:${digestId}`, "send", { delivery: digestId }, now);
    });
  }

  /**
   * The daily digest of a channel: one delivery listing the alerts it was notified of (or held) in the 24 h
   * before `dueAt`, sent like any delivery; then the timer moves to the next day. Nothing is sent for a quiet day.
   */
  private async runDaily(id: string, channelId: string, dueAt: number, channels: Map<string, Channel>): Promise<void> {
    const ch = channels.get(channelId);
    const now = this.clock();
    const rows = this.sql
      .exec<{ alert_id: string; alert: string }>(
        "SELECT alert_id, alert FROM deliveries WHERE channel_id = ? AND alert_id IS NOT NULL AND reason IN ('new', 'reopened', 'severity', 'repeat') AND created_at > ? AND created_at <= ? ORDER BY seq",
        channelId, dueAt - 86_400_000, dueAt,
      )
      .toArray();
    const latest = new Map<string, AlertSummary>();
    for (const r of rows) latest.set(r.alert_id, JSON.parse(r.alert) as AlertSummary);
    this.ctx.storage.transactionSync(() => {
      if (ch && latest.size) {
        const dailyId = `daily|${channelId}|${dueAt}`;
        if (this.insertDelivery(dailyId, null, channelId, "daily", "pending", JSON.stringify([...latest.values()]), now)) this.schedule(`send:${dailyId}`, "send", { delivery: dailyId }, now);
      }
      if (ch?.dailyDigest) this.sql.exec("UPDATE schedule SET time = ? WHERE id = ?", nextDaily(ch.dailyDigest.at, ch.dailyDigest.timezone, dueAt), id);
      else this.sql.exec("DELETE FROM schedule WHERE id = ?", id);
    });
  }

  // --- Helpers

  private blackoutEnd(blackouts: readonly Blackout[], channelId: string, a: AlertSummary, now: number): number | null {
    let end: number | null = null;
    for (const b of blackouts) {
      if (!blackoutCovers(b, channelId, a)) continue;
      const w = activeWindow(b, now);
      if (w && (end === null || w.end > end)) end = w.end;
    }
    return end;
  }

  private insertDelivery(id: string, alertId: string | null, channelId: string, reason: Reason, status: DeliveryStatus, alert: string | null, now: number): boolean {
    const seq = this.sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM deliveries").one().s ?? 0;
    const res = this.sql.exec(
      "INSERT OR IGNORE INTO deliveries (id, seq, alert_id, channel_id, reason, status, attempts, alert, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
      id, seq + 1, alertId, channelId, reason, status, alert, now, now,
    );
    return res.rowsWritten > 0;
  }

  private record(id: string, o: SendOutcome, status: DeliveryStatus, nextAt: number | null): void {
    this.sql.exec(
      "UPDATE deliveries SET status = ?, attempts = attempts + ?, http_status = ?, answer = ?, updated_at = ?, next_at = ? WHERE id = ?",
      status, status === "dropped" ? 0 : 1, o.status, o.answer, this.clock(), nextAt, id,
    );
    if (status !== "dropped") this.bump("attempts", 1);
  }

  private delivery(id: string): DeliveryJson | null {
    const r = this.sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE id = ?", id).toArray()[0];
    return r ? toDeliveryJson(r) : null;
  }

  private bump(name: string, by: number): void {
    this.sql.exec("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", name, by);
  }

  private schedule(id: string, kind: string, payload: Record<string, unknown>, time: number): void {
    this.sql.exec("INSERT OR IGNORE INTO schedule (id, kind, payload, time) VALUES (?, ?, ?, ?)", id, kind, JSON.stringify(payload), time);
  }

  private prune(now: number): void {
    if ((this.sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'handoffs'").toArray()[0]?.value ?? 0) % PRUNE_EVERY !== 0) return;
    const max = this.sql.exec<{ s: number | null }>("SELECT MAX(seq) AS s FROM deliveries").one().s ?? 0;
    if (max > DELIVERIES_KEPT) this.sql.exec("DELETE FROM deliveries WHERE seq <= ? AND status IN ('sent', 'failed', 'dropped')", max - DELIVERIES_KEPT);
    this.sql.exec("DELETE FROM seen WHERE at < ?", now - SEEN_RETENTION_MS);
    this.sql.exec("DELETE FROM notified WHERE at < ?", now - SEEN_RETENTION_MS);
  }

  /** The message of a delivery: texts, the alert's page and a fresh one-time ack URL. */
  private async message(deliveryId: string, reason: Reason, a: AlertSummary | null, digest: AlertSummary[]): Promise<Message> {
    const base = (this.env.PUBLIC_URL ?? "http://localhost:8787").replace(/\/+$/, "");
    if (reason === "test") {
      return { reason, alert: null, title: "Porchlight test", body: "This channel works: alerts will arrive here.", severity: "low", clickUrl: `${base}/alerts`, ackUrl: null, deliveryId };
    }
    if (reason === "digest" || reason === "daily" || !a) {
      const lines = digest.slice(0, 50).map((x) => `• [${x.severity}] ${x.title}`);
      if (digest.length > 50) lines.push(`… and ${digest.length - 50} more`);
      const top = digest.reduce((s, x) => (rankOf(x.severity) > rankOf(s) ? x.severity : s), "informational");
      const n = `${digest.length} alert${digest.length === 1 ? "" : "s"}`;
      const title = reason === "daily" ? `Porchlight daily digest: ${n} in the last 24 h` : `Porchlight: ${n} held during a blackout`;
      return { reason: reason === "daily" ? "daily" : "digest", alert: null, title, body: lines.join("\n"), severity: top, clickUrl: `${base}/alerts`, ackUrl: null, deliveryId };
    }
    const what: Record<string, string> = { new: "", reopened: "Reopened: ", severity: `Severity ${a.previous_severity ?? "?"} → ${a.severity}: `, repeat: `Again (×${a.duplicate_count + 1}): `, close: "Closed: " };
    const ackUrl = reason === "close" ? null : `${base}/v1/notify/action/${await signAction(this.env.NOTIFY_KEY, a.id, "ack", this.clock() + ACTION_URL_TTL_MS)}`;
    return {
      reason,
      alert: a,
      title: `${what[reason] ?? ""}${a.title}`.slice(0, 250),
      body: `${a.text}\n${a.severity} · ${a.rule_id} · ${a.resource}`.slice(0, 2000),
      severity: a.severity,
      clickUrl: `${base}/alerts/${encodeURIComponent(a.id)}`,
      ackUrl,
      deliveryId,
    };
  }

  private async rearm(): Promise<void> {
    const want = this.sql.exec<{ t: number | null }>("SELECT MIN(time) AS t FROM schedule").one().t;
    if (want === this.armedAt) return;
    if (want === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(want);
    this.armedAt = want;
  }
}

function toDeliveryJson(r: DeliveryRow): DeliveryJson {
  return {
    id: r.id,
    alert_id: r.alert_id,
    channel_id: r.channel_id,
    reason: r.reason as Reason,
    status: r.status as DeliveryStatus,
    attempts: r.attempts,
    http_status: r.http_status,
    answer: r.answer,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
    next_attempt_at: iso(r.next_at),
  };
}
