/**
 * The D1 backend of the Store: the `Sql` port over a D1 binding. Every call is one `db.batch` (one round
 * trip, one implicit transaction); `rowsWritten` is D1's billed `meta.rows_written`.
 *
 * D1 failures (overload, a reset storage object, a timeout) become 503 `unavailable`, so clients such as
 * the relay retry the same idempotent request instead of seeing a 500.
 */
import { PorchlightError } from "../errors.ts";
import type { Env } from "../env.ts";
import { isWriteConflict } from "./sql.ts";
import { SqlStore, type Sql, type SqlResult, type SqlStatement, type Store } from "./store.ts";

export function d1Sql(db: D1Database): Sql {
  return {
    async batch(statements: SqlStatement[]): Promise<SqlResult[]> {
      let results: D1Result<Record<string, unknown>>[];
      try {
        results = await db.batch<Record<string, unknown>>(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
      } catch (err) {
        // The alert writer's optimistic check failed on purpose: it reads again and retries (alerts.ts).
        if (isWriteConflict(err)) throw err;
        console.error(JSON.stringify({ level: "error", where: "d1", error: String(err), sql: statements[0]?.sql.slice(0, 200) }));
        throw new PorchlightError("unavailable", "The database is unavailable; retry the request");
      }
      return results.map((r) => ({
        rows: r.results ?? [],
        changes: r.meta?.changes ?? 0,
        rowsWritten: r.meta?.rows_written ?? 0,
      }));
    },
  };
}

export const d1Store = (db: D1Database): SqlStore => new SqlStore(d1Sql(db));

/**
 * The one factory of the Store for routes and Durable Objects: everything they keep in the database
 * goes through the interface it returns (no SQL outside workers/store/).
 */
export const storeOf = (env: Pick<Env, "DB">): Store => d1Store(env.DB);
