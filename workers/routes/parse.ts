/**
 * `POST /v1/parse` (read scope): the ingest body formats, normalized exactly as ingest would (same
 * decoding, limits, parse context and row mapping, returned in the stored API shape), stored nowhere.
 * A parser and extractor debugger for users.
 */
import type { Hono } from "hono";
import { requireScope, type AppEnv } from "../auth.ts";
import { batchKeyOf, prepareBatch } from "../ingest/batch.ts";
import { readIngestBody } from "../ingest/body.ts";
import { parseContextFor } from "../ingest/context.ts";
import { storeOf } from "../store/d1.ts";
import { apiEvent } from "../store/store.ts";

export function registerParseRoutes(app: Hono<AppEnv>): void {
  app.post("/v1/parse", requireScope("read"), async (c) => {
    const key = batchKeyOf(c.req.header("idempotency-key"));
    const store = storeOf(c.env);
    const body = await readIngestBody(c.req.raw);
    const ctx = await parseContextFor(store, await store.settingsVersion());
    const batch = prepareBatch(body.text, body.kind, { ctx, batchKey: key, nowMs: Date.now(), clientIp: c.req.header("cf-connecting-ip") });
    return c.json({
      events: batch.rows.map(apiEvent),
      accepted: batch.accepted,
      parse_errors: batch.parseErrors,
      empty: batch.empty,
      errors: batch.errors,
    });
  });
}
