/**
 * The Cron Trigger (wrangler.toml [triggers]): each run sweeps expired events and network sessions (a
 * bounded number of chunks, resumable: workers/retention.ts), merges closed hours' rollup parts
 * (store/rollups.ts), raises the cost meter's alerts and logs what it did; what it spent goes into the
 * usage ledger. Failures are logged, not thrown: the next run resumes from the saved cursors.
 */
import type { Env } from "./env.ts";
import { runRetention } from "./retention.ts";
import { ROLLUP_COMPACT_HOURS_PER_RUN, ROLLUP_COMPACT_LAG_MS } from "./constants.ts";
import { metered, readUsage, usageAlerts } from "./usage.ts";
import { notifyAlerts } from "./live.ts";

export async function runScheduled(env: Env, scheduledTime: number): Promise<void> {
  // The cron's D1 use (retention deletes are written rows) goes into the cost meter like a request's.
  try {
    await metered(env, async (store) => {
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
