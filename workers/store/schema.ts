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
import { sqliteTable, text, integer, real, blob, index, primaryKey } from "drizzle-orm/sqlite-core";

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

// ============================================================================================
// --- Network visibility (issue 12): sessions, devices, network settings. workers/store/network.ts
// ============================================================================================

/**
 * Conntrack sessions (one row per flow, written by the per-router NetworkState Durable Object). Like
 * events: WITHOUT ROWID (by hand in the migration), no secondary index (one session = one written row);
 * the id is time-sortable by session START, so time ranges and cursors are primary-key ranges.
 */
export const flowSessions = sqliteTable("flow_sessions", {
  /** eventId(start, router + flow key, 0): deterministic, so a retried write stores nothing twice. */
  id: text("id").primaryKey(),
  /** ms, event time. */
  start: integer("start").notNull(),
  end: integer("end").notNull(),
  router: text("router").notNull(),
  zone: integer("zone").notNull().default(0),
  transport: text("transport").notNull(),
  srcIp: text("src_ip").notNull(),
  dstIp: text("dst_ip").notNull(),
  /** 32 hex digits (workers/parse/ip.ts ipKey): CIDR filters are BETWEEN on text. */
  srcIpKey: text("src_ip_key").notNull(),
  dstIpKey: text("dst_ip_key").notNull(),
  srcPort: integer("src_port"),
  dstPort: integer("dst_port"),
  srcBytes: integer("src_bytes"),
  srcPackets: integer("src_packets"),
  dstBytes: integer("dst_bytes"),
  dstPackets: integer("dst_packets"),
  /** The LAN device of the session (devices.id), when one end is a LAN address. */
  deviceId: text("device_id"),
  srcCountry: text("src_country"),
  srcAsn: integer("src_asn"),
  srcOrg: text("src_org"),
  dstCountry: text("dst_country"),
  dstAsn: integer("dst_asn"),
  dstOrg: text("dst_org"),
  /** Passive DNS: the name the router's resolver last answered with dst_ip before the session started. */
  dstDomain: text("dst_domain"),
  /** destroy | timeout | destroy_only. */
  endReason: text("end_reason").notNull(),
});

/**
 * The device inventory (read model; the NetworkState objects own the merge). Written at most once per
 * device per batch, and for last_seen only when it moved by DEVICE_SEEN_PUSH_MS. `name` and `tags` are
 * the user's (PATCH /v1/devices/:id) and are never written by the objects.
 */
export const devices = sqliteTable("devices", {
  id: text("id").primaryKey(),
  router: text("router").notNull(),
  mac: text("mac"),
  /** JSON array of every MAC merged into the device. */
  macs: text("macs").notNull().default("[]"),
  /** JSON array, most recent first. */
  ips: text("ips").notNull().default("[]"),
  hostname: text("hostname"),
  clientId: text("client_id"),
  vendor: text("vendor"),
  randomized: integer("randomized", { mode: "boolean" }).notNull().default(false),
  name: text("name"),
  tags: text("tags").notNull().default("[]"),
  /** ms, event time. */
  firstSeen: integer("first_seen").notNull(),
  lastSeen: integer("last_seen").notNull(),
  left: integer("left", { mode: "boolean" }).notNull().default(false),
  /** First seen in its router's first hour: part of the inventory learned at install, not a new device. */
  learned: integer("learned", { mode: "boolean" }).notNull().default(false),
});

/** Network settings (one JSON document per key): `timeouts` (conntrack timeouts, s) and `storage` (per source). */
export const networkSettings = sqliteTable("network_settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});
// --- Notifications (issue 11): channels, blackouts, Web Push subscriptions, one-time action URLs.
// Written by the API only (never per ingest batch); queries in workers/store/notify.ts. Delivery state
// (schedule, deliveries, what each alert last looked like) lives in the Notifier Durable Object.

/** A notification channel. `secrets` is AES-GCM sealed JSON (workers/notify/crypto.ts); `config` holds only public fields. */
export const notifyChannels = sqliteTable("notify_channels", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  type: text("type").notNull(),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  config: text("config").notNull(),
  secrets: text("secrets"),
  /** JSON {min_severity?, rules, tags}. */
  filter: text("filter").notNull(),
  /** ms; null: a duplicate never notifies again. */
  repeatMs: integer("repeat_ms"),
  onClose: integer("on_close", { mode: "boolean" }).notNull().default(false),
  blackoutDigest: integer("blackout_digest", { mode: "boolean" }).notNull().default(true),
  /** JSON {at: "HH:MM", timezone} of the optional daily digest, or null. */
  dailyDigest: text("daily_digest"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Blackout periods: the API's JSON as given (one-off or recurring), see workers/notify/blackout.ts. */
export const notifyBlackouts = sqliteTable("notify_blackouts", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  definition: text("definition").notNull(),
  createdAt: integer("created_at").notNull(),
});

/** Web Push subscriptions of a `webpush` channel; `subscription` is sealed (its keys decrypt the pushes). */
export const notifyPushSubscriptions = sqliteTable(
  "notify_push_subscriptions",
  {
    id: text("id").primaryKey(),
    channelId: text("channel_id").notNull(),
    /** SHA-256 of the endpoint: one row per browser even when it subscribes twice. */
    endpointHash: text("endpoint_hash").notNull(),
    subscription: text("subscription").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  // Each push delivery reads its channel's subscriptions.
  (t) => [index("notify_push_channel").on(t.channelId), index("notify_push_endpoint").on(t.endpointHash)],
);

/** Nonces of one-time action URLs already used (single use); rows past their expiry are pruned. */
export const notifyActionUses = sqliteTable("notify_action_uses", {
  nonce: text("nonce").primaryKey(),
  alertId: text("alert_id").notNull(),
  usedAt: integer("used_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

// ============================================================================================
// --- Operations: retention, hourly rollups, usage metering (issue 14; workers/store/retention.ts,
// --- rollups.ts, usage.ts)
// ============================================================================================

/**
 * Retention policy: how long raw events of a dataset are kept (ms). The row `*` is the default for
 * every dataset without a row of its own; no `*` row means "keep forever". Written by PUT /v1/retention.
 */
export const retention = sqliteTable("retention", {
  dataset: text("dataset").primaryKey(),
  keepMs: integer("keep_ms").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Rollup compaction's watermark (key -1: workers/store/rollups.ts). It once held the events sweep's
 * cursors too; those are in retention_sweeps now.
 */
export const retentionCursors = sqliteTable("retention_cursors", {
  keepMs: integer("keep_ms").primaryKey(),
  cursor: text("cursor").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/**
 * Hourly rollups, kept after raw events expire (retention deletes only `events`): for each UTC hour
 * (event time) and ingest batch, one row holding the batch's counts for that hour as JSON
 * (workers/store/rollups.ts: events, per dataset, host, action, failed logins, and the top sources,
 * destinations and blocked sources). One written row per batch and hour instead of one per counted
 * value: a 100-line batch adds ≈ 0.01 written rows per event. Written in the statement batch that
 * records the ingest batch, so each batch is counted exactly once. `part` is the batch key; the cron
 * may merge an hour's parts into one row with part `*`. WITHOUT ROWID (by hand in the migration).
 */
export const rollupsHourly = sqliteTable(
  "rollups_hourly",
  {
    /** UTC hour start, ms (event time). */
    hour: integer("hour").notNull(),
    part: text("part").notNull(),
    /** JSON counts (rollups.ts RollupCounts). */
    counts: text("counts").notNull(),
  },
  (t) => [primaryKey({ columns: [t.hour, t.part] })],
);

/**
 * What the Worker spent per UTC day (wall time): the cost meter's ledger (workers/usage.ts,
 * GET /v1/usage). One row per day, upserted once per metered request (one written row), so metering
 * costs one D1 row a request whatever it counted. D1 storage is the largest size D1 reported that day.
 */
export const usageDaily = sqliteTable("usage_daily", {
  /** UTC day start, ms. */
  day: integer("day").primaryKey(),
  workerRequests: integer("worker_requests").notNull().default(0),
  d1RowsRead: integer("d1_rows_read").notNull().default(0),
  d1RowsWritten: integer("d1_rows_written").notNull().default(0),
  d1Queries: integer("d1_queries").notNull().default(0),
  /** Bytes of the database after the day's last metered query (D1 `meta.size_after`). */
  d1Bytes: integer("d1_bytes").notNull().default(0),
  doRequests: integer("do_requests").notNull().default(0),
  r2ClassA: integer("r2_class_a").notNull().default(0),
  r2ClassB: integer("r2_class_b").notNull().default(0),
  notifications: integer("notifications").notNull().default(0),
});
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
// ---------------------------------------------------------------- search summaries (issue 14)

/**
 * Per-hour search summaries (workers/store/summaries.ts): for each UTC hour (event time) the bit set of
 * its messages' trigrams and addresses, which lets a search skip hours that cannot match. Ingest writes
 * one sparse part per batch and hour (in the events' own statement batch), the cron merges closed hours
 * into one dense row (part `*`, `gen` counting its rewrites for the merge's conflict check). WITHOUT
 * ROWID (by hand in the migration): written once per batch and hour, like rollups_hourly.
 */
export const searchHours = sqliteTable(
  "search_hours",
  {
    /** UTC hour start, ms (event time). */
    hour: integer("hour").notNull(),
    /** `*` for the merged row, else the smallest event id of the batch's rows in this hour. */
    part: text("part").notNull(),
    /** A part's bits: base64 of LEB128 deltas between set positions (summaries.ts encodeSparse). */
    sparse: text("sparse"),
    /** The merged row's bits, SUMMARY_BYTES bytes. */
    dense: blob("dense"),
    gen: integer("gen"),
  },
  (t) => [primaryKey({ columns: [t.hour, t.part] })],
);

/** Small facts of the search summaries: `complete_from` (ms), the first hour whose summary covers every event. */
export const searchMeta = sqliteTable("search_meta", {
  key: text("key").primaryKey(),
  value: integer("value").notNull(),
});


// ============================================================================================
// --- Retention sweeps per table (issue 14: flow_sessions retention, late rows; workers/store/retention.ts)
// ============================================================================================

/**
 * Where the retention sweep of one table (`tbl`: store/retention.ts SWEPT_TABLES) and retention period
 * (`keep_ms`) has got to: the last id it scanned. Makes the sweep resumable across cron runs and bounds
 * what it reads: rows below the cursor were already scanned. Rows written behind the cursor later widen
 * the late range (late_from, late_to] (ids; both NULL: none), which the next chunks sweep first.
 * Dropped when the policy changes.
 */
export const retentionSweeps = sqliteTable(
  "retention_sweeps",
  {
    tbl: text("tbl").notNull(),
    keepMs: integer("keep_ms").notNull(),
    cursor: text("cursor").notNull(),
    lateFrom: text("late_from"),
    lateTo: text("late_to"),
    /** Wall ms. */
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tbl, t.keepMs] })],
);

// ---------------------------------------------------------------- device hours (issue 14: bytes per device per hour)

/**
 * Bytes and sessions per device and UTC hour of session start, kept after retention deletes the
 * sessions (flow_sessions): the device page's hourly chart and the upload history read it. Written by
 * the NetworkState objects with their sessions (store/network.ts writeNetwork: one upsert row per
 * device and hour in a batch). WITHOUT ROWID (by hand in the migration); never expired, like rollups.
 */
export const deviceHours = sqliteTable(
  "device_hours",
  {
    deviceId: text("device_id").notNull(),
    /** UTC hour start, ms (session start). */
    hour: integer("hour").notNull(),
    bytesOut: integer("bytes_out").notNull(),
    bytesIn: integer("bytes_in").notNull(),
    sessions: integer("sessions").notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.hour] })],
);
