/**
 * `/v1/retention`: how long raw events are kept per dataset and network sessions in all (read to see,
 * admin to change) and
 * `POST /v1/retention/run` (admin), a sweep now that reports what it deleted. The Cron Trigger runs the
 * same sweep (workers/index.ts). Hourly rollups are not raw events: they stay (docs/operations.md).
 */
import type { Hono } from "hono";
import { z } from "zod";
import { requireScope, type AppEnv } from "../auth.ts";
import { ARCHIVE_ONLY, forgetArchiveOnly, policyOf, runRetention } from "../retention.ts";
import { PorchlightError } from "../errors.ts";
import { parseDuration } from "../rules/duration.ts";
import { storeOf } from "../store/d1.ts";
import { DEFAULT_DATASET, SESSIONS_KEY, type RetentionPolicyRow } from "../store/retention.ts";
import { parseJsonBody } from "./json-body.ts";

const duration = z.string().refine((s) => s === ARCHIVE_ONLY || parseDuration(s) !== undefined, `must be a duration such as 7d, 12h or 365d (at most 366d), or "${ARCHIVE_ONLY}" (R2 archive only, not in search)`);
const keepMsOf = (s: string) => (s === ARCHIVE_ONLY ? 0 : parseDuration(s)!);
const DATASET = /^[A-Za-z0-9_.-]{1,64}$/;

const RetentionBody = z
  .object({
    default: duration.nullable(),
    datasets: z
      .record(z.string().regex(DATASET, "dataset names are 1-64 of A-Z a-z 0-9 _ . -"), duration)
      .refine((d) => Object.keys(d).length <= 100, "at most 100 datasets")
      .default({}),
    /** flow_sessions; absent or null: as `default` when that is a duration, else forever. */
    sessions: z
      .string()
      .refine((s) => parseDuration(s) !== undefined, "must be a duration such as 7d, 12h or 365d (at most 366d): sessions are not archived")
      .nullish(),
  })
  .strict();

export function registerRetentionRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/retention", requireScope("read"), async (c) => {
    return c.json(policyOf(await storeOf(c.env).retentionPolicy()));
  });

  app.put("/v1/retention", requireScope("admin"), async (c) => {
    const body = await parseJsonBody(c.req.raw, RetentionBody);
    const rows: RetentionPolicyRow[] = Object.entries(body.datasets).map(([dataset, d]) => ({ dataset, keepMs: keepMsOf(d) }));
    if (body.default !== null) rows.push({ dataset: DEFAULT_DATASET, keepMs: keepMsOf(body.default) });
    if (body.sessions) rows.push({ dataset: SESSIONS_KEY, keepMs: keepMsOf(body.sessions) });
    if (rows.some((r) => r.keepMs === 0) && !c.env.ARCHIVE) {
      throw new PorchlightError("validation_failed", `"${ARCHIVE_ONLY}" needs the R2 archive: bind a bucket as ARCHIVE (docs/operations.md)`, { field: "datasets" });
    }
    const store = storeOf(c.env);
    await store.putRetentionPolicy(rows, Date.now());
    forgetArchiveOnly();
    return c.json(policyOf(await store.retentionPolicy()));
  });

  app.post("/v1/retention/run", requireScope("admin"), async (c) => {
    return c.json(await runRetention(storeOf(c.env), Date.now()));
  });
}
