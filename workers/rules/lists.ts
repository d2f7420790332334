/**
 * The address lists rules read with `in_list`, loaded from the Store for a rule set: only the lists
 * the rules name, one metadata query per batch, entries fetched and compiled (ip-list.ts) only when a
 * list's version changed. The `key` (names and versions) joins the rule sets' cache key, so a list
 * change recompiles the rules that read it.
 */
import type { Store } from "../store/types.ts";
import type { ListLookup } from "./condition.ts";
import { IpRangeSet } from "./ip-list.ts";
import type { RuleDef } from "./types.ts";

export interface LoadedLists {
  key: string;
  lookup: ListLookup;
}

/** Every list name a rule's conditions read (match, sequence steps, cancel_on, condition.where). */
export function listNames(rules: readonly RuleDef[]): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v)) {
      if (k === "in_list" && typeof x === "string") out.add(x);
      else walk(x);
    }
  };
  for (const r of rules) walk([r.match, (r.a as { match?: unknown } | undefined)?.match, (r.b as { match?: unknown } | undefined)?.match, r.cancel_on, (r.condition as { where?: unknown } | undefined)?.where]);
  return [...out].sort();
}

/** Pure cache, per isolate: compiled lists by name, with the version they were compiled from. */
const compiled = new Map<string, { version: number; set: IpRangeSet }>();

export async function loadLists(store: Store, rules: readonly RuleDef[]): Promise<LoadedLists | undefined> {
  const names = listNames(rules);
  if (names.length === 0) return undefined;
  const metas = await store.listVersions(names);
  const sets = new Map<string, IpRangeSet>();
  for (const m of metas) {
    let c = compiled.get(m.name);
    if (!c || c.version !== m.updated_at) {
      c = { version: m.updated_at, set: IpRangeSet.parse(await store.getListEntries(m.name)).set };
      compiled.set(m.name, c);
    }
    sets.set(m.name, c.set);
  }
  return { key: metas.map((m) => `${m.name}@${m.updated_at}`).join(","), lookup: (name) => sets.get(name) };
}
