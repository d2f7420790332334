/**
 * Small helpers over the `Sql` port (types.ts) for the table modules of workers/store/: one statement
 * in one round trip, and the write-conflict signal of optimistic writers (alerts.ts).
 */
import type { Sql, SqlResult, SqlStatement } from "./types.ts";

export const stmt = (sql: string, ...params: unknown[]): SqlStatement => ({ sql, params });

/** Runs one statement (its own transaction) and returns its result. */
export async function one(sql: Sql, text: string, ...params: unknown[]): Promise<SqlResult> {
  const [r] = await sql.batch([{ sql: text, params }]);
  return r!;
}

/** The rows of one statement, typed by the caller (column names as selected). */
export async function rows<T>(sql: Sql, text: string, ...params: unknown[]): Promise<T[]> {
  return (await one(sql, text, ...params)).rows as T[];
}

/**
 * True for the error an optimistic write transaction raises on purpose when what it read has changed
 * (SQLite refuses abs(-2^63) with "integer overflow"; alerts.ts CONFLICT_GUARD): the writer reads again
 * and retries. Backends pass this error through unchanged (d1.ts maps every other failure to 503).
 */
export const isWriteConflict = (err: unknown): boolean => String((err as Error)?.message ?? err).includes("integer overflow");
