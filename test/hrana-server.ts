/**
 * A libSQL server for tests: the Hrana v2 protocol over HTTP (`POST /v2/pipeline`, JSON), the protocol
 * `sqld` and Turso speak and `@libsql/client/web` uses, in front of a real libSQL database (a `file:`
 * database through @libsql/client). It stands in for `sqld`, which neither npm nor Debian packages.
 *
 * Requests are served one at a time (one connection to the database): every Store call is one Hrana
 * batch that opens and closes its transaction inside one request, so no stream outlives a request.
 * An Authorization header must carry `Bearer <authToken>` when one is given.
 */
import { createClient, type Client, type InArgs, type InValue, type ResultSet, type Transaction } from "@libsql/client";
import { createServer, type Server } from "node:http";

// --- Types (Hrana v2, JSON encoding)

type HValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };
interface HStmt {
  sql?: string;
  sql_id?: number;
  args?: HValue[];
  named_args?: { name: string; value: HValue }[];
  want_rows?: boolean;
}
type HCond =
  | { type: "ok"; step: number }
  | { type: "error"; step: number }
  | { type: "not"; cond: HCond }
  | { type: "and"; conds: HCond[] }
  | { type: "or"; conds: HCond[] }
  | { type: "is_autocommit" };
interface HStmtResult {
  cols: { name: string; decltype: string | null }[];
  rows: HValue[][];
  affected_row_count: number;
  last_insert_rowid: string | null;
  rows_read: number;
  rows_written: number;
}

export interface HranaServer {
  url: string;
  /** Pipeline requests served (one per Store call from a Worker). */
  requests(): number;
  client: Client;
  close(): Promise<void>;
}

// --- Values

const fromHrana = (v: HValue): InValue => {
  switch (v.type) {
    case "null":
      return null;
    case "integer": {
      const n = BigInt(v.value);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    case "float":
      return v.value;
    case "text":
      return v.value;
    case "blob":
      return new Uint8Array(Buffer.from(v.base64, "base64"));
  }
};

function toHrana(v: unknown): HValue {
  if (v === null || v === undefined) return { type: "null" };
  if (typeof v === "bigint") return { type: "integer", value: v.toString() };
  if (typeof v === "number") return { type: "float", value: v };
  if (typeof v === "string") return { type: "text", value: v };
  if (v instanceof ArrayBuffer) return { type: "blob", base64: Buffer.from(v).toString("base64") };
  if (ArrayBuffer.isView(v)) return { type: "blob", base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  return { type: "text", value: String(v) };
}

// --- Server

export async function startHranaServer(opts: { file: string; authToken?: string }): Promise<HranaServer> {
  // intMode bigint: integers and floats stay apart on the wire (a REAL 1.0 is not an INTEGER 1).
  const client = createClient({ url: `file:${opts.file}`, intMode: "bigint" });
  const sqls = new Map<number, string>();
  // The client's pool rolls back a transaction left open on a pooled connection, so BEGIN … COMMIT
  // of a Hrana batch runs on the connection of a client transaction, held until COMMIT or ROLLBACK.
  let tx: Transaction | undefined;
  const empty: ResultSet = { columns: [], columnTypes: [], rows: [], rowsAffected: 0, lastInsertRowid: undefined, toJSON: () => ({}) };
  async function run(sql: string, args: InArgs): Promise<ResultSet> {
    const word = /^\s*(\w+)(?:\s+(\w+))?/.exec(sql);
    const verb = word?.[1]?.toUpperCase();
    if (verb === "BEGIN") {
      if (tx) throw new Error("cannot start a transaction within a transaction");
      const mode = word?.[2]?.toUpperCase();
      tx = await client.transaction(mode === "IMMEDIATE" || mode === "EXCLUSIVE" ? "write" : "deferred");
      return empty;
    }
    if (verb === "COMMIT" || verb === "END" || verb === "ROLLBACK") {
      if (!tx) throw new Error(`cannot ${verb === "ROLLBACK" ? "rollback" : "commit"} - no transaction is active`);
      const t = tx;
      tx = undefined;
      await (verb === "ROLLBACK" ? t.rollback() : t.commit());
      return empty;
    }
    return tx ? tx.execute({ sql, args }) : client.execute({ sql, args });
  }
  let served = 0;
  let queue: Promise<unknown> = Promise.resolve();

  async function execute(stmt: HStmt): Promise<HStmtResult> {
    const sql = stmt.sql ?? sqls.get(stmt.sql_id ?? -1);
    if (sql === undefined) throw new Error("unknown sql_id");
    const args = stmt.named_args?.length
      ? Object.fromEntries(stmt.named_args.map((a) => [a.name.replace(/^[:@$]/, ""), fromHrana(a.value)]))
      : (stmt.args ?? []).map(fromHrana);
    const rs = await run(sql, args);
    return {
      cols: rs.columns.map((name, i) => ({ name, decltype: rs.columnTypes[i] ?? null })),
      rows: stmt.want_rows === false ? [] : rs.rows.map((row) => rs.columns.map((_, i) => toHrana(row[i]))),
      affected_row_count: rs.rowsAffected,
      last_insert_rowid: rs.lastInsertRowid === undefined ? null : String(rs.lastInsertRowid),
      rows_read: 0,
      rows_written: rs.rowsAffected,
    };
  }

  const message = (err: unknown) => ({ message: String((err as Error)?.message ?? err) });

  async function batch(steps: { condition?: HCond | null; stmt: HStmt }[]) {
    const results: (HStmtResult | null)[] = [];
    const errors: ({ message: string } | null)[] = [];
    const holds = (c: HCond): boolean => {
      switch (c.type) {
        case "ok":
          return results[c.step] != null;
        case "error":
          return errors[c.step] != null;
        case "not":
          return !holds(c.cond);
        case "and":
          return c.conds.every(holds);
        case "or":
          return c.conds.some(holds);
        case "is_autocommit":
          return tx === undefined;
      }
    };
    for (const step of steps) {
      if (step.condition && !holds(step.condition)) {
        results.push(null);
        errors.push(null);
        continue;
      }
      try {
        results.push(await execute(step.stmt));
        errors.push(null);
      } catch (err) {
        results.push(null);
        errors.push(message(err));
      }
    }
    return { step_results: results, step_errors: errors };
  }

  async function request(r: { type: string; [k: string]: unknown }): Promise<unknown> {
    switch (r.type) {
      case "execute":
        return { type: "execute", result: await execute(r.stmt as HStmt) };
      case "batch":
        return { type: "batch", result: await batch((r.batch as { steps: { condition?: HCond; stmt: HStmt }[] }).steps) };
      case "sequence":
        await client.executeMultiple(String(r.sql ?? sqls.get(r.sql_id as number)));
        return { type: "sequence" };
      case "store_sql":
        sqls.set(r.sql_id as number, String(r.sql));
        return { type: "store_sql" };
      case "close_sql":
        sqls.delete(r.sql_id as number);
        return { type: "close_sql" };
      case "get_autocommit":
        return { type: "get_autocommit", is_autocommit: tx === undefined };
      case "close":
        // A stream left inside a transaction is rolled back when it closes, as sqld does.
        if (tx) await tx.rollback().catch(() => undefined);
        tx = undefined;
        return { type: "close" };
      default:
        throw new Error(`unsupported request ${r.type}`);
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (opts.authToken && req.headers.authorization !== `Bearer ${opts.authToken}`) return reply(401, { message: "unauthorized" });
      if (req.method === "GET" && (req.url === "/v2" || req.url === "/health")) return reply(200, {});
      if (req.method !== "POST" || req.url !== "/v2/pipeline") return reply(404, { message: "not found" });
      const job = queue.then(async () => {
        served++;
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { requests: { type: string }[] };
        const results = [];
        for (const r of body.requests) {
          try {
            results.push({ type: "ok", response: await request(r) });
          } catch (err) {
            results.push({ type: "error", error: message(err) });
          }
        }
        reply(200, { baton: null, base_url: null, results });
      });
      queue = job.catch((err) => reply(400, message(err)));
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => served,
    client,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => {
          client.close();
          ok();
        });
      }),
  };
}
