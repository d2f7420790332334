/** validateRule: the example is accepted as is; every kind of mistake is reported with its field. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileRule } from "../../workers/rules/project.ts";
import { ENGINES } from "../../workers/rules/engines/index.ts";
import { validateRule } from "../../workers/rules/validate.ts";

const example = {
  id: "ssh-brute-force", name: "SSH brute force", type: "threshold", enabled: true,
  match: { "event.category": "authentication", "event.outcome": "failure" },
  group_by: ["source.ip"], threshold: 5, window: "60s",
  severity: "high", resource: "{{host.hostname}}",
  title: "Brute force from {{source.ip}}", text: "{{count}} failed logins in {{window}}, last user {{user.name}}",
};
const errorsOf = (r: unknown) => {
  const v = validateRule(r);
  if (v.ok) throw new Error("expected errors");
  return v.errors;
};
const fields = (r: unknown) => errorsOf(r).map((e) => e.field);

describe("validateRule", () => {
  it("accepts the issue's example unchanged", () => {
    const v = validateRule(example);
    expect(v).toEqual({ ok: true, rule: example });
  });
  it("normalizes defaults: enabled, group_by, severity, id from name", () => {
    const v = validateRule({ name: "Every sudo failure!", type: "single", match: { "event.dataset": "sudo" } });
    expect(v.ok && v.rule).toMatchObject({ id: "every-sudo-failure", enabled: true, group_by: [], severity: "medium" });
  });
  it("rejects non-objects without throwing", () => {
    for (const x of [null, 1, "x", [], undefined]) expect(validateRule(x).ok).toBe(false);
  });
  it("names each bad field", () => {
    expect(fields({ ...example, type: "window" })).toEqual(["type"]);
    expect(fields({ ...example, threshold: 0 })).toEqual(["threshold"]);
    expect(fields({ ...example, threshold: 2.5 })).toEqual(["threshold"]);
    expect(fields({ ...example, window: "60" })).toEqual(["window"]);
    expect(fields({ ...example, window: undefined })).toEqual(["window"]);
    expect(fields({ ...example, severity: "urgent" })).toEqual(["severity"]);
    expect(fields({ ...example, group_by: "source.ip" })).toEqual(["group_by"]);
    expect(fields({ ...example, id: "has space" })).toEqual(["id"]);
    expect(fields({ ...example, name: "" })).toEqual(["name"]);
    expect(fields({ ...example, enabled: "yes" })).toEqual(["enabled"]);
    expect(fields({ ...example, title: "Brute {{source.ip" })).toEqual(["title"]);
    expect(fields({ ...example, match: { "source.ip": { cidr: "300.0.0.0/8" } } })).toEqual(["match.source.ip.cidr"]);
    expect(fields({ ...example, match: undefined })).toEqual(["match"]);
    expect(fields({ ...example, treshold: 5 })).toEqual(["treshold"]);
    expect(errorsOf({ ...example, capacity: 5 })[0]!.message).toMatch(/option of bucket rules/);
    expect(fields({ ...example, distinct: "not a path" })).toEqual(["distinct"]);
    expect(fields({ ...example, clear_after: "soon" })).toEqual(["clear_after"]);
  });
  it("reports several problems at once", () => {
    expect(fields({ name: "x", type: "threshold", match: {}, threshold: -1, severity: "x" }).sort()).toEqual(["severity", "threshold", "window"]);
  });
  it("validates each type's options", () => {
    const base = { id: "r", name: "r", match: {} };
    expect(validateRule({ ...base, type: "bucket", capacity: 5, leakspeed: "10s", blackhole: "1m", distinct: "user.name", group_by: ["source.ip"] }).ok).toBe(true);
    expect(validateRule({ ...base, type: "bucket", capacity: 0 }).ok).toBe(true);
    expect(fields({ ...base, type: "bucket", capacity: 5 })).toEqual(["leakspeed"]);
    expect(validateRule({ ...base, type: "sequence", a: { match: { x: 1 }, count: 5 }, b: { match: { x: 2 } }, window: "5m" }).ok).toBe(true);
    expect(fields({ ...base, type: "sequence", a: { match: { x: [1] }, count: 0 }, b: { count: 1 }, window: "5m", absent: 1 }).sort()).toEqual(["a.count", "a.match.x", "absent", "b.count", "b.match"]);
    expect(validateRule({ ...base, type: "heartbeat", timeout: "26h", group_by: ["host.hostname"] }).ok).toBe(true);
    expect(fields({ ...base, type: "heartbeat" })).toEqual(["timeout"]);
    expect(validateRule({ ...base, type: "new_value", fields: ["source.mac"], learning: "7d", max_values: 500 }).ok).toBe(true);
    expect(fields({ ...base, type: "new_value", fields: [], max_values: 10 ** 9 }).sort()).toEqual(["fields", "max_values"]);
    const s = validateRule({ ...base, type: "suppress" });
    expect(s.ok && s.rule.severity).toBe("informational");
  });
  it("takes shards (1-4) on stateful rules only", () => {
    const base = { id: "r", name: "r", match: {}, type: "threshold", threshold: 5, window: "1m" };
    for (const shards of [1, 4]) expect(validateRule({ ...base, shards }).ok).toBe(true);
    for (const shards of [0, 5, 1.5, "2"]) expect(fields({ ...base, shards })).toEqual(["shards"]);
    expect(validateRule({ id: "h", name: "h", match: {}, type: "heartbeat", timeout: "1h", shards: 2 }).ok).toBe(true);
    expect(fields({ id: "s", name: "s", match: {}, type: "single", shards: 2 })).toEqual(["shards"]);
  });
});

describe("validateRule on arbitrary input (never throws; a valid rule always compiles and runs)", () => {
  const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
  const field = fc.constantFrom("source.ip", "user.name", "event.category", "destination.port", "a b", "not", "any", "all", "x.y.z");
  const cond: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    c: fc.oneof(
      { depthSize: "small" },
      fc.dictionary(field, fc.oneof(scalar, tie("op")), { maxKeys: 3 }),
      fc.record({ not: tie("c") }),
      fc.record({ any: fc.array(tie("c"), { maxLength: 3 }) }),
    ),
    op: fc.dictionary(fc.constantFrom("in", "cidr", "regex", "gt", "lte", "exists", "eq", "contains", "like"), fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.constantFrom("10.0.0.0/8", "::/0", "(a", "^x$", "(?<u>\\w+)")), { maxKeys: 2 }),
  })).c;
  const ruleArb = fc.record(
    {
      id: fc.oneof(fc.constant("r1"), fc.string({ maxLength: 5 })),
      name: fc.oneof(fc.constant("R"), fc.string({ maxLength: 5 })),
      type: fc.constantFrom("single", "threshold", "bucket", "sequence", "heartbeat", "new_value", "suppress", "nope"),
      match: cond,
      group_by: fc.oneof(fc.constant(["source.ip"]), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 })),
      threshold: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constant("3")),
      window: fc.constantFrom("60s", "1m", "0s", "x", 60),
      capacity: fc.integer({ min: -1, max: 4 }),
      leakspeed: fc.constantFrom("10s", "1s", "bad"),
      timeout: fc.constantFrom("1h", "nope"),
      fields: fc.constantFrom(["source.mac"], [], "source.mac"),
      a: fc.record({ match: cond, count: fc.integer({ min: 0, max: 3 }) }),
      b: fc.record({ match: cond }),
      severity: fc.constantFrom("high", "urgent", undefined),
    },
    { requiredKeys: ["name", "type", "match"] },
  );
  it("holds for 500 random rules", () => {
    fc.assert(
      fc.property(ruleArb, fc.array(fc.record({ "source.ip": fc.constantFrom("10.1.2.3", "::1", "x"), "user.name": fc.string({ maxLength: 3 }) }), { maxLength: 5 }), (r, evs) => {
        const v = validateRule(r);
        if (!v.ok) {
          expect(v.errors.length).toBeGreaterThan(0);
          return;
        }
        const c = compileRule(v.rule);
        let state: unknown;
        evs.forEach((fields, i) => {
          const m = c.match({ id: `e${i}`, "@timestamp": 1e12 + i * 1000, received_at: 0, raw: "", event: { dataset: "x" }, source: { ip: fields["source.ip"] }, user: { name: fields["user.name"] } });
          if (!m) return;
          if (v.rule.type === "sequence") m.step = i % 2 ? "b" : "a";
          state = JSON.parse(JSON.stringify(ENGINES[v.rule.type].step(v.rule, state as never, m, 1e12 + i * 1000).state ?? null)) ?? undefined;
        });
        const onDue = ENGINES[v.rule.type].onDue;
        if (onDue && state !== undefined) onDue(v.rule, state as never, 2e12);
      }),
      { numRuns: 500 },
    );
  });
});
