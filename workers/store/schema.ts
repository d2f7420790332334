/**
 * The one drizzle schema of Porchlight's D1 (and libSQL) database. Migrations in migrations/ are
 * generated from it with `npm run db:generate`.
 *
 * Write cost rule: D1 bills every index entry as a written row, and ingest writes one events row per
 * line, so `events` has NO secondary index: its primary key is a time-sortable id (event time first),
 * the table is WITHOUT ROWID (added by hand to the generated migration; drizzle cannot express it),
 * and time ranges, newest-first order and cursors all use the primary key. Other filters scan within
 * the time range — fine at home volumes (≈10^5–10^6 events a day). Tables written per batch or less
 * often may have indexes; each says why.
 */
import { sqliteTable, text, integer, real, index, primaryKey } from "drizzle-orm/sqlite-core";

// --- Events

export const events = sqliteTable("events", {
  /** Time-sortable id: 10 chars Crockford base32 of @timestamp ms + 16 random chars (ULID layout). */
  id: text("id").primaryKey(),
  /** @timestamp, ms since epoch (event time). */
  ts: integer("ts").notNull(),
  /** Edge or relay receive time, ms since epoch. */
  receivedAt: integer("received_at").notNull(),
  host: text("host"),
  program: text("program"),
  dataset: text("dataset").notNull(),
  /** Canonical text form (IPv4 dotted, IPv6 RFC 5952). */
  srcIp: text("src_ip"),
  dstIp: text("dst_ip"),
  /** 32 hex digits of the IPv6 (or IPv4-mapped) address, so a CIDR filter is a BETWEEN on text. */
  srcIpKey: text("src_ip_key"),
  dstIpKey: text("dst_ip_key"),
  srcPort: integer("src_port"),
  dstPort: integer("dst_port"),
  protocol: text("protocol"),
  user: text("user"),
  action: text("action"),
  outcome: text("outcome"),
  /** Syslog severity code 0..7. */
  severity: integer("severity"),
  message: text("message"),
  raw: text("raw").notNull(),
  /**
   * What re-parsing `raw` cannot restore (sender, transport, cut flag, extractor labels), as JSON; the
   * other ECS fields are derived from `raw` again when read (workers/store/search-time.ts). Rows of 0.1
   * builds hold the whole event, compacted (workers/store/doc.ts).
   */
  doc: text("doc").notNull(),
  /**
   * event.category and event.type as a bit set of ECS's allowed values (search-time.ts classBits), so
   * aggregates can test them without JSON; NULL when none (and in rows of 0.1 builds). Migration 0003.
   */
  classBits: integer("class_bits"),
});

/**
 * Idempotency of ingest: one row per accepted batch, keyed by the client's Idempotency-Key.
 * batches, relays and counters are written on every ingest batch, so they are WITHOUT ROWID too
 * (migration 0002, by hand): a rowid table with a TEXT primary key keeps a hidden unique index, and D1
 * bills each insert into it as 2 written rows instead of 1.
 */
export const batches = sqliteTable("batches", {
  key: text("key").primaryKey(),
  receivedAt: integer("received_at").notNull(),
  /** The response first returned for this batch (JSON), returned again with `duplicate: true`. */
  response: text("response").notNull(),
});

// --- Access

export const tokens = sqliteTable("tokens", {
  /** Public part of the token (`pl_<id>_<secret>`); lookups go by primary key, then the hash is compared. */
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** JSON array of scopes. */
  scopes: text("scopes").notNull(),
  /** SHA-256 hex of the whole token. The token itself is never stored. */
  hash: text("hash").notNull(),
  createdAt: integer("created_at").notNull(),
  lastUsedAt: integer("last_used_at"),
});

/** Web view sessions (cookie → token). Only the SHA-256 of the session id is stored. */
export const sessions = sqliteTable("sessions", {
  idHash: text("id_hash").primaryKey(),
  /** Token that logged in (revoking it ends the session), or `admin` / `access:<email>`. */
  principal: text("principal").notNull(),
  scopes: text("scopes").notNull(),
  csrf: text("csrf").notNull(),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

/** Login attempts per client address and window, for rate limiting. */
export const loginAttempts = sqliteTable("login_attempts", {
  ip: text("ip").primaryKey(),
  windowStart: integer("window_start").notNull(),
  count: integer("count").notNull(),
});

// --- Parsing settings

/** User-defined extractors: named regexes with named groups, scoped by program and/or host. */
export const extractors = sqliteTable("extractors", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  pattern: text("pattern").notNull(),
  program: text("program"),
  host: text("host"),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Per-source settings (timezone of RFC 3164 timestamps), keyed by hostname or sender IP. */
export const sources = sqliteTable("sources", {
  /** `host:<hostname>` or `ip:<address>`. */
  key: text("key").primaryKey(),
  timezone: text("timezone").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Relays seen at ingest (web view settings page): one upsert per batch. */
export const relays = sqliteTable("relays", {
  name: text("name").primaryKey(),
  lastSeenAt: integer("last_seen_at").notNull(),
  lastIp: text("last_ip"),
  batches: integer("batches").notNull().default(0),
  lines: integer("lines").notNull().default(0),
  bytes: integer("bytes").notNull().default(0),
});

/** Pipeline counters (received, stored, parse_errors, empty, duplicates, alerts, ...): a lost line is always accounted for. */
export const counters = sqliteTable("counters", {
  name: text("name").primaryKey(),
  value: integer("value").notNull().default(0),
});

// --- Rules and alerts

export const rules = sqliteTable("rules", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  type: text("type").notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  /** The whole rule as JSON (the API's shape). */
  definition: text("definition").notNull(),
  /** Bumped on every change; rule state objects reset windows when the version they hold is older. */
  version: integer("version").notNull().default(1),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

export const alerts = sqliteTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    ruleId: text("rule_id").notNull(),
    resource: text("resource").notNull(),
    /** Canonical JSON of the group-by values, e.g. {"source.ip":"203.0.113.7"}. */
    groupKey: text("group_key").notNull(),
    /** rule_id + resource + group_key: the de-duplication key (Alerta's resource/event pair). */
    dedupKey: text("dedup_key").notNull(),
    severity: text("severity").notNull(),
    previousSeverity: text("previous_severity"),
    status: text("status").notNull(),
    title: text("title").notNull(),
    text: text("text").notNull(),
    duplicateCount: integer("duplicate_count").notNull().default(0),
    /** Matches that made the firing (siemstress `count`). */
    count: integer("count").notNull().default(1),
    /** JSON array of source event ids (bounded). */
    eventIds: text("event_ids").notNull(),
    magnitude: real("magnitude").notNull().default(0),
    tags: text("tags").notNull().default("[]"),
    attributes: text("attributes").notNull().default("{}"),
    firstSeen: integer("first_seen").notNull(),
    lastSeen: integer("last_seen").notNull(),
    /** ms; when status is shelved, it returns to open at this time. */
    shelvedUntil: integer("shelved_until"),
    /** ms; the alert expires at this time unless it recurs (rule `timeout`). */
    expiresAt: integer("expires_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    // De-duplication looks up the open alert for a key on every firing.
    index("alerts_dedup").on(t.dedupKey, t.status),
    // The alert console lists by status, newest first.
    index("alerts_status_last_seen").on(t.status, t.lastSeen),
  ],
);

export const alertHistory = sqliteTable(
  "alert_history",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    alertId: text("alert_id").notNull(),
    at: integer("at").notNull(),
    /** Who did it: a token name, `rule:<id>` or `system`. */
    who: text("who").notNull(),
    action: text("action").notNull(),
    status: text("status"),
    severity: text("severity"),
    note: text("note"),
  },
  // Alert detail reads one alert's history.
  (t) => [index("alert_history_alert").on(t.alertId, t.at)],
);

/**
 * Firings already applied to alerts: makes the alert upsert idempotent when a batch (or an alarm) is
 * retried after its alerts were written. Written once per firing (firings are rare next to events);
 * rows older than the retry horizon (7 days) are pruned by the alert store. No index beyond the PK.
 */
export const alertFirings = sqliteTable("alert_firings", {
  firingId: text("firing_id").primaryKey(),
  alertId: text("alert_id").notNull(),
  /** Wall time of application, ms. */
  at: integer("at").notNull(),
});

/** Heartbeats pinged by cron jobs (`POST /v1/heartbeats/:name`) and heartbeat rules' keys; the deadline is a Durable Object alarm, this is the listing. */
export const heartbeats = sqliteTable(
  "heartbeats",
  {
    name: text("name").notNull(),
    /** Rule id for rule heartbeats, `ping` for pinged ones. */
    source: text("source").notNull(),
    timeoutMs: integer("timeout_ms").notNull(),
    lastBeat: integer("last_beat"),
    deadline: integer("deadline"),
    state: text("state").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.source, t.name] })],
);

// ---------------------------------------------------------------- address lists (issue 13: in_list)

/** A user-loaded address list (PUT /v1/lists/:name); its entries are in ip_list_chunks. */
export const ipLists = sqliteTable("ip_lists", {
  name: text("name").primaryKey(),
  /** Valid entries stored. */
  count: integer("count").notNull(),
  /** Version, ms: strictly increasing per name. */
  updatedAt: integer("updated_at").notNull(),
});

/** A list's entries as JSON arrays, each under D1's value limit (workers/store/lists.ts). */
export const ipListChunks = sqliteTable(
  "ip_list_chunks",
  {
    name: text("name").notNull(),
    seq: integer("seq").notNull(),
    entries: text("entries").notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.seq] })],
);
