/**
 * The Cron Triggers (wrangler.toml [triggers]): every 15 minutes one sweeps expired events and network
 * sessions (a bounded number of chunks, resumable: workers/retention.ts), merges closed hours' rollup
 * parts (store/rollups.ts) and raises the cost meter's alerts; the other (SUMMARY_CRON) merges search
 * summary parts (store/summaries.ts). What each spends goes into the usage ledger. Failures are logged,
 * not thrown: the next run resumes from the saved cursors.
 */
import type { Env } from "./env.ts";
import { runRetention } from "./retention.ts";
import type { Store } from "./store/store.ts";
import { ROLLUP_COMPACT_HOURS_PER_RUN, ROLLUP_COMPACT_LAG_MS, SUMMARY_COMPACT_STEPS_PER_RUN } from "./constants.ts";
import { DEFAULT_DATASET } from "./store/retention.ts";
import { metered, readUsage, usageAlerts } from "./usage.ts";
import { notifyAlerts } from "./live.ts";

/**
 * The second Cron Trigger (wrangler.toml): merges search summary parts (store/summaries.ts) with a
 * query budget of its own; the first one's retention and rollups use most of the Free plan's 50.
 */
export const SUMMARY_CRON = "7,22,37,52 * * * *";

export async function runScheduled(env: Env, scheduledTime: number, cron?: string): Promise<void> {
  // The cron's D1 use (retention deletes are written rows) goes into the cost meter like a request's.
  try {
    await metered(env, async (store) => {
      if (cron === SUMMARY_CRON) {
        console.log(JSON.stringify({ level: "info", where: "cron", summaries: await compactSummaries(store, scheduledTime) }));
        return;
      }
      const report = await runRetention(store, scheduledTime);
      // Hours closed for two hours are merged into one rollup row each (bounded per run).
      const hour = Math.floor(scheduledTime / 3_600_000) * 3_600_000;
      const rollups = await store.compactRollups(hour - ROLLUP_COMPACT_LAG_MS, ROLLUP_COMPACT_HOURS_PER_RUN, scheduledTime);
      // The cost meter's warnings become alerts (and so notifications) when a limit comes near.
      const alerts = usageAlerts(await readUsage(env, scheduledTime), scheduledTime);
      if (alerts.length) {
        const { changed } = await store.applyFirings(alerts, scheduledTime);
        if (changed.length) await notifyAlerts(env, changed);
      }
      console.log(JSON.stringify({ level: "info", where: "cron", retention: report, rollups, usage_alerts: alerts.length }));
    }, { invocation: true });
  } catch (err) {
    console.error(JSON.stringify({ level: "error", where: "cron", error: String(err) }));
  }
}

/**
 * Merges closed hours' summary parts (after the rollups' lag) and drops the summaries of hours older
 * than every retention period (none when some data is kept forever).
 * ≤ 3 + 5 × SUMMARY_COMPACT_STEPS_PER_RUN queries.
 */
export async function compactSummaries(store: Store, now: number): Promise<{ hours: number; parts: number; rowsWritten: number }> {
  const hour = Math.floor(now / 3_600_000) * 3_600_000;
  const policy = await store.retentionPolicy();
  const longest = policy.some((p) => p.dataset === DEFAULT_DATASET) ? Math.max(...policy.map((p) => p.keepMs)) : Infinity;
  const dropBefore = Number.isFinite(longest) ? hour - longest - 3_600_000 : Number.MIN_SAFE_INTEGER;
  return store.compactSummaries(hour - ROLLUP_COMPACT_LAG_MS, SUMMARY_COMPACT_STEPS_PER_RUN, dropBefore);
}
