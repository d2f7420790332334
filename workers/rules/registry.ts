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
 * Also the addressing of rule state: one RuleState object per (rule, shard), shard = FNV-1a of the
 * group key (project.ts `groupKeyOf`) mod RULE_SHARDS.
 */
import type { Env } from "../env.ts";
import type { RuleDef } from "./types.ts";

// --- Addressing

/**
 * Shards per stateful rule. Each (rule, shard) object that receives matches in a batch costs one
 * subrequest; with 4 shards, ten stateful rules stay within 40 of the Free plan's 50 subrequests
 * even when a batch touches every shard (see docs/alerts.md). 4 objects also spread a hot rule's
 * load below a single object's ~1000 requests/s soft limit.
 */
export const RULE_SHARDS = 4;

/** 32-bit FNV-1a of a string. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export const shardOf = (groupKey: string): number => fnv1a(groupKey) % RULE_SHARDS;

/** Name of the RuleState object holding `rule`'s groups of `shard`. */
export const ruleObjectName = (ruleId: string, shard: number): string => `${ruleId}:${shard}`;
/** Name of the RuleState object holding pinged heartbeat `name` (one object per name). */
export const heartbeatObjectName = (name: string): string => `heartbeat:${name}`;

/**
 * Deterministic firing id from (rule, group, batch or due time, seq): the same inputs give the same
 * id on every retry, which the alert store uses to skip firings already applied. 2×32-bit FNV.
 */
export function firingId(ruleId: string, groupKey: string, origin: string, seq: number): string {
  const text = `${ruleId}\u0000${groupKey}\u0000${origin}\u0000${seq}`;
  return `f_${fnv1a(text).toString(16).padStart(8, "0")}${fnv1a(text, 0x01000193 ^ 0x5bd1e995).toString(16).padStart(8, "0")}_${seq}`;
}

// --- Loading

export interface StoredRule {
  def: RuleDef;
  /** Revision: the rule row's updated_at, ms (see above). What RuleState.apply receives as `ruleVersion`. */
  version: number;
}

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
  const { results } = await env.DB.prepare("SELECT id, updated_at AS version FROM rules WHERE enabled = 1 ORDER BY id").all<{ id: string; version: number }>();
  const stale = results.filter((r) => cache.get(r.id)?.version !== r.version).map((r) => r.id);
  if (stale.length > 0) {
    // Tens of rules at most at home; chunked anyway against the bound-parameter limit.
    for (let i = 0; i < stale.length; i += 100) {
      const part = stale.slice(i, i + 100);
      const rows = await env.DB.prepare(`SELECT id, updated_at AS version, definition FROM rules WHERE id IN (${part.map((_, k) => `?${k + 1}`).join(",")})`)
        .bind(...part)
        .all<{ id: string; version: number; definition: string }>();
      for (const row of rows.results) cache.set(row.id, { version: row.version, rule: parseStoredRule(row.definition, row.version) });
    }
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
