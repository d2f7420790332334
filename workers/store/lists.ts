/**
 * Address lists (PUT /v1/lists/:name) over the `Sql` port, reached through the Store (ListStore). A
 * list is its metadata row (`ip_lists`) and its entries as JSON arrays in `ip_list_chunks`, each chunk
 * under D1's value limit, so a list of a few hundred thousand entries is a handful of rows. A put
 * replaces the whole list in one transaction; `updated_at` is its version (ms, strictly increasing per
 * name), which the rule sets' cache keys on.
 */
import { D1_MAX_VALUE_BYTES } from "../constants.ts";
import { one, rows, stmt } from "./sql.ts";
import type { Sql, SqlStatement } from "./types.ts";

export interface ListMeta {
  name: string;
  /** Entries stored (valid addresses and CIDRs). */
  count: number;
  /** The version, ms. */
  updated_at: number;
}

export interface ListStore {
  /** Replaces the list's entries (creating it); returns its metadata. */
  putList(name: string, entries: readonly string[], now: number): Promise<ListMeta>;
  getListMeta(name: string): Promise<ListMeta | null>;
  /** The entries in the order they were put. */
  getListEntries(name: string): Promise<string[]>;
  /** Metadata of the named lists that exist (one query). */
  listVersions(names: readonly string[]): Promise<ListMeta[]>;
  listLists(): Promise<ListMeta[]>;
  /** False when there was no such list. */
  deleteList(name: string): Promise<boolean>;
}

/** Bytes of JSON per chunk: half of D1's largest value, for slack. */
const CHUNK_BYTES = D1_MAX_VALUE_BYTES / 2;

/** Splits entries into JSON arrays of at most CHUNK_BYTES. */
function chunks(entries: readonly string[]): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let bytes = 2;
  for (const e of entries) {
    const size = JSON.stringify(e).length + 1;
    if (cur.length && bytes + size > CHUNK_BYTES) {
      out.push(JSON.stringify(cur));
      cur = [];
      bytes = 2;
    }
    cur.push(e);
    bytes += size;
  }
  if (cur.length || out.length === 0) out.push(JSON.stringify(cur));
  return out;
}

const meta = (r: Record<string, unknown>): ListMeta => ({ name: String(r.name), count: Number(r.count), updated_at: Number(r.updated_at) });

export const listQueries = (sql: Sql): ListStore => ({
  async putList(name, entries, now) {
    const statements: SqlStatement[] = [
      stmt(
        `INSERT INTO ip_lists (name, count, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET count = excluded.count, updated_at = MAX(excluded.updated_at, ip_lists.updated_at + 1)`,
        name, entries.length, now,
      ),
      stmt("DELETE FROM ip_list_chunks WHERE name = ?1", name),
      ...chunks(entries).map((c, seq) => stmt("INSERT INTO ip_list_chunks (name, seq, entries) VALUES (?1, ?2, ?3)", name, seq, c)),
    ];
    await sql.batch(statements);
    return (await this.getListMeta(name))!;
  },
  async getListMeta(name) {
    const r = (await one(sql, "SELECT name, count, updated_at FROM ip_lists WHERE name = ?1", name)).rows[0];
    return r ? meta(r) : null;
  },
  async getListEntries(name) {
    const r = await rows<{ entries: string }>(sql, "SELECT entries FROM ip_list_chunks WHERE name = ?1 ORDER BY seq", name);
    return r.flatMap((x) => JSON.parse(String(x.entries)) as string[]);
  },
  async listVersions(names) {
    if (names.length === 0) return [];
    return (await one(sql, "SELECT name, count, updated_at FROM ip_lists WHERE name IN (SELECT value FROM json_each(?1)) ORDER BY name", JSON.stringify([...new Set(names)]))).rows.map(meta);
  },
  async listLists() {
    return (await one(sql, "SELECT name, count, updated_at FROM ip_lists ORDER BY name")).rows.map(meta);
  },
  async deleteList(name) {
    const [r] = await sql.batch([stmt("DELETE FROM ip_lists WHERE name = ?1", name), stmt("DELETE FROM ip_list_chunks WHERE name = ?1", name)]);
    return r!.changes > 0;
  },
});
