/**
 * Platform limits and the product limits derived from them, in one place. Code chunks its work
 * against these numbers; each has the page that documents it.
 */

// --- D1: https://developers.cloudflare.com/d1/platform/limits/
/** Bound parameters per statement. */
export const D1_MAX_BOUND_PARAMS = 100;
/** SQL text per statement, bytes (applies to each statement of a batch). */
export const D1_MAX_STATEMENT_BYTES = 100_000;
/** Largest string/BLOB/row, bytes. A JSON batch bound as one parameter must stay below it. */
export const D1_MAX_VALUE_BYTES = 2_000_000;
/** Queries per Worker invocation on the Free plan (Paid: 1000). Ingest must stay well under. */
export const D1_MAX_QUERIES_PER_INVOCATION_FREE = 50;

// --- Workers: https://developers.cloudflare.com/workers/platform/limits/
/** CPU time per request on the Free plan, ms. */
export const WORKERS_FREE_CPU_MS = 10;
/** Request body size on the Free and Pro plans, bytes. */
export const WORKERS_MAX_BODY_BYTES = 100 * 1024 * 1024;
/** Subrequests per invocation on the Free plan (Durable Object RPCs count). */
export const WORKERS_FREE_SUBREQUESTS = 50;
/** Simultaneous open connections (fetches awaiting their answer) per invocation; more wait for a free one. */
export const WORKERS_SIMULTANEOUS_CONNECTIONS = 6;
/**
 * Worker size after compression (gzip) on the Free plan, bytes (Paid: 10 MB); what `wrangler deploy`
 * reports as "gzip". Static assets do not count: the network tables ship as assets for this reason.
 * https://developers.cloudflare.com/workers/platform/limits/#worker-size
 */
export const WORKERS_FREE_SCRIPT_GZIP_BYTES = 3 * 1024 * 1024;
/** One static asset file, bytes (scripts/network-data.ts checks its tables against it). https://developers.cloudflare.com/workers/platform/limits/ */
export const WORKERS_ASSET_MAX_FILE_BYTES = 25 * 1024 * 1024;

// --- Notification receivers (issue 11)
/** Telegram sendMessage: text length after entity parsing, characters. https://core.telegram.org/bots/api#sendmessage */
export const TELEGRAM_MAX_TEXT = 4096;
/** Web Push: a push service must accept 4096-byte payloads (RFC 8030 §7.2); the record is padded to it. https://www.rfc-editor.org/rfc/rfc8030#section-7.2 */
export const WEB_PUSH_MAX_RECORD_BYTES = 4096;

// --- Durable Objects: https://developers.cloudflare.com/durable-objects/platform/limits/
/** Soft limit of requests per second to one object; above it, calls fail with `overloaded`. */
export const DO_SOFT_REQUESTS_PER_SECOND = 1000;
/** Bound parameters per SQL statement in a Durable Object. */
export const DO_MAX_BOUND_PARAMS = 100;

// --- Product limits (ours), documented in docs/api.md
/** Largest ingest body after decompression, bytes. Above it: 413. */
export const INGEST_MAX_BYTES = 1_048_576;
/** Most lines in one ingest batch. Above it: 413. */
export const INGEST_MAX_LINES = 5000;
/** Longest single line kept; longer lines are truncated and flagged (`porchlight.truncated`). */
export const INGEST_MAX_LINE_BYTES = 65_536;
/** Most events returned by one `GET /v1/events` page. */
export const EVENTS_MAX_LIMIT = 5000;
export const EVENTS_DEFAULT_LIMIT = 100;
/**
 * How long a batch's Idempotency-Key is remembered, ms: longer than any relay retries a batch (its spool
 * keeps undelivered batches and retries with backoff). Older `batches` rows are pruned.
 */
export const INGEST_IDEMPOTENCY_MS = 7 * 86_400_000;
/** Prune old `batches` rows on one ingest request in this many per isolate (a scan of the table, billed as rows read). */
export const INGEST_PRUNE_EVERY = 200;

// --- Retention (ours; D1 limits above: https://developers.cloudflare.com/d1/platform/limits/)
/**
 * Events rows one retention chunk scans (and at most deletes): one SELECT of ids over a primary-key
 * range and one DELETE by a JSON list of ids (≈ 27 bytes an id: 135 KB, far under D1_MAX_VALUE_BYTES),
 * each well inside D1's 30 s statement limit. Never one giant DELETE.
 */
export const RETENTION_SCAN_ROWS = 5000;
/**
 * Chunks one sweep run may take, over all swept tables and late ranges: each chunk is at most 4
 * statements (cursor, scan, delete, cursor or late range update), so a run (32, plus the policy read and
 * the counters) leaves room under D1_MAX_QUERIES_PER_INVOCATION_FREE for the cron's rollup compaction. 8 × 5,000 rows per run at one run per 15 minutes: 3.8 million rows
 * a day. A run that stops here resumes from the saved cursor on the next cron (or POST /v1/retention/run).
 */
export const RETENTION_MAX_CHUNKS_PER_RUN = 8;

// --- Plans and their quotas, for the cost meter (GET /v1/usage, workers/usage.ts)
// Free: a daily limit past which requests fail. Paid (Workers Paid, $5/month): a monthly allowance past
// which usage is billed, never refused. Figures as published on each pricing page.
/** https://developers.cloudflare.com/workers/platform/pricing/ */
export const WORKERS_FREE_REQUESTS_PER_DAY = 100_000;
export const WORKERS_PAID_REQUESTS_PER_MONTH = 10_000_000;
/** USD per million requests beyond the Paid allowance. */
export const WORKERS_PAID_USD_PER_MILLION_REQUESTS = 0.3;
/** https://developers.cloudflare.com/d1/platform/pricing/ */
export const D1_FREE_ROWS_READ_PER_DAY = 5_000_000;
export const D1_FREE_ROWS_WRITTEN_PER_DAY = 100_000;
/** Free: 500 MB per database (5 GB per account). Paid: 10 GB per database, 5 GB-month included. */
export const D1_FREE_BYTES_PER_DATABASE = 500 * 1_000_000;
export const D1_PAID_BYTES_PER_DATABASE = 10 * 1_000_000_000;
export const D1_PAID_ROWS_READ_PER_MONTH = 25_000_000_000;
export const D1_PAID_ROWS_WRITTEN_PER_MONTH = 50_000_000;
export const D1_PAID_USD_PER_MILLION_ROWS_READ = 0.001;
export const D1_PAID_USD_PER_MILLION_ROWS_WRITTEN = 1.0;
/** https://developers.cloudflare.com/durable-objects/platform/pricing/ */
export const DO_FREE_REQUESTS_PER_DAY = 100_000;
export const DO_PAID_REQUESTS_PER_MONTH = 1_000_000;
export const DO_PAID_USD_PER_MILLION_REQUESTS = 0.15;
/** https://developers.cloudflare.com/r2/pricing/ (the same free tier on both plans, per month). */
export const R2_FREE_CLASS_A_PER_MONTH = 1_000_000;
export const R2_FREE_CLASS_B_PER_MONTH = 10_000_000;
export const R2_USD_PER_MILLION_CLASS_A = 4.5;
export const R2_USD_PER_MILLION_CLASS_B = 0.36;
/** The cost meter warns when a day's use or a month's projection reaches this share of a limit. */
export const USAGE_WARN_FRACTION = 0.7;

// --- Raw archive in R2 (ours; R2 limits: https://developers.cloudflare.com/r2/platform/limits/)
/**
 * Archive objects one restore request reads: each is a subrequest (Workers Free: 50 per invocation,
 * WORKERS_FREE_SUBREQUESTS) next to the list calls and D1 queries. A larger range answers
 * `complete: false` with a cursor to continue.
 */
export const ARCHIVE_RESTORE_MAX_OBJECTS = 30;
/** Longest range one restore may ask for (the days it lists), ms. */
export const ARCHIVE_RESTORE_MAX_RANGE_MS = 31 * 86_400_000;

// --- Rollup compaction (ours): each hour's per-batch parts become one row once the hour is closed.
/** An hour is merged once it ended this long ago, ms (late batches after that only add a part). */
export const ROLLUP_COMPACT_LAG_MS = 2 * 3_600_000;
/** Hours one cron run merges: ≤ 4 statements each, next to retention's 34, under the Free plan's 50. */
export const ROLLUP_COMPACT_HOURS_PER_RUN = 2;
/**
 * Steps of search summary compaction one run of the summary cron takes (store/summaries.ts
 * compactSummaries; scheduled.ts SUMMARY_CRON): each reads ≤ 500 parts and writes one 72 KB row, 5
 * queries; 8 steps (43 queries in all) stay under D1_MAX_QUERIES_PER_INVOCATION_FREE. Four runs an hour
 * merge 16,000 parts: one part per batch and hour, so a relay sending every second (3,600 an hour) is
 * merged as fast as it writes.
 */
export const SUMMARY_COMPACT_STEPS_PER_RUN = 8;
