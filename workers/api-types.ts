/**
 * The shapes the HTTP API answers with, shared by the Worker (which builds them) and the web view's
 * client (which reads them): one declaration instead of a copy on each side.
 *
 * Invariant: this module imports nothing and holds only types, so web/client may import it (type-only)
 * without pulling server code or Workers types into the bundle (test/unit/web-bundle.test.ts checks it).
 * Times are RFC 3339 UTC text unless a field says ms.
 */

/** Sigma's levels. */
export type Severity = "critical" | "high" | "medium" | "low" | "informational";

export type AlertStatus = "open" | "ack" | "shelved" | "closed" | "expired";

/** One lifecycle step of an alert (GET /v1/alerts/:id). */
export interface HistoryEntry {
  at: string;
  who: string;
  action: string;
  status: string | null;
  severity: string | null;
  note: string | null;
}

/** An alert as the API returns it (GET /v1/alerts, /v1/alerts/:id, lifecycle actions, live updates). */
export interface AlertJson {
  id: string;
  rule_id: string;
  resource: string;
  group: Record<string, string>;
  severity: Severity;
  previous_severity: Severity | null;
  status: AlertStatus;
  title: string;
  text: string;
  duplicate_count: number;
  count: number;
  event_ids: string[];
  magnitude: number;
  tags: string[];
  attributes: Record<string, unknown>;
  first_seen: string;
  last_seen: string;
  shelved_until: string | null;
  expires_at: string | null;
  updated_at: string;
  history?: HistoryEntry[];
  /** Notifications of this alert (GET /v1/alerts/:id only), newest first. */
  deliveries?: DeliveryJson[];
}

/** An alert a backtest would have raised (POST /v1/rules/backtest). */
export interface BacktestAlert {
  resource: string;
  group: Record<string, string>;
  severity: string;
  status: "open" | "closed";
  title: string;
  text: string;
  duplicate_count: number;
  count: number;
  first_seen: string;
  last_seen: string;
  event_ids: string[];
}

/** POST /v1/rules/backtest. */
export interface BacktestResult {
  rule: string;
  from: string;
  to: string;
  scanned: number;
  matched: number;
  suppressed: number;
  firings: number;
  /** True when the scan stopped at `limit` events before reaching `to`. */
  truncated: boolean;
  limit: number;
  /** When truncated: the @timestamp of the last event scanned. */
  scanned_until: string | null;
  /** Matches the engine did not use: later than the rule's lateness behind their group (engines/reorder.ts). */
  late: number;
  alerts: BacktestAlert[];
}

/** GET /v1/stats/overview. */
export interface Overview {
  from: string;
  to: string;
  /** Hour buckets (ms since epoch, UTC hour start) and, per dataset, the count in each bucket. */
  events_per_hour: { buckets: number[]; series: Record<string, number[]> };
  failed_logins_per_hour: { buckets: number[]; counts: number[] };
  alerts_per_day: { buckets: number[]; counts: number[] };
  top_blocked_sources: { ip: string; count: number }[];
}

/** One device of the inventory (GET /v1/devices, /v1/devices/:id). */
export interface ApiDevice {
  id: string;
  mac: string | null;
  ips: string[];
  hostname: string | null;
  vendor: string | null;
  name: string | null;
  tags: string[];
  randomized_mac: boolean;
  first_seen: string;
  last_seen: string;
  online: boolean;
  macs: string[];
  router: string;
  /** First seen in its router's first hour: learned with the inventory at install, never alerted as new. */
  learned: boolean;
}

/** Why a notification was sent (docs/notifications.md). */
export type NotifyReason = "new" | "reopened" | "severity" | "repeat" | "close" | "digest" | "daily" | "test";

/** One notification of an alert on a channel (GET /v1/alerts/:id, /v1/channels/:id/deliveries). */
export type DeliveryStatus = "pending" | "retrying" | "sent" | "failed" | "held" | "dropped";

export interface DeliveryJson {
  id: string;
  alert_id: string | null;
  channel_id: string;
  reason: NotifyReason;
  status: DeliveryStatus;
  attempts: number;
  http_status: number | null;
  answer: string | null;
  created_at: string;
  updated_at: string;
  next_attempt_at: string | null;
}
