/**
 * Enabled rules, loaded from D1 and compiled once per isolate. Every evaluation asks D1 for the
 * (id, revision) list of enabled rules — one scan of a table of tens of rows — and re-reads only
 * what changed, so a rule created, changed, disabled or deleted through the API applies to the next
 * batch ingested after it, in every isolate, without a redeploy.
 *
 * Revision = the row's `updated_at` (ms). The rules API makes it strictly increase on every write of
 * a rule, and unlike the integer `version` column (which restarts at 1 when a deleted id is created
 * again) it also orders a delete-and-recreate, so RuleState objects and isolate caches never mistake
 * a re-created rule for the old one.
 *
 */
import type { Env } from "../env.ts";
import type { RuleDef } from "./types.ts";
import type { StoredRule } from "./plan.ts";
import { storeOf } from "../store/d1.ts";

// Addressing lives in plan.ts (pure); re-exported for the routes and tests that load rules too.
export { RULE_SHARDS, fnv1a, shardOf, ruleObjectName, firingId, type StoredRule } from "./plan.ts";


// --- Loading

interface CacheEntry {
  version: number;
  rule: StoredRule;
}

/** Per-isolate cache: rule id → the revision loaded. Invalidated by the (id, revision) check of every load. */
const cache = new Map<string, CacheEntry>();

export function parseStoredRule(definition: string, version: number): StoredRule {
  return { def: JSON.parse(definition) as RuleDef, version };
}

/**
 * Enabled rules as of now. Costs one D1 query when nothing changed (id, revision of enabled rules),
 * two when something did (the changed definitions).
 */
export async function loadEnabledRules(env: Env): Promise<StoredRule[]> {
  const store = storeOf(env);
  const results = (await store.enabledRuleRevisions()).map((r) => ({ id: r.id, version: r.revision }));
  const stale = results.filter((r) => cache.get(r.id)?.version !== r.version).map((r) => r.id);
  for (const row of await store.ruleDefinitions(stale)) {
    cache.set(row.id, { version: row.revision, rule: parseStoredRule(row.definition, row.revision) });
  }
  const live = new Set(results.map((r) => r.id));
  for (const id of cache.keys()) if (!live.has(id)) cache.delete(id);
  const out: StoredRule[] = [];
  for (const r of results) {
    const e = cache.get(r.id);
    // A row changed between the two queries: its newer version applies from the next batch.
    if (e) out.push(e.rule);
  }
  return out;
}
