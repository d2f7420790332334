/**
 * Imports SEC (Simple Event Correlator) rule files — the `type=Single`, `SingleWithThreshold` and
 * `SingleWith2Thresholds` rules with `ptype=RegExp` — as our `single` / `threshold` rules, so that
 * an existing SEC ruleset (sec-rulesets/ssh-brute.sec) ports one to one:
 * - `pattern` matches the whole raw line (SEC matches input lines): match = {raw: {regex}}; the
 *   pattern's capture groups become named captures c1, c2, ... (Perl and JavaScript regexes agree on
 *   the constructs SEC rulesets use: \S, \d, classes, groups, quantifiers).
 * - `desc` is SEC's operation key: the captures it uses ($1, $2) become group_by, so one operation =
 *   one group; desc (with $N → {{cN}}) becomes the alert title.
 * - `window`/`thresh` → window/threshold; `window2` with `thresh2=0` → clear_after (the alert closes
 *   after window2 seconds without a match). thresh2 > 0, other rule types (Pair, PairWithWindow,
 *   Suppress, Calendar, EventGroup...), other ptypes and `context` are rejected, naming them.
 * Actions are not imported: Porchlight's action is the alert.
 */
import type { FieldError } from "./condition.ts";
import type { RuleDef } from "./types.ts";
import { validateRule } from "./validate.ts";

export interface SecImportError extends FieldError {
  /** 1-based line of the rule's `type=` in the file. */
  line: number;
}

/** Splits a SEC configuration into rules: blocks of `key=value` separated by blank lines; `#` comments; `\` continues a line. */
export function parseSecConfig(text: string): { line: number; fields: Record<string, string> }[] {
  const rules: { line: number; fields: Record<string, string> }[] = [];
  let cur: { line: number; fields: Record<string, string> } | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    const start = i;
    while (l.endsWith("\\") && i + 1 < lines.length) l = l.slice(0, -1) + lines[++i]!.trimStart();
    const t = l.trim();
    if (t === "") { cur = undefined; continue; }
    if (t.startsWith("#")) continue;
    const eq = t.indexOf("=");
    if (eq <= 0) continue;
    const key = t.slice(0, eq).trim().toLowerCase();
    const value = t.slice(eq + 1).trim();
    if (key === "type" || !cur) {
      cur = { line: start + 1, fields: {} };
      rules.push(cur);
    }
    cur.fields[key] = value;
  }
  return rules;
}

/** Names the unnamed capture groups of a pattern c1, c2, ... Returns the pattern and the group count. */
export function nameCaptures(pattern: string): { pattern: string; groups: number } {
  let out = "";
  let n = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") { out += c + (pattern[i + 1] ?? ""); i++; continue; }
    if (inClass) { if (c === "]") inClass = false; out += c; continue; }
    if (c === "[") { inClass = true; out += c; continue; }
    if (c === "(" && pattern[i + 1] !== "?") { out += `(?<c${++n}>`; continue; }
    out += c;
  }
  return { pattern: out, groups: n };
}

const SUPPORTED = ["single", "singlewiththreshold", "singlewith2thresholds"];
const IGNORED = new Set(["action", "action2", "desc2", "rem", "continue"]);

/** Converts a SEC file's rules. `prefix` makes rule ids unique (e.g. the file name). */
export function importSecRules(text: string, prefix = "sec"): { rules: RuleDef[]; errors: SecImportError[] } {
  const rules: RuleDef[] = [];
  const errors: SecImportError[] = [];
  parseSecConfig(text).forEach((r, idx) => {
    const f = r.fields;
    const err = (field: string, message: string) => errors.push({ line: r.line, field, message });
    const before = errors.length;
    const type = (f.type ?? "").toLowerCase();
    if (!SUPPORTED.includes(type)) return err("type", `SEC rule type "${f.type}" is not supported (only Single, SingleWithThreshold, SingleWith2Thresholds)`);
    if ((f.ptype ?? "").toLowerCase() !== "regexp") err("ptype", `ptype "${f.ptype}" is not supported (only RegExp)`);
    if (f.context !== undefined) err("context", "contexts are not supported");
    for (const k of Object.keys(f)) if (!["type", "ptype", "pattern", "desc", "window", "thresh", "window2", "thresh2"].includes(k) && !IGNORED.has(k)) err(k, `field "${k}" is not supported`);
    if (!f.pattern) err("pattern", "required");
    const { pattern, groups } = nameCaptures(f.pattern ?? "");
    const desc = f.desc ?? "";
    const used = [...new Set([...desc.matchAll(/\$(\d)/g)].map((m) => Number(m[1])))].sort();
    for (const g of used) if (g > groups) err("desc", `$${g} refers to a capture group the pattern does not have`);
    const rule: Record<string, unknown> = {
      id: `${prefix}-${idx + 1}`,
      name: desc.replace(/\$(\d)/g, "<$1>").slice(0, 200) || `${prefix} rule ${idx + 1}`,
      type: type === "single" ? "single" : "threshold",
      match: { raw: { regex: pattern } },
      group_by: used.map((g) => `c${g}`),
      severity: "medium",
      title: desc.replace(/\$(\d)/g, "{{c$1}}"),
      tags: ["sec"],
    };
    if (type !== "single") {
      for (const k of ["window", "thresh"]) if (!/^\d+$/.test(f[k] ?? "")) err(k, "required: a positive integer");
      rule.window = `${f.window}s`;
      rule.threshold = Number(f.thresh);
      if (type === "singlewith2thresholds") {
        if (f.thresh2 !== "0") err("thresh2", "only thresh2=0 (clear after a quiet window2) is supported");
        if (!/^\d+$/.test(f.window2 ?? "")) err("window2", "required: a positive integer");
        rule.clear_after = `${f.window2}s`;
      }
    }
    if (errors.length > before) return;
    const v = validateRule(rule);
    if (!v.ok) return void errors.push(...v.errors.map((e) => ({ line: r.line, ...e })));
    rules.push(v.rule);
  });
  return { rules, errors };
}
