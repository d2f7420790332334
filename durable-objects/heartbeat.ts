/**
 * Heartbeat: one pinged heartbeat (`POST /v1/heartbeats/:name`, a cron job saying "I ran"), addressed
 * by its name in the HEARTBEAT namespace. Its deadline is a row of its schedule (schedule.ts): the
 * alarm raises the "missed" alert exactly at lastBeat + timeout, and the next ping clears it.
 * Heartbeat rules (a heartbeat per group of matching events) live in RuleState instead.
 *
 * Storage (SQLite, created idempotently in the constructor):
 * - ping(k = 0, state): this heartbeat's PingState, one row (absent until the first ping, and after stop()).
 * - schedule (schedule.ts): `deadline` while a deadline is pending, and the outbox retry.
 * - outbox (outbox.ts): the raise/clear alert changes pending their write.
 * This object is the one writer of its row in the heartbeats listing (workers/store/heartbeats.ts).
 * Invariants: the alarm handler is idempotent (a raised heartbeat has no deadline row); times are wall ms.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env.ts";
import type { Severity } from "../workers/rules/types.ts";
import { firingId } from "../workers/rules/plan.ts";
import { formatDuration } from "../workers/rules/duration.ts";
import type { AlertInput } from "../workers/store/alerts.ts";
import { storeOf } from "../workers/store/d1.ts";
import { Outbox } from "./outbox.ts";
import { Schedule, type ScheduleRow } from "./schedule.ts";

export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 24 * 3_600_000;
/** Rule id of pinged heartbeats' alerts (the colon keeps it apart from every user rule id). */
export const PING_RULE_ID = "heartbeat:ping";
/** The `source` of pinged heartbeats in the heartbeats listing. */
export const PING_SOURCE = "ping";
/** The schedule row of the pending deadline (id and kind). */
const DEADLINE = "deadline";

export interface BeatResult {
  name: string;
  timeoutMs: number;
  lastBeat: number;
  deadline: number;
  /** True when this beat cleared a raised (missed) heartbeat. */
  cleared: boolean;
}

/** State of the heartbeat. */
interface PingState {
  name: string;
  timeoutMs: number;
  /** Wall ms of the latest ping (never moves back). */
  lastBeat: number;
  severity: Severity;
  /** True from the missed deadline until the next ping. */
  raised: boolean;
}

export interface HeartbeatInspect {
  state: PingState | null;
  schedule: ScheduleRow[];
  outbox: number;
  alarm: number | null;
}

/** The alert change of a heartbeat: raised at its missed deadline, cleared by the ping that follows. */
function pingAlert(s: PingState, action: "raise" | "clear", at: number, firing: string): AlertInput {
  const raise = action === "raise";
  return {
    firingId: firingId(PING_RULE_ID, s.name, firing, 0),
    ruleId: PING_RULE_ID,
    action,
    resource: s.name,
    group: { heartbeat: s.name },
    severity: s.severity,
    title: raise ? `Heartbeat ${s.name} missed` : `Heartbeat ${s.name} is back`,
    text: raise
      ? `No ping for ${formatDuration(s.timeoutMs)} (last ping ${new Date(s.lastBeat).toISOString()})`
      : `Ping received at ${new Date(at).toISOString()}`,
    count: 1,
    eventIds: [],
    magnitude: 0,
    tags: ["heartbeat"],
    attributes: raise ? { last_beat: new Date(s.lastBeat).toISOString(), timeout: formatDuration(s.timeoutMs) } : {},
    at,
  };
}

export class Heartbeat extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly schedule: Schedule;
  private readonly outbox: Outbox;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.schedule = new Schedule(this.sql, ctx.storage);
    void ctx.blockConcurrencyWhile(async () => {
      this.sql.exec("CREATE TABLE IF NOT EXISTS ping (k INTEGER PRIMARY KEY CHECK (k = 0), state TEXT NOT NULL)");
      await this.schedule.open();
    });
    this.outbox = new Outbox(this.sql, this.schedule);
  }

  /** The only clock of this object (wall ms); tests replace it inside runInDurableObject. */
  clock: () => number = () => Date.now();

  // --- RPC

  /**
   * A ping at wall time `at` (ms). `timeoutMs` and `severity` undefined keep the previous ones (24 h
   * and high for a new name). The deadline is lastBeat + timeout.
   */
  async beat(name: string, timeoutMs: number | undefined, at: number, severity?: Severity): Promise<BeatResult> {
    const now = this.clock();
    let result!: BeatResult;
    this.ctx.storage.transactionSync(() => {
      const prev = this.state();
      const state: PingState = {
        name,
        timeoutMs: timeoutMs ?? prev?.timeoutMs ?? DEFAULT_HEARTBEAT_TIMEOUT_MS,
        lastBeat: Math.max(prev?.lastBeat ?? at, at),
        severity: severity ?? prev?.severity ?? "high",
        raised: false,
      };
      const deadline = state.lastBeat + state.timeoutMs;
      const cleared = prev?.raised === true;
      if (cleared) this.outbox.queue(pingAlert(state, "clear", at, `beat:${at}`), now);
      this.writeState(state);
      this.schedule.set(DEADLINE, DEADLINE, deadline);
      result = { name, timeoutMs: state.timeoutMs, lastBeat: state.lastBeat, deadline, cleared };
    });
    await this.list({ timeoutMs: result.timeoutMs, lastBeat: result.lastBeat, deadline: result.deadline, state: "ok" }, name, now);
    await this.outbox.flush(this.env, now);
    await this.schedule.arm();
    return result;
  }

  /**
   * Stops watching: forgets the state, the deadline and pending alert changes, and removes the listing
   * row (an open alert stays for a human to close). False when there was nothing to stop.
   */
  async stop(name: string): Promise<boolean> {
    const had = this.state() !== null;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM ping");
      this.outbox.clear();
      this.schedule.cancelAll();
    });
    await this.schedule.arm();
    const listed = (await storeOf(this.env).deleteHeartbeats(PING_SOURCE, name)) > 0;
    return had || listed;
  }

  async inspect(): Promise<HeartbeatInspect> {
    return { state: this.state(), schedule: this.schedule.list(), outbox: this.outbox.size(), alarm: await this.ctx.storage.getAlarm() };
  }

  // --- Alarm

  /** Raises the missed heartbeat at its deadline, retries the outbox; idempotent. */
  override async alarm(): Promise<void> {
    const now = this.clock();
    this.schedule.alarmFired();
    let missed: PingState | null = null;
    let deadline = 0;
    this.ctx.storage.transactionSync(() => {
      for (const row of this.schedule.due(now, 10)) {
        // The outbox retry (and any kind this build does not know) is consumed here; the flush below
        // sets the retry again if the write fails again.
        this.schedule.cancel(row.id);
        const s = this.state();
        if (row.kind !== DEADLINE || !s || s.raised) continue;
        // Raised at the deadline itself, whenever the alarm actually ran.
        this.outbox.queue(pingAlert(s, "raise", row.time, `due:${row.time}`), now);
        missed = { ...s, raised: true };
        deadline = row.time;
        this.writeState(missed);
      }
    });
    const m = missed as PingState | null;
    if (m) await this.list({ timeoutMs: m.timeoutMs, lastBeat: m.lastBeat, deadline, state: "late" }, m.name, now);
    await this.outbox.flush(this.env, now);
    await this.schedule.arm();
  }

  // --- Internals

  private state(): PingState | null {
    const r = this.sql.exec<{ state: string }>("SELECT state FROM ping WHERE k = 0").toArray()[0];
    return r ? (JSON.parse(r.state) as PingState) : null;
  }

  private writeState(s: PingState): void {
    this.sql.exec("INSERT INTO ping (k, state) VALUES (0, ?) ON CONFLICT(k) DO UPDATE SET state = excluded.state", JSON.stringify(s));
  }

  /** Writes this heartbeat's row of the listing; advisory, so a failure is logged only. */
  private async list(h: { timeoutMs: number; lastBeat: number; deadline: number; state: "ok" | "late" }, name: string, now: number): Promise<void> {
    try {
      await storeOf(this.env).putHeartbeats([{ source: PING_SOURCE, name, ...h }], now);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", where: "Heartbeat.list", error: String(err) }));
    }
  }
}
