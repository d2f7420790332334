/**
 * Routes of /v1/rules: CRUD, enable/disable (PATCH {enabled}), import/export (a JSON array, the
 * siemmanage parity) and backtest. Reads need `read`, every change needs `admin`.
 *
 * A change bumps the rule's `version` and resets its RuleState objects (all shards), so the next
 * batch ingested runs the new definition from empty windows; a delete or disable also cancels the
 * rule's pending deadlines (heartbeats, absent-B sequences).
 */
import type { Context, Hono } from "hono";
import type { AppEnv } from "../auth.ts";
import { requireScope } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import type { Env } from "../env.ts";
import type { RuleDef } from "../rules/types.ts";
import { validateRule } from "../rules/validate.ts";
import { RULE_SHARDS, ruleObjectName } from "../rules/registry.ts";
import { BACKTEST_MAX_EVENTS, runBacktest } from "../rules/backtest.ts";
import { storeOf } from "../store/d1.ts";
import type { RuleRow } from "../store/rules.ts";

/** Most rules one import may carry (one D1 batch). */
const IMPORT_MAX_RULES = 500;

function ruleJson(row: RuleRow): RuleDef & { version: number; created_at: string; updated_at: string } {
  const def = JSON.parse(row.definition) as RuleDef;
  return { ...def, enabled: row.enabled, version: row.version, created_at: new Date(row.created_at).toISOString(), updated_at: new Date(row.updated_at).toISOString() };
}

// --- Queries

/** Largest rule definition stored, bytes of JSON (a rule is a few hundred bytes; D1 values stop at 2 MB). */
export const RULE_MAX_BYTES = 65_536;

/** Validates a rule body or throws a 400 naming every bad field. Strips the API's bookkeeping fields (and late_events). */
export function parseRuleBody(body: unknown, where = ""): RuleDef {
  const size = JSON.stringify(body ?? null).length;
  if (size > RULE_MAX_BYTES) throw new PorchlightError("payload_too_large", `${where || "rule"}: ${size} bytes of JSON; a rule may have at most ${RULE_MAX_BYTES}`);
  if (body && typeof body === "object" && !Array.isArray(body)) {
    // What GET answers beside the rule (bookkeeping, the late count) may come back in a PUT of what was read.
    const { version: _v, created_at: _c, updated_at: _u, late_events: _l, ...rest } = body as Record<string, unknown>;
    body = rest;
  }
  const v = validateRule(body);
  if (!v.ok) {
    const first = v.errors[0]!;
    const field = where + first.field;
    throw new PorchlightError("validation_failed", `${field || "rule"}: ${first.message}${v.errors.length > 1 ? ` (and ${v.errors.length - 1} more)` : ""}`, {
      field,
      errors: v.errors.map((e) => ({ field: where + e.field, message: e.message })),
    });
  }
  return v.rule;
}

/** new_value rules learn from the time of every write: a write resets the rule's state, so learning restarts. */
function withLearningStart(rule: RuleDef, now: number): RuleDef {
  return rule.type === "new_value" && rule.learning !== undefined ? { ...rule, learning_from: now } : rule;
}

/**
 * Forgets a rule's state in every shard and its rows in the heartbeats listing. Best effort: the
 * version check in RuleState.apply resets windows anyway.
 */
export async function resetRuleState(env: Env, ruleId: string): Promise<void> {
  await Promise.allSettled([
    ...Array.from({ length: RULE_SHARDS }, (_, shard) => env.RULE_STATE.get(env.RULE_STATE.idFromName(ruleObjectName(ruleId, shard))).reset()),
    storeOf(env).deleteHeartbeats(ruleId),
  ]);
}

/**
 * Matches the rule's engines ignored as later than its lateness, summed over its shards, since the
 * rule last changed (a change resets its objects). Best effort: an unreachable shard counts 0.
 */
async function lateEvents(env: Env, ruleId: string): Promise<number> {
  const counts = await Promise.allSettled(Array.from({ length: RULE_SHARDS }, (_, shard) => env.RULE_STATE.get(env.RULE_STATE.idFromName(ruleObjectName(ruleId, shard))).lateEvents()));
  return counts.reduce((n, r) => n + (r.status === "fulfilled" ? r.value : 0), 0);
}

/** Validates and writes a whole rule (insert or replace, version bumped), resets its state, returns it as stored. */
async function saveRule(env: Env, body: unknown) {
  const now = Date.now();
  const rule = withLearningStart(parseRuleBody(body), now);
  const store = storeOf(env);
  await store.putRules([rule], now);
  await resetRuleState(env, rule.id);
  return ruleJson((await store.getRule(rule.id))!);
}

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new PorchlightError("invalid_body", "The body must be JSON");
  }
}

// --- Routes

export function registerRuleRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/rules", requireScope("read"), async (c) => {
    return c.json({ rules: (await storeOf(c.env).listRules()).map(ruleJson) });
  });

  app.get("/v1/rules/export", requireScope("read"), async (c) => {
    const rules = await storeOf(c.env).listRules();
    return c.json(rules.map((r) => ({ ...(JSON.parse(r.definition) as RuleDef), enabled: r.enabled })));
  });

  app.post("/v1/rules/import", requireScope("admin"), async (c) => {
    const body = await readJson(c);
    const list = Array.isArray(body) ? body : body && typeof body === "object" && Array.isArray((body as { rules?: unknown }).rules) ? (body as { rules: unknown[] }).rules : undefined;
    if (!list) throw new PorchlightError("validation_failed", 'The body must be a JSON array of rules (or {"rules": [...]})', { field: "" });
    if (list.length > IMPORT_MAX_RULES) throw new PorchlightError("payload_too_large", `At most ${IMPORT_MAX_RULES} rules per import`);
    // All or nothing: every rule is validated before any is written.
    const rules = list.map((r, i) => parseRuleBody(r, `[${i}].`));
    const ids = new Set<string>();
    for (const [i, r] of rules.entries()) {
      if (ids.has(r.id)) throw new PorchlightError("validation_failed", `[${i}].id: duplicate rule id "${r.id}" in the import`, { field: `[${i}].id` });
      ids.add(r.id);
    }
    const now = Date.now();
    // ?existing=keep (what `npm start` sends with the default pack): rules already stored are left as
    // they are, the user's edits and the rules' learned state included; only new ids are written.
    const existing = c.req.query("existing") ?? "replace";
    if (existing !== "keep" && existing !== "replace") throw new PorchlightError("validation_failed", "Parameter 'existing': keep or replace", { param: "existing" });
    const store = storeOf(c.env);
    if (existing === "keep") {
      const ids = new Set(await store.addNewRules(rules.map((r) => withLearningStart(r, now)), now));
      const written = rules.filter((r) => ids.has(r.id));
      await Promise.all(written.map((r) => resetRuleState(c.env, r.id)));
      return c.json({ imported: written.length, ids: written.map((r) => r.id), kept: rules.filter((r) => !ids.has(r.id)).map((r) => r.id) });
    }
    await store.putRules(rules.map((r) => withLearningStart(r, now)), now);
    await Promise.all(rules.map((r) => resetRuleState(c.env, r.id)));
    return c.json({ imported: rules.length, ids: rules.map((r) => r.id) });
  });

  app.post("/v1/rules/backtest", requireScope("read"), async (c) => {
    const body = (await readJson(c)) as Record<string, unknown> | null;
    if (!body || typeof body !== "object" || Array.isArray(body)) throw new PorchlightError("validation_failed", "The body must be a JSON object", { field: "" });
    let rule: RuleDef;
    if (body.rule !== undefined) rule = parseRuleBody(body.rule, "rule.");
    else if (typeof body.rule_id === "string") {
      const row = await storeOf(c.env).getRule(body.rule_id);
      if (!row) throw new PorchlightError("not_found", `No rule "${body.rule_id}"`);
      rule = JSON.parse(row.definition) as RuleDef;
    } else throw new PorchlightError("validation_failed", 'rule: give "rule" (a rule object) or "rule_id"', { field: "rule" });
    const time = (f: "from" | "to", fallback: number): number => {
      const v = body[f];
      if (v === undefined) return fallback;
      const ms = typeof v === "number" ? v : typeof v === "string" ? Date.parse(v) : NaN;
      if (!Number.isFinite(ms)) throw new PorchlightError("validation_failed", `${f}: must be an RFC 3339 time or ms since the epoch`, { field: f });
      return ms;
    };
    const to = time("to", Date.now());
    const from = time("from", to - 86_400_000);
    if (from >= to) throw new PorchlightError("validation_failed", "from: must be before to", { field: "from" });
    const limit = body.limit ?? BACKTEST_MAX_EVENTS;
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > BACKTEST_MAX_EVENTS)
      throw new PorchlightError("validation_failed", `limit: must be an integer from 1 to ${BACKTEST_MAX_EVENTS}`, { field: "limit" });
    return c.json(await runBacktest(c.env, rule, from, to, limit));
  });

  app.post("/v1/rules", requireScope("admin"), async (c) => {
    const now = Date.now();
    const rule = withLearningStart(parseRuleBody(await readJson(c)), now);
    const store = storeOf(c.env);
    if (!(await store.createRule(rule, now))) throw new PorchlightError("conflict", `A rule with id "${rule.id}" exists (PUT /v1/rules/${rule.id} replaces it)`, { field: "id" });
    // Objects of a deleted rule of the same id may still hold windows: start from nothing.
    await resetRuleState(c.env, rule.id);
    return c.json(ruleJson((await store.getRule(rule.id))!), 201);
  });

  app.get("/v1/rules/:id", requireScope("read"), async (c) => {
    const row = await storeOf(c.env).getRule(c.req.param("id"));
    if (!row) throw new PorchlightError("not_found", `No rule "${c.req.param("id")}"`);
    return c.json({ ...ruleJson(row), late_events: await lateEvents(c.env, row.id) });
  });

  app.put("/v1/rules/:id", requireScope("admin"), async (c) => {
    const id = c.req.param("id");
    const body = await readJson(c);
    if (body && typeof body === "object" && !Array.isArray(body)) {
      const bodyId = (body as { id?: unknown }).id;
      if (bodyId !== undefined && bodyId !== id) throw new PorchlightError("validation_failed", `id: "${String(bodyId)}" differs from the URL's "${id}"`, { field: "id" });
      (body as { id?: unknown }).id = id;
    }
    return c.json(await saveRule(c.env, body));
  });

  app.patch("/v1/rules/:id", requireScope("admin"), async (c) => {
    const id = c.req.param("id");
    const row = await storeOf(c.env).getRule(id);
    if (!row) throw new PorchlightError("not_found", `No rule "${id}"`);
    const patch = await readJson(c);
    if (!patch || typeof patch !== "object" || Array.isArray(patch)) throw new PorchlightError("validation_failed", "The body must be a JSON object of fields to change", { field: "" });
    if ("id" in patch && (patch as { id: unknown }).id !== id) throw new PorchlightError("validation_failed", "id: a rule's id cannot change", { field: "id" });
    // Merge (a null value removes an option), then validate the whole rule.
    const merged: Record<string, unknown> = { ...(JSON.parse(row.definition) as RuleDef), enabled: row.enabled };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    return c.json(await saveRule(c.env, merged));
  });

  app.delete("/v1/rules/:id", requireScope("admin"), async (c) => {
    const id = c.req.param("id");
    if (!(await storeOf(c.env).deleteRule(id))) throw new PorchlightError("not_found", `No rule "${id}"`);
    await resetRuleState(c.env, id);
    return c.json({ deleted: id });
  });
}
