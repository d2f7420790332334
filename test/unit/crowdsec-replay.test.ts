/**
 * Replays CrowdSec hub scenario tests through our parsers and the hub scenarios imported with
 * crowdsec-import.ts, with log time as the clock (CrowdSec's time-machine mode, as `cscli hubtest`),
 * and compares with the hub's expected overflows (expected_json/<test>.expected.json): number of
 * alerts, scenario, group key (source IP), events_count and the number of events carried.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { corpusPath, haveCorpus, readCorpusJson, readCorpusText } from "../conformance/corpora.ts";
import { importCrowdsecScenarios, translateFilter } from "../../workers/rules/crowdsec-import.ts";
import { compileRule } from "../../workers/rules/project.ts";
import type { RuleDef } from "../../workers/rules/types.ts";
import { ev, RuleHost } from "./rules-engine-harness.ts";
import { validateRule } from "../../workers/rules/validate.ts";
import { toEvents } from "./rules-replay-events.ts";

interface Expected {
  scenario: { alert_count: number; alerts: { scenario: string; events_count: number; sources: Record<string, unknown>; events: unknown[] }[] };
}

const HAVE = haveCorpus("crowdsec", "hub", ".tests");

function loadScenarios(test: string): { rules: RuleDef[]; rejected: { scenario: string; message: string }[] } {
  const config = parseYaml(readCorpusText("crowdsec", "hub", ".tests", test, "config.yaml")) as { scenarios: string[] };
  const rules: RuleDef[] = [];
  const rejected: { scenario: string; message: string }[] = [];
  for (const s of config.scenarios) {
    const file = s.startsWith("./") ? corpusPath("crowdsec", "hub", s) : corpusPath("crowdsec", "hub", "scenarios", `${s}.yaml`);
    const r = importCrowdsecScenarios(readFileSync(file, "utf8"));
    rules.push(...r.rules);
    rejected.push(...r.errors.map((e) => ({ scenario: e.scenario, message: `${e.field}: ${e.message}` })));
  }
  return { rules, rejected };
}

function replay(test: string) {
  const config = parseYaml(readCorpusText("crowdsec", "hub", ".tests", test, "config.yaml")) as { log_file: string };
  const events = toEvents(readCorpusText("crowdsec", "hub", ".tests", test, config.log_file).split("\n"));
  const { rules, rejected } = loadScenarios(test);
  const alerts: { scenario: string; ip: string; count: number; carried: number }[] = [];
  for (const rule of rules) {
    const c = compileRule(rule);
    const host = new RuleHost(rule);
    const matched = events.map((e) => c.match(e)).filter((m) => m !== undefined).sort((a, b) => a.ts - b.ts);
    for (const m of matched) host.step(m);
    for (const f of host.firings) alerts.push({ scenario: rule.tags![1]!, ip: f.group["source.ip"]!, count: f.count, carried: f.eventIds.length });
  }
  return { alerts, rejected, events };
}

function expectedAlerts(test: string) {
  const e = readCorpusJson<Expected>("crowdsec", "expected_json", `${test}.expected.json`).scenario;
  return {
    count: e.alert_count,
    alerts: e.alerts.map((a) => ({ scenario: a.scenario, ip: Object.keys(a.sources)[0]!, count: a.events_count, carried: a.events.length })),
  };
}
const sortAlerts = <T extends { scenario: string; ip: string }>(a: T[]) => [...a].sort((x, y) => (x.scenario + x.ip).localeCompare(y.scenario + y.ip));

describe.skipIf(!HAVE)("CrowdSec hub scenario tests replayed through our parsers and imported scenarios", () => {
  for (const test of ["ssh-bf", "sshd-invalid-bf", "ssh-slow-bf", "iptables-scan-multi-port", "pf-scan-multi-port", "opnsense-sshd", "sshd_banner_exchange", "ssh-timeout", "sshd-bad-keyexchange-bf", "sshd-refused-conn", "ssh-generic-test"]) {
    it(`${test}: same alerts (scenario, source IP, events_count, events carried)`, () => {
      const got = replay(test);
      const want = expectedAlerts(test);
      expect(got.rejected).toEqual([]);
      expect(got.alerts).toHaveLength(want.count);
      expect(sortAlerts(got.alerts)).toEqual(sortAlerts(want.alerts));
    });
  }

  it("ssh-time-based-bf: the conditional scenario is rejected by name; the loaded ssh-bf and ssh-slow-bf stay silent as expected", () => {
    const got = replay("ssh-time-based-bf");
    const want = expectedAlerts("ssh-time-based-bf");
    // the hub expects 2 alerts, both from the conditional (time-based) scenarios we cannot express
    expect(want.alerts.every((a) => a.scenario.startsWith("crowdsecurity/ssh-time-based-bf"))).toBe(true);
    expect([...new Set(got.rejected.map((r) => r.scenario))]).toEqual(["crowdsecurity/ssh-time-based-bf", "crowdsecurity/ssh-time-based-bf_user-enum"]);
    const messages = got.rejected.filter((r) => r.scenario === "crowdsecurity/ssh-time-based-bf").map((r) => r.message);
    expect(messages).toEqual([expect.stringMatching(/^cancel_on: /), expect.stringMatching(/^condition: /), expect.stringMatching(/^type: type "conditional" is not supported/)]);
    expect(got.alerts).toEqual([]);
  });
});

/**
 * CrowdSec's own bucket unit tests (core/pkg/leakybucket/testdata: bucket.yaml + test.json = events in,
 * overflows out). Their filters test a label of the test harness (`evt.Line.Labels.type`), so the
 * bucket options are taken from bucket.yaml directly; Meta fields become event fields (source_ip →
 * source.ip, others → labels.<name>). Directories using what we do not port (counter, conditional,
 * bayesian, cancel_on, overflow_filter, scope, data files, reprocess) are listed as skipped.
 */
const TESTDATA = ["crowdsec", "core", "pkg", "leakybucket", "testdata"];
const UNSUPPORTED = ["cancel_on", "overflow_filter", "scope", "data", "duration", "reprocess", "condition"];
const HAVE_TESTDATA = haveCorpus(...TESTDATA);
describe.skipIf(!HAVE_TESTDATA)("CrowdSec leakybucket testdata", () => {
  const dirs = HAVE_TESTDATA ? readdirSync(corpusPath(...TESTDATA)).sort() : [];
  const supported = dirs.filter((d) => {
    const docs = parseAllDocuments(readCorpusText(...TESTDATA, d, "bucket.yaml")).map((x) => x.toJS() as Record<string, unknown>);
    return docs.every((b) => (b.type === "leaky" || b.type === "trigger") && !UNSUPPORTED.some((k) => k in b));
  });
  it("runs the supported directories and names the others", () => {
    console.log(`[crowdsec-testdata] replayed: ${supported.join(", ")}; skipped (unsupported bucket features): ${dirs.filter((d) => !supported.includes(d)).join(", ")}`);
    expect(supported).toEqual(["leaky-fixedqueue", "overflow-with-meta", "overflow-with-meta-and-information", "simple-leaky-blackhole", "simple-leaky-overflow", "simple-leaky-underflow", "simple-leaky-uniq", "simple-leaky-uniq-cachesize", "simple-trigger"]);
  });
  for (const d of supported) {
    it(`${d}: same overflows (scenario, source, events_count), in order`, () => {
      const bucket = parseYaml(readCorpusText(...TESTDATA, d, "bucket.yaml")) as Record<string, unknown>;
      const v = validateRule({
        id: "t", name: String(bucket.name), type: "bucket", match: {}, group_by: ["source.ip"],
        capacity: bucket.type === "trigger" ? 0 : bucket.capacity,
        ...(bucket.leakspeed ? { leakspeed: bucket.leakspeed } : {}),
        ...(bucket.blackhole ? { blackhole: bucket.blackhole } : {}),
        ...(bucket.cache_size ? { cache_size: bucket.cache_size } : {}),
        ...(bucket.distinct ? { distinct: `labels.${String(bucket.distinct).replace("evt.Meta.", "")}` } : {}),
      });
      if (!v.ok) throw new Error(JSON.stringify(v.errors));
      const test = readCorpusJson<{ lines: { MarshaledTime: string; Meta: Record<string, string> }[]; results: { Alert: { Alert?: { scenario: string; events_count: number }; sources?: Record<string, unknown>; Sources?: Record<string, unknown> } }[] }>(...TESTDATA, d, "test.json");
      const host = new RuleHost(v.rule);
      for (const l of test.lines) {
        const { source_ip, ...rest } = l.Meta;
        host.step(ev(Date.parse(l.MarshaledTime), { "source.ip": source_ip, ...Object.fromEntries(Object.entries(rest).map(([k, x]) => [`labels.${k}`, x])) }));
      }
      const want = test.results.filter((r) => r.Alert.Alert).map((r) => ({ scenario: r.Alert.Alert!.scenario, source: Object.keys(r.Alert.sources ?? r.Alert.Sources ?? {})[0], count: r.Alert.Alert!.events_count }));
      expect(host.firings.map((f) => ({ scenario: String(bucket.name), source: f.group["source.ip"], count: f.count }))).toEqual(want);
    });
  }
});

describe("crowdsec-import", () => {
  it("translates filters over known fields and log types", () => {
    expect(translateFilter("evt.Meta.log_type == 'ssh_failed-auth'")).toMatchObject({ "event.outcome": "failure", "event.category": "authentication" });
    expect(translateFilter("evt.Meta.log_type == 'ssh_failed-auth' && evt.Meta.target_user == 'x'")).toMatchObject({ all: [{ "event.outcome": "failure" }, { "user.name": "x" }] });
    expect(translateFilter("evt.Meta.service == 'tcp' and not (evt.Parsed.dst_port in ['22', '443'])")).toEqual({ all: [{ "network.transport": "tcp" }, { not: { "destination.port": { in: ["22", "443"] } } }] });
    expect(translateFilter("evt.Meta.source_ip != '1.2.3.4' || evt.Meta.machine == \"gw\"")).toEqual({ any: [{ not: { "source.ip": "1.2.3.4" } }, { "host.hostname": "gw" }] });
  });
  it("rejects unsupported constructs, naming them", () => {
    const bad = (f: string) => () => translateFilter(f);
    expect(bad("len(evt.Meta.x) > 2")).toThrow(/function call len\(\)/);
    expect(bad("evt.Meta.foo == 'x'")).toThrow(/evt\.Meta\.foo is not available/);
    expect(bad("evt.Meta.log_type == 'http_404'")).toThrow(/'http_404' has no equivalent/);
    expect(bad("evt.Parsed.dst_port matches '^2'")).toThrow(/operator "matches"/);
    const r = importCrowdsecScenarios("type: counter\nname: a/b\nfilter: \"evt.Meta.service == 'ssh'\"\nduration: 5m\n---\ntype: leaky\nname: c/d\nfilter: \"evt.Meta.service == 'ssh'\"\ncapacity: 5\nleakspeed: 10s\ncancel_on: \"true\"\ngroupby: evt.Meta.source_ip + evt.Meta.target_user\n");
    expect(r.rules).toEqual([]);
    expect(r.errors.map((e) => [e.scenario, e.field])).toEqual([["a/b", "duration"], ["a/b", "type"], ["c/d", "cancel_on"], ["c/d", "groupby"]]);
  });
  it("imports leaky and trigger scenarios as bucket rules", () => {
    const r = importCrowdsecScenarios(readCorpusTextOr("crowdsec/hub/scenarios/crowdsecurity/ssh-refused-conn.yaml", "type: trigger\nname: crowdsecurity/ssh-refused-conn\nfilter: \"evt.Meta.log_type == 'ssh_refused_conn'\"\ngroupby: evt.Meta.source_ip\nblackhole: 1m\nlabels:\n  remediation: true\n  label: SSH Refused Connection\n"));
    expect(r.errors).toEqual([]);
    expect(r.rules[0]).toMatchObject({ id: "crowdsecurity.ssh-refused-conn", type: "bucket", capacity: 0, blackhole: "1m", group_by: ["source.ip"], severity: "high", title: "SSH Refused Connection from {{source.ip}}" });
  });
});

function readCorpusTextOr(rel: string, fallback: string): string {
  try {
    return readCorpusText(...rel.split("/"));
  } catch {
    return fallback;
  }
}
