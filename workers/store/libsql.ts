/**
 * The libSQL backend of the Store (Node: a local file, `:memory:` or a libSQL server), for scale-out and
 * for running the storage conformance suite outside workerd. Only the type of the client is imported, so
 * the Worker bundle never pulls in @libsql/client.
 *
 * libSQL reports no billed row count: `rowsWritten` is `rowsAffected` (rows changed, indexes not counted).
 */
import type { Client, InStatement } from "@libsql/client";
import { SqlStore, type Sql, type SqlResult, type SqlStatement } from "./store.ts";

export function libsqlSql(client: Client): Sql {
  return {
    async batch(statements: SqlStatement[]): Promise<SqlResult[]> {
      const stmts: InStatement[] = statements.map((s) => ({ sql: s.sql, args: s.params as never }));
      const results = await client.batch(stmts, "write");
      return results.map((rs) => ({
        rows: rs.rows.map((row) => Object.fromEntries(rs.columns.map((c, i) => [c, row[i]]))),
        changes: rs.rowsAffected,
        rowsWritten: rs.rowsAffected,
      }));
    },
  };
}

export const libsqlStore = (client: Client): SqlStore => new SqlStore(libsqlSql(client));
