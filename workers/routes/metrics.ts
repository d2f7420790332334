/**
 * The Worker's metrics (read scope): the pipeline counters (received, stored, parse_errors, empty_lines,
 * duplicates, line_errors, rows_written, duplicate_batches, ...) and the relays seen at ingest, so that a
 * lost line can always be accounted for, plus the cost meter (today, month-end projection, fraction of
 * each plan limit) and retention. `GET /v1/metrics` is JSON (`?format=prometheus` for text);
 * notification deliveries, `GET /metrics` is the conventional path for scrapers (Prometheus text, bearer read token).
 * docs/grafana/porchlight.json charts these names; test/unit/grafana.test.ts checks it only uses
 * names that exist (metric-names.ts, and the relay's own in relay/).
 */
import type { Context, Hono } from "hono";
import { requireScope, type AppEnv } from "../auth.ts";
import { storeOf } from "../store/d1.ts";
import { USAGE_METRICS } from "../store/usage.ts";
import { readUsage } from "../usage.ts";
import { NOTIFY_METRICS, PIPELINE_COUNTERS, USAGE_GAUGES } from "../metric-names.ts";
import { notifierStats } from "../notify/outbox.ts";

const esc = (s: string) => s.replace(/["\\\n]/g, "_");

async function prometheusText(c: Context<AppEnv>): Promise<string> {
  const store = storeOf(c.env);
  const [counters, relays, usage, notifications] = await Promise.all([store.counters(), store.relays(), readUsage(c.env, Date.now()), notifierStats(c.env)]);
  let out = "";
  const seen = new Set<string>();
  for (const [name, help] of Object.entries(PIPELINE_COUNTERS)) {
    const metric = `porchlight_${name}_total`;
    out += `# HELP ${metric} ${help}\n# TYPE ${metric} counter\n${metric} ${counters[name] ?? 0}\n`;
    seen.add(name);
  }
  for (const [name, value] of Object.entries(counters)) {
    if (seen.has(name)) continue;
    const metric = `porchlight_${name.replace(/[^a-zA-Z0-9_]/g, "_")}_total`;
    out += `# TYPE ${metric} counter\n${metric} ${value}\n`;
  }
  out += "# HELP porchlight_relay_lines_total Lines received from each relay.\n# TYPE porchlight_relay_lines_total counter\n";
  for (const r of relays) out += `porchlight_relay_lines_total{relay="${esc(r.name)}"} ${r.lines}\n`;
  out += "# HELP porchlight_relay_last_seen_seconds When each relay last delivered, Unix seconds.\n# TYPE porchlight_relay_last_seen_seconds gauge\n";
  for (const r of relays) out += `porchlight_relay_last_seen_seconds{relay="${esc(r.name)}"} ${Math.floor(r.last_seen_at / 1000)}\n`;
  if (notifications) {
    out += `# HELP porchlight_notify_deliveries ${NOTIFY_METRICS.porchlight_notify_deliveries}\n# TYPE porchlight_notify_deliveries gauge\n`;
    for (const [status, n] of Object.entries(notifications.deliveries)) out += `porchlight_notify_deliveries{status="${esc(status)}"} ${n}\n`;
    out += `# HELP porchlight_notify_attempts_total ${NOTIFY_METRICS.porchlight_notify_attempts_total}\n# TYPE porchlight_notify_attempts_total counter\nporchlight_notify_attempts_total ${notifications.attempts}\n`;
  }
  const gauge = (name: string, rows: [string, number][]) => {
    out += `# HELP ${name} ${USAGE_GAUGES[name]}\n# TYPE ${name} gauge\n`;
    for (const [labels, v] of rows) out += `${name}{${labels}} ${v}\n`;
  };
  gauge("porchlight_usage_today", USAGE_METRICS.map((m) => [`metric="${m}"`, usage.today[m]]));
  gauge("porchlight_usage_month", USAGE_METRICS.map((m) => [`metric="${m}"`, usage.month[m]]));
  gauge("porchlight_usage_projection", USAGE_METRICS.map((m) => [`metric="${m}"`, usage.projection[m]]));
  gauge("porchlight_usage_limit_fraction", usage.checks.map((k) => [`metric="${k.metric}",plan="${k.plan}"`, Math.round(k.fraction * 1e6) / 1e6]));
  return out;
}

const PROM_TYPE = { "content-type": "text/plain; version=0.0.4; charset=utf-8" };

export function registerMetricsRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/metrics", requireScope("read"), async (c) => {
    if (c.req.query("format") === "prometheus") return c.body(await prometheusText(c), 200, PROM_TYPE);
    const store = storeOf(c.env);
    const [counters, relays, notifications] = await Promise.all([store.counters(), store.relays(), notifierStats(c.env)]);
    return c.json({ counters, relays, notifications });
  });

  // The conventional scrape path (Prometheus `bearer_token` / Grafana Agent `authorization`).
  app.get("/metrics", requireScope("read"), async (c) => c.body(await prometheusText(c), 200, PROM_TYPE));
}
