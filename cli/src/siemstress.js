/**
 * siemstress's rule and helper files as Porchlight rules and extractors (siemmanage --importrules,
 * --importhelpers parity). Pure: the commands send the result through the ordinary APIs, whose
 * validation still applies.
 *
 * A siemstress rule is an SQL query over a section's table: `SELECT Id FROM Auth WHERE DateStamp >=
 * <now - interval> AND (Message LIKE "%fail%" AND Message LIKE "%pam%")`, raised when more than
 * `EventLimit` rows match within `TimeInt` minutes. It becomes a `threshold` rule (threshold
 * EventLimit + 1 over TimeInt minutes) or, for EventLimit 0, a `single` rule, matching the LIKE
 * patterns as case-insensitive regexes (MySQL's default collation ignores case). Queries of another
 * shape, and meta rules over other rules' hits (a `RuleName LIKE` or a rule table as source), are
 * listed as skipped with the reason rather than guessed.
 */

/** siemstress columns → ECS fields (SourceHost is the host that logged, as siemquery's --shost). */
const COLUMNS = /** @type {Record<string, string>} */ ({ Message: "message", Process: "process.name", SourceHost: "host.hostname" });

/** siemstress's severities are syslog's (0 emergency .. 7 debug). @param {unknown} s */
export function severityOf(s) {
  const n = Number(s);
  if (!Number.isFinite(n)) return "medium";
  return n <= 1 ? "critical" : n === 2 ? "high" : n <= 4 ? "medium" : n === 5 ? "low" : "informational";
}

/** A LIKE pattern (`%` any run, `_` one character) as a case-insensitive JavaScript regex. @param {string} like */
export function likeToRegex(like) {
  const esc = (/** @type {string} */ s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  // Runs of % are one run (two adjacent .* would be refused as a slow pattern).
  const parts = like.replace(/%+/g, "%").split("%");
  const body = parts.map((p) => esc(p).replace(/_/g, ".")).filter((p, i) => p !== "" || (i > 0 && i < parts.length - 1)).join(".*");
  return `(?i)${like.startsWith("%") ? "" : "^"}${body}${like.endsWith("%") ? "" : "$"}`;
}

const INTERVAL = /DateStamp\s*>=\s*timestamp\(date_sub\(now\(\),\s*interval\s+(\d+)\s+(second|minute|hour|day)\)\)/i;
const TERM = /^(\w+)\s+LIKE\s+"((?:[^"\\]|\\.)*)"$/i;

/**
 * The condition of a query's WHERE clause without its time window, or the reason it is not converted.
 * @param {string} sql @returns {{ match: Record<string, unknown>, windowMin: number | null } | { skip: string }}
 */
export function parseQuery(sql) {
  const m = /^\s*SELECT\s+.+?\s+FROM\s+\w+\s+WHERE\s+([\s\S]+?)\s*;?\s*$/i.exec(sql);
  if (!m) return { skip: "not a SELECT ... WHERE query" };
  let where = m[1] ?? "";
  const iv = INTERVAL.exec(where);
  const unitMin = /** @type {Record<string, number>} */ ({ second: 1 / 60, minute: 1, hour: 60, day: 1440 });
  const windowMin = iv ? Number(iv[1]) * (unitMin[String(iv[2]).toLowerCase()] ?? 1) : null;
  where = where.replace(INTERVAL, "").replace(/^\s*AND\s+/i, "").trim();
  if (where === "") return { match: {}, windowMin };
  if (where.startsWith("(") && where.endsWith(")")) where = where.slice(1, -1).trim();
  const ands = where.split(/\s+AND\s+/i);
  const ors = where.split(/\s+OR\s+/i);
  if (ands.length > 1 && ors.length > 1) return { skip: "mixes AND and OR (only one of them per query is converted)" };
  const terms = ands.length > 1 ? ands : ors;
  /** @type {Record<string, unknown>[]} */
  const conds = [];
  for (const t of terms) {
    const tm = TERM.exec(t.trim());
    if (!tm) return { skip: `condition '${t.trim().slice(0, 60)}' is not Column LIKE "pattern"` };
    const column = String(tm[1]);
    if (column === "RuleName") return { skip: "correlates other rules' hits (a siemstress meta rule)" };
    const field = COLUMNS[column];
    if (!field) return { skip: `column ${column} has no ECS field here (Message, Process, SourceHost are converted)` };
    conds.push({ [field]: { regex: likeToRegex(String(tm[2]).replace(/\\(.)/g, "$1")) } });
  }
  const match = conds.length === 1 ? /** @type {Record<string, unknown>} */ (conds[0]) : ors.length > 1 ? { any: conds } : { all: conds };
  return { match, windowMin };
}

/**
 * @param {unknown} data a siemstress rules file: `{"RULES<section>": [{RuleName, SQLQuery, EventLimit, TimeInt, Severity, Message, IsEnabled, SourceTable}]}`
 * @returns {{ rules: Record<string, unknown>[], skipped: { name: string, reason: string }[] } | null} null when it is not one
 */
export function fromSiemstressRules(data) {
  if (!data || typeof data !== "object" || Array.isArray(data)) return null;
  const sections = Object.entries(data);
  const isRule = (/** @type {any} */ r) => r && typeof r.RuleName === "string" && typeof r.SQLQuery === "string";
  if (!sections.length || !sections.every(([k, v]) => k.startsWith("RULES") && Array.isArray(v) && v.every(isRule))) return null;
  /** @type {Record<string, unknown>[]} */
  const rules = [];
  /** @type {{ name: string, reason: string }[]} */
  const skipped = [];
  // Rules write their hits to an OutTable; a rule reading one of those correlates hits, not events.
  const hitTables = new Set(sections.flatMap(([, v]) => /** @type {any[]} */ (v).map((r) => String(r.OutTable ?? "")).filter(Boolean)));
  for (const [, list] of sections) {
    for (const r of /** @type {any[]} */ (list)) {
      const name = String(r.RuleName);
      if (hitTables.has(String(r.SourceTable ?? ""))) {
        skipped.push({ name, reason: "correlates other rules' hits (a siemstress meta rule)" });
        continue;
      }
      const q = parseQuery(String(r.SQLQuery));
      if ("skip" in q) {
        skipped.push({ name, reason: q.skip });
        continue;
      }
      const limit = Math.max(0, Math.floor(Number(r.EventLimit) || 0));
      const minutes = Number(r.TimeInt) > 0 ? Number(r.TimeInt) : q.windowMin;
      /** @type {Record<string, unknown>} */
      const rule = {
        id: name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64),
        name,
        enabled: Number(r.IsEnabled) !== 0,
        severity: severityOf(r.Severity),
        match: q.match,
        title: String(r.Message || name).slice(0, 1000),
        description: `Imported from siemstress (${String(r.SourceTable || "?")}): ${String(r.SQLQuery)}`.slice(0, 1000),
        tags: ["siemstress"],
      };
      if (limit === 0) rule.type = "single";
      else if (!minutes) {
        skipped.push({ name, reason: "EventLimit without a time window (TimeInt or the query's interval)" });
        continue;
      } else Object.assign(rule, { type: "threshold", threshold: limit + 1, window: `${Math.round(minutes * 60)}s` });
      rules.push(rule);
    }
  }
  return { rules, skipped };
}

/**
 * A regex with its first capturing group named (siemstress helpers capture without names and label
 * the match by `var_name`); with no capturing group the whole match is named. Character classes and
 * escapes are skipped while looking for the group.
 * @param {string} re @param {string} name
 */
export function nameFirstGroup(re, name) {
  let inClass = false;
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === "\\") i++;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(" && re[i + 1] !== "?") return `${re.slice(0, i + 1)}?<${name}>${re.slice(i + 1)}`;
  }
  return `(?<${name}>${re})`;
}

/**
 * siemstress's helpers file (`siemmanage --exporthelpers`: `{"HELPERS<section>": [{"var_name",
 * "reg_exp"}]}`) as extractors: one per helper, named `<var_name>_<n>` (a var_name may repeat), its
 * first group named after var_name (labels.<var_name>).
 * @param {Record<string, unknown>} data @returns {{ name: string, pattern: string }[] | null}
 */
export function fromSiemstressHelpers(data) {
  const tables = Object.values(data);
  const isHelper = (/** @type {any} */ h) => h && typeof h.var_name === "string" && typeof h.reg_exp === "string";
  if (!tables.length || !tables.every((t) => Array.isArray(t) && t.every(isHelper))) return null;
  /** @type {Map<string, number>} */
  const seen = new Map();
  return tables.flatMap((t) =>
    /** @type {any[]} */ (t).map((h) => {
      const label = String(h.var_name).replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=\d)/, "_");
      const n = (seen.get(label) ?? 0) + 1;
      seen.set(label, n);
      return { name: `${label}_${n}`, pattern: nameFirstGroup(h.reg_exp, label) };
    }),
  );
}
