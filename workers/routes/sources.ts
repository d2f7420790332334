/**
 * `/v1/sources/:key`: per-source settings, today the IANA timezone applied to RFC 3164 timestamps
 * (which carry no zone). Keys are `host:<hostname>` (matched case-insensitively) or `ip:<address>` (the
 * sender as the relay saw it); a host setting wins over an ip one. Reading needs read, changing admin.
 * GET /v1/sources also answers each recent source's clock skew and, where it is a whole-hour offset
 * (a source logging local time read in the wrong zone), a warning with the zone to set.
 */
import type { Hono } from "hono";
import { z } from "zod";
import { requireScope, type AppEnv } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { canonicalSourceKey } from "../ingest/context.ts";
import { storeOf } from "../store/d1.ts";
import { parseJsonBody } from "./json-body.ts";
import { skewReports } from "../rules/clock-skew.ts";

/** Event time looked back over for clock skew, ms, and the most events read for it (one indexed query). */
const SKEW_LOOKBACK_MS = 86_400_000;
const SKEW_SAMPLE_EVENTS = 5000;

/** True when the runtime's ICU knows the zone (the same check the parsers' time conversion relies on). */
export function isIanaZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const SourceBody = z.object({
  timezone: z.string().min(1).max(64).refine(isIanaZone, "must be an IANA timezone such as Europe/Berlin or UTC"),
});

function keyOf(param: string): string {
  const key = canonicalSourceKey(param);
  if (!key) throw new PorchlightError("validation_failed", "Source key must be host:<hostname> or ip:<address>", { field: "key" });
  return key;
}

export function registerSourceRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/sources", requireScope("read"), async (c) => {
    const store = storeOf(c.env);
    const sources = await store.listSources();
    // Clock skew of the sources seen in the last day (and up to 14 h ahead: a zone mistake stamps the future).
    const now = Date.now();
    const samples = await store.clockSamples(now - SKEW_LOOKBACK_MS, now + 14 * 3_600_000, SKEW_SAMPLE_EVENTS);
    const clock = skewReports(samples, new Map(sources.map((s) => [s.key, s.timezone])), now);
    return c.json({ sources, clock, warnings: clock.filter((r) => r.warning !== null) });
  });

  app.get("/v1/sources/:key", requireScope("read"), async (c) => {
    const key = keyOf(c.req.param("key"));
    const row = await storeOf(c.env).getSource(key);
    if (!row) throw new PorchlightError("not_found", `No settings for source '${key}'`);
    return c.json(row);
  });

  app.put("/v1/sources/:key", requireScope("admin"), async (c) => {
    const key = keyOf(c.req.param("key"));
    const body = await parseJsonBody(c.req.raw, SourceBody);
    const row = { key, timezone: body.timezone, updated_at: Date.now() };
    await storeOf(c.env).putSource(row);
    return c.json(row);
  });

  app.delete("/v1/sources/:key", requireScope("admin"), async (c) => {
    const key = keyOf(c.req.param("key"));
    if (!(await storeOf(c.env).deleteSource(key))) throw new PorchlightError("not_found", `No settings for source '${key}'`);
    return c.body(null, 204);
  });
}
