/**
 * The Cron Trigger (wrangler.toml [triggers]): each run sweeps expired events (a bounded number of
 * chunks, resumable: workers/retention.ts) and logs what it did. Failures are logged, not thrown: the
 * next run resumes from the saved cursor.
 */
import type { Env } from "./env.ts";
import { runRetention } from "./retention.ts";
import { storeOf } from "./store/d1.ts";

export async function runScheduled(env: Env, scheduledTime: number): Promise<void> {
  try {
    const report = await runRetention(storeOf(env), scheduledTime);
    console.log(JSON.stringify({ level: "info", where: "cron", retention: report }));
  } catch (err) {
    console.error(JSON.stringify({ level: "error", where: "cron", error: String(err) }));
  }
}
