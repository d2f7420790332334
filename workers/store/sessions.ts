/**
 * The web view's sessions and login_attempts tables over the `Sql` port, reached through the Store
 * (SessionStore). Policy (what a session grants, cookie and CSRF rules) lives in web/session.ts; this
 * module only keeps the rows. Times are wall ms.
 */
import { one, stmt } from "./sql.ts";
import type { Sql } from "./types.ts";

export interface SessionRow {
  /** SHA-256 hex of the cookie's session id (the id itself is never stored). */
  idHash: string;
  /** A token id, `admin:<hash prefix>` or `access:<email>`. */
  principal: string;
  scopes: string[];
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

/** A session as read: its row and, when its principal is a token, that token's name and scopes (null once revoked). */
export interface SessionLookup extends SessionRow {
  token: { name: string; scopes: string[] } | null;
}

export interface SessionStore {
  /** Stores a session, dropping every session expired before `now` in the same transaction. */
  createSession(row: SessionRow, now: number): Promise<void>;
  getSession(idHash: string): Promise<SessionLookup | null>;
  deleteSession(idHash: string): Promise<void>;
  /**
   * Counts one login attempt from `ip` in a fixed window of `windowMs` (a window over restarts at 1);
   * returns the count in the current window and the window's start.
   */
  countLoginAttempt(ip: string, now: number, windowMs: number): Promise<{ count: number; windowStart: number }>;
  clearLoginAttempts(ip: string): Promise<void>;
}

export const sessionQueries = (sql: Sql): SessionStore => ({
  async createSession(s, now) {
    await sql.batch([
      // Housekeeping rides along with logins, which are rare: no cron needed.
      stmt("DELETE FROM sessions WHERE expires_at < ?1", now),
      stmt(
        "INSERT INTO sessions (id_hash, principal, scopes, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        s.idHash, s.principal, JSON.stringify(s.scopes), s.csrf, s.createdAt, s.expiresAt,
      ),
    ]);
  },
  async getSession(idHash) {
    const r = (
      await one(
        sql,
        `SELECT s.id_hash, s.principal, s.scopes, s.csrf, s.created_at, s.expires_at, t.name AS token_name, t.scopes AS token_scopes
           FROM sessions s LEFT JOIN tokens t ON t.id = s.principal WHERE s.id_hash = ?1`,
        idHash,
      )
    ).rows[0];
    if (!r) return null;
    return {
      idHash: String(r.id_hash),
      principal: String(r.principal),
      scopes: JSON.parse(String(r.scopes)) as string[],
      csrf: String(r.csrf),
      createdAt: Number(r.created_at),
      expiresAt: Number(r.expires_at),
      token: r.token_scopes == null ? null : { name: String(r.token_name), scopes: JSON.parse(String(r.token_scopes)) as string[] },
    };
  },
  async deleteSession(idHash) {
    await one(sql, "DELETE FROM sessions WHERE id_hash = ?1", idHash);
  },
  async countLoginAttempt(ip, now, windowMs) {
    const r = (
      await one(
        sql,
        `INSERT INTO login_attempts (ip, window_start, count) VALUES (?1, ?2, 1)
         ON CONFLICT(ip) DO UPDATE SET
           count = CASE WHEN window_start <= ?2 - ?3 THEN 1 ELSE count + 1 END,
           window_start = CASE WHEN window_start <= ?2 - ?3 THEN ?2 ELSE window_start END
         RETURNING count, window_start`,
        ip, now, windowMs,
      )
    ).rows[0];
    return { count: Number(r?.count ?? 1), windowStart: Number(r?.window_start ?? now) };
  },
  async clearLoginAttempts(ip) {
    await one(sql, "DELETE FROM login_attempts WHERE ip = ?1", ip);
  },
});
