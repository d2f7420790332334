/**
 * The libSQL backend of the Store (Node: a local file, `:memory:` or a libSQL server), for scale-out and
 * for running the storage conformance suite outside workerd. Only the type of the client is imported here;
 * the Worker creates its client with `@libsql/client/web` (HTTP, d1.ts storeOf).
 *
 * libSQL reports no billed row count: `rowsWritten` is `rowsAffected` (rows changed, indexes not counted).
 */
import type { Client, InStatement } from "@libsql/client";
import { PorchlightError } from "../errors.ts";
import { isWriteConflict } from "./sql.ts";
import { SqlStore, type Sql, type SqlResult, type SqlStatement } from "./store.ts";

export function libsqlSql(client: Client): Sql {
  return {
    async batch(statements: SqlStatement[]): Promise<SqlResult[]> {
      const stmts: InStatement[] = statements.map((s) => ({ sql: s.sql, args: s.params as never }));
      let results: Awaited<ReturnType<Client["batch"]>>;
      try {
        results = await client.batch(stmts, "write");
      } catch (err) {
        // As on D1 (d1.ts): a lost optimistic race is retried by its writer; any other failure is a 503.
        if (isWriteConflict(err)) throw err;
        console.error(JSON.stringify({ level: "error", where: "libsql", error: String(err), sql: statements[0]?.sql.slice(0, 200) }));
        throw new PorchlightError("unavailable", "The database is unavailable; retry the request");
      }
      return results.map((rs) => ({
        rows: rs.rows.map((row) => Object.fromEntries(rs.columns.map((c, i) => [c, row[i]]))),
        changes: rs.rowsAffected,
        rowsWritten: rs.rowsAffected,
      }));
    },
  };
}

export const libsqlStore = (client: Client): SqlStore => new SqlStore(libsqlSql(client));
