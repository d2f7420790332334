/**
 * Retention of raw events and network sessions: the policy as the API speaks it
 * (`{"default": "30d", "datasets": {..}, "sessions": "90d"}`) and the sweep run by the Cron Trigger
 * (scheduled.ts) and by `POST /v1/retention/run`.
 *
 * A run sweeps each table of SWEEPS, and each retention period of it in turn, in chunks of at most
 * RETENTION_SCAN_ROWS scanned rows and at most RETENTION_MAX_CHUNKS_PER_RUN chunks in all; the store
 * keeps a cursor per table and period, so the next run goes on where this one stopped, and moves it back
 * for rows that arrived behind it (store/retention.ts). Datasets share a cursor when they share a period.
 */
import { RETENTION_MAX_CHUNKS_PER_RUN, RETENTION_SCAN_ROWS } from "./constants.ts";
import { formatDuration } from "./rules/duration.ts";
import { DEFAULT_DATASET, SESSIONS_KEY, type RetentionPolicyRow, type SweptTable } from "./store/retention.ts";
import type { Store } from "./store/store.ts";
import { versionedCache } from "./settings-cache.ts";

export interface RetentionPolicy {
  /** Keep events of datasets without their own entry this long; null: forever. */
  default: string | null;
  datasets: Record<string, string>;
  /** Network sessions (flow_sessions) by start time; absent: as long as `default` (a duration), else forever. */
  sessions?: string;
}

export interface RetentionReport {
  /** Deleted events per dataset. */
  deleted: Record<string, number>;
  /** Deleted rows per swept table (`events`, `flow_sessions`). */
  deleted_by_table: Record<string, number>;
  /** Rows deleted from every table. */
  deleted_total: number;
  /** Rows read by the sweep, chunks taken. */
  scanned: number;
  chunks: number;
  rows_written: number;
  /** False when the run stopped at its chunk budget: the next run resumes. */
  complete: boolean;
  started_at: string;
  duration_ms: number;
}

/** A dataset kept 0 ms is "archive": its events go to the R2 archive (and rules, rollups), not into D1. */
export const ARCHIVE_ONLY = "archive";
const render = (ms: number) => (ms === 0 ? ARCHIVE_ONLY : formatDuration(ms));

export function policyOf(rows: readonly RetentionPolicyRow[]): RetentionPolicy {
  const datasets: Record<string, string> = {};
  let def: string | null = null;
  let sessions: string | undefined;
  for (const r of rows) {
    if (r.dataset === DEFAULT_DATASET) def = render(r.keepMs);
    else if (r.dataset === SESSIONS_KEY) sessions = render(r.keepMs);
    else datasets[r.dataset] = render(r.keepMs);
  }
  return sessions === undefined ? { default: def, datasets } : { default: def, datasets, sessions };
}

interface ArchiveOnly {
  archived: ReadonlySet<string>;
  kept: ReadonlySet<string>;
  defaultArchived: boolean;
}
const archiveOnly = versionedCache<Store, ArchiveOnly>(async (store) => {
  const policy = await store.retentionPolicy();
  const named = policy.filter((r) => r.dataset !== DEFAULT_DATASET && r.dataset !== SESSIONS_KEY);
  return {
    archived: new Set(named.filter((r) => r.keepMs === 0).map((r) => r.dataset)),
    kept: new Set(named.filter((r) => r.keepMs > 0).map((r) => r.dataset)),
    defaultArchived: policy.some((r) => r.keepMs === 0 && r.dataset === DEFAULT_DATASET),
  };
});

/**
 * The rows ingest stores in D1: all of them, less those of archive-only datasets (`"archive"` in the
 * policy; their events are still evaluated by rules, counted in rollups and archived). Reads the policy
 * once per settings version per isolate (settings-cache.ts), so a saved policy applies from the next
 * batch; without a version, on every call.
 */
export async function rowsToStore<R extends { dataset: string }>(store: Store, rows: readonly R[], settingsVersion?: string): Promise<readonly R[]> {
  const { archived, kept, defaultArchived } = await archiveOnly.get(store, settingsVersion);
  if (!defaultArchived && archived.size === 0) return rows;
  // With an archive-only default, only datasets named with a duration are stored.
  return rows.filter((r) => !archived.has(r.dataset) && (kept.has(r.dataset) || !defaultArchived));
}

/** Forgets the cached policy (after PUT /v1/retention in this isolate). */
export const forgetArchiveOnly = (): void => archiveOnly.forget();

/** One sweep of a table: a retention period and which rows of the table it deletes. */
interface Period {
  keepMs: number;
  datasets: string[];
  /** The default period: every dataset not in `exclude`. */
  others: boolean;
  exclude: string[];
}

/** Events: one period per distinct duration; its named datasets, plus every other one for the default's. "archive" (0) has nothing in D1. */
function eventPeriods(rows: readonly RetentionPolicyRow[]): Period[] {
  const events = rows.filter((r) => r.dataset !== SESSIONS_KEY);
  const named = events.filter((r) => r.dataset !== DEFAULT_DATASET).map((r) => r.dataset);
  const periods = new Map<number, Period>();
  for (const r of events) {
    const p = periods.get(r.keepMs) ?? { keepMs: r.keepMs, datasets: [], others: false, exclude: [] };
    if (r.dataset === DEFAULT_DATASET) p.others = true;
    else p.datasets.push(r.dataset);
    periods.set(r.keepMs, p);
  }
  // The default period deletes datasets not named elsewhere; a named dataset on the default's period
  // is covered by the same scan.
  for (const p of periods.values()) if (p.others) p.exclude = named.filter((d) => !p.datasets.includes(d));
  return [...periods.values()];
}

/** Network sessions: their own entry, else the default's duration (not "archive": sessions are not archived), else kept. */
function sessionPeriods(rows: readonly RetentionPolicyRow[]): Period[] {
  const own = rows.find((r) => r.dataset === SESSIONS_KEY) ?? rows.find((r) => r.dataset === DEFAULT_DATASET && r.keepMs > 0);
  return own ? [{ keepMs: own.keepMs, datasets: [], others: true, exclude: [] }] : [];
}

/** The tables the sweep deletes from, one entry each (store/retention.ts SWEPT_TABLES), in sweep order. */
const SWEEPS: readonly { table: SweptTable; periods: (rows: readonly RetentionPolicyRow[]) => Period[] }[] = [
  { table: "events", periods: eventPeriods },
  { table: "flow_sessions", periods: sessionPeriods },
];

/** Sweeps expired rows now. `maxChunks` bounds the run (tests use small numbers to see resumption). */
export async function runRetention(store: Store, now: number, opts: { maxChunks?: number; scanRows?: number } = {}): Promise<RetentionReport> {
  const started = Date.now();
  const maxChunks = opts.maxChunks ?? RETENTION_MAX_CHUNKS_PER_RUN;
  const scanRows = opts.scanRows ?? RETENTION_SCAN_ROWS;
  const rows = await store.retentionPolicy();
  const report: RetentionReport = { deleted: {}, deleted_by_table: {}, deleted_total: 0, scanned: 0, chunks: 0, rows_written: 0, complete: true, started_at: new Date(now).toISOString(), duration_ms: 0 };
  // Shortest period first: it has the most to delete.
  const plan = SWEEPS.map(({ table, periods }) => ({ table, periods: periods(rows).sort((a, b) => a.keepMs - b.keepMs) })).filter((t) => t.periods.length);
  for (const [i, { table, periods }] of plan.entries()) {
    // Each later table keeps one chunk of the run's budget: a backlog in one table does not stall the others.
    const budget = maxChunks - (plan.length - 1 - i);
    sweep: for (const p of periods) {
      for (;;) {
        if (report.chunks >= budget) {
          report.complete = false;
          break sweep;
        }
        const chunk = await store.sweepRetentionChunk({ table, keepMs: p.keepMs, horizonMs: now - p.keepMs, datasets: p.datasets, others: p.others, exclude: p.exclude, scanRows, now });
        report.chunks++;
        report.scanned += chunk.scanned;
        report.rows_written += chunk.rowsWritten;
        for (const [group, n] of Object.entries(chunk.deleted)) {
          if (table === "events") report.deleted[group] = (report.deleted[group] ?? 0) + n;
          report.deleted_by_table[table] = (report.deleted_by_table[table] ?? 0) + n;
          report.deleted_total += n;
        }
        if (chunk.done) break;
      }
    }
  }
  // Best effort: the counters feed /metrics; a failed count must not fail the sweep it reports.
  // Zero entries are left out: each would cost a written row.
  const counts = Object.fromEntries(Object.entries({ retention_deleted: report.deleted_total, retention_scanned: report.scanned }).filter(([, n]) => n > 0));
  if (Object.keys(counts).length) await store.addCounters(counts).catch(() => {});
  report.duration_ms = Date.now() - started;
  return report;
}
