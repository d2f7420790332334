/**
 * Routes of /v1/heartbeats. Cron jobs ping `POST /v1/heartbeats/:name` (ingest or admin scope),
 * optionally with {"timeout": "26h", "severity": "high"}; the deadline is an alarm of the name's
 * Heartbeat object (durable-objects/heartbeat.ts): the alert is raised exactly at the deadline and cleared by
 * the next ping. `GET /v1/heartbeats` (read) lists pinged and rule heartbeats with their deadlines;
 * `DELETE /v1/heartbeats/:name` (admin) stops watching a pinged one.
 */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";
import { requireScope } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { formatDuration, parseDuration } from "../rules/duration.ts";
import { storeOf } from "../store/d1.ts";
import { SEVERITIES } from "../store/alerts.ts";
import type { Severity } from "../rules/types.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$/;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function registerHeartbeatRoutes(app: Hono<AppEnv>): void {
  app.post("/v1/heartbeats/:name", requireScope("ingest"), async (c) => {
    const name = c.req.param("name");
    if (!NAME.test(name)) throw new PorchlightError("validation_failed", "name: 1-64 letters, digits, '_', '.', '-', starting with a letter or digit", { field: "name" });
    const text = await c.req.text();
    let body: Record<string, unknown> = {};
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new PorchlightError("invalid_body", "The body must be JSON (or empty)");
      }
      if (!body || typeof body !== "object" || Array.isArray(body)) throw new PorchlightError("validation_failed", "The body must be a JSON object", { field: "" });
    }
    let timeoutMs: number | undefined;
    if (body.timeout !== undefined) {
      timeoutMs = parseDuration(body.timeout);
      if (timeoutMs === undefined) throw new PorchlightError("validation_failed", `timeout: must be a duration like "26h" (got ${JSON.stringify(body.timeout)})`, { field: "timeout" });
    }
    const severity = body.severity as Severity | undefined;
    if (severity !== undefined && !SEVERITIES.includes(severity)) throw new PorchlightError("validation_failed", `severity: must be one of ${SEVERITIES.join(", ")}`, { field: "severity" });
    const stub = c.env.HEARTBEAT.get(c.env.HEARTBEAT.idFromName(name));
    const r = await stub.beat(name, timeoutMs, Date.now(), severity);
    return c.json({ name: r.name, timeout: formatDuration(r.timeoutMs), last_beat: iso(r.lastBeat), deadline: iso(r.deadline), cleared: r.cleared });
  });

  // Stop watching a pinged heartbeat: its deadline alarm is cancelled and it leaves the listing (an open alert stays for a human to close).
  app.delete("/v1/heartbeats/:name", requireScope("admin"), async (c) => {
    const name = c.req.param("name");
    if (!NAME.test(name) || !(await c.env.HEARTBEAT.get(c.env.HEARTBEAT.idFromName(name)).stop(name))) throw new PorchlightError("not_found", `No pinged heartbeat "${name}"`);
    return c.json({ deleted: name });
  });

  app.get("/v1/heartbeats", requireScope("read"), async (c) => {
    const now = Date.now();
    const rows = await storeOf(c.env).listHeartbeats();
    return c.json({
      heartbeats: rows.map((h) => ({
        name: h.name,
        source: h.source,
        timeout: formatDuration(h.timeoutMs),
        last_beat: iso(h.lastBeat),
        deadline: iso(h.deadline),
        // A passed deadline reads as late even in the instant before the alarm has written it.
        state: h.state === "ok" && h.deadline !== null && h.deadline <= now ? "late" : h.state,
        /** ms until the deadline (negative once late); null when none is pending. */
        ms_to_deadline: h.deadline === null ? null : h.deadline - now,
      })),
    });
  });
}
