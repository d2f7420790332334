/**
 * Test harness for the rule engines: hosts one rule the way the Durable Object does — per-group state
 * stored as JSON between calls, step() per matched event, onDue() when a group's dueAt has passed —
 * without any platform API. Used by the engine tests, the CrowdSec/SEC replays and the bench.
 */
import { engineFor, groupKeyOf } from "../../workers/rules/engines/index.ts";
import type { Firing, MatchedEvent, RuleDef } from "../../workers/rules/types.ts";

export type HostFiring = Omit<Firing, "id" | "ruleId">;

export class RuleHost {
  readonly states = new Map<string, string>();
  readonly due = new Map<string, number>();
  readonly firings: HostFiring[] = [];
  late = 0;
  readonly rule: RuleDef;
  constructor(rule: RuleDef) {
    this.rule = rule;
  }

  /** Steps one event (wall time defaults to its event time: a live feed). Returns its firings. */
  step(ev: MatchedEvent, nowMs = ev.ts): HostFiring[] {
    const key = groupKeyOf(this.rule, ev);
    const raw = this.states.get(key);
    const r = engineFor(this.rule)!.step(this.rule, raw === undefined ? undefined : JSON.parse(raw), ev, nowMs);
    if (r.late) this.late++;
    this.store(key, r.state, r.dueAt);
    this.firings.push(...r.firings);
    return r.firings;
  }

  /** Runs onDue for every group whose dueAt <= nowMs (or every group with `force`, to test early calls). */
  tick(nowMs: number, force = false): HostFiring[] {
    const out: HostFiring[] = [];
    const onDue = engineFor(this.rule)!.onDue;
    if (!onDue) return out;
    for (const [key, raw] of [...this.states]) {
      const at = this.due.get(key);
      if (!force && (at === undefined || at > nowMs)) continue;
      const r = onDue(this.rule, JSON.parse(raw), nowMs);
      this.store(key, r.state, r.dueAt);
      out.push(...r.firings);
    }
    this.firings.push(...out);
    return out;
  }

  private store(key: string, state: unknown, dueAt: number | undefined) {
    if (state === undefined) {
      this.states.delete(key);
      this.due.delete(key);
      return;
    }
    this.states.set(key, JSON.stringify(state));
    if (dueAt === undefined) this.due.delete(key);
    else this.due.set(key, dueAt);
  }
}

let seq = 0;
/** A matched event at `ts` ms with the given projected fields. */
export function ev(ts: number, fields: Record<string, unknown> = {}, step?: string): MatchedEvent {
  const m: MatchedEvent = { id: `e${++seq}`, ts, fields };
  if (step) m.step = step;
  return m;
}
