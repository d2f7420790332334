/**
 * The alerts tables (alerts, alert_history, alert_firings) over the `Sql` port, reached through the
 * Store (workers/store/types.ts, AlertStore): Alerta's alert model with de-duplication, correlation and a lifecycle.
 * Firings (from the Worker for `single` rules and stateful batches, from RuleState alarms for
 * deadlines) become alerts here; the API's lifecycle actions (ack, shelve, close, ...) go here too.
 *
 * Invariants:
 * - ONE alert per de-duplication key (rule_id + resource + group), whatever its status (Alerta):
 *   the alert id is derived from the key, a new firing of a closed or expired alert reopens it.
 * - Applying a firing is idempotent: its deterministic id is recorded in `alert_firings` in the same
 *   D1 batch (transaction) as the alert change, and a firing id already there is skipped, so a
 *   retried ingest batch or a repeated alarm never increments `duplicate_count` twice.
 * - Shelving and expiry run on wall time and are applied lazily: every read and every write first
 *   runs `sweepDueAlerts` (one indexed probe; a write batch only when something is due), so the
 *   status is correct whenever anyone looks, without a cron trigger.
 * - Times: `first_seen`/`last_seen` are the firings' times (event time for event-driven firings,
 *   wall time for deadlines); `updated_at`, `shelved_until`, `expires_at` and history are wall time.
 * - Concurrent writers: a write transaction first checks that the alerts it read are unchanged
 *   (CONFLICT_GUARD) and otherwise rolls back and starts over, so two batches firing one alert at
 *   the same instant both count.
 */
import type { AlertJson, AlertStatus, HistoryEntry, Severity } from "../api-types.ts";

export type { AlertJson, AlertStatus, HistoryEntry };
import type { AlertInput } from "../rules/plan.ts";
import { PorchlightError } from "../errors.ts";
import { isWriteConflict, one, rows as rowsOf, stmt } from "./sql.ts";
import type { Sql } from "./types.ts";

export type { AlertInput };

// --- Types

export const ALERT_STATUSES: readonly AlertStatus[] = ["open", "ack", "shelved", "closed", "expired"];
/** Sigma's levels, lowest first (index = rank). */
export const SEVERITIES: readonly Severity[] = ["informational", "low", "medium", "high", "critical"];
export const severityRank = (s: string): number => SEVERITIES.indexOf(s as Severity);

/** Most source event ids kept per alert (newest win); the alert detail shows these events. */
export const MAX_ALERT_EVENT_IDS = 100;
/** Alert writes per isolate between two prunes of alert_firings. */
const PRUNE_EVERY = 50;
/** Alert writes this isolate has made: a schedule (prune every PRUNE_EVERY-th), not a result. */
let writesSincePrune = 0;

/** Firings applied per D1 transaction (about 5 queries each; ~1 KB of JSON per firing). */
export const APPLY_CHUNK = 1000;
/** Applied firing ids are kept this long (ms): longer than any relay retry of a batch. */
export const FIRING_RETENTION_MS = 7 * 86_400_000;

export interface AlertRow {
  id: string;
  rule_id: string;
  resource: string;
  group_key: string;
  dedup_key: string;
  severity: string;
  previous_severity: string | null;
  status: string;
  title: string;
  text: string;
  duplicate_count: number;
  count: number;
  event_ids: string;
  magnitude: number;
  tags: string;
  attributes: string;
  first_seen: number;
  last_seen: number;
  shelved_until: number | null;
  expires_at: number | null;
  updated_at: number;
}

const iso = (ms: number | null): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function toAlertJson(row: AlertRow, history?: HistoryEntry[]): AlertJson {
  return {
    id: row.id,
    rule_id: row.rule_id,
    resource: row.resource,
    group: JSON.parse(row.group_key) as Record<string, string>,
    severity: row.severity as Severity,
    previous_severity: (row.previous_severity as Severity | null) ?? null,
    status: row.status as AlertStatus,
    title: row.title,
    text: row.text,
    duplicate_count: row.duplicate_count,
    count: row.count,
    event_ids: JSON.parse(row.event_ids) as string[],
    magnitude: row.magnitude,
    tags: JSON.parse(row.tags) as string[],
    attributes: JSON.parse(row.attributes) as Record<string, unknown>,
    first_seen: iso(row.first_seen)!,
    last_seen: iso(row.last_seen)!,
    shelved_until: iso(row.shelved_until),
    expires_at: iso(row.expires_at),
    updated_at: iso(row.updated_at)!,
    ...(history ? { history } : {}),
  };
}

// --- The Store's part

export interface AlertStore {
  /** Applies due shelve/expiry transitions (wall ms `now`); returns the ids changed. */
  sweepDueAlerts(now: number): Promise<string[]>;
  getAlert(id: string): Promise<AlertRow | null>;
  alertHistory(id: string): Promise<HistoryEntry[]>;
  listAlerts(f: ListFilter, now: number): Promise<{ alerts: AlertJson[]; cursor: string | null }>;
  /** Applies firings in order, idempotent by firing id (see the module's invariants). */
  applyFirings(inputs: readonly AlertInput[], now: number): Promise<{ changed: AlertJson[]; applied: number; skipped: number }>;
  transitionAlert(id: string, action: AlertAction, opts: TransitionOptions, now: number): Promise<TransitionResult>;
  /** Deletes an alert and its history; false when it did not exist. */
  deleteAlert(id: string): Promise<boolean>;
}

export const alertQueries = (sql: Sql): AlertStore => ({
  sweepDueAlerts: (now) => sweepDueAlerts(sql, now),
  getAlert: (id) => getAlertRow(sql, id),
  alertHistory: (id) => getAlertHistory(sql, id),
  listAlerts: (f, now) => listAlerts(sql, f, now),
  applyFirings: (inputs, now) => applyFirings(sql, inputs, now),
  transitionAlert: (id, action, opts, now) => transitionAlert(sql, id, action, opts, now),
  deleteAlert: (id) => deleteAlert(sql, id),
});

// --- Keys

/** Canonical JSON of group values: keys sorted, so the same group always has the same text. */
export function canonicalGroup(group: Record<string, string>): string {
  const out: Record<string, string> = {};
  for (const k of Object.keys(group).sort()) out[k] = group[k]!;
  return JSON.stringify(out);
}

export function dedupKeyOf(ruleId: string, resource: string, group: Record<string, string>): string {
  return JSON.stringify([ruleId, resource, canonicalGroup(group)]);
}

/** Alert id from the de-duplication key: `al_` + 24 hex of SHA-256 (one alert per key, see invariants). */
export async function alertIdFor(dedupKey: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(dedupKey)));
  return "al_" + [...d.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// --- Queries

const ALERT_COLUMNS =
  "id, rule_id, resource, group_key, dedup_key, severity, previous_severity, status, title, text, duplicate_count, count, event_ids, magnitude, tags, attributes, first_seen, last_seen, shelved_until, expires_at, updated_at";


/**
 * Applies due wall-time transitions: shelved alerts whose `shelved_until` passed return to open,
 * open/ack alerts whose `expires_at` passed become expired (with history). One indexed probe when
 * nothing is due. Returns the ids changed.
 */
async function sweepDueAlerts(db: Sql, now: number): Promise<string[]> {
  const due = await rowsOf(
    db,
    "SELECT id FROM alerts WHERE (status = 'shelved' AND shelved_until <= ?1) OR (status IN ('open','ack') AND expires_at <= ?1) LIMIT 1",
    now,
  );
  if (due.length === 0) return [];
  const res = await db.batch([
    stmt(
      "INSERT INTO alert_history (alert_id, at, who, action, status, severity, note) SELECT id, ?1, 'system', 'unshelve', 'open', severity, 'shelve period ended' FROM alerts WHERE status = 'shelved' AND shelved_until <= ?1",
      now,
    ),
    stmt("UPDATE alerts SET status = 'open', shelved_until = NULL, updated_at = ?1 WHERE status = 'shelved' AND shelved_until <= ?1 RETURNING id", now),
    stmt(
      "INSERT INTO alert_history (alert_id, at, who, action, status, severity, note) SELECT id, ?1, 'system', 'expire', 'expired', severity, 'rule timeout passed without a new occurrence' FROM alerts WHERE status IN ('open','ack') AND expires_at <= ?1",
      now,
    ),
    stmt("UPDATE alerts SET status = 'expired', updated_at = ?1 WHERE status IN ('open','ack') AND expires_at <= ?1 RETURNING id", now),
  ]);
  return [...res[1]!.rows, ...res[3]!.rows].map((r) => String(r.id));
}

/** An alerts row as any SQL client returns it → AlertRow (numbers as numbers). */
function alertRow(r: Record<string, unknown>): AlertRow {
  const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    ...(r as unknown as AlertRow),
    duplicate_count: Number(r.duplicate_count),
    count: Number(r.count),
    magnitude: Number(r.magnitude),
    first_seen: Number(r.first_seen),
    last_seen: Number(r.last_seen),
    shelved_until: n(r.shelved_until),
    expires_at: n(r.expires_at),
    updated_at: Number(r.updated_at),
  };
}

async function getAlertRow(db: Sql, id: string): Promise<AlertRow | null> {
  const r = (await one(db, `SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = ?1`, id)).rows[0];
  return r ? alertRow(r) : null;
}

async function getAlertHistory(db: Sql, id: string): Promise<HistoryEntry[]> {
  const results = await rowsOf<{ at: number; who: string; action: string; status: string | null; severity: string | null; note: string | null }>(
    db,
    "SELECT at, who, action, status, severity, note FROM alert_history WHERE alert_id = ?1 ORDER BY at, id",
    id,
  );
  return results.map((r) => ({ ...r, at: new Date(Number(r.at)).toISOString() }));
}

/**
 * Reads alerts by id. The ids travel as ONE JSON parameter expanded by json_each, so any number of
 * ids costs one query (D1's per-invocation query limit) and stays clear of the 100-parameter limit.
 */
async function getAlertRows(db: Sql, ids: readonly string[]): Promise<AlertRow[]> {
  if (ids.length === 0) return [];
  const r = await one(db, `SELECT ${ALERT_COLUMNS} FROM alerts WHERE id IN (SELECT value FROM json_each(?1))`, JSON.stringify([...new Set(ids)]));
  return r.rows.map(alertRow);
}

export interface ListFilter {
  status?: string[];
  notStatus?: string[];
  severity?: string[];
  notSeverity?: string[];
  rule?: string[];
  notRule?: string[];
  resource?: string[];
  notResource?: string[];
  /** last_seen >= since, ms. */
  since?: number;
  limit: number;
  /** Continue after this (last_seen, id), newest first. */
  cursor?: { lastSeen: number; id: string };
}

/** Lists alerts newest first (by last_seen, then id), after applying due shelve/expiry transitions. */
async function listAlerts(db: Sql, f: ListFilter, now: number): Promise<{ alerts: AlertJson[]; cursor: string | null }> {
  await sweepDueAlerts(db, now);
  const where: string[] = [];
  const params: unknown[] = [];
  const list = (col: string, values: string[] | undefined, negate: boolean) => {
    if (!values || values.length === 0) return;
    const marks = values.map((v) => {
      params.push(v);
      return `?${params.length}`;
    });
    where.push(`${col} ${negate ? "NOT IN" : "IN"} (${marks.join(",")})`);
  };
  list("status", f.status, false);
  list("status", f.notStatus, true);
  list("severity", f.severity, false);
  list("severity", f.notSeverity, true);
  list("rule_id", f.rule, false);
  list("rule_id", f.notRule, true);
  list("resource", f.resource, false);
  list("resource", f.notResource, true);
  if (f.since !== undefined) {
    params.push(f.since);
    where.push(`last_seen >= ?${params.length}`);
  }
  if (f.cursor) {
    params.push(f.cursor.lastSeen, f.cursor.id);
    where.push(`(last_seen < ?${params.length - 1} OR (last_seen = ?${params.length - 1} AND id < ?${params.length}))`);
  }
  params.push(f.limit + 1);
  const sql = `SELECT ${ALERT_COLUMNS} FROM alerts ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY last_seen DESC, id DESC LIMIT ?${params.length}`;
  const results = (await one(db, sql, ...params)).rows.map(alertRow);
  const page = results.slice(0, f.limit);
  const last = page[page.length - 1];
  const cursor = results.length > f.limit && last ? encodeCursor(last.last_seen, last.id) : null;
  return { alerts: page.map((r) => toAlertJson(r)), cursor };
}

export function encodeCursor(lastSeen: number, id: string): string {
  return btoa(`${lastSeen}:${id}`).replace(/=+$/, "");
}

export function decodeCursor(text: string): { lastSeen: number; id: string } | undefined {
  try {
    const m = /^(\d+):(al_[0-9a-f]+)$/.exec(atob(text));
    return m ? { lastSeen: Number(m[1]), id: m[2]! } : undefined;
  } catch {
    return undefined;
  }
}

// --- Applying firings

interface HistoryInsert {
  alertId: string;
  at: number;
  who: string;
  action: string;
  status: string;
  severity: string;
  note: string | null;
}

/**
 * Applies firings in order: create, de-duplicate, correlate (severity change), reopen, clear.
 * Returns the alerts that changed (for live updates) and how many firings were skipped because
 * they had been applied before.
 */
async function applyFirings(
  db: Sql,
  inputs: readonly AlertInput[],
  now: number,
): Promise<{ changed: AlertJson[]; applied: number; skipped: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await applyFiringsOnce(db, inputs, now);
    } catch (err) {
      // Another writer changed one of the alerts between our read and our write (see CONFLICT_GUARD):
      // nothing of ours was written; read again and redo. Firing ids keep a redo idempotent.
      if (!isWriteConflict(err)) throw err;
      // Still losing races after every attempt: a 503 tells the client (the relay) to retry the batch.
      if (attempt >= APPLY_ATTEMPTS) throw new PorchlightError("unavailable", "Alerts are being changed concurrently; retry the request");
    }
  }
}

/** Attempts of applyFirings when concurrent writers keep changing the same alerts. */
const APPLY_ATTEMPTS = 5;

/**
 * Optimistic concurrency for alert writes: the first statement of the write transaction checks that
 * every alert the call read is as it was read (absent ones still absent), comparing the fields every
 * write changes (updated_at, duplicate_count, status, last_seen). If one differs, it evaluates
 * abs(-2^63), which SQLite refuses ("integer overflow"), so the whole transaction rolls back and
 * applyFirings starts over. Without it, two batches firing one alert at once each wrote "read + 1"
 * and one duplicate was lost.
 */
const CONFLICT_GUARD =
  "SELECT CASE WHEN EXISTS (SELECT 1 FROM json_each(?1) j LEFT JOIN alerts a ON a.id = json_extract(j.value, '$[0]') " +
  "WHERE (CASE WHEN a.id IS NULL THEN 'null' ELSE json_array(a.updated_at, a.duplicate_count, a.status, a.last_seen) END) != json(json_extract(j.value, '$[1]'))) " +
  "THEN abs(-9223372036854775808) ELSE 0 END";

/** What CONFLICT_GUARD compares of an alert as read: null when it did not exist. */
const readState = (row: AlertRow | undefined): unknown =>
  row ? [row.updated_at, row.duplicate_count, row.status, row.last_seen] : null;

async function applyFiringsOnce(
  db: Sql,
  inputs: readonly AlertInput[],
  now: number,
): Promise<{ changed: AlertJson[]; applied: number; skipped: number }> {
  if (inputs.length === 0) return { changed: [], applied: 0, skipped: 0 };
  if (inputs.length > APPLY_CHUNK) {
    // In order, chunk by chunk: each chunk's JSON parameters stay far below D1's 2 MB value limit.
    const out = { changed: new Map<string, AlertJson>(), applied: 0, skipped: 0 };
    for (let i = 0; i < inputs.length; i += APPLY_CHUNK) {
      const r = await applyFirings(db, inputs.slice(i, i + APPLY_CHUNK), now);
      for (const a of r.changed) out.changed.set(a.id, a);
      out.applied += r.applied;
      out.skipped += r.skipped;
    }
    return { changed: [...out.changed.values()], applied: out.applied, skipped: out.skipped };
  }
  await sweepDueAlerts(db, now);

  // Skip firings applied before (a retried batch, a repeated alarm); also collapse repeats within the call.
  const seen = new Set<string>();
  const appliedBefore = await rowsOf<{ firing_id: string }>(
    db,
    "SELECT firing_id FROM alert_firings WHERE firing_id IN (SELECT value FROM json_each(?1))",
    JSON.stringify([...new Set(inputs.map((i) => i.firingId))]),
  );
  for (const r of appliedBefore) seen.add(r.firing_id);
  const todo: (AlertInput & { dedupKey: string; alertId: string })[] = [];
  let skipped = 0;
  for (const input of inputs) {
    if (seen.has(input.firingId)) {
      skipped++;
      continue;
    }
    seen.add(input.firingId);
    const dedupKey = dedupKeyOf(input.ruleId, input.resource, input.group);
    todo.push({ ...input, dedupKey, alertId: await alertIdFor(dedupKey) });
  }
  if (todo.length === 0) return { changed: [], applied: 0, skipped };

  const current = new Map<string, AlertRow>();
  for (const row of await getAlertRows(db, todo.map((t) => t.alertId))) current.set(row.id, row);
  const asRead = [...new Set(todo.map((t) => t.alertId))].map((id) => [id, JSON.stringify(readState(current.get(id)))]);
  const dirty = new Set<string>();
  const history: HistoryInsert[] = [];
  const firingRows: { firingId: string; alertId: string }[] = [];

  for (const f of todo) {
    firingRows.push({ firingId: f.firingId, alertId: f.alertId });
    const who = `rule:${f.ruleId}`;
    const row = current.get(f.alertId);
    const expiresAt = f.timeoutMs ? now + f.timeoutMs : null;
    if (f.action === "clear") {
      if (!row || row.status === "closed" || row.status === "expired") continue;
      row.status = "closed";
      row.shelved_until = null;
      row.expires_at = null;
      row.updated_at = now;
      dirty.add(row.id);
      history.push({ alertId: row.id, at: now, who, action: "clear", status: "closed", severity: row.severity, note: "cleared by the rule" });
      continue;
    }
    if (!row) {
      const created: AlertRow = {
        id: f.alertId,
        rule_id: f.ruleId,
        resource: f.resource,
        group_key: canonicalGroup(f.group),
        dedup_key: f.dedupKey,
        severity: f.severity,
        previous_severity: null,
        status: "open",
        title: f.title,
        text: f.text,
        duplicate_count: 0,
        count: f.count,
        event_ids: JSON.stringify(f.eventIds.slice(-MAX_ALERT_EVENT_IDS)),
        magnitude: f.magnitude,
        tags: JSON.stringify(f.tags),
        attributes: JSON.stringify(f.attributes),
        first_seen: f.at,
        last_seen: f.at,
        shelved_until: null,
        expires_at: expiresAt,
        updated_at: now,
      };
      current.set(created.id, created);
      dirty.add(created.id);
      history.push({ alertId: created.id, at: now, who, action: "create", status: "open", severity: f.severity, note: null });
      continue;
    }
    // A new occurrence of an existing alert.
    const oldSeverity = row.severity;
    const rose = severityRank(f.severity) > severityRank(oldSeverity);
    row.duplicate_count += 1;
    row.last_seen = Math.max(row.last_seen, f.at);
    row.count = f.count;
    row.title = f.title;
    row.text = f.text;
    row.magnitude = f.magnitude;
    row.tags = JSON.stringify(f.tags);
    row.attributes = JSON.stringify(f.attributes);
    row.event_ids = JSON.stringify([...new Set([...(JSON.parse(row.event_ids) as string[]), ...f.eventIds])].slice(-MAX_ALERT_EVENT_IDS));
    row.expires_at = expiresAt;
    row.updated_at = now;
    if (f.severity !== oldSeverity) {
      row.previous_severity = oldSeverity;
      row.severity = f.severity;
    }
    if (row.status === "closed" || row.status === "expired") {
      row.status = "open";
      row.shelved_until = null;
      history.push({ alertId: row.id, at: now, who, action: "reopen", status: "open", severity: row.severity, note: "new occurrence" });
    } else if (row.status === "ack" && rose) {
      row.status = "open";
      history.push({ alertId: row.id, at: now, who, action: "reopen", status: "open", severity: row.severity, note: `severity rose from ${oldSeverity}` });
    } else if (f.severity !== oldSeverity) {
      history.push({ alertId: row.id, at: now, who, action: "severity", status: row.status, severity: row.severity, note: `correlated: was ${oldSeverity}` });
    }
    dirty.add(row.id);
  }

  // One transaction of three or four statements whatever the number of firings: rows travel as JSON parameters
  // (json_each), so the query count stays constant and no statement nears the bound-parameter limit.
  // Absolute values, not increments: a concurrent re-application of the same firings writes the same row.
  const rows = [...dirty].map((id) => current.get(id)!);
  const upsertCols = ALERT_COLUMNS.split(", ");
  await db.batch([
    stmt(CONFLICT_GUARD, JSON.stringify(asRead)),
    stmt(
      `INSERT INTO alerts (${ALERT_COLUMNS}) SELECT ${upsertCols.map((c) => `json_extract(value, '$.${c}')`).join(", ")} FROM json_each(?1) WHERE true
         ON CONFLICT(id) DO UPDATE SET severity=excluded.severity, previous_severity=excluded.previous_severity, status=excluded.status,
           title=excluded.title, text=excluded.text, duplicate_count=excluded.duplicate_count, count=excluded.count, event_ids=excluded.event_ids,
           magnitude=excluded.magnitude, tags=excluded.tags, attributes=excluded.attributes, first_seen=excluded.first_seen, last_seen=excluded.last_seen,
           shelved_until=excluded.shelved_until, expires_at=excluded.expires_at, updated_at=excluded.updated_at`,
      JSON.stringify(rows),
    ),
    stmt(
      `INSERT INTO alert_history (alert_id, at, who, action, status, severity, note)
         SELECT json_extract(value, '$.alertId'), json_extract(value, '$.at'), json_extract(value, '$.who'), json_extract(value, '$.action'),
                json_extract(value, '$.status'), json_extract(value, '$.severity'), json_extract(value, '$.note') FROM json_each(?1)`,
      JSON.stringify(history),
    ),
    stmt(
      "INSERT OR IGNORE INTO alert_firings (firing_id, alert_id, at) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?2 FROM json_each(?1)",
      JSON.stringify(firingRows.map((f) => [f.firingId, f.alertId])),
      now,
    ),
    // Pruning scans alert_firings (no index on `at`: it would cost a written row per firing), and D1
    // bills rows read, so it runs on one write in PRUNE_EVERY per isolate.
    ...(++writesSincePrune % PRUNE_EVERY === 1 ? [stmt("DELETE FROM alert_firings WHERE at < ?1", now - FIRING_RETENTION_MS)] : []),
  ]);
  return { changed: rows.map((r) => toAlertJson(r)), applied: todo.length, skipped };
}

// --- Lifecycle actions (API)

export type AlertAction = "ack" | "unack" | "shelve" | "close" | "reopen";
export const ALERT_ACTIONS: readonly AlertAction[] = ["ack", "unack", "shelve", "close", "reopen"];

/** Statuses each action may start from, and where it leads. */
const TRANSITIONS: Record<AlertAction, { from: AlertStatus[]; to: AlertStatus }> = {
  ack: { from: ["open", "shelved"], to: "ack" },
  unack: { from: ["ack"], to: "open" },
  shelve: { from: ["open", "ack"], to: "shelved" },
  close: { from: ["open", "ack", "shelved", "expired"], to: "closed" },
  reopen: { from: ["closed", "expired", "ack", "shelved"], to: "open" },
};

export type TransitionResult =
  | { status: "ok"; alert: AlertJson }
  | { status: "not_found" }
  | { status: "conflict"; message: string };

export interface TransitionOptions {
  who: string;
  note?: string | undefined;
  /** Required for shelve: how long, wall ms. */
  shelveMs?: number | undefined;
}

/** Runs a user's lifecycle action. */
async function transitionAlert(
  db: Sql,
  id: string,
  action: AlertAction,
  opts: TransitionOptions,
  now: number,
): Promise<TransitionResult> {
  await sweepDueAlerts(db, now);
  const row = await getAlertRow(db, id);
  if (!row) return { status: "not_found" };
  const t = TRANSITIONS[action];
  if (!t.from.includes(row.status as AlertStatus)) {
    return { status: "conflict", message: `Cannot ${action} an alert that is ${row.status} (allowed from: ${t.from.join(", ")})` };
  }
  const shelvedUntil = action === "shelve" ? now + (opts.shelveMs ?? 0) : null;
  // Reopening by hand clears the expiry (a passed expires_at would expire it again at once): it stays
  // open until someone closes it or a new occurrence sets a new expiry.
  const res = await db.batch([
    stmt(
      `UPDATE alerts SET status = ?2, shelved_until = ?3, updated_at = ?4, expires_at = CASE WHEN ?6 THEN NULL ELSE expires_at END
         WHERE id = ?1 AND status = ?5 RETURNING ${ALERT_COLUMNS}`,
      id, t.to, shelvedUntil, now, row.status, action === "reopen" ? 1 : 0,
    ),
    stmt(
      "INSERT INTO alert_history (alert_id, at, who, action, status, severity, note) SELECT id, ?2, ?3, ?4, status, severity, ?5 FROM alerts WHERE id = ?1 AND status = ?6 AND updated_at = ?2",
      id, now, opts.who, action, opts.note ?? (action === "shelve" ? `until ${new Date(shelvedUntil!).toISOString()}` : null), t.to,
    ),
  ]);
  const updatedRow = res[0]!.rows[0];
  const updated = updatedRow ? alertRow(updatedRow) : undefined;
  if (!updated) return { status: "conflict", message: `The alert changed concurrently; retry the ${action}` };
  return { status: "ok", alert: toAlertJson(updated, await getAlertHistory(db, id)) };
}

/**
 * Deletes an alert with its history. Its applied firing ids stay (pruned after FIRING_RETENTION_MS),
 * so a late retry of the batch that raised it does not resurrect it. Returns false when it did not exist.
 */
async function deleteAlert(db: Sql, id: string): Promise<boolean> {
  const res = await db.batch([stmt("DELETE FROM alert_history WHERE alert_id = ?1", id), stmt("DELETE FROM alerts WHERE id = ?1", id)]);
  return res[1]!.changes > 0;
}
