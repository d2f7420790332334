/**
 * Backtest: replays stored events (time-ordered by id) of a time range through one rule (saved or
 * not) in scratch, in-memory state inside the Worker — the engines are pure, so this is the same
 * code the RuleState objects run — and returns the alerts it would have raised. Touches no live
 * state: no Durable Object, no alert row, no counter.
 *
 * Clock: in scratch the engine's clock is EVENT time (each event's @timestamp), and deadlines due
 * before an event are run first, so heartbeats and absent-B sequences fire where they would have.
 * Events suppressed by the currently enabled suppress rules are left out, as live evaluation would.
 * Bounded: at most `limit` (default and maximum BACKTEST_MAX_EVENTS) events scanned (25 D1 queries of
 * BACKTEST_PAGE rows, under the Free plan's 50 per invocation); the response says when the range was
 * cut short. CPU grows with the events scanned (JSON parsing dominates): on the Free plan's 10 ms of
 * CPU only a few thousand events fit, hence the smaller `limit` a caller may ask for.
 */
import type { EcsEvent } from "../ecs.ts";
import type { Env } from "../env.ts";
import type { BacktestAlert, BacktestResult } from "../api-types.ts";
import type { Firing, RuleDef, StepResult } from "./types.ts";
import { engineFor } from "./engines/index.ts";
import { lowerBound } from "../parse/id.ts";
import { eventOfRow } from "../store/store.ts";
import { storeOf } from "../store/d1.ts";
import { buildRuleSets, suppressedIds, toAlertInputs } from "./evaluate.ts";
import { compileRule, groupKeyOf } from "./project.ts";
import { firingId, loadEnabledRules } from "./registry.ts";
import { loadLists } from "./lists.ts";
import { dedupKeyOf, MAX_ALERT_EVENT_IDS } from "../store/alerts.ts";

export const BACKTEST_MAX_EVENTS = 50_000;
export const BACKTEST_PAGE = 2000;

export type { BacktestAlert, BacktestResult };

export async function runBacktest(env: Env, rule: RuleDef, from: number, to: number, limit = BACKTEST_MAX_EVENTS): Promise<BacktestResult> {
  const suppressRules = (await loadEnabledRules(env)).filter((r) => r.def.type === "suppress" && r.def.id !== rule.id);
  const lists = await loadLists(storeOf(env), [rule, ...suppressRules.map((r) => r.def)]);
  const target = compileRule(rule, lists?.lookup);
  // The live suppress rules, leaving out the rule under test (built here, not the isolate's cached sets).
  const sets = buildRuleSets(suppressRules, "", lists?.lookup);
  const engine = rule.type === "suppress" ? undefined : engineFor(rule);

  const groups = new Map<string, { state: unknown; dueAt: number | null }>();
  const firings: Firing[] = [];
  const seq = new Map<string, number>();
  const nextId = (key: string, origin: string) => {
    const n = seq.get(key) ?? 0;
    seq.set(key, n + 1);
    return firingId(rule.id, key, origin, n);
  };
  /** A lower bound of the groups' due times: the scan for due groups runs only once it is reached. */
  let nextDue = Infinity;
  let late = 0;
  const collect = (key: string, r: StepResult<unknown>, origin: string) => {
    if (r.late) late++;
    for (const f of r.firings) firings.push({ ...f, id: nextId(key, origin), ruleId: rule.id });
    if (r.state === undefined) groups.delete(key);
    else groups.set(key, { state: r.state, dueAt: r.dueAt ?? null });
    if (r.state !== undefined && r.dueAt !== undefined && r.dueAt < nextDue) nextDue = r.dueAt;
  };
  /** Runs every deadline at or before `t` (event time), earliest first. */
  const runDue = (t: number) => {
    if (!engine?.onDue || t < nextDue) return;
    for (;;) {
      let best: [string, number] | undefined;
      let min = Infinity;
      for (const [k, g] of groups) {
        if (g.dueAt === null) continue;
        if (g.dueAt < min) min = g.dueAt;
        if (g.dueAt <= t && (!best || g.dueAt < best[1])) best = [k, g.dueAt];
      }
      nextDue = min;
      if (!best) return;
      const g = groups.get(best[0])!;
      collect(best[0], engine.onDue(rule, g.state as never, best[1]) as StepResult<unknown>, `due:${best[1]}`);
    }
  };

  let scanned = 0, matched = 0, suppressed = 0, truncated = false;
  let lastTs: number | null = null;
  let cursor = lowerBound(from);
  let inclusive = true;
  const hi = lowerBound(to);
  const store = storeOf(env);
  while (scanned < limit) {
    const take = Math.min(BACKTEST_PAGE, limit - scanned);
    const results = await store.scanEvents(cursor, inclusive, hi, take);
    // The typed columns (id, @timestamp, message, raw...) are not in `doc`: rebuild the whole event.
    const page = results.map(eventOfRow);
    const dropped = suppressedIds(sets, page);
    for (const event of page) {
      scanned++;
      const ts = event["@timestamp"];
      lastTs = ts;
      cursor = event.id;
      if (dropped.has(event.id)) {
        suppressed++;
        continue;
      }
      const m = target.match(event);
      if (!m) continue;
      matched++;
      if (!engine) continue;
      const key = groupKeyOf(rule, m);
      runDue(ts);
      collect(key, engine.step(rule, groups.get(key)?.state as never, m, ts) as StepResult<unknown>, "bt");
    }
    inclusive = false;
    if (results.length < take) break;
    if (scanned >= limit) truncated = true;
  }
  runDue(truncated && lastTs !== null ? lastTs : to);

  // The store's de-duplication, without user actions: one alert per (resource, group); clear closes; a raise reopens.
  const alerts = new Map<string, BacktestAlert>();
  for (const a of toAlertInputs(rule, firings)) {
    const key = dedupKeyOf(rule.id, a.resource, a.group);
    const cur = alerts.get(key);
    if (a.action === "clear") {
      if (cur) cur.status = "closed";
      continue;
    }
    if (!cur) {
      alerts.set(key, {
        resource: a.resource, group: a.group, severity: a.severity, status: "open", title: a.title, text: a.text, duplicate_count: 0, count: a.count,
        first_seen: new Date(a.at).toISOString(), last_seen: new Date(a.at).toISOString(), event_ids: a.eventIds.slice(-MAX_ALERT_EVENT_IDS),
      });
      continue;
    }
    cur.duplicate_count++;
    cur.status = "open";
    cur.count = a.count;
    cur.title = a.title;
    cur.text = a.text;
    cur.last_seen = new Date(a.at).toISOString();
    cur.event_ids = [...new Set([...cur.event_ids, ...a.eventIds])].slice(-MAX_ALERT_EVENT_IDS);
  }
  return {
    rule: rule.id,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    scanned,
    matched,
    suppressed,
    firings: firings.filter((f) => f.action === "raise").length,
    truncated,
    limit,
    scanned_until: truncated && lastTs !== null ? new Date(lastTs).toISOString() : null,
    late,
    alerts: [...alerts.values()],
  };
}
