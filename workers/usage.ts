/**
 * The cost meter. Every request through the Worker gets a Meter: a middleware hands the routes an env
 * whose D1 binding adds up what D1 reports for each call (`meta.rows_read`, `rows_written`,
 * `size_after`, one query per statement) and whose Durable Object namespaces count each stub obtained
 * (one RPC each in this code base), and after the response (`waitUntil`) it adds the request's total to
 * today's ledger row (one upsert: store/usage.ts). `GET /v1/usage` turns the ledger into today, this month, a
 * projection to the month's end, and each against the Free and Paid plans (constants.ts).
 *
 * Also metered (`metered`): each cron run (scheduled.ts), the alert writes of Durable Object alarms
 * (outbox.ts), the sessions and devices NetworkState writes and the heartbeat listing RuleState writes.
 * Not metered: the Heartbeat object's listing write per ping or deadline (a ledger row per ping would
 * double what it costs), RuleState's engine-error and the live hub's dropped counters (rare), the
 * Notifier's channel reads, and static assets (served without the Worker, free). R2 operations and notifications are counted by whoever performs
 * them (`meterOf(c).add(...)`).
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./auth.ts";
import * as K from "./constants.ts";
import type { Env } from "./env.ts";
import { storeOf, withD1Meter } from "./store/d1.ts";
import { emptyUsage, USAGE_METRICS, type UsageCounts } from "./store/usage.ts";
import type { Store } from "./store/types.ts";
import type { AlertInput } from "./rules/plan.ts";

const DAY_MS = 86_400_000;

export class Meter {
  readonly counts: UsageCounts = emptyUsage();
  add(metric: keyof UsageCounts, n = 1): void {
    if (metric === "d1_bytes") this.counts.d1_bytes = Math.max(this.counts.d1_bytes, n);
    else this.counts[metric] += n;
  }
}

function meteredNamespace<T extends object>(ns: T, meter: Meter): T {
  return new Proxy(ns, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      if (prop === "get" || prop === "getByName") {
        return (...args: unknown[]) => {
          meter.add("do_requests");
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return v.bind(target);
    },
  });
}

/** The env a metered request sees. */
export function meteredEnv(env: Env, meter: Meter): Env {
  return {
    ...withD1Meter(env, (r) => {
      meter.add("d1_queries");
      meter.add("d1_rows_read", r.rowsRead);
      meter.add("d1_rows_written", r.rowsWritten);
      if (r.sizeAfter) meter.add("d1_bytes", r.sizeAfter);
    }),
    RULE_STATE: meteredNamespace(env.RULE_STATE, meter),
    HEARTBEAT: meteredNamespace(env.HEARTBEAT, meter),
    LIVE: meteredNamespace(env.LIVE, meter),
    NETWORK: meteredNamespace(env.NETWORK, meter),
    NOTIFIER: meteredNamespace(env.NOTIFIER, meter),
  } as Env;
}

const METER = new WeakMap<object, Meter>();
/** The request's meter (routes add R2 operations and notifications to it). */
export const meterOf = (c: Context<AppEnv>): Meter | undefined => METER.get(c.req.raw);

export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

/** Adds `meter`'s counts to today's ledger row; a failed write is logged, never thrown. */
export async function writeUsage(env: Pick<Env, "DB" | "LIBSQL_URL" | "LIBSQL_AUTH_TOKEN">, meter: Meter): Promise<void> {
  try {
    await storeOf(env).addUsage(dayOf(Date.now()), meter.counts);
  } catch (err) {
    console.error(JSON.stringify({ level: "error", where: "usage", error: String(err) }));
  }
}

/**
 * Runs `fn` on a store whose D1 use (and Durable Object requests) is metered, then adds that to the
 * ledger: through `waitUntil` when given (off the caller's path), else awaited. For D1 work outside a
 * request: the cron (`invocation`: it counts as a Worker request), Durable Objects' writes. Nothing is
 * written when nothing was used.
 */
export async function metered<T>(env: Env, fn: (store: Store) => Promise<T>, opts: { waitUntil?: (p: Promise<unknown>) => void; invocation?: boolean } = {}): Promise<T> {
  const meter = new Meter();
  if (opts.invocation) meter.add("worker_requests");
  const waitUntil = opts.waitUntil;
  try {
    return await fn(storeOf(meteredEnv(env, meter)));
  } finally {
    if (USAGE_METRICS.some((m) => meter.counts[m] > 0)) {
      if (waitUntil) waitUntil(writeUsage(env, meter));
      else await writeUsage(env, meter);
    }
  }
}

/** The request's ExecutionContext, when it has one (hono throws on the getter without one). */
function executionCtx(c: Context<AppEnv>): ExecutionContext | undefined {
  try {
    return c.executionCtx as ExecutionContext;
  } catch {
    return undefined;
  }
}

/**
 * Meters every request: swaps in the metered env, then writes the request's usage after the response,
 * off the request path (`waitUntil`: the response does not wait for the ledger's D1 write). The counts
 * are final by then: the handler's own awaited work is done. Without an execution context (a direct
 * `app.request`), the write is awaited.
 */
export const meterRequests: MiddlewareHandler<AppEnv> = async (c, next) => {
  const meter = new Meter();
  METER.set(c.req.raw, meter);
  const plain = c.env;
  c.env = meteredEnv(plain, meter);
  meter.add("worker_requests");
  try {
    await next();
    // What the request cost in D1 rows read, as D1 bills them (docs/api.md); a response whose headers
    // are immutable (static assets, a socket upgrade) goes without.
    try {
      c.res.headers.set("x-porchlight-rows-read", String(meter.counts.d1_rows_read));
    } catch { /* immutable headers */ }
  } finally {
    const ctx = executionCtx(c);
    if (ctx) ctx.waitUntil(writeUsage(plain, meter));
    else await writeUsage(plain, meter);
  }
};

// --- The report

type Limits = Partial<Record<keyof UsageCounts, number>>;

/** Daily limits of the Free plan (requests fail past them). */
export const FREE_DAILY: Limits = {
  worker_requests: K.WORKERS_FREE_REQUESTS_PER_DAY,
  d1_rows_read: K.D1_FREE_ROWS_READ_PER_DAY,
  d1_rows_written: K.D1_FREE_ROWS_WRITTEN_PER_DAY,
  do_requests: K.DO_FREE_REQUESTS_PER_DAY,
  d1_bytes: K.D1_FREE_BYTES_PER_DATABASE,
};
/** Monthly allowances (Paid plan; R2's free tier on either plan). */
export const MONTHLY: Limits = {
  worker_requests: K.WORKERS_PAID_REQUESTS_PER_MONTH,
  d1_rows_read: K.D1_PAID_ROWS_READ_PER_MONTH,
  d1_rows_written: K.D1_PAID_ROWS_WRITTEN_PER_MONTH,
  do_requests: K.DO_PAID_REQUESTS_PER_MONTH,
  r2_class_a: K.R2_FREE_CLASS_A_PER_MONTH,
  r2_class_b: K.R2_FREE_CLASS_B_PER_MONTH,
  d1_bytes: K.D1_PAID_BYTES_PER_DATABASE,
};
const USD_PER_MILLION: Partial<Record<keyof UsageCounts, number>> = {
  worker_requests: K.WORKERS_PAID_USD_PER_MILLION_REQUESTS,
  d1_rows_read: K.D1_PAID_USD_PER_MILLION_ROWS_READ,
  d1_rows_written: K.D1_PAID_USD_PER_MILLION_ROWS_WRITTEN,
  do_requests: K.DO_PAID_USD_PER_MILLION_REQUESTS,
  r2_class_a: K.R2_USD_PER_MILLION_CLASS_A,
  r2_class_b: K.R2_USD_PER_MILLION_CLASS_B,
};

export interface UsageCheck {
  metric: keyof UsageCounts;
  plan: "free" | "paid";
  /** `day`: today against a daily limit; `month`: the month-end projection against a monthly one. */
  period: "day" | "month";
  used: number;
  limit: number;
  fraction: number;
  level: "ok" | "warning" | "over";
}

export interface UsageReport {
  now: string;
  today: UsageCounts & { day: string };
  month: UsageCounts & { from: string; days_elapsed: number; days_in_month: number };
  /** The month so far scaled to the whole month (sizes: the largest seen). */
  projection: UsageCounts;
  /** Beyond the Paid plan's allowances at the projection, USD (the $5 subscription not included). */
  projected_overage_usd: number;
  limits: { free_daily: Limits; monthly: Limits };
  checks: UsageCheck[];
  /** The worst check: "over" when a limit is already passed, "warning" at USAGE_WARN_FRACTION. */
  level: "ok" | "warning" | "over";
}

const levelOf = (f: number): UsageCheck["level"] => (f >= 1 ? "over" : f >= K.USAGE_WARN_FRACTION ? "warning" : "ok");

export function usageReport(days: ({ day: number } & UsageCounts)[], now: number): UsageReport {
  const today = dayOf(now);
  const d = new Date(today);
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  // Days elapsed including today's elapsed part (so the first hours of a month do not project wildly).
  const elapsed = Math.max((now - monthStart) / DAY_MS, 1 / 24);
  const todayRow = days.find((r) => r.day === today) ?? { day: today, ...emptyUsage() };
  const month = emptyUsage();
  for (const r of days) {
    if (r.day < monthStart) continue;
    for (const m of USAGE_METRICS) month[m] = m === "d1_bytes" ? Math.max(month[m], r[m]) : month[m] + r[m];
  }
  const projection = emptyUsage();
  for (const m of USAGE_METRICS) projection[m] = m === "d1_bytes" ? month[m] : Math.round((month[m] / elapsed) * daysInMonth);
  let overage = 0;
  for (const [m, usd] of Object.entries(USD_PER_MILLION) as [keyof UsageCounts, number][]) {
    overage += (Math.max(0, projection[m] - (MONTHLY[m] ?? 0)) / 1e6) * usd;
  }
  const checks: UsageCheck[] = [];
  for (const [m, limit] of Object.entries(FREE_DAILY) as [keyof UsageCounts, number][]) {
    checks.push({ metric: m, plan: "free", period: "day", used: todayRow[m], limit, fraction: todayRow[m] / limit, level: levelOf(todayRow[m] / limit) });
  }
  for (const [m, limit] of Object.entries(MONTHLY) as [keyof UsageCounts, number][]) {
    checks.push({ metric: m, plan: "paid", period: "month", used: projection[m], limit, fraction: projection[m] / limit, level: levelOf(projection[m] / limit) });
  }
  const level = checks.some((c) => c.level === "over") ? "over" : checks.some((c) => c.level === "warning") ? "warning" : "ok";
  const { day: _day, ...todayCounts } = todayRow;
  void _day;
  return {
    now: new Date(now).toISOString(),
    today: { day: new Date(today).toISOString().slice(0, 10), ...todayCounts },
    month: { from: new Date(monthStart).toISOString().slice(0, 10), days_elapsed: Math.round(elapsed * 100) / 100, days_in_month: daysInMonth, ...month },
    projection,
    projected_overage_usd: Math.round(overage * 100) / 100,
    limits: { free_daily: FREE_DAILY, monthly: MONTHLY },
    checks,
    level,
  };
}

export async function readUsage(env: Pick<Env, "DB" | "LIBSQL_URL" | "LIBSQL_AUTH_TOKEN">, now: number): Promise<UsageReport> {
  const d = new Date(now);
  const monthStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return usageReport(await storeOf(env).usageDays(monthStart, dayOf(now)), now);
}

// --- Alerts when a limit comes near

/** Rule id of the cost meter's own alerts (no rule row: the cron raises them). */
export const USAGE_RULE_ID = "porchlight-usage";
const LABEL: Partial<Record<keyof UsageCounts, string>> = {
  worker_requests: "Worker requests",
  d1_rows_read: "D1 rows read",
  d1_rows_written: "D1 rows written",
  d1_bytes: "D1 storage",
  do_requests: "Durable Object requests",
  r2_class_a: "R2 class A operations",
  r2_class_b: "R2 class B operations",
};

/**
 * An alert per check at `warning` or `over` (so notifications reach the user through the usual
 * channels), one per metric, plan and level a day: the firing id carries the day, so the cron raising
 * it every 15 minutes applies it once. The alert expires after a quiet day.
 */
export function usageAlerts(report: UsageReport, now: number): AlertInput[] {
  const day = report.today.day;
  return report.checks
    .filter((c) => c.level !== "ok")
    .map((c) => {
      const what = LABEL[c.metric] ?? c.metric;
      const pct = Math.round(c.fraction * 100);
      const limit = c.plan === "free" ? "the Free plan's daily limit" : "the monthly allowance";
      return {
        firingId: `usage:${day}:${c.metric}:${c.plan}:${c.level}`,
        ruleId: USAGE_RULE_ID,
        action: "raise" as const,
        resource: "porchlight",
        group: { metric: c.metric, plan: c.plan },
        severity: c.level === "over" ? ("high" as const) : ("medium" as const),
        title: `${what}: ${pct} % of ${limit}${c.period === "month" ? " (projected)" : ""}`,
        text: `${c.used.toLocaleString("en-US")} of ${c.limit.toLocaleString("en-US")} ${c.period === "month" ? "projected for the month" : "today"}. See the Usage page (docs/cost.md for storage policies that cost less).`,
        count: 1,
        eventIds: [],
        magnitude: c.fraction,
        tags: ["cost"],
        attributes: { metric: c.metric, plan: c.plan, period: c.period, used: c.used, limit: c.limit },
        at: now,
        timeoutMs: 86_400_000,
      };
    });
}
