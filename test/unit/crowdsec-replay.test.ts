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
  for (const test of ["ssh-bf", "sshd-invalid-bf", "ssh-slow-bf", "ssh-time-based-bf", "iptables-scan-multi-port", "pf-scan-multi-port", "opnsense-sshd", "sshd_banner_exchange", "ssh-timeout", "sshd-bad-keyexchange-bf", "sshd-refused-conn", "ssh-generic-test"]) {
    it(`${test}: same alerts (scenario, source IP, events_count, events carried)`, () => {
      const got = replay(test);
      const want = expectedAlerts(test);
      expect(got.rejected).toEqual([]);
      expect(got.alerts).toHaveLength(want.count);
      expect(sortAlerts(got.alerts)).toEqual(sortAlerts(want.alerts));
    });
  }

  it("ssh-time-based-bf: the conditional scenarios (time-based, with cancel_on) raise what the hub expects", () => {
    const got = replay("ssh-time-based-bf");
    expect(got.alerts.map((a) => a.scenario).sort()).toEqual(["crowdsecurity/ssh-time-based-bf", "crowdsecurity/ssh-time-based-bf_user-enum"]);
  });
});

/**
 * CrowdSec's own bucket unit tests (core/pkg/leakybucket/testdata: bucket.yaml + test.json = events in,
 * overflows out). Their filters test a label of the test harness (`evt.Line.Labels.type`), so the
 * bucket options are taken from bucket.yaml directly; Meta fields become event fields (source_ip →
 * source.ip, others → labels.<name>; Parsed fields too, for cancel_on). Directories using what we do
 * not port (bayesian, overflow_filter, a conditional's any() condition, scope, data files,
 * reprocess) are listed as skipped.
 */
const TESTDATA = ["crowdsec", "core", "pkg", "leakybucket", "testdata"];
const UNSUPPORTED = ["overflow_filter", "scope", "data", "reprocess", "condition"];
const HAVE_TESTDATA = haveCorpus(...TESTDATA);
describe.skipIf(!HAVE_TESTDATA)("CrowdSec leakybucket testdata", () => {
  const dirs = HAVE_TESTDATA ? readdirSync(corpusPath(...TESTDATA)).sort() : [];
  const supported = dirs.filter((d) => {
    const docs = parseAllDocuments(readCorpusText(...TESTDATA, d, "bucket.yaml")).map((x) => x.toJS() as Record<string, unknown>);
    return docs.every((b) => (b.type === "leaky" || b.type === "trigger" || b.type === "counter") && !UNSUPPORTED.some((k) => k in b));
  });
  it("runs the supported directories and names the others", () => {
    console.log(`[crowdsec-testdata] replayed: ${supported.join(", ")}; skipped (unsupported bucket features): ${dirs.filter((d) => !supported.includes(d)).join(", ")}`);
    expect(supported).toEqual(["leaky-fixedqueue", "overflow-with-meta", "overflow-with-meta-and-information", "simple-counter", "simple-counter-timeout", "simple-leaky-blackhole", "simple-leaky-cancel_on", "simple-leaky-overflow", "simple-leaky-underflow", "simple-leaky-uniq", "simple-leaky-uniq-cachesize", "simple-trigger"]);
  });
  for (const d of supported) {
    it(`${d}: same overflows (scenario, source, events_count), in order`, () => {
      const bucket = parseYaml(readCorpusText(...TESTDATA, d, "bucket.yaml")) as Record<string, unknown>;
      const v = validateRule({
        id: "t", name: String(bucket.name), type: "bucket", match: {}, group_by: ["source.ip"],
        capacity: bucket.type === "trigger" ? 0 : bucket.capacity,
        ...(bucket.duration ? { duration: bucket.duration } : {}),
        ...(bucket.leakspeed ? { leakspeed: bucket.leakspeed } : {}),
        ...(bucket.blackhole ? { blackhole: bucket.blackhole } : {}),
        ...(bucket.cache_size ? { cache_size: bucket.cache_size } : {}),
        ...(bucket.distinct ? { distinct: `labels.${String(bucket.distinct).replace("evt.Meta.", "")}` } : {}),
      });
      if (!v.ok) throw new Error(JSON.stringify(v.errors));
      const cancel = typeof bucket.cancel_on === "string" ? /^evt\.Parsed\.(\w+) == '([^']*)'$/.exec(bucket.cancel_on.trim()) : null;
      if (bucket.cancel_on !== undefined && !cancel) throw new Error(`cancel_on form not handled here: ${String(bucket.cancel_on)}`);
      const test = readCorpusJson<{ lines: { MarshaledTime: string; Meta: Record<string, string>; Parsed?: Record<string, string> }[] | null; results: { Alert: { Alert?: { scenario: string; events_count: number }; sources?: Record<string, unknown>; Sources?: Record<string, unknown> } }[] | null }>(...TESTDATA, d, "test.json");
      const host = new RuleHost(v.rule);
      let lastTs = 0;
      for (const l of test.lines ?? []) {
        const { source_ip, ...rest } = l.Meta;
        const m = ev(Date.parse(l.MarshaledTime), { "source.ip": source_ip, ...Object.fromEntries(Object.entries(rest).map(([k, x]) => [`labels.${k}`, x])) });
        if (cancel && l.Parsed?.[cancel[1]!] === cancel[2]) m.step = "cancel";
        lastTs = Math.max(lastTs, m.ts);
        host.step(m);
      }
      // CrowdSec's runner stops a few seconds after the last line: a 1 s counter overflows within that
      // time (simple-counter), a 10 s one does not (simple-counter-timeout expects no overflow).
      if (bucket.duration) host.tick(lastTs + 3000);
      const want = (test.results ?? []).filter((r) => r.Alert.Alert).map((r) => ({ scenario: r.Alert.Alert!.scenario, source: Object.keys(r.Alert.sources ?? r.Alert.Sources ?? {})[0], count: r.Alert.Alert!.events_count }));
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
    const r = importCrowdsecScenarios("type: bayesian\nname: a/b\nfilter: \"evt.Meta.service == 'ssh'\"\n---\ntype: leaky\nname: c/d\nfilter: \"evt.Meta.service == 'ssh'\"\ncapacity: 5\nleakspeed: 10s\ncancel_on: \"true\"\ngroupby: evt.Meta.source_ip + evt.Meta.target_user\n---\ntype: conditional\nname: e/f\nfilter: \"evt.Meta.service == 'ssh'\"\ncapacity: -1\nleakspeed: 1m\ncondition: any(queue.Queue, {.Meta.x == 'y'})\n");
    expect(r.rules).toEqual([]);
    expect(r.errors.map((e) => [e.scenario, e.field]).sort()).toEqual([["a/b", "type"], ["c/d", "cancel_on"], ["c/d", "groupby"], ["e/f", "condition"]]);
    const counter = importCrowdsecScenarios("type: counter\nname: g/h\nfilter: \"evt.Meta.service == 'ssh'\"\ngroupby: evt.Meta.source_ip\ncapacity: -1\nduration: 5m\n");
    expect(counter.rules[0]).toMatchObject({ type: "bucket", capacity: -1, duration: "5m" });
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
