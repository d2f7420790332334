/**
 * RuleState: the memory of one stateful rule for one shard of its groups (windows, buckets,
 * sequences, heartbeats, seen values), or of one pinged heartbeat. Addressed by name:
 * `${rule.id}:${shard}` (workers/rules/registry.ts) or `heartbeat:${name}`.
 *
 * Storage (SQLite, created idempotently in the constructor):
 * - meta(k, v): the rule definition and version this object holds (the alarm needs them), its kind.
 * - groups(key, state, due_at): the engine's state per group key; `due_at` (wall ms) asks for onDue.
 * - applied_batches(batch_key, at, result): batches applied and the firings they returned, so a
 *   retried batch returns the same firings and counts nothing twice (kept 7 days, at most 10,000,
 *   pruned every 100 applies).
 * - outbox(firing_id, at, input): alert changes produced by alarms and pings, pending their D1 write.
 * Invariants: ONE alarm, always at MIN(groups.due_at) (or a retry time while the outbox is not
 * empty), re-armed only when that changes; the alarm handler is idempotent (a second run finds no
 * group due and an empty outbox). Engines are pure; every state change runs in `transactionSync`.
 * Wall time is read through `now()` only.
 *
 * Rule versions (`ruleVersion` = the rule's revision, its updated_at in ms, which orders every write
 * including a delete and re-create — workers/rules/registry.ts): a batch carrying a NEWER version
 * than the one held resets all windows (a changed rule starts afresh: thresholds, windows and learned
 * values of the old definition do not mix with the new one); an OLDER version (an isolate whose rule
 * cache is a batch behind) is applied with the definition it carries, without resetting.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env.ts";
import type { Engine, Firing, MatchedEvent, RuleDef, Severity, StepResult } from "../workers/rules/types.ts";
import { ENGINES } from "../workers/rules/engines/index.ts";
import { firingId, toAlertInputs, type ApplyResult } from "../workers/rules/plan.ts";
import { groupKeyOf, groupObject, groupValues } from "../workers/rules/project.ts";
import { applyFirings, type AlertInput } from "../workers/store/alerts.ts";
import { formatDuration, parseDuration } from "../workers/rules/duration.ts";
import { notifyAlerts } from "../workers/live.ts";
import { unpackMatches, type PackedMatches } from "../workers/rules/packed.ts";

export type { ApplyResult };

export interface BeatResult {
  name: string;
  timeoutMs: number;
  lastBeat: number;
  deadline: number;
  /** True when this beat cleared a raised (missed) heartbeat. */
  cleared: boolean;
}

export interface InspectResult {
  kind: string | null;
  ruleId: string | null;
  version: number | null;
  groups: { key: string; state: unknown; dueAt: number | null }[];
  appliedBatches: number;
  outbox: number;
  alarm: number | null;
}

/** One row of the heartbeats listing. */
interface HeartbeatListing {
  source: string;
  name: string;
  timeoutMs: number;
  lastBeat: number | null;
  deadline: number | null;
  state: "ok" | "late";
}

/** State of one pinged heartbeat (kind "ping"). */
interface PingState {
  name: string;
  timeoutMs: number;
  lastBeat: number;
  severity: Severity;
  raised: boolean;
}

const APPLIED_RETENTION_MS = 7 * 86_400_000;
const APPLIED_MAX_ROWS = 10_000;
const PRUNE_EVERY = 100;
/** Due groups handled per alarm run; more re-arm the alarm immediately (bounds one run's CPU). */
const DUE_PER_ALARM = 500;
/** Outbox retry delay when D1 is unreachable from the alarm, ms. */
const OUTBOX_RETRY_MS = 30_000;
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 24 * 3_600_000;
/** Rule id of pinged heartbeats' alerts (the colon keeps it apart from every user rule id). */
export const PING_RULE_ID = "heartbeat:ping";

export class RuleState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Applies since applied_batches was last pruned (per instance; a fresh instance prunes on its first apply). */
  private appliedSincePrune = PRUNE_EVERY - 1;
  /** The alarm time currently set (ms), mirrored to avoid re-arming when it did not change. */
  private armedAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    void ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS groups (key TEXT PRIMARY KEY, state TEXT NOT NULL, due_at INTEGER)`);
      this.sql.exec(`CREATE INDEX IF NOT EXISTS groups_due ON groups (due_at) WHERE due_at IS NOT NULL`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS applied_batches (batch_key TEXT PRIMARY KEY, at INTEGER NOT NULL, result TEXT NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (firing_id TEXT PRIMARY KEY, at INTEGER NOT NULL, input TEXT NOT NULL)`);
      this.armedAt = await ctx.storage.getAlarm();
    });
  }

  /**
   * The only clock of this object (wall ms). An instance field, not an RPC method: tests replace it
   * inside runInDurableObject to run deadlines without sleeping; a fresh instance reads Date.now().
   */
  clock: () => number = () => Date.now();

  private now(): number {
    return this.clock();
  }

  // --- RPC

  /**
   * Applies one batch's matches of `rule` for this shard, in event-time order. Idempotent per
   * `batchKey`: a batch applied before returns its stored firings with `replayed: true`.
   */
  async apply(batchKey: string, rule: RuleDef, ruleVersion: number, matches: MatchedEvent[] | PackedMatches): Promise<ApplyResult> {
    // The Worker sends columns (workers/rules/packed.ts): fewer objects to serialize on its clock.
    const events = unpackMatches(matches);
    const prev = this.sql.exec<{ result: string }>("SELECT result FROM applied_batches WHERE batch_key = ?", batchKey).toArray()[0];
    if (prev) {
      // `result` is {f: firings, late}; an array is the firings alone (written before `late` was counted).
      const stored = JSON.parse(prev.result) as Firing[] | { f: Firing[]; late: number };
      return Array.isArray(stored) ? { firings: stored, replayed: true, late: 0 } : { firings: stored.f, replayed: true, late: stored.late };
    }
    const now = this.now();
    const firings: Firing[] = [];
    const touched = new Map<string, { group: Record<string, string>; lastTs: number }>();
    let late = 0;
    try {
      const engine = ENGINES[rule.type];
      if (!engine) throw new Error(`no engine for rule type ${rule.type}`);
      late = this.applySync(batchKey, rule, ruleVersion, events, engine, now, firings, touched);
    } catch (err) {
      // An engine bug must not stall ingest (a throw here → 503 → the relay retries this batch
      // forever). The transaction rolled back; the batch is recorded as applied with no firings.
      console.error(JSON.stringify({ level: "error", where: "RuleState.apply", rule: rule.id, batchKey, error: String(err) }));
      this.sql.exec("INSERT OR IGNORE INTO applied_batches (batch_key, at, result) VALUES (?, ?, '[]')", batchKey, now);
      return { firings: [], replayed: false, late: 0, error: String(err) };
    }
    await this.rearm();
    if (rule.type === "heartbeat") await this.recordRuleHeartbeats(rule, touched);
    return { firings, replayed: false, late };
  }

  private applySync(
    batchKey: string,
    rule: RuleDef,
    ruleVersion: number,
    events: MatchedEvent[],
    engine: Engine<unknown>,
    now: number,
    firings: Firing[],
    touched: Map<string, { group: Record<string, string>; lastTs: number }>,
  ): number {
    let late = 0;
    this.ctx.storage.transactionSync(() => {
      this.adoptRule(rule, ruleVersion);
      // Stable: events of the same ms keep their batch (line) order, the same on every retry.
      const sorted = [...events].sort((a, b) => a.ts - b.ts);
      const work = new Map<string, { state: unknown; dueAt: number | null; seq: number }>();
      for (const ev of sorted) {
        const key = groupKeyOf(rule, ev);
        let cur = work.get(key);
        if (!cur) {
          const row = this.sql.exec<{ state: string; due_at: number | null }>("SELECT state, due_at FROM groups WHERE key = ?", key).toArray()[0];
          cur = { state: row ? JSON.parse(row.state) : undefined, dueAt: row?.due_at ?? null, seq: 0 };
          work.set(key, cur);
        }
        const r = engine.step(rule, cur.state as never, ev, now) as StepResult<unknown>;
        if (r.late) late++;
        cur.state = r.state;
        cur.dueAt = r.state === undefined ? null : (r.dueAt ?? null);
        for (const f of r.firings) firings.push({ ...f, id: firingId(rule.id, key, batchKey, cur.seq++), ruleId: rule.id });
        const t = touched.get(key);
        touched.set(key, { group: groupObject(rule, groupValues(rule, ev)), lastTs: Math.max(t?.lastTs ?? 0, ev.ts) });
      }
      for (const [key, cur] of work) this.writeGroup(key, cur.state, cur.dueAt);
      this.sql.exec("INSERT INTO applied_batches (batch_key, at, result) VALUES (?, ?, ?)", batchKey, now, JSON.stringify({ f: firings, late }));
      // Pruning scans the table (no index on `at`: it would cost a write per batch), so it runs once
      // every PRUNE_EVERY applies of this instance; the bounds hold within that slack.
      if (++this.appliedSincePrune >= PRUNE_EVERY) {
        this.appliedSincePrune = 0;
        this.sql.exec("DELETE FROM applied_batches WHERE at < ?", now - APPLIED_RETENTION_MS);
        this.sql.exec(
          "DELETE FROM applied_batches WHERE batch_key IN (SELECT batch_key FROM applied_batches ORDER BY at DESC LIMIT -1 OFFSET ?)",
          APPLIED_MAX_ROWS,
        );
      }
    });
    return late;
  }

  /**
   * A ping of heartbeat `name` at wall time `at` (ms). `timeoutMs` (and `severity`) undefined keep
   * the previous ones (24 h and high for a new name). The deadline is lastBeat + timeout; the alarm raises the alert
   * exactly then, and the next beat clears it.
   */
  async beat(name: string, timeoutMs: number | undefined, at: number, severity?: Severity): Promise<BeatResult> {
    const now = this.now();
    let result!: BeatResult;
    this.ctx.storage.transactionSync(() => {
      this.setMeta("kind", "ping");
      const row = this.sql.exec<{ state: string }>("SELECT state FROM groups WHERE key = ?", name).toArray()[0];
      const prev = row ? (JSON.parse(row.state) as PingState) : undefined;
      const state: PingState = {
        name,
        timeoutMs: timeoutMs ?? prev?.timeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
        lastBeat: Math.max(prev?.lastBeat ?? at, at),
        severity: severity ?? prev?.severity ?? "high",
        raised: false,
      };
      const deadline = state.lastBeat + state.timeoutMs;
      const cleared = prev?.raised === true;
      if (cleared) {
        this.queue({
          firingId: firingId(PING_RULE_ID, name, `beat:${at}`, 0),
          ruleId: PING_RULE_ID,
          action: "clear",
          resource: name,
          group: { heartbeat: name },
          severity: state.severity,
          title: `Heartbeat ${name} is back`,
          text: `Ping received at ${new Date(at).toISOString()}`,
          count: 1,
          eventIds: [],
          magnitude: 0,
          tags: ["heartbeat"],
          attributes: {},
          at,
        }, now);
      }
      this.writeGroup(name, state, deadline);
      result = { name, timeoutMs: state.timeoutMs, lastBeat: state.lastBeat, deadline, cleared };
    });
    await this.writeHeartbeatRows([{ source: "ping", name, timeoutMs: result.timeoutMs, lastBeat: result.lastBeat, deadline: result.deadline, state: "ok" }], now);
    await this.flushOutbox(now);
    await this.rearm();
    return result;
  }

  /** Current state, for tests and debugging. */
  async inspect(): Promise<InspectResult> {
    const meta = this.meta();
    return {
      kind: meta.get("kind") ?? null,
      ruleId: meta.has("rule") ? (JSON.parse(meta.get("rule")!) as RuleDef).id : null,
      version: meta.has("version") ? Number(meta.get("version")) : null,
      groups: this.sql
        .exec<{ key: string; state: string; due_at: number | null }>("SELECT key, state, due_at FROM groups ORDER BY key")
        .toArray()
        .map((g) => ({ key: g.key, state: JSON.parse(g.state), dueAt: g.due_at })),
      appliedBatches: Number(this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM applied_batches").one().n),
      outbox: Number(this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n),
      alarm: await this.ctx.storage.getAlarm(),
    };
  }

  /**
   * Forgets every group and pending deadline (rule deleted, disabled or changed). Applied batch ids
   * are kept so that a late retry of an old batch still counts nothing twice.
   */
  async reset(): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM groups");
      this.sql.exec("DELETE FROM outbox");
      this.sql.exec("DELETE FROM meta WHERE k IN ('rule', 'version')");
    });
    await this.rearm();
  }

  // --- Alarm

  /** Runs onDue for every due group, writes the resulting alert changes to D1, re-arms. Idempotent. */
  override async alarm(): Promise<void> {
    const now = this.now();
    this.armedAt = null; // the alarm that woke us is consumed
    const meta = this.meta();
    const kind = meta.get("kind");
    const heartbeatRows: Omit<HeartbeatListing, "source">[] = [];
    this.ctx.storage.transactionSync(() => {
      const due = this.sql
        .exec<{ key: string; state: string; due_at: number }>("SELECT key, state, due_at FROM groups WHERE due_at <= ? ORDER BY due_at LIMIT ?", now, DUE_PER_ALARM)
        .toArray();
      if (kind === "ping") {
        for (const g of due) {
          const s = JSON.parse(g.state) as PingState;
          this.queue({
            firingId: firingId(PING_RULE_ID, s.name, `due:${g.due_at}`, 0),
            ruleId: PING_RULE_ID,
            action: "raise",
            resource: s.name,
            group: { heartbeat: s.name },
            severity: s.severity,
            title: `Heartbeat ${s.name} missed`,
            text: `No ping for ${formatDuration(s.timeoutMs)} (last ping ${new Date(s.lastBeat).toISOString()})`,
            count: 1,
            eventIds: [],
            magnitude: 0,
            tags: ["heartbeat"],
            attributes: { last_beat: new Date(s.lastBeat).toISOString(), timeout: formatDuration(s.timeoutMs) },
            // Raised at the deadline itself, whenever the alarm actually ran.
            at: g.due_at,
          }, now);
          this.writeGroup(g.key, { ...s, raised: true }, null);
          heartbeatRows.push({ name: s.name, lastBeat: s.lastBeat, deadline: g.due_at, timeoutMs: s.timeoutMs, state: "late" });
        }
        return;
      }
      const ruleText = meta.get("rule");
      if (!ruleText || due.length === 0) return;
      const rule = JSON.parse(ruleText) as RuleDef;
      const engine = ENGINES[rule.type];
      if (!engine?.onDue) {
        // Nothing can handle these deadlines: drop them rather than wake up forever.
        for (const g of due) this.sql.exec("UPDATE groups SET due_at = NULL WHERE key = ?", g.key);
        return;
      }
      const firings: Firing[] = [];
      for (const g of due) {
        let r: StepResult<unknown>;
        try {
          r = engine.onDue(rule, JSON.parse(g.state) as never, now) as StepResult<unknown>;
        } catch (err) {
          // An engine bug: drop this deadline rather than wake up for it forever.
          console.error(JSON.stringify({ level: "error", where: "RuleState.alarm", rule: rule.id, group: g.key, error: String(err) }));
          this.sql.exec("UPDATE groups SET due_at = NULL WHERE key = ?", g.key);
          continue;
        }
        let seq = 0;
        for (const f of r.firings) firings.push({ ...f, id: firingId(rule.id, g.key, `due:${g.due_at}`, seq++), ruleId: rule.id });
        this.writeGroup(g.key, r.state, r.state === undefined ? null : (r.dueAt ?? null));
        if (rule.type === "heartbeat") {
          const raised = r.firings.some((f) => f.action === "raise");
          heartbeatRows.push({
            name: heartbeatName(JSON.parse(g.key) as string[]),
            lastBeat: null,
            deadline: raised ? g.due_at : (r.dueAt ?? null),
            timeoutMs: parseDuration(rule.timeout) ?? 0,
            state: raised ? "late" : "ok",
          });
        }
      }
      for (const input of toAlertInputs(rule, firings)) this.queue(input, now);
    });
    const source = kind === "ping" ? "ping" : (JSON.parse(meta.get("rule") ?? "{}") as { id?: string }).id;
    if (source) await this.writeHeartbeatRows(heartbeatRows.map((h) => ({ ...h, source })), now);
    await this.flushOutbox(now);
    await this.rearm();
  }

  // --- Internals

  private meta(): Map<string, string> {
    return new Map(this.sql.exec<{ k: string; v: string }>("SELECT k, v FROM meta").toArray().map((r) => [r.k, r.v]));
  }

  private setMeta(k: string, v: string): void {
    this.sql.exec("INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v", k, v);
  }

  /** Records the rule this object runs; a newer version resets every group (see module comment). */
  private adoptRule(rule: RuleDef, version: number): void {
    const held = this.sql.exec<{ v: string }>("SELECT v FROM meta WHERE k = 'version'").toArray()[0];
    const heldVersion = held ? Number(held.v) : undefined;
    if (heldVersion !== undefined && version < heldVersion) return;
    if (heldVersion !== undefined && version > heldVersion) this.sql.exec("DELETE FROM groups");
    this.setMeta("kind", "rule");
    this.setMeta("rule", JSON.stringify(rule));
    this.setMeta("version", String(version));
  }

  private writeGroup(key: string, state: unknown, dueAt: number | null): void {
    if (state === undefined) this.sql.exec("DELETE FROM groups WHERE key = ?", key);
    else
      this.sql.exec(
        "INSERT INTO groups (key, state, due_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state, due_at = excluded.due_at",
        key,
        JSON.stringify(state),
        dueAt,
      );
  }

  private queue(input: AlertInput, now: number): void {
    this.sql.exec("INSERT OR IGNORE INTO outbox (firing_id, at, input) VALUES (?, ?, ?)", input.firingId, now, JSON.stringify(input));
  }

  /**
   * Writes pending alert changes to D1 (idempotent by firing id), then forgets them. On failure
   * they stay queued and the alarm retries in OUTBOX_RETRY_MS (never throws: a throwing alarm would
   * be retried by the platform with a bounded count, after which the changes would be stuck).
   */
  private async flushOutbox(now: number): Promise<void> {
    const rows = this.sql.exec<{ firing_id: string; input: string }>("SELECT firing_id, input FROM outbox ORDER BY at, firing_id").toArray();
    if (rows.length === 0) return;
    try {
      const { changed } = await applyFirings(this.env.DB, rows.map((r) => JSON.parse(r.input) as AlertInput), now);
      for (const r of rows) this.sql.exec("DELETE FROM outbox WHERE firing_id = ?", r.firing_id);
      if (changed.length) await notifyAlerts(this.env, changed);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", where: "RuleState.flushOutbox", pending: rows.length, error: String(err) }));
    }
  }

  /** Sets the one alarm at MIN(due_at) (or an outbox retry), only when that time changed. */
  private async rearm(): Promise<void> {
    const due = this.sql.exec<{ t: number | null }>("SELECT MIN(due_at) AS t FROM groups WHERE due_at IS NOT NULL").one().t;
    const pending = Number(this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n) > 0;
    const retry = pending ? this.now() + OUTBOX_RETRY_MS : null;
    const want = due === null ? retry : retry === null ? due : Math.min(due, retry);
    if (want === this.armedAt) return;
    if (want === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(want);
    this.armedAt = want;
  }

  private async recordRuleHeartbeats(rule: RuleDef, touched: Map<string, { group: Record<string, string>; lastTs: number }>): Promise<void> {
    const timeoutMs = parseDuration(rule.timeout) ?? 0;
    const rows: HeartbeatListing[] = [];
    for (const [key, t] of touched) {
      const row = this.sql.exec<{ due_at: number | null }>("SELECT due_at FROM groups WHERE key = ?", key).toArray()[0];
      rows.push({ source: rule.id, name: heartbeatName(t.group), timeoutMs, lastBeat: t.lastTs, deadline: row?.due_at ?? null, state: "ok" });
    }
    await this.writeHeartbeatRows(rows, this.now());
  }

  /**
   * The heartbeats table is the listing for GET /v1/heartbeats (one D1 batch for all rows); the
   * deadline itself is this object's alarm. `last_beat` never moves back (late or null beats keep it).
   */
  private async writeHeartbeatRows(rows: HeartbeatListing[], now: number): Promise<void> {
    if (rows.length === 0) return;
    const db = this.env.DB;
    try {
      await db.batch(
        rows.map((h) =>
          db
            .prepare(
              `INSERT INTO heartbeats (name, source, timeout_ms, last_beat, deadline, state, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
               ON CONFLICT(source, name) DO UPDATE SET timeout_ms = excluded.timeout_ms,
                 last_beat = CASE WHEN excluded.last_beat IS NULL THEN heartbeats.last_beat WHEN heartbeats.last_beat IS NULL THEN excluded.last_beat
                                  ELSE MAX(excluded.last_beat, heartbeats.last_beat) END,
                 deadline = excluded.deadline, state = excluded.state, updated_at = excluded.updated_at`,
            )
            .bind(h.name, h.source, h.timeoutMs, h.lastBeat, h.deadline, h.state, now),
        ),
      );
    } catch (err) {
      // The listing is advisory; the alarm and the alert are what matter.
      console.error(JSON.stringify({ level: "error", where: "RuleState.writeHeartbeatRows", error: String(err) }));
    }
  }
}

/** Display name of a rule heartbeat group: its values joined by "/" (e.g. the host name). */
export function heartbeatName(group: Record<string, string> | string[]): string {
  const values = Array.isArray(group) ? group : Object.values(group);
  return values.length ? values.join("/") : "*";
}
