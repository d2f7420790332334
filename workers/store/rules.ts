/**
 * The rules table over the `Sql` port, reached through the Store (RuleStore). A rule is stored whole
 * as JSON (`definition`, the API's shape); `updated_at` is its revision (ms, strictly increasing per
 * id, even across a delete and re-create in the same ms: workers/rules/registry.ts orders by it).
 */
import type { RuleDef } from "../rules/types.ts";
import { one, rows, stmt } from "./sql.ts";
import type { Sql } from "./types.ts";

export interface RuleRow {
  id: string;
  /** The rule as JSON (RuleDef). */
  definition: string;
  enabled: boolean;
  /** Bumped on every change. */
  version: number;
  created_at: number;
  /** The revision, ms. */
  updated_at: number;
}

export interface RuleStore {
  listRules(): Promise<RuleRow[]>;
  getRule(id: string): Promise<RuleRow | null>;
  /** Inserts a new rule (version 1); false when the id exists. */
  createRule(rule: RuleDef, now: number): Promise<boolean>;
  /** Inserts the rules whose ids are not stored yet, in one transaction; stored ones are left as they are. The ids written. */
  addNewRules(rules: readonly RuleDef[], now: number): Promise<string[]>;
  /** Inserts or replaces rules in one transaction (version bumped, revision strictly increased). */
  putRules(rules: readonly RuleDef[], now: number): Promise<void>;
  /** False when there was no such rule. */
  deleteRule(id: string): Promise<boolean>;
  /** id and revision of every enabled rule, by id: what the rule cache checks per batch (one query). */
  enabledRuleRevisions(): Promise<{ id: string; revision: number }[]>;
  /** Revision and definition of the given rules (any number of ids: one JSON parameter). */
  ruleDefinitions(ids: readonly string[]): Promise<{ id: string; revision: number; definition: string }[]>;
}

const insertIfNew = (rule: RuleDef, now: number) =>
  stmt(
    "INSERT OR IGNORE INTO rules (id, name, type, enabled, definition, version, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)",
    rule.id, rule.name, rule.type, rule.enabled ? 1 : 0, JSON.stringify(rule), now,
  );

const COLUMNS = "id, definition, enabled, version, created_at, updated_at";

const ruleRow = (r: Record<string, unknown>): RuleRow => ({
  id: String(r.id),
  definition: String(r.definition),
  enabled: Number(r.enabled) === 1,
  version: Number(r.version),
  created_at: Number(r.created_at),
  updated_at: Number(r.updated_at),
});

export const ruleQueries = (sql: Sql): RuleStore => ({
  async listRules() {
    return (await one(sql, `SELECT ${COLUMNS} FROM rules ORDER BY id`)).rows.map(ruleRow);
  },
  async getRule(id) {
    const r = (await one(sql, `SELECT ${COLUMNS} FROM rules WHERE id = ?1`, id)).rows[0];
    return r ? ruleRow(r) : null;
  },
  async createRule(rule, now) {
    const [r] = await sql.batch([insertIfNew(rule, now)]);
    return (r?.changes ?? 0) > 0;
  },
  async addNewRules(rules, now) {
    if (rules.length === 0) return [];
    const results = await sql.batch(rules.map((rule) => insertIfNew(rule, now)));
    return rules.filter((_, i) => (results[i]?.changes ?? 0) > 0).map((r) => r.id);
  },
  async putRules(rules, now) {
    if (rules.length === 0) return;
    await sql.batch(
      rules.map((rule) =>
        stmt(
          `INSERT INTO rules (id, name, type, enabled, definition, version, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)
           ON CONFLICT(id) DO UPDATE SET name = excluded.name, type = excluded.type, enabled = excluded.enabled, definition = excluded.definition,
             version = rules.version + 1, updated_at = MAX(excluded.updated_at, rules.updated_at + 1)`,
          rule.id, rule.name, rule.type, rule.enabled ? 1 : 0, JSON.stringify(rule), now,
        ),
      ),
    );
  },
  async deleteRule(id) {
    return (await one(sql, "DELETE FROM rules WHERE id = ?1", id)).changes > 0;
  },
  async enabledRuleRevisions() {
    const r = await rows<{ id: string; revision: number }>(sql, "SELECT id, updated_at AS revision FROM rules WHERE enabled = 1 ORDER BY id");
    return r.map((x) => ({ id: String(x.id), revision: Number(x.revision) }));
  },
  async ruleDefinitions(ids) {
    if (ids.length === 0) return [];
    const r = await rows<{ id: string; revision: number; definition: string }>(
      sql,
      "SELECT id, updated_at AS revision, definition FROM rules WHERE id IN (SELECT value FROM json_each(?1))",
      JSON.stringify([...new Set(ids)]),
    );
    return r.map((x) => ({ id: String(x.id), revision: Number(x.revision), definition: String(x.definition) }));
  },
});
