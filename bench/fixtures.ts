/**
 * Inputs several benches share: the rule set "the default pack plus thresholds until N stateful rules
 * are enabled" (bench/evaluate.bench.ts, the workerd bench Worker) and lines as the relay sends them
 * (bench/ingest.bench.ts, bench/workerd.bench.ts). Pure: also bundled into the workerd bench Worker,
 * so the pack is passed in rather than read from disk.
 */
import type { StoredRule } from "../workers/rules/plan.ts";
import type { RuleDef } from "../workers/rules/types.ts";
import { validateRule } from "../workers/rules/validate.ts";

/** Rule types whose state lives in a RuleState object. */
export const STATEFUL = new Set(["threshold", "bucket", "sequence", "heartbeat", "new_value"]);

export function validated(def: unknown): RuleDef {
  const v = validateRule(def);
  if (!v.ok) throw new Error(`bench rule invalid: ${JSON.stringify(v.errors)}`);
  return v.rule;
}

/** The pack's enabled rules plus authentication thresholds (they match sshd failures) until `stateful` stateful rules are enabled. */
export function benchRules(pack: readonly unknown[], stateful: number): StoredRule[] {
  const out = pack.map(validated).filter((r) => r.enabled);
  for (let i = 0; out.filter((r) => STATEFUL.has(r.type)).length < stateful; i++) {
    out.push(validated({ id: `bench-thr-${i}`, name: `bench ${i}`, type: "threshold", match: { "event.category": "authentication" }, group_by: ["source.ip"], threshold: 20 + i, window: "5m", title: "{{source.ip}}" }));
  }
  return out.map((def) => ({ def, version: 1 }));
}
