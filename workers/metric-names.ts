/**
 * The names the Worker's Prometheus text always carries (workers/metrics.ts), in a module without
 * imports so that Node tools and tests (the Grafana dashboard check) can read them.
 */

/** Counters always exported (0 until first counted), each `porchlight_<name>_total`. */
export const PIPELINE_COUNTERS: Record<string, string> = {
  received: "Lines accepted at the edge.",
  stored: "Events stored.",
  parse_errors: "Lines no parser understood (stored as raw).",
  empty_lines: "Empty lines skipped.",
  duplicates: "Lines already stored (same id).",
  line_errors: "Lines refused with an error.",
  alerts: "Alerts created or changed by rule evaluation.",
  suppressed: "Events kept out of alerting by suppress rules.",
  late_matches: "Matches too late for their rule's window.",
  rows_written: "D1 rows written by ingest (meta.rows_written).",
  duplicate_batches: "Batches replayed with a known Idempotency-Key.",
  rule_engine_errors: "Rule engine exceptions.",
  live_publishes_dropped: "Live updates the hub did not take.",
  archived_only: "Events of archive-only datasets: archived in R2 and evaluated, not stored in D1.",
  retention_deleted: "Rows (events and network sessions) deleted by retention.",
  retention_scanned: "Rows (events and network sessions) read by retention sweeps.",
};

/** Cost-meter gauges, each with a `metric` label (workers/usage.ts). */
export const USAGE_GAUGES: Record<string, string> = {
  porchlight_usage_today: "Today's use (UTC day) per metric.",
  porchlight_usage_month: "This month's use per metric.",
  porchlight_usage_projection: "This month's use projected to the month's end.",
  porchlight_usage_limit_fraction: "Use against a plan limit (free: today vs daily; paid: projection vs monthly).",
};

/** Notification gauges and counters (present once the Notifier answers: workers/routes/metrics.ts). */
export const NOTIFY_METRICS: Record<string, string> = {
  porchlight_notify_deliveries: "Notification deliveries by status.",
  porchlight_notify_attempts_total: "Notification delivery attempts.",
};
