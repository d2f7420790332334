/**
 * The NetworkState object's open-flow table on its own SQLite (not the database: private to one object,
 * so it stays in durable-objects/ with the object's other statements). Free of Workers APIs, so the
 * bench runs the same statements on node:sqlite (bench/network.bench.ts).
 */
import type { FlowTable, OpenFlow } from "../workers/network/sessions.ts";

/** Runs one SQL statement with positional parameters and returns its rows (the Durable Object's `sql.exec(...).toArray()`). */
export type SqlExec = (query: string, ...params: (string | number | null)[]) => Record<string, unknown>[];

/** The tables an SQL FlowTable needs (created idempotently). */
export const FLOW_TABLES = [
  "CREATE TABLE IF NOT EXISTS flows (key TEXT PRIMARY KEY, doc TEXT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS schedule (id TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL, time INTEGER NOT NULL)",
  "CREATE INDEX IF NOT EXISTS schedule_time ON schedule (time)",
];

/**
 * The FlowTable of the NetworkState object on SQLite: open flows as JSON by key, and one `flow` row
 * per open flow in the schedule table (its due time drives the object's one alarm). The bench runs the
 * same statements on node:sqlite.
 */
export function sqlFlowTable(exec: SqlExec): FlowTable {
  return {
    get: (key) => {
      const r = exec("SELECT doc FROM flows WHERE key = ?", key)[0];
      return r ? (JSON.parse(String(r.doc)) as OpenFlow) : undefined;
    },
    put: (flow) => {
      exec("INSERT OR REPLACE INTO flows (key, doc) VALUES (?, ?)", flow.key, JSON.stringify(flow));
      exec("INSERT OR REPLACE INTO schedule (id, kind, payload, time) VALUES (?, 'flow', ?, ?)", `flow:${flow.key}`, flow.key, flow.dueTs);
    },
    delete: (key) => {
      exec("DELETE FROM flows WHERE key = ?", key);
      exec("DELETE FROM schedule WHERE id = ?", `flow:${key}`);
    },
  };
}
