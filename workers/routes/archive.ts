/**
 * `POST /v1/archive/restore` (admin): events of a time range from the R2 archive back into search
 * (workers/archive.ts). `{"from": RFC 3339, "to": RFC 3339, "cursor"?: string}`; answers what it read
 * and restored, and `complete: false` with a `cursor` when the range needs another call.
 */
import type { Hono } from "hono";
import { z } from "zod";
import { requireScope, type AppEnv } from "../auth.ts";
import { restoreRange } from "../archive.ts";
import { ARCHIVE_RESTORE_MAX_RANGE_MS } from "../constants.ts";
import { PorchlightError } from "../errors.ts";
import { storeOf } from "../store/d1.ts";
import { meterOf } from "../usage.ts";
import { parseJsonBody } from "./json-body.ts";

const time = z.string().refine((s) => Number.isFinite(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s), "must be an RFC 3339 time such as 2026-03-01T00:00:00Z");
const RestoreBody = z.object({ from: time, to: time, cursor: z.string().max(1024).optional() }).strict();

export function registerArchiveRoutes(app: Hono<AppEnv>): void {
  app.post("/v1/archive/restore", requireScope("admin"), async (c) => {
    const body = await parseJsonBody(c.req.raw, RestoreBody);
    const from = Date.parse(body.from);
    const to = Date.parse(body.to);
    if (to < from) throw new PorchlightError("validation_failed", "to: must not be before from", { field: "to" });
    if (to - from > ARCHIVE_RESTORE_MAX_RANGE_MS) throw new PorchlightError("validation_failed", "to: a restore covers at most 31 days; split the range", { field: "to" });
    const bucket = c.env.ARCHIVE;
    if (!bucket) throw new PorchlightError("not_found", "No archive: bind an R2 bucket as ARCHIVE (docs/operations.md)");
    return c.json(await restoreRange(bucket, storeOf(c.env), from, to, body.cursor ?? null, meterOf(c)));
  });
}
