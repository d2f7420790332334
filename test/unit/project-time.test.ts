/**
 * Rule projection reads each event's @timestamp as ms (workers/rules/project.ts, with a per-second
 * cache): it must agree with Date.parse for every time our events carry, cached second or not.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EcsEvent } from "../../workers/ecs.ts";
import { project } from "../../workers/rules/project.ts";
import type { RuleDef } from "../../workers/rules/types.ts";

const rule = { id: "t", name: "t", type: "single", match: {}, severity: "low", title: "t" } as unknown as RuleDef;
const event = (ms: number, i: number): EcsEvent =>
  ({ id: `e${i}`, "@timestamp": new Date(ms).toISOString(), received_at: new Date(0).toISOString(), raw: "", event: { dataset: "x" } }) as EcsEvent;

describe("projected event time", () => {
  it("equals Date.parse of @timestamp, for times in the same second, neighbouring seconds and before 1970", () => {
    let i = 0;
    fc.assert(fc.property(fc.integer({ min: -62_000_000_000_000, max: 253_402_300_799_999 }), fc.array(fc.integer({ min: -2500, max: 2500 }), { maxLength: 8 }), (base, deltas) => {
      for (const t of [base, ...deltas.map((d) => base + d)]) {
        const e = event(t, i++);
        expect(project(rule, e).ts).toBe(Date.parse(e["@timestamp"]));
      }
    }), { numRuns: 2000 });
  });
});
