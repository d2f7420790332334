/**
 * The three foreign-rule importers against the rule sets in ../shared/corpora: how many rules of each
 * import (the counts the conformance table in test/conformance/rule-imports.md states), every refusal
 * naming a construct, and the imported Sigma rules matching the log lines they describe. The Sigma
 * translation of values and conditions is checked on hand-written rules against Sigma's appendix.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { corpusPath, haveCorpus } from "../conformance/corpora.ts";
import { importCrowdsecScenarios } from "../../workers/rules/crowdsec-import.ts";
import { importSecRules } from "../../workers/rules/sec.ts";
import { importSigmaRules } from "../../workers/rules/sigma-import.ts";
import { compileCondition } from "../../workers/rules/condition.ts";
import type { Condition } from "../../workers/rules/types.ts";
import { toEvents } from "./rules-replay-events.ts";

function files(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...files(p, ext));
    else if (ext.test(e.name)) out.push(p);
  }
  return out.sort();
}

const matches = (cond: Condition, line: string) => compileCondition(cond)(toEvents([line])[0]).matched;

describe.skipIf(!haveCorpus("sigma", "rules", "linux"))("Sigma Linux rules (sigma/rules/linux)", () => {
  it("imports every rule of the corpus (11 of 11), and each matches a line it describes", () => {
    const all = files(corpusPath("sigma", "rules", "linux"), /\.ya?ml$/);
    const imported = all.map((f) => ({ f, r: importSigmaRules(readFileSync(f, "utf8")) }));
    const ok = imported.filter((x) => x.r.rules.length === 1 && x.r.refused.length === 0);
    console.log(`[sigma] ${ok.length} of ${all.length} Linux rules import`);
    expect(imported.filter((x) => x.r.refused.length).map((x) => [x.f, x.r.refused])).toEqual([]);
    expect(ok.length).toBe(11);
    const rule = (name: string) => imported.find((x) => x.f.endsWith(name))!.r.rules[0]!.match;
    expect(matches(rule("lnx_sshd_susp_ssh.yml"), "<38>Nov 22 10:00:00 nas sshd[42]: Corrupted MAC on input.")).toBe(true);
    expect(matches(rule("lnx_sshd_susp_ssh.yml"), "<38>Nov 22 10:00:00 nas sshd[42]: Failed password for root from 1.2.3.4 port 22 ssh2")).toBe(false);
    expect(matches(rule("lnx_sshd_susp_ssh.yml"), "<38>Nov 22 10:00:00 nas dropbear[42]: Corrupted MAC on input.")).toBe(false);
    expect(matches(rule("lnx_shell_susp_commands.yml"), "<13>Nov 22 10:00:00 nas bash[42]: cd /tmp; wget http://x/y; chmod +x y")).toBe(true);
    expect(matches(rule("lnx_shellshock.yml"), "<13>Nov 22 10:00:00 nas httpd[1]: GET / User-Agent: () { :; }; /bin/bash -c id")).toBe(true);
  });
});

describe("Sigma translation", () => {
  const one = (detection: string, logsource = "{product: linux}") => importSigmaRules(`title: t\nlogsource: ${logsource}\ndetection:\n${detection}`);
  const line = "<38>Nov 22 10:00:00 nas sshd[42]: Failed password for invalid user Admin from 203.0.113.5 port 2222 ssh2";

  it("values: case-insensitive whole value, wildcards, contains/startswith/endswith, re, cidr, all, numbers", () => {
    const m = (d: string) => matches(one(d).rules[0]!.match, line);
    expect(m("  s: {user: admin}\n  condition: s")).toBe(true);
    expect(m("  s: {user|cased: admin}\n  condition: s")).toBe(false);
    expect(m("  s: {user: 'ad*'}\n  condition: s")).toBe(true);
    expect(m("  s: {message|contains: 'INVALID USER'}\n  condition: s")).toBe(true);
    expect(m("  s: {message|endswith: 'ssh2'}\n  condition: s")).toBe(true);
    expect(m("  s: {message|startswith: 'ssh2'}\n  condition: s")).toBe(false);
    expect(m("  s: {message|re: 'user [A-Z]dmin'}\n  condition: s")).toBe(true);
    expect(m("  s: {src_ip|cidr: '203.0.113.0/24'}\n  condition: s")).toBe(true);
    expect(m("  s: {message|contains|all: [Failed, Admin]}\n  condition: s")).toBe(true);
    expect(m("  s: {message|contains|all: [Failed, Accepted]}\n  condition: s")).toBe(false);
    expect(m("  s: {src_port|gte: 2000}\n  condition: s")).toBe(true);
    expect(m("  s: {src_port: 2222}\n  condition: s")).toBe(true);
  });

  it("conditions: and/or/not, parentheses, 1 of / all of with patterns and them", () => {
    const m = (d: string) => matches(one(d).rules[0]!.match, line);
    const sels = "  s1: {user: admin}\n  s2: {user: root}\n  k: ['Failed password']\n";
    expect(m(sels + "  condition: s1 and not s2")).toBe(true);
    expect(m(sels + "  condition: s2 or (k and s1)")).toBe(true);
    expect(m(sels + "  condition: all of s*")).toBe(false);
    expect(m(sels + "  condition: 1 of s*")).toBe(true);
    expect(m(sels + "  condition: all of them")).toBe(false);
    expect(m(sels + "  condition: not 1 of them")).toBe(false);
  });

  it("refuses what it cannot map, naming it", () => {
    expect(one("  s: {Hashes: x}\n  condition: s").refused[0]).toMatchObject({ field: "detection.s.Hashes", reason: expect.stringContaining('"Hashes"') });
    expect(one("  s: {user|base64offset: x}\n  condition: s").refused[0]!.reason).toContain("|base64offset");
    expect(one("  s: {user: x}\n  condition: s | count() > 5").refused[0]!.reason).toContain("correlation rule");
    expect(one("  s: {user: x}\n  condition: s", "{product: windows, category: process_creation}").refused[0]!.field).toBe("logsource");
    expect(one("  s: {user: x}\n  condition: nope").refused[0]!.reason).toContain('"nope"');
  });

  it("correlations: event_count, value_count, temporal (both orders) and temporal_ordered", () => {
    const base = "title: a\nname: a\nlogsource: {product: linux, service: sshd}\ndetection: {s: {message|contains: Failed}, condition: s}\n---\ntitle: b\nname: b\nlogsource: {product: linux, service: sshd}\ndetection: {s: {message|contains: Accepted}, condition: s}\n";
    const corr = (c: string) => importSigmaRules(`${base}---\ntitle: c\nid: c\ncorrelation:\n${c}`);
    const ec = corr("  type: event_count\n  rules: a\n  group-by: [src_ip]\n  timespan: 5m\n  condition: {gt: 9}\n");
    expect(ec.rules.find((r) => r.id === "sigma.c")).toMatchObject({ type: "threshold", threshold: 10, window: "5m", group_by: ["source.ip"] });
    const vc = corr("  type: value_count\n  rules: [a]\n  group-by: [src_ip]\n  timespan: 1h\n  condition: {gte: 5, field: user}\n");
    expect(vc.rules.find((r) => r.id === "sigma.c")).toMatchObject({ type: "threshold", threshold: 5, distinct: "user.name" });
    const t = corr("  type: temporal\n  rules: [a, b]\n  group-by: [src_ip]\n  timespan: 10m\n");
    expect(t.rules.filter((r) => r.type === "sequence").map((r) => r.id)).toEqual(["sigma.c.ab", "sigma.c.ba"]);
    const to = corr("  type: temporal_ordered\n  rules: [a, b]\n  group-by: [src_ip]\n  timespan: 10m\n");
    expect(to.rules.filter((r) => r.type === "sequence").map((r) => r.id)).toEqual(["sigma.c"]);
    expect(corr("  type: value_sum\n  rules: [a]\n  timespan: 1m\n").refused[0]!.reason).toContain("value_sum");
    expect(corr("  type: event_count\n  rules: [zzz]\n  timespan: 1m\n  condition: {gte: 1}\n").refused[0]!.reason).toContain('"zzz"');
  });
});

describe.skipIf(!haveCorpus("sec-rulesets"))("SEC rulesets (sec-rulesets/*.sec)", () => {
  it("imports the rules of supported types and refuses the rest naming the construct", () => {
    const counts: Record<string, [number, number]> = {};
    for (const f of files(corpusPath("sec-rulesets"), /\.sec$/)) {
      const r = importSecRules(readFileSync(f, "utf8"), "t");
      const refused = new Set(r.errors.map((e) => e.line)).size;
      counts[path.relative(corpusPath("sec-rulesets"), f)] = [r.rules.length, refused];
      for (const e of r.errors) expect(e.field, e.message).not.toBe("");
    }
    console.log(`[sec-import] per file [imported, refused]: ${JSON.stringify(counts)}`);
    expect(counts["ssh-brute.sec"]).toEqual([2, 0]);
    expect(counts["syslog-custom.sec"]).toEqual([1, 0]);
    expect(counts["ssh.sec"]![0]).toBe(7);
    expect(counts["bsd/bsd-general.sec"]).toEqual([20, 1]);
  });
});

describe.skipIf(!haveCorpus("crowdsec", "hub", "scenarios"))("CrowdSec hub scenarios", () => {
  it("imports every scenario of the hub corpus (conditional and cancel_on included)", () => {
    let imported = 0;
    const refused: string[] = [];
    for (const f of files(corpusPath("crowdsec", "hub", "scenarios"), /\.ya?ml$/)) {
      const r = importCrowdsecScenarios(readFileSync(f, "utf8"));
      imported += r.rules.length;
      refused.push(...new Set(r.errors.map((e) => `${e.scenario}: ${e.field}`)));
    }
    console.log(`[crowdsec-import] ${imported} scenarios imported; refused: ${refused.join("; ") || "none"}`);
    expect([imported, refused]).toEqual([12, []]);
  });
});

describe("the importers never throw", () => {
  // Documents built from the keys and values the formats use, so the converters' deep paths are reached.
  const value = fc.oneof(fc.string({ maxLength: 20 }), fc.integer({ min: -2, max: 100 }), fc.constant(null), fc.boolean(), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), fc.dictionary(fc.constantFrom("product", "service", "category", "condition", "sel", "keywords", "src_ip|cidr", "user|contains|all", "gte", "field", "type", "rules", "timespan", "group-by"), fc.oneof(fc.string({ maxLength: 10 }), fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }), fc.integer()), { maxKeys: 4 }));
  const doc = fc.dictionary(fc.constantFrom("type", "name", "title", "id", "filter", "groupby", "distinct", "capacity", "leakspeed", "duration", "condition", "cancel_on", "blackhole", "labels", "logsource", "detection", "correlation", "level", "tags", "generate"), value, { maxKeys: 8 });
  it("on arbitrary documents of their formats (errors are answers, not exceptions)", () => {
    fc.assert(
      fc.property(fc.array(doc, { minLength: 1, maxLength: 3 }), (docs) => {
        const yaml = docs.map((d) => stringify(d)).join("---\n");
        expect(() => importCrowdsecScenarios(yaml)).not.toThrow();
        expect(() => importSigmaRules(yaml)).not.toThrow();
        expect(() => importSecRules(docs.map((d) => Object.entries(d).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n")).join("\n\n"))).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });
});
