/**
 * `GET /v1/events` and `GET /v1/events/:id` (read scope): search stored events, newest first, with
 * siemquery's filters, cursor pagination and json | ndjson | csv output.
 *
 * Query string: `last` (15m, 6h, 7d) or `from`/`to` (RFC 3339, both inclusive); field filters `host`,
 * `program`, `dataset`, `src_ip`/`dst_ip` (IP or CIDR), `src_port`/`dst_port` (port or `lo-hi`),
 * `protocol`, `user`, `action`, `outcome`, `severity` (0-7 or a name), `q` (case-insensitive substring
 * of the message), `regex` (JavaScript regex over `raw`); each may repeat (OR) and has a `not_<field>`
 * form; fields AND together. `limit` (default 100, max 5000), `cursor` (the `next_cursor` of the
 * previous page), `format`. Unknown parameters are a 400 so a typo never silently widens a search.
 *
 * `regex` cannot run in SQL (D1 has no REGEXP), so it is applied here over a bounded scan: the other
 * filters select rows page by page (REGEX_PAGE rows each) and the Worker tests each `raw`, stopping at
 * `limit` matches or after REGEX_MAX_SCAN rows (or REGEX_MAX_SCAN_CHARS characters of raw); then
 * `next_cursor` points where the scan stopped and the client continues from there. Patterns with
 * patterns that can backtrack catastrophically are refused (backtrackingRisk, shared with extractors and rules).
 */
import type { Hono } from "hono";
import { z } from "zod";
import { requireScope, type AppEnv } from "../auth.ts";
import { EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT } from "../constants.ts";
import { PorchlightError } from "../errors.ts";
import { backtrackingRisk } from "../parse/extractors.ts";
import { lowerBound } from "../parse/id.ts";
import { parseCidr } from "../parse/ip.ts";
import { storeOf } from "../store/d1.ts";
import type { Condition, EventColumn, EventsQuery } from "../store/events-query.ts";
import { apiEvent, type EventRow, type Store } from "../store/store.ts";
import { enrichEvents } from "../network/describe.ts";

/** Rows fetched per page while a `regex` filter scans. */
export const REGEX_PAGE = 500;
/** Most rows one `regex` request examines before it returns with a cursor. */
export const REGEX_MAX_SCAN = 10_000;
/** Most characters of `raw` one `regex` request tests (bounds CPU when lines are long), UTF-16 units. */
export const REGEX_MAX_SCAN_CHARS = 4_000_000;
/** Longest `regex` pattern, characters. */
export const REGEX_MAX_LENGTH = 512;

const ID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const SEVERITIES: Record<string, number> = {
  emerg: 0, emergency: 0, panic: 0, alert: 1, crit: 2, critical: 2, err: 3, error: 3,
  warning: 4, warn: 4, notice: 5, info: 6, informational: 6, debug: 7,
};
export const DURATION_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const text = z.string().min(1).max(256);
export const port = z.string().regex(/^\d{1,5}(-\d{1,5})?$/, "a port (22) or a range (1000-2000)").transform((s, ctx) => {
  const [lo, hi = lo] = s.split("-").map(Number) as [number, number?];
  if (lo > 65535 || hi > 65535 || hi < lo) {
    ctx.addIssue({ code: "custom", message: "ports are 0-65535, ranges low-high" });
    return z.NEVER;
  }
  return [lo, hi] as [number, number];
});
export const ip = z.string().transform((s, ctx) => {
  const r = parseCidr(s.trim());
  if (!r) {
    ctx.addIssue({ code: "custom", message: "an IP address or CIDR (192.168.1.0/24, 2001:db8::/32)" });
    return z.NEVER;
  }
  return [r.lo, r.hi] as [string, string];
});
const severity = z.string().transform((s, ctx) => {
  const v = s.trim().toLowerCase();
  const n = /^[0-7]$/.test(v) ? Number(v) : SEVERITIES[v];
  if (n === undefined) {
    ctx.addIssue({ code: "custom", message: "a syslog severity: 0-7 or emerg, alert, crit, err, warning, notice, info, debug" });
    return z.NEVER;
  }
  return n;
});
export const time = z.string().transform((s, ctx) => {
  const ms = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?)?$/.test(s) ? Date.parse(s) : NaN;
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: "custom", message: "an RFC 3339 time such as 2026-11-22T19:00:00Z" });
    return z.NEVER;
  }
  return ms;
});

/** Field filters: query parameter → column and how a value becomes a condition. */
const FIELDS: Record<string, { column: EventColumn; kind: "in" | "range" | "contains"; schema: z.ZodType<unknown> }> = {
  host: { column: "host", kind: "in", schema: text },
  program: { column: "program", kind: "in", schema: text },
  dataset: { column: "dataset", kind: "in", schema: text },
  protocol: { column: "protocol", kind: "in", schema: text.transform((s) => s.toLowerCase()) },
  user: { column: "user", kind: "in", schema: text },
  action: { column: "action", kind: "in", schema: text },
  outcome: { column: "outcome", kind: "in", schema: z.enum(["success", "failure", "unknown"]) },
  severity: { column: "severity", kind: "in", schema: severity },
  src_ip: { column: "src_ip_key", kind: "range", schema: ip },
  dst_ip: { column: "dst_ip_key", kind: "range", schema: ip },
  src_port: { column: "src_port", kind: "range", schema: port },
  dst_port: { column: "dst_port", kind: "range", schema: port },
  q: { column: "message", kind: "contains", schema: z.string().min(1).max(1024).transform((s) => s.toLowerCase()) },
};

export const scalars = z.object({
  last: z.string().regex(/^\d{1,6}[smhdw]$/, "a duration such as 15m, 6h, 7d").optional(),
  from: time.optional(),
  to: time.optional(),
  limit: z.coerce.number().int().min(1).max(EVENTS_MAX_LIMIT).default(EVENTS_DEFAULT_LIMIT),
  cursor: z.string().regex(ID_RE, "the next_cursor of a previous page").optional(),
  format: z.enum(["json", "ndjson", "csv"]).default("json"),
});

const SCALAR_KEYS = new Set(["last", "from", "to", "limit", "cursor", "format"]);

export interface ParsedSearch {
  query: EventsQuery;
  format: "json" | "ndjson" | "csv";
  regex: { positive: RegExp[]; negative: RegExp[] };
}

export function invalid(param: string, message: string): PorchlightError {
  return new PorchlightError("validation_failed", `Parameter '${param}': ${message}`, { param });
}

function compileRegex(param: string, pattern: string): RegExp {
  if (pattern.length === 0 || pattern.length > REGEX_MAX_LENGTH) throw invalid(param, `a pattern of 1-${REGEX_MAX_LENGTH} characters`);
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    throw invalid(param, `does not compile: ${(e as Error).message}`);
  }
  // The Worker cannot time or interrupt a regex, so risky shapes are refused up front (same check as extractors).
  const risk = backtrackingRisk(pattern);
  if (risk) throw invalid(param, `${risk} (or repeat the regex parameter: repeats are OR-ed)`);
  return re;
}

/** Parses and validates the search parameters. Throws a 400 PorchlightError naming the parameter. */
export function parseSearch(params: URLSearchParams, nowMs: number): ParsedSearch {
  const single: Record<string, string> = {};
  const conditions: Condition[] = [];
  const regex: ParsedSearch["regex"] = { positive: [], negative: [] };
  const grouped = new Map<string, string[]>();
  for (const [k, v] of params) {
    if (SCALAR_KEYS.has(k)) {
      if (k in single) throw invalid(k, "given more than once");
      single[k] = v;
      continue;
    }
    const negate = k.startsWith("not_");
    const field = negate ? k.slice(4) : k;
    if (field === "regex") {
      (negate ? regex.negative : regex.positive).push(compileRegex(k, v));
      continue;
    }
    if (!Object.hasOwn(FIELDS, field)) {
      throw new PorchlightError("validation_failed", `Unknown parameter '${k}'`, { param: k });
    }
    const list = grouped.get(k) ?? [];
    list.push(v);
    grouped.set(k, list);
  }
  for (const [k, values] of grouped) {
    const negate = k.startsWith("not_");
    const spec = FIELDS[negate ? k.slice(4) : k]!;
    const parsed = values.map((v) => {
      const r = spec.schema.safeParse(v);
      if (!r.success) throw invalid(k, r.error.issues[0]?.message ?? "invalid value");
      return r.data;
    });
    if (spec.kind === "in") conditions.push({ kind: "in", column: spec.column, values: parsed as (string | number)[], negate });
    else if (spec.kind === "range") conditions.push({ kind: "range", column: spec.column, ranges: parsed as [string | number, string | number][], negate });
    else conditions.push({ kind: "contains", column: "message", values: parsed as string[], negate });
  }

  const { format, ...page } = parseScalars(single, nowMs);
  return { query: { ...page, conditions }, format, regex };
}

/**
 * The scalar parameters every time-ordered search shares (events, sessions): `last` or `from`/`to`,
 * `limit`, `cursor`, `format`, as primary-key bounds. Throws a 400 naming the parameter.
 */
export function parseScalars(single: Record<string, string>, nowMs: number): { fromId: string | undefined; toId: string | undefined; before: string | undefined; limit: number; format: "json" | "ndjson" | "csv" } {
  const s = scalars.safeParse(single);
  if (!s.success) {
    const issue = s.error.issues[0];
    throw invalid(String(issue?.path[0] ?? "?"), issue?.message ?? "invalid");
  }
  const { last, from, to, limit, cursor, format } = s.data;
  if (last !== undefined && from !== undefined) throw invalid("last", "use either last or from, not both");
  let fromMs = from;
  if (last !== undefined) fromMs = nowMs - Number(last.slice(0, -1)) * DURATION_MS[last.slice(-1)]!;
  if (fromMs !== undefined && to !== undefined && to < fromMs) throw invalid("to", "is before the start of the range");
  return {
    fromId: fromMs !== undefined ? lowerBound(fromMs) : undefined,
    toId: to !== undefined ? lowerBound(to + 1) : undefined,
    before: cursor,
    limit,
    format,
  };
}

/** Repeated `regex` parameters are OR-ed (like every field); a `not_regex` excludes what any of them matches. */
const matchesRegex = (raw: string, r: ParsedSearch["regex"]): boolean =>
  (r.positive.length === 0 || r.positive.some((re) => re.test(raw))) && !r.negative.some((re) => re.test(raw));

/** Runs the search: one query, or for `regex` a bounded page-by-page scan. */
export async function searchEvents(
  store: Store,
  s: ParsedSearch,
): Promise<{ rows: EventRow[]; nextCursor: string | null; scanned?: number }> {
  const { query } = s;
  if (s.regex.positive.length === 0 && s.regex.negative.length === 0) {
    // One extra row tells whether another page exists without a final empty request.
    const rows = await store.queryEvents({ ...query, limit: query.limit + 1 });
    const more = rows.length > query.limit;
    if (more) rows.length = query.limit;
    return { rows, nextCursor: more ? rows[rows.length - 1]!.id : null };
  }
  const out: EventRow[] = [];
  let before = query.before;
  let scanned = 0, chars = 0;
  for (;;) {
    const page = await store.queryEvents({ ...query, before, limit: REGEX_PAGE });
    for (const row of page) {
      if (chars > REGEX_MAX_SCAN_CHARS) return { rows: out, nextCursor: before ?? null, scanned };
      scanned++;
      chars += row.raw.length;
      before = row.id;
      if (matchesRegex(row.raw, s.regex)) {
        out.push(row);
        if (out.length === query.limit) return { rows: out, nextCursor: row.id, scanned };
      }
    }
    if (page.length < REGEX_PAGE) return { rows: out, nextCursor: null, scanned };
    if (scanned >= REGEX_MAX_SCAN) return { rows: out, nextCursor: before ?? null, scanned };
  }
}

// --- Output formats

const CSV_COLUMNS: [string, (r: EventRow) => unknown][] = [
  ["id", (r) => r.id],
  ["@timestamp", (r) => new Date(r.ts).toISOString()],
  ["received_at", (r) => new Date(r.received_at).toISOString()],
  ["host", (r) => r.host],
  ["program", (r) => r.program],
  ["dataset", (r) => r.dataset],
  ["source.ip", (r) => r.src_ip],
  ["source.port", (r) => r.src_port],
  ["destination.ip", (r) => r.dst_ip],
  ["destination.port", (r) => r.dst_port],
  ["network.transport", (r) => r.protocol],
  ["user.name", (r) => r.user],
  ["event.action", (r) => r.action],
  ["event.outcome", (r) => r.outcome],
  ["log.syslog.severity.code", (r) => r.severity],
  ["message", (r) => r.message],
  ["raw", (r) => r.raw],
];

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: readonly EventRow[]): string {
  let out = CSV_COLUMNS.map(([name]) => name).join(",") + "\r\n";
  for (const r of rows) out += CSV_COLUMNS.map(([, get]) => csvCell(get(r))).join(",") + "\r\n";
  return out;
}

// --- Routes

export function registerEventRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/events", requireScope("read"), async (c) => {
    const search = parseSearch(new URL(c.req.url).searchParams, Date.now());
    const store = storeOf(c.env);
    const { rows, nextCursor, scanned } = await searchEvents(store, search);
    const headers: Record<string, string> = {};
    if (nextCursor) headers["x-next-cursor"] = nextCursor;
    const docs = rows.map(apiEvent);
    // Firewall events: country, AS and domain of their public addresses, at search time (docs/network.md).
    await enrichEvents(c.env, docs);
    if (search.format === "ndjson") {
      headers["content-type"] = "application/x-ndjson; charset=utf-8";
      return c.body(docs.map((d) => JSON.stringify(d) + "\n").join(""), 200, headers);
    }
    if (search.format === "csv") {
      headers["content-type"] = "text/csv; charset=utf-8";
      return c.body(toCsv(rows), 200, headers);
    }
    return c.json(
      { events: docs, next_cursor: nextCursor, ...(scanned !== undefined ? { scanned } : {}) },
      200,
      headers,
    );
  });

  app.get("/v1/events/:id", requireScope("read"), async (c) => {
    const id = c.req.param("id");
    const row = ID_RE.test(id) ? await storeOf(c.env).getEvent(id) : null;
    if (!row) throw new PorchlightError("not_found", `No event with id '${id.slice(0, 64)}'`);
    const doc = apiEvent(row);
    await enrichEvents(c.env, [doc]);
    return c.json(doc);
  });
}
