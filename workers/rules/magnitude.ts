/**
 * Alert magnitude: one number to sort alerts by, from severity and how far the count went past the
 * rule's limit (siemstress ranks alerts by severity first, then by event count over its limit; we could
 * not consult its exact code, so this is our documented formula — docs/rules.md):
 *
 *   magnitude = 100 × weight(severity) + min(99, round(25 × log2(max(1, count / limit))))
 *
 * weight: critical 5, high 4, medium 3, low 2, informational 1. limit: the rule's threshold
 * (threshold), capacity + 1 (bucket: the pour that overflows), a.count (sequence), else 1.
 * So severity always dominates (any critical > any high), and within a severity each doubling of
 * count/limit adds 25 (a brute force at 4× its threshold ranks 50 above one at 1×).
 */
import type { RuleDef, Severity } from "./types.ts";

export const SEVERITY_WEIGHT: Record<Severity, number> = { critical: 5, high: 4, medium: 3, low: 2, informational: 1 };

/** The count at which the rule fires (the denominator of the ratio). */
export function ruleLimit(rule: RuleDef): number {
  switch (rule.type) {
    case "threshold":
      return typeof rule.threshold === "number" && rule.threshold > 0 ? rule.threshold : 1;
    case "bucket":
      return typeof rule.capacity === "number" ? rule.capacity + 1 : 1;
    case "sequence": {
      const c = (rule.a as { count?: number } | undefined)?.count;
      return typeof c === "number" && c > 0 ? c : 1;
    }
    default:
      return 1;
  }
}

export function magnitude(rule: RuleDef, count: number, severity: Severity = rule.severity): number {
  const weight = SEVERITY_WEIGHT[severity] ?? SEVERITY_WEIGHT.medium;
  const ratio = Math.max(1, (Number.isFinite(count) ? count : 0) / ruleLimit(rule));
  return 100 * weight + Math.min(99, Math.round(25 * Math.log2(ratio)));
}
