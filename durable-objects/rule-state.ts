/**
 * RuleState: the memory of one stateful rule for one shard of its groups (windows, buckets,
 * sequences, heartbeats, seen values). Addressed by name `${rule.id}:${shard}` (workers/rules/registry.ts).
 * Pinged heartbeats have their own class (durable-objects/heartbeat.ts).
 *
 * Storage (SQLite, created idempotently in the constructor):
 * - meta(k, v): the rule definition and version this object holds (the alarm needs them).
 * - groups(key, state): the engine's state per group key (the column due_at of earlier builds is
 *   moved into the schedule when the object starts, and no longer written).
 * - schedule(id, kind, payload, time) (schedule.ts): one row `due:<key>` (kind `due`) per group that
 *   asked for onDue at `time`, and the outbox retry (kind `outbox`). ONE alarm, at the earliest row.
 * - applied_batches(batch_key, at, result): batches applied and the firings they returned, so a
 *   retried batch returns the same firings and counts nothing twice (kept 7 days, at most 10,000,
 *   pruned every 100 applies).
 * - outbox(firing_id, at, input) (outbox.ts): alert changes produced by alarms, pending their write.
 * Invariants: the alarm handler is idempotent (a second run finds no row due and an empty outbox).
 * Engines are pure; every state change runs in `transactionSync`. Wall time is read through `now()` only.
 *
 * Rule versions (`ruleVersion` = the rule's revision, its updated_at in ms, which orders every write
 * including a delete and re-create — workers/rules/registry.ts): a batch carrying a NEWER version
 * than the one held resets all windows (a changed rule starts afresh: thresholds, windows and learned
 * values of the old definition do not mix with the new one); an OLDER version (an isolate whose rule
 * cache is a batch behind) is applied with the definition it carries, without resetting.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env.ts";
import type { Engine, Firing, MatchedEvent, RuleDef, StepResult } from "../workers/rules/types.ts";
import { engineFor } from "../workers/rules/engines/index.ts";
import { firingId, toAlertInputs, type ApplyResult } from "../workers/rules/plan.ts";
import { groupKeyOf, groupObject, groupValues } from "../workers/rules/project.ts";
import { parseDuration } from "../workers/rules/duration.ts";
import { unpackMatches, type PackedMatches } from "../workers/rules/packed.ts";
import { storeOf } from "../workers/store/d1.ts";
import { metered } from "../workers/usage.ts";
import type { HeartbeatRow } from "../workers/store/heartbeats.ts";
import { Outbox } from "./outbox.ts";
import { Schedule, type ScheduleRow } from "./schedule.ts";

export type { ApplyResult };

export interface InspectResult {
  ruleId: string | null;
  version: number | null;
  groups: { key: string; state: unknown; dueAt: number | null }[];
  appliedBatches: number;
  outbox: number;
  schedule: ScheduleRow[];
  alarm: number | null;
  /** Matches this shard ignored as later than the rule's lateness, since the rule last changed. */
  late: number;
}

type HeartbeatListing = Omit<HeartbeatRow, "updatedAt">;

/** The counter (GET /v1/metrics) of engine exceptions: a rule whose engine threw on a batch or a deadline. */
export const ENGINE_ERRORS_COUNTER = "rule_engine_errors";

const APPLIED_RETENTION_MS = 7 * 86_400_000;
const APPLIED_MAX_ROWS = 10_000;
const PRUNE_EVERY = 100;
/** Due groups handled per alarm run; more re-arm the alarm immediately (bounds one run's CPU). */
const DUE_PER_ALARM = 500;
/** Schedule kind of a group's onDue deadline; the row id is `due:` + the group key. */
const DUE = "due";
const dueId = (key: string): string => `due:${key}`;

export class RuleState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly schedule: Schedule;
  private readonly outbox: Outbox;
  /** Applies since applied_batches was last pruned (per instance; a fresh instance prunes on its first apply). */
  private appliedSincePrune = PRUNE_EVERY - 1;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.schedule = new Schedule(this.sql, ctx.storage);
    void ctx.blockConcurrencyWhile(async () => {
      this.sql.exec(`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS groups (key TEXT PRIMARY KEY, state TEXT NOT NULL, due_at INTEGER)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS applied_batches (batch_key TEXT PRIMARY KEY, at INTEGER NOT NULL, result TEXT NOT NULL)`);
      await this.schedule.open();
      // Deadlines of earlier builds (groups.due_at) become schedule rows, once.
      this.sql.exec(`INSERT OR IGNORE INTO schedule (id, kind, payload, time) SELECT 'due:' || key, '${DUE}', key, due_at FROM groups WHERE due_at IS NOT NULL`);
      this.sql.exec(`UPDATE groups SET due_at = NULL WHERE due_at IS NOT NULL`);
      this.sql.exec(`DROP INDEX IF EXISTS groups_due`);
    });
    this.outbox = new Outbox(this.sql, this.schedule);
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
      const engine = engineFor(rule);
      if (!engine) throw new Error(`no engine for rule type ${rule.type}`);
      late = this.applySync(batchKey, rule, ruleVersion, events, engine, now, firings, touched);
    } catch (err) {
      // An engine bug must not stall ingest (a throw here → 503 → the relay retries this batch
      // forever). The transaction rolled back; the batch is recorded as applied with no firings.
      console.error(JSON.stringify({ level: "error", where: "RuleState.apply", rule: rule.id, batchKey, error: String(err) }));
      this.sql.exec("INSERT OR IGNORE INTO applied_batches (batch_key, at, result) VALUES (?, ?, '[]')", batchKey, now);
      await this.countEngineError();
      return { firings: [], replayed: false, late: 0, error: String(err) };
    }
    await this.schedule.arm();
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
      const work = new Map<string, { state: unknown; dueAt: number | null; heldDue: number | null; seq: number }>();
      for (const ev of sorted) {
        const key = groupKeyOf(rule, ev);
        let cur = work.get(key);
        if (!cur) {
          const row = this.sql
            .exec<{ state: string; due: number | null }>("SELECT g.state, s.time AS due FROM groups g LEFT JOIN schedule s ON s.id = 'due:' || g.key WHERE g.key = ?", key)
            .toArray()[0];
          const heldDue = row?.due ?? null;
          cur = { state: row ? JSON.parse(row.state) : undefined, dueAt: heldDue, heldDue, seq: 0 };
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
      for (const [key, cur] of work) this.writeGroup(key, cur.state, cur.dueAt, cur.heldDue);
      // Per-rule visibility of what lateness cost (GET /v1/rules/:id late_events): never dropped silently.
      if (late > 0) this.sql.exec("INSERT INTO meta (k, v) VALUES ('late', ?) ON CONFLICT (k) DO UPDATE SET v = CAST(v AS INTEGER) + ?", String(late), late);
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

  /** Current state, for tests and debugging. */
  async inspect(): Promise<InspectResult> {
    const meta = this.meta();
    return {
      ruleId: meta.has("rule") ? (JSON.parse(meta.get("rule")!) as RuleDef).id : null,
      version: meta.has("version") ? Number(meta.get("version")) : null,
      groups: this.sql
        .exec<{ key: string; state: string; due: number | null }>("SELECT g.key, g.state, s.time AS due FROM groups g LEFT JOIN schedule s ON s.id = 'due:' || g.key ORDER BY g.key")
        .toArray()
        .map((g) => ({ key: g.key, state: JSON.parse(g.state), dueAt: g.due })),
      appliedBatches: Number(this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM applied_batches").one().n),
      outbox: this.outbox.size(),
      schedule: this.schedule.list(),
      alarm: await this.ctx.storage.getAlarm(),
      late: this.lateCount(),
    };
  }

  /** Matches ignored as late since the rule last changed (GET /v1/rules/:id sums the shards). */
  async lateEvents(): Promise<number> {
    return this.lateCount();
  }

  private lateCount(): number {
    return Number(this.meta().get("late") ?? 0);
  }

  /**
   * Forgets every group and pending deadline (rule deleted, disabled or changed). Applied batch ids
   * are kept so that a late retry of an old batch still counts nothing twice.
   */
  async reset(): Promise<void> {
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM groups");
      this.outbox.clear();
      this.schedule.cancelAll();
      this.sql.exec("DELETE FROM meta WHERE k IN ('rule', 'version', 'late')");
    });
    await this.schedule.arm();
  }

  // --- Alarm

  /**
   * Runs the due schedule rows: onDue for each due group (its row moved to the next deadline or
   * deleted), the outbox retry; then writes the resulting alert changes through the Store and re-arms.
   * Idempotent: a second run finds nothing due.
   */
  override async alarm(): Promise<void> {
    const now = this.now();
    this.schedule.alarmFired();
    const meta = this.meta();
    const ruleText = meta.get("rule");
    const heartbeatRows: Omit<HeartbeatListing, "source">[] = [];
    let engineErrors = 0;
    this.ctx.storage.transactionSync(() => {
      const due = this.schedule.due(now, DUE_PER_ALARM);
      const groups: { key: string; dueAt: number }[] = [];
      for (const row of due) {
        if (row.kind === DUE && row.payload !== null) groups.push({ key: row.payload, dueAt: row.time });
        // The outbox retry is done by the flush below (which sets it again if the write fails again);
        // a kind this build does not know is dropped rather than woken up for forever.
        else this.schedule.cancel(row.id);
      }
      if (groups.length === 0) return;
      const rule = ruleText ? (JSON.parse(ruleText) as RuleDef) : undefined;
      const engine = rule ? engineFor(rule) : undefined;
      if (!rule || !engine?.onDue) {
        // Nothing can handle these deadlines: drop them rather than wake up forever.
        for (const g of groups) this.schedule.cancel(dueId(g.key));
        return;
      }
      const firings: Firing[] = [];
      for (const g of groups) {
        const row = this.sql.exec<{ state: string }>("SELECT state FROM groups WHERE key = ?", g.key).toArray()[0];
        if (!row) {
          this.schedule.cancel(dueId(g.key));
          continue;
        }
        let r: StepResult<unknown>;
        try {
          r = engine.onDue(rule, JSON.parse(row.state) as never, now) as StepResult<unknown>;
        } catch (err) {
          // An engine bug: drop this deadline rather than wake up for it forever.
          console.error(JSON.stringify({ level: "error", where: "RuleState.alarm", rule: rule.id, group: g.key, error: String(err) }));
          engineErrors++;
          this.schedule.cancel(dueId(g.key));
          continue;
        }
        let seq = 0;
        for (const f of r.firings) firings.push({ ...f, id: firingId(rule.id, g.key, `due:${g.dueAt}`, seq++), ruleId: rule.id });
        this.writeGroup(g.key, r.state, r.state === undefined ? null : (r.dueAt ?? null), g.dueAt);
        if (rule.type === "heartbeat") {
          const raised = r.firings.some((f) => f.action === "raise");
          heartbeatRows.push({
            name: heartbeatName(JSON.parse(g.key) as string[]),
            lastBeat: null,
            deadline: raised ? g.dueAt : (r.dueAt ?? null),
            timeoutMs: parseDuration(rule.timeout) ?? 0,
            state: raised ? "late" : "ok",
          });
        }
      }
      for (const input of toAlertInputs(rule, firings)) this.outbox.queue(input, now);
    });
    if (engineErrors > 0) await this.countEngineError(engineErrors);
    const source = ruleText ? (JSON.parse(ruleText) as { id?: string }).id : undefined;
    if (source) await this.writeHeartbeatRows(heartbeatRows.map((h) => ({ ...h, source })), now);
    await this.outbox.flush(this.env, now);
    await this.schedule.arm();
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
    if (heldVersion !== undefined && version > heldVersion) {
      this.sql.exec("DELETE FROM groups");
      this.sql.exec("DELETE FROM meta WHERE k = 'late'");
      this.schedule.cancelKind(DUE);
    }
    this.setMeta("rule", JSON.stringify(rule));
    this.setMeta("version", String(version));
  }

  /** Writes a group's state and its deadline row (`heldDue`: the deadline as read, so an unchanged one costs no write). */
  private writeGroup(key: string, state: unknown, dueAt: number | null, heldDue: number | null): void {
    if (state === undefined) this.sql.exec("DELETE FROM groups WHERE key = ?", key);
    else this.sql.exec("INSERT INTO groups (key, state) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state", key, JSON.stringify(state));
    const want = state === undefined ? null : dueAt;
    if (want === heldDue) return;
    if (want === null) this.schedule.cancel(dueId(key));
    else this.schedule.set(dueId(key), DUE, want, key);
  }

  /** Counts engine exceptions in the counters table (GET /v1/metrics); best effort. */
  private async countEngineError(n = 1): Promise<void> {
    await storeOf(this.env).addCounters({ [ENGINE_ERRORS_COUNTER]: n }).catch((err: unknown) => {
      console.error(JSON.stringify({ level: "error", where: "RuleState.countEngineError", error: String(err) }));
    });
  }

  private async recordRuleHeartbeats(rule: RuleDef, touched: Map<string, { group: Record<string, string>; lastTs: number }>): Promise<void> {
    const timeoutMs = parseDuration(rule.timeout) ?? 0;
    const rows: HeartbeatListing[] = [];
    for (const [key, t] of touched) {
      rows.push({ source: rule.id, name: heartbeatName(t.group), timeoutMs, lastBeat: t.lastTs, deadline: this.schedule.timeOf(dueId(key)), state: "ok" });
    }
    await this.writeHeartbeatRows(rows, this.now());
  }

  /**
   * The heartbeats table is the listing for GET /v1/heartbeats; this object is the one writer of its
   * rule's rows (workers/store/heartbeats.ts). The deadline itself is this object's schedule.
   */
  private async writeHeartbeatRows(rows: HeartbeatListing[], now: number): Promise<void> {
    if (rows.length === 0) return;
    try {
      await metered(this.env, (store) => store.putHeartbeats(rows, now), { waitUntil: (p) => this.ctx.waitUntil(p) });
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
