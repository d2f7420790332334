/**
 * `/v1/extractors`: user-defined extractors (named regexes whose named groups become `labels.*`),
 * scoped by program and/or host. Reading needs the read scope, changing needs admin. Every pattern goes
 * through compileExtractor (workers/parse/extractors.ts), which refuses patterns that do not compile,
 * capture nothing or backtrack catastrophically: 400 with its message. Ingest picks changes up on its
 * next batch (the settings version changes, see workers/ingest/context.ts).
 */
import type { Hono } from "hono";
import { z } from "zod";
import { requireScope, type AppEnv } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { compileExtractor, EXTRACTOR_MAX_PATTERN } from "../parse/extractors.ts";
import { storeOf } from "../store/d1.ts";
import type { ExtractorRow } from "../store/store.ts";
import { parseJsonBody } from "./json-body.ts";

const ExtractorBody = z.object({
  name: z.string().min(1).max(64),
  pattern: z.string().min(1).max(EXTRACTOR_MAX_PATTERN),
  program: z.string().min(1).max(128).nullish(),
  host: z.string().min(1).max(253).nullish(),
  enabled: z.boolean().default(true),
});

function validated(id: string, body: z.output<typeof ExtractorBody>, createdAt: number): ExtractorRow {
  const r = compileExtractor({ id, name: body.name, pattern: body.pattern, program: body.program ?? null, host: body.host ?? null });
  if (!r.ok) throw new PorchlightError("validation_failed", r.error, { field: "pattern" });
  return {
    id,
    name: body.name,
    pattern: body.pattern,
    program: body.program ?? null,
    host: body.host ?? null,
    enabled: body.enabled,
    created_at: createdAt,
    updated_at: Date.now(),
  };
}

const notFound = (id: string) => new PorchlightError("not_found", `No extractor with id '${id.slice(0, 64)}'`);

export function registerExtractorRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/extractors", requireScope("read"), async (c) => {
    return c.json({ extractors: await storeOf(c.env).listExtractors() });
  });

  app.post("/v1/extractors", requireScope("admin"), async (c) => {
    const body = await parseJsonBody(c.req.raw, ExtractorBody);
    const row = validated(`x_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`, body, Date.now());
    await storeOf(c.env).putExtractor(row);
    return c.json(row, 201);
  });

  app.get("/v1/extractors/:id", requireScope("read"), async (c) => {
    const row = await storeOf(c.env).getExtractor(c.req.param("id"));
    if (!row) throw notFound(c.req.param("id"));
    return c.json(row);
  });

  app.put("/v1/extractors/:id", requireScope("admin"), async (c) => {
    const store = storeOf(c.env);
    const body = await parseJsonBody(c.req.raw, ExtractorBody);
    const existing = await store.getExtractor(c.req.param("id"));
    if (!existing) throw notFound(c.req.param("id"));
    const row = validated(existing.id, body, existing.created_at);
    await store.putExtractor(row);
    return c.json(row);
  });

  app.delete("/v1/extractors/:id", requireScope("admin"), async (c) => {
    if (!(await storeOf(c.env).deleteExtractor(c.req.param("id")))) throw notFound(c.req.param("id"));
    return c.body(null, 204);
  });
}
