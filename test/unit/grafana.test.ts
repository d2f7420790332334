/**
 * docs/grafana/porchlight.json: a Grafana dashboard Grafana can import (the dashboard model's required
 * fields, panel layout inside the 24-column grid, unique panel ids, Prometheus targets with refIds) that
 * charts only metrics which exist: the Worker's (workers/metrics.ts) and the relay's (relay/*.ts).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { NOTIFY_METRICS, PIPELINE_COUNTERS, USAGE_GAUGES } from "../../workers/metric-names.ts";

const root = new URL("../../", import.meta.url).pathname;
const dashboard: unknown = JSON.parse(readFileSync(join(root, "docs/grafana/porchlight.json"), "utf8"));

const Datasource = z.object({ type: z.literal("prometheus"), uid: z.string().min(1) });
const GridPos = z.object({ h: z.number().int().positive(), w: z.number().int().min(1).max(24), x: z.number().int().min(0).max(23), y: z.number().int().min(0) });
const Target = z.object({ refId: z.string().regex(/^[A-Z]$/), expr: z.string().min(1), legendFormat: z.string().optional(), datasource: Datasource });
const Panel = z.discriminatedUnion("type", [
  z.object({ type: z.literal("row"), id: z.number().int(), title: z.string().min(1), gridPos: GridPos, collapsed: z.boolean(), panels: z.array(z.unknown()) }),
  ...(["timeseries", "bargauge", "stat", "gauge"] as const).map((t) =>
    z.object({
      type: z.literal(t),
      id: z.number().int(),
      title: z.string().min(1),
      description: z.string(),
      datasource: Datasource,
      gridPos: GridPos,
      fieldConfig: z.object({ defaults: z.object({ unit: z.string() }).passthrough(), overrides: z.array(z.unknown()) }),
      options: z.record(z.string(), z.unknown()),
      targets: z.array(Target).min(1),
    }),
  ),
]);
const Dashboard = z.object({
  uid: z.string().regex(/^[a-zA-Z0-9_-]{1,40}$/),
  title: z.string().min(1),
  schemaVersion: z.number().int().min(30),
  version: z.number().int(),
  editable: z.boolean(),
  time: z.object({ from: z.string(), to: z.string() }),
  refresh: z.string(),
  tags: z.array(z.string()),
  templating: z.object({ list: z.array(z.object({ name: z.string(), type: z.string() }).passthrough()) }),
  annotations: z.object({ list: z.array(z.unknown()) }),
  panels: z.array(Panel).min(1),
});

/** Every metric name the relay's source code exports (as a string literal). */
function relayMetricNames(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== "node_modules" && e.name !== "dist") walk(join(dir, e.name));
      else if (e.name.endsWith(".ts")) for (const m of readFileSync(join(dir, e.name), "utf8").matchAll(/"(porchlight_relay_[a-z0-9_]+)"/g)) names.add(m[1]!);
    }
  };
  walk(join(root, "relay"));
  return names;
}

describe("Grafana dashboard", () => {
  const d = Dashboard.parse(dashboard);
  const panels = d.panels.filter((p) => p.type !== "row") as Extract<z.infer<typeof Panel>, { targets: unknown }>[];

  it("is a valid dashboard model: unique ids, panels inside the grid, not overlapping, a datasource variable", () => {
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of d.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const k = `${x},${y}`;
          expect(cells.has(k), `${p.title} overlaps at ${k}`).toBe(false);
          cells.add(k);
        }
      }
    }
    expect(d.templating.list.find((v) => v.name === "datasource")?.type).toBe("datasource");
    for (const p of panels) expect(p.datasource.uid).toBe("${datasource}");
  });

  it("charts only metrics that exist, and covers every area the issue names", () => {
    const worker = new Set([
      ...Object.keys(PIPELINE_COUNTERS).map((n) => `porchlight_${n}_total`),
      ...Object.keys(USAGE_GAUGES),
      ...Object.keys(NOTIFY_METRICS),
      "porchlight_relay_lines_total",
      "porchlight_relay_last_seen_seconds",
    ]);
    const relay = relayMetricNames();
    expect(relay.size).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const p of panels) for (const t of p.targets) for (const m of t.expr.matchAll(/\bporchlight_[a-z0-9_]+/g)) used.add(m[0]);
    const unknown = [...used].filter((m) => !worker.has(m) && !relay.has(m));
    expect(unknown).toEqual([]);
    for (const m of ["porchlight_relay_received_total", "porchlight_relay_spool_bytes", "porchlight_received_total", "porchlight_parse_errors_total", "porchlight_alerts_total", "porchlight_late_matches_total", "porchlight_rule_engine_errors_total", "porchlight_usage_projection", "porchlight_usage_limit_fraction", "porchlight_rows_written_total", "porchlight_notify_deliveries"]) {
      expect(used.has(m), m).toBe(true);
    }
    expect(panels.some((p) => p.targets.some((t) => t.expr.includes('metric="notifications"')))).toBe(true);
  });
});
