/**
 * Imports SEC (Simple Event Correlator) rule files with `ptype=RegExp` as our rules, so that an
 * existing SEC ruleset (sec-rulesets/ssh-brute.sec) ports one to one:
 * - `pattern` matches the whole raw line (SEC matches input lines): match = {raw: {regex}}; the
 *   pattern's capture groups become named captures c1, c2, ... (Perl and JavaScript regexes agree on
 *   the constructs SEC rulesets use: \S, \d, classes, groups, quantifiers).
 * - `desc` is SEC's operation key: the captures it uses ($1, $2) become group_by, so one operation =
 *   one group; desc (with $N → {{cN}}) becomes the alert title.
 * - Single → single; SingleWithThreshold → threshold (`window`/`thresh`); SingleWith2Thresholds with
 *   `thresh2=0` → threshold + clear_after (the alert closes after window2 s without a match).
 * - SingleWithSuppress → a trigger bucket (capacity 0) whose blackhole is `window`: the first match
 *   raises, matches of the same operation within window s after it are swallowed, as in SEC.
 * - PairWithWindow → sequence with `absent: true`: SEC runs `action` when pattern2 does NOT follow
 *   within window s (the alert), and `action2` when it does (the pair completes silently). `$N` in
 *   pattern2 stands for the first line's capture N: it becomes the named group cN (the first use) or
 *   a backreference to it, so the pair is matched per operation (group_by the same captures).
 * - Suppress → suppress (matching lines are kept out of every rule).
 * Other types (Pair, Calendar, EventGroup, Jump...), other ptypes, `context` and thresh2 > 0 are
 * refused, naming them. Actions are not imported: Porchlight's action is the alert.
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

/** Names the unnamed capture groups of a pattern c1, c2, ... (or prefix1, ...). Returns the pattern and the group count. */
export function nameCaptures(pattern: string, prefix = "c"): { pattern: string; groups: number } {
  let out = "";
  let n = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\") { out += c + (pattern[i + 1] ?? ""); i++; continue; }
    if (inClass) { if (c === "]") inClass = false; out += c; continue; }
    if (c === "[") { inClass = true; out += c; continue; }
    if (c === "(" && pattern[i + 1] !== "?") { out += `(?<${prefix}${++n}>`; continue; }
    out += c;
  }
  return { pattern: out, groups: n };
}

const SUPPORTED = ["single", "singlewiththreshold", "singlewith2thresholds", "singlewithsuppress", "pairwithwindow", "suppress"];
const IGNORED = new Set(["action", "action2", "desc2", "rem", "continue", "continue2"]);
const KEYS = ["type", "ptype", "pattern", "desc", "window", "thresh", "window2", "thresh2", "ptype2", "pattern2", "context", "context2"];

/**
 * pattern2 of a PairWithWindow: its own groups are named p1, p2... (not template variables), and `$N`
 * (the first line's capture N) becomes (?<cN>.+?) at its first use and \k<cN> after, so that the second
 * line carries the capture the operation is grouped by.
 */
export function pairPattern(pattern2: string): string {
  const own = nameCaptures(pattern2.replace(/\$(\d)/g, "\u0000$1"), "p").pattern;
  const used = new Set<string>();
  return own.replace(/\u0000(\d)/g, (_, d: string) => {
    if (used.has(d)) return `\\k<c${d}>`;
    used.add(d);
    return `(?<c${d}>.+?)`;
  });
}

/** Converts a SEC file's rules. `prefix` makes rule ids unique (e.g. the file name). */
export function importSecRules(text: string, prefix = "sec"): { rules: RuleDef[]; errors: SecImportError[] } {
  const rules: RuleDef[] = [];
  const errors: SecImportError[] = [];
  parseSecConfig(text).forEach((r, idx) => {
    const f = r.fields;
    const err = (field: string, message: string) => errors.push({ line: r.line, field, message });
    const before = errors.length;
    const type = (f.type ?? "").toLowerCase();
    if (!SUPPORTED.includes(type)) return err("type", `SEC rule type "${f.type}" is not supported (only Single, SingleWithThreshold, SingleWith2Thresholds, SingleWithSuppress, PairWithWindow, Suppress)`);
    if ((f.ptype ?? "").toLowerCase() !== "regexp") err("ptype", `ptype "${f.ptype}" is not supported (only RegExp)`);
    if (type === "pairwithwindow" && (f.ptype2 ?? "").toLowerCase() !== "regexp") err("ptype2", `ptype2 "${f.ptype2}" is not supported (only RegExp)`);
    for (const k of ["context", "context2"]) if (f[k] !== undefined) err(k, "contexts are not supported");
    for (const k of Object.keys(f)) if (!KEYS.includes(k) && !IGNORED.has(k)) err(k, `field "${k}" is not supported`);
    if (!f.pattern) err("pattern", "required");
    const { pattern, groups } = nameCaptures(f.pattern ?? "");
    const desc = f.desc ?? "";
    const used = [...new Set([...desc.matchAll(/\$(\d)/g)].map((m) => Number(m[1])))].sort();
    for (const g of used) if (g > groups) err("desc", `$${g} refers to a capture group the pattern does not have`);
    const rule: Record<string, unknown> = {
      id: `${prefix}-${idx + 1}`,
      name: desc.replace(/\$(\d)/g, "<$1>").slice(0, 200) || `${prefix} rule ${idx + 1}`,
      type: type === "single" ? "single" : type === "suppress" ? "suppress" : "threshold",
      match: { raw: { regex: pattern } },
      group_by: used.map((g) => `c${g}`),
      severity: "medium",
      title: desc.replace(/\$(\d)/g, "{{c$1}}"),
      tags: ["sec"],
    };
    const seconds = (k: string) => {
      if (!/^\d+$/.test(f[k] ?? "") || f[k] === "0") err(k, "required: a positive integer");
      return `${f[k]}s`;
    };
    if (type === "suppress") {
      rule.group_by = [];
      delete rule.title;
    } else if (type === "singlewithsuppress") {
      Object.assign(rule, { type: "bucket", capacity: 0, blackhole: seconds("window") });
    } else if (type === "pairwithwindow") {
      if (!f.pattern2) err("pattern2", "required");
      const b = { raw: { regex: pairPattern(f.pattern2 ?? "") } };
      Object.assign(rule, { type: "sequence", match: { any: [rule.match, b] }, a: { match: rule.match }, b: { match: b }, window: seconds("window"), absent: true });
    } else if (type !== "single") {
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
