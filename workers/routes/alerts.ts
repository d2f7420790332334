/**
 * Routes of /v1/alerts: the alert console (list with filters, detail with source events and
 * history) and the lifecycle actions. Reads need `read`; every change (ack, unack, shelve, close,
 * reopen, delete) needs `admin`, so a read-only web session can look but never change anything.
 */
import type { Context, Hono } from "hono";
import type { AppEnv } from "../auth.ts";
import { requireScope } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { parseDuration } from "../rules/duration.ts";
import {
  ALERT_ACTIONS,
  ALERT_STATUSES,
  SEVERITIES,
  decodeCursor,
  toAlertJson,
  type AlertAction,
  type ListFilter,
} from "../store/alerts.ts";
import { notifyAlerts } from "../live.ts";
import { storeOf } from "../store/d1.ts";
import { apiEvent } from "../store/store.ts";
import { deliveriesOf } from "../notify/outbox.ts";

export const ALERTS_DEFAULT_LIMIT = 50;
export const ALERTS_MAX_LIMIT = 500;
/** Shelve period when the request names none (Alerta's default). */
export const DEFAULT_SHELVE = "2h";
const MAX_NOTE = 1000;

// --- Query parsing

function values(c: Context<AppEnv>, name: string, allowed?: readonly string[]): string[] | undefined {
  const vs = (c.req.queries(name) ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  if (vs.length === 0) return undefined;
  if (allowed) for (const v of vs) if (!allowed.includes(v)) throw new PorchlightError("validation_failed", `${name}: "${v}" is not one of ${allowed.join(", ")}`, { field: name });
  return vs;
}

/** `since`: RFC 3339, ms since the epoch, or a duration back from now ("24h"). */
function parseSince(text: string | undefined, now: number): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new PorchlightError("validation_failed", `since: "${text}" is not an RFC 3339 time, ms since the epoch, or a duration like "24h"`, { field: "since" });
  return t;
}

export function parseAlertFilter(c: Context<AppEnv>, now: number): ListFilter {
  const limitText = c.req.query("limit");
  const limit = limitText === undefined ? ALERTS_DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > ALERTS_MAX_LIMIT)
    throw new PorchlightError("validation_failed", `limit: must be an integer from 1 to ${ALERTS_MAX_LIMIT}`, { field: "limit" });
  const cursorText = c.req.query("cursor");
  const cursor = cursorText ? decodeCursor(cursorText) : undefined;
  if (cursorText && !cursor) throw new PorchlightError("validation_failed", "cursor: not a cursor returned by this API", { field: "cursor" });
  return {
    status: values(c, "status", ALERT_STATUSES),
    notStatus: values(c, "not_status", ALERT_STATUSES),
    severity: values(c, "severity", SEVERITIES),
    notSeverity: values(c, "not_severity", SEVERITIES),
    rule: values(c, "rule"),
    notRule: values(c, "not_rule"),
    resource: values(c, "resource"),
    notResource: values(c, "not_resource"),
    since: parseSince(c.req.query("since"), now),
    limit,
    cursor,
  };
}

async function readOptionalJson(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new PorchlightError("invalid_body", "The body must be JSON (or empty)");
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new PorchlightError("validation_failed", "The body must be a JSON object", { field: "" });
  return body as Record<string, unknown>;
}

// --- Routes

export function registerAlertRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/alerts", requireScope("read"), async (c) => {
    const now = Date.now();
    return c.json(await storeOf(c.env).listAlerts(parseAlertFilter(c, now), now));
  });

  app.get("/v1/alerts/:id", requireScope("read"), async (c) => {
    const id = c.req.param("id");
    const store = storeOf(c.env);
    await store.sweepDueAlerts(Date.now());
    const row = await store.getAlert(id);
    if (!row) throw new PorchlightError("not_found", `No alert "${id}"`);
    const alert = toAlertJson(row, await store.alertHistory(id));
    // Source events, in the same shape as GET /v1/events.
    const events = (await store.getEvents(alert.event_ids)).map(apiEvent);
    // Notifications sent (or held, or failed) for this alert, newest first (issue 11).
    const deliveries = await deliveriesOf(c.env, id);
    return c.json({ ...alert, events, deliveries });
  });

  app.post("/v1/alerts/:id/:action", requireScope("admin"), async (c) => {
    const action = c.req.param("action") as AlertAction;
    if (!ALERT_ACTIONS.includes(action)) throw new PorchlightError("not_found", `No alert action "${action}" (one of ${ALERT_ACTIONS.join(", ")})`);
    const body = await readOptionalJson(c);
    const note = body.note;
    if (note !== undefined && (typeof note !== "string" || note.length > MAX_NOTE))
      throw new PorchlightError("validation_failed", `note: must be a string of at most ${MAX_NOTE} characters`, { field: "note" });
    let shelveMs: number | undefined;
    if (action === "shelve") {
      shelveMs = parseDuration(body.duration ?? DEFAULT_SHELVE);
      if (shelveMs === undefined) throw new PorchlightError("validation_failed", `duration: must be a duration like "30m", "2h", "7d"`, { field: "duration" });
    } else if (body.duration !== undefined) {
      throw new PorchlightError("validation_failed", "duration: only shelve takes a duration", { field: "duration" });
    }
    const res = await storeOf(c.env).transitionAlert(c.req.param("id"), action, { who: c.get("principal").name, note, shelveMs }, Date.now());
    if (res.status === "not_found") throw new PorchlightError("not_found", `No alert "${c.req.param("id")}"`);
    if (res.status === "conflict") throw new PorchlightError("conflict", res.message);
    await notifyAlerts(c.env, [res.alert]);
    return c.json(res.alert);
  });

  app.delete("/v1/alerts/:id", requireScope("admin"), async (c) => {
    const id = c.req.param("id");
    if (!(await storeOf(c.env).deleteAlert(id))) throw new PorchlightError("not_found", `No alert "${id}"`);
    return c.json({ deleted: id });
  });
}
