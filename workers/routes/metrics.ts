/**
 * `GET /v1/metrics` (read scope): the pipeline counters (received, stored, parse_errors, empty_lines,
 * duplicates, line_errors, rows_written, duplicate_batches, ...) and the relays seen at ingest, so that a
 * lost line can always be accounted for. JSON by default; `?format=prometheus` for scrapers.
 */
import type { Hono } from "hono";
import { requireScope, type AppEnv } from "../auth.ts";
import { storeOf } from "../store/d1.ts";

export function registerMetricsRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/metrics", requireScope("read"), async (c) => {
    const store = storeOf(c.env);
    const [counters, relays] = await Promise.all([store.counters(), store.relays()]);
    if (c.req.query("format") === "prometheus") {
      let out = "";
      for (const [name, value] of Object.entries(counters)) {
        const metric = `porchlight_${name.replace(/[^a-zA-Z0-9_]/g, "_")}_total`;
        out += `# TYPE ${metric} counter\n${metric} ${value}\n`;
      }
      for (const r of relays) {
        const label = r.name.replace(/["\\\n]/g, "_");
        out += `porchlight_relay_lines_total{relay="${label}"} ${r.lines}\nporchlight_relay_last_seen_seconds{relay="${label}"} ${Math.floor(r.last_seen_at / 1000)}\n`;
      }
      return c.body(out, 200, { "content-type": "text/plain; version=0.0.4" });
    }
    return c.json({ counters, relays });
  });
}
