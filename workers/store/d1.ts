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
import { libsqlStore } from "./libsql.ts";
import { createClient, type Client } from "@libsql/client/web";

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

/** One libSQL client per isolate and URL: it holds no connection (HTTP), only its settings. */
let libsqlClient: { url: string; token: string | undefined; client: Client } | undefined;

/**
 * The one factory of the Store for routes and Durable Objects: everything they keep in the database
 * goes through the interface it returns (no SQL outside workers/store/). With `LIBSQL_URL` set (a
 * libSQL server or Turso: `libsql://`, `https://` or `http://`) the whole stack runs on libSQL and the
 * D1 binding is not used; the database needs the same migrations (docs/operations.md).
 */
export function storeOf(env: Pick<Env, "DB" | "LIBSQL_URL" | "LIBSQL_AUTH_TOKEN">): Store {
  const url = env.LIBSQL_URL;
  if (!url) return d1Store(env.DB);
  if (libsqlClient?.url !== url || libsqlClient.token !== env.LIBSQL_AUTH_TOKEN) {
    libsqlClient = { url, token: env.LIBSQL_AUTH_TOKEN, client: createClient({ url, authToken: env.LIBSQL_AUTH_TOKEN }) };
  }
  return libsqlStore(libsqlClient.client);
}

/** What D1 reported for one statement (its `meta`), for the cost meter. */
export interface D1Cost {
  rowsRead: number;
  rowsWritten: number;
  /** Database size after the statement, bytes (0 when not reported). */
  sizeAfter: number;
}

/**
 * `env` with its D1 binding wrapped so that every statement's reported cost is passed to `count`
 * (workers/usage.ts meters requests with it). Everything else of the binding is unchanged.
 */
export function withD1Meter<E extends Pick<Env, "DB">>(env: E, count: (cost: D1Cost) => void): E {
  const db = env.DB;
  const DB = new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") {
        return async (stmts: D1PreparedStatement[]) => {
          const results = await target.batch(stmts);
          for (const r of results) count({ rowsRead: r.meta?.rows_read ?? 0, rowsWritten: r.meta?.rows_written ?? 0, sizeAfter: r.meta?.size_after ?? 0 });
          return results;
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { ...env, DB };
}
