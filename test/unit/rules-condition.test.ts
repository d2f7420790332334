/** Rule conditions: each operator, arrays in events, IPv4/IPv6 prefixes, captures, and the validator's messages. */
import { describe, expect, it } from "vitest";
import { checkCondition, compileCondition, compileGetter, NAMED_PROPS, readProp } from "../../workers/rules/condition.ts";
import { isIp, parseCidr } from "../../workers/parse/ip.ts";
import { formatDuration, parseDuration } from "../../workers/rules/duration.ts";
import { renderTemplate, templateVars } from "../../workers/rules/template.ts";
import type { Condition } from "../../workers/rules/types.ts";

const failure = {
  "@timestamp": Date.UTC(2026, 10, 22, 10),
  event: { dataset: "sshd", category: ["authentication"], outcome: "failure", severity: 4 },
  source: { ip: "203.0.113.7", port: 53502 },
  destination: { port: 22 },
  user: { name: "root" },
  message: "Failed password for root from 203.0.113.7 port 53502 ssh2",
};
const m = (cond: Condition, ev: object = failure) => compileCondition(cond).call(null, ev).matched;

describe("compileCondition", () => {
  it("equality on scalars, and any element of an array field", () => {
    expect(m({ "event.outcome": "failure" })).toBe(true);
    expect(m({ "event.outcome": "success" })).toBe(false);
    expect(m({ "event.category": "authentication" })).toBe(true);
    expect(m({ "event.category": "network" })).toBe(false);
    expect(m({ "event.category": "authentication", "event.outcome": "failure" })).toBe(true);
    expect(m({ "event.category": "authentication", "event.outcome": "success" })).toBe(false);
  });
  it("numbers equal their decimal strings both ways; booleans too", () => {
    expect(m({ "destination.port": 22 })).toBe(true);
    expect(m({ "destination.port": "22" })).toBe(true);
    expect(m({ "destination.port": "022" })).toBe(true);
    expect(m({ "destination.port": 23 })).toBe(false);
    expect(m({ flag: true }, { flag: "true" })).toBe(true);
    expect(m({ flag: false }, { flag: true })).toBe(false);
  });
  it("absent fields never equal anything", () => {
    expect(m({ "user.target.name": "root" })).toBe(false);
    expect(m({ "x.y.z": "a" }, { x: "scalar" })).toBe(false);
  });
  it("in", () => {
    expect(m({ "user.name": { in: ["admin", "root"] } })).toBe(true);
    expect(m({ "user.name": { in: ["admin"] } })).toBe(false);
    expect(m({ "destination.port": { in: ["22", 2222] } })).toBe(true);
    expect(m({ "event.category": { in: ["network", "authentication"] } })).toBe(true);
  });
  it("cidr over IPv4, IPv6, IPv4-mapped IPv6 and lists", () => {
    expect(m({ "source.ip": { cidr: "203.0.113.0/24" } })).toBe(true);
    expect(m({ "source.ip": { cidr: "203.0.112.0/24" } })).toBe(false);
    expect(m({ "source.ip": { cidr: ["10.0.0.0/8", "203.0.113.7"] } })).toBe(true);
    expect(m({ "source.ip": { cidr: "0.0.0.0/0" } })).toBe(true);
    expect(m({ "source.ip": { cidr: "203.0.113.8/32" } })).toBe(false);
    const v6 = (ip: string, c: string | string[]) => m({ "source.ip": { cidr: c } }, { source: { ip: ip } });
    expect(v6("2001:db8::1", "2001:db8::/32")).toBe(true);
    expect(v6("2001:db9::1", "2001:db8::/32")).toBe(false);
    expect(v6("fe80::1%eth0", "fe80::/10")).toBe(true);
    expect(v6("febf:ffff::1", "fe80::/10")).toBe(true);
    expect(v6("fec0::1", "fe80::/10")).toBe(false);
    expect(v6("::1", "::1")).toBe(true);
    expect(v6("::2", "::1/128")).toBe(false);
    expect(v6("::ffff:192.168.1.20", "192.168.0.0/16")).toBe(true);
    expect(v6("::ffff:c0a8:0114", "192.168.0.0/16")).toBe(true);
    expect(v6("2001:db8:0:0:0:0:0:1", "2001:db8::1/128")).toBe(true);
    expect(v6("2001:db8::1", "10.0.0.0/8")).toBe(false);
    expect(v6("not-an-ip", ["10.0.0.0/8", "::/0"])).toBe(false);
    expect(v6("10.1.2", "10.0.0.0/8")).toBe(false);
    expect(v6("10.1.2.300", "10.0.0.0/8")).toBe(false);
    // host bits in the prefix are ignored
    expect(v6("10.200.0.1", "10.1.2.3/8")).toBe(true);
  });
  it("parses and refuses addresses strictly", () => {
    for (const ok of ["1.2.3.4", "::", "::1", "2001:db8::", "1::2:3", "a:b:c:d:e:f:1:2", "::ffff:1.2.3.4", "64:ff9b::192.0.2.33"]) expect(isIp(ok), ok).toBe(true);
    for (const bad of ["1.2.3", "1.2.3.4.5", "01.2.3.4", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1", "1:", "g::1", "", "1.2.3.4/8"]) expect(isIp(bad), bad).toBe(false);
    expect(parseCidr("10.0.0.0/33")).toBeNull();
    expect(parseCidr("::/129")).toBeNull();
  });
  it("regex with named captures; (?i) prefix; any array element", () => {
    const c = compileCondition({ message: { regex: "Failed (?<method>\\w+) for (?<who>\\S+)" } });
    expect(c(failure)).toEqual({ matched: true, captures: { method: "password", who: "root" } });
    expect(c({ message: "Accepted password" })).toEqual({ matched: false });
    expect(m({ message: { regex: "(?i)FAILED PASSWORD" } })).toBe(true);
    expect(m({ message: { regex: "FAILED PASSWORD" } })).toBe(false);
    expect(m({ "event.category": { regex: "^auth" } })).toBe(true);
  });
  it("numeric comparisons, also against numeric strings", () => {
    expect(m({ "event.severity": { lte: 4 } })).toBe(true);
    expect(m({ "event.severity": { lt: 4 } })).toBe(false);
    expect(m({ "source.port": { gte: 1024, lt: 65536 } })).toBe(true);
    expect(m({ "source.port": { gt: 53502 } })).toBe(false);
    expect(m({ n: { gt: 5 } }, { n: "6" })).toBe(true);
    expect(m({ n: { gt: 5 } }, { n: "six" })).toBe(false);
    expect(m({ n: { lt: 5 } }, {})).toBe(false);
  });
  it("exists", () => {
    expect(m({ "user.name": { exists: true } })).toBe(true);
    expect(m({ "user.target.name": { exists: false } })).toBe(true);
    expect(m({ "event.category": { exists: false } }, { event: { category: [] } })).toBe(true);
    expect(m({ "event.category": { exists: true } }, { event: { category: null } })).toBe(false);
  });
  it("not, any, all, nested; {} matches everything", () => {
    expect(m({ not: { "user.name": "root" } })).toBe(false);
    expect(m({ not: { "user.name": "admin" } })).toBe(true);
    expect(m({ any: [{ "user.name": "admin" }, { "source.ip": { cidr: "203.0.113.0/24" } }] })).toBe(true);
    expect(m({ any: [{ "user.name": "admin" }, { "source.ip": { cidr: "10.0.0.0/8" } }] })).toBe(false);
    expect(m({ all: [{ "user.name": "root" }, { not: { any: [{ "destination.port": 2222 }] } }] })).toBe(true);
    expect(m({})).toBe(true);
  });
  it("flat dotted keys and @timestamp are read as well as nested objects", () => {
    expect(m({ "source.ip": "1.2.3.4" }, { "source.ip": "1.2.3.4" })).toBe(true);
    expect(m({ "@timestamp": { gte: Date.UTC(2026, 10, 22), lt: Date.UTC(2026, 10, 23) } })).toBe(true);
  });
  it("returns shared result objects when no captures are made (no allocation)", () => {
    const c = compileCondition({ "event.outcome": "failure" });
    expect(c(failure)).toBe(c({ ...failure }));
    expect(c({})).toBe(c({ a: 1 }));
  });
  it("throws on an invalid condition, naming the field", () => {
    expect(() => compileCondition({ "source.ip": { cidr: "10.0.0.0/40" } })).toThrow(/match\.source\.ip\.cidr/);
  });
});

describe("compileGetter", () => {
  it("reads each named property by its own case, and any other key", () => {
    NAMED_PROPS.forEach((key, i) => {
      const o = Object.fromEntries(NAMED_PROPS.map((k, j) => [k, j]));
      expect(readProp(o, i, key), key).toBe(i);
      expect(readProp({}, i, key), key).toBeUndefined();
    });
    expect(readProp({ other: 1, event: 2 }, -1, "other")).toBe(1);
  });
  it("reads nested paths of named and other keys, and a flat dotted key when the first segment is absent", () => {
    const ev = { event: { dataset: "sshd" }, dns: { question: { name: "a.example" } }, x: { y: { z: { w: 1 } } }, "source.ip": "10.0.0.1", labels: { env: "lab" } };
    expect(compileGetter("event.dataset")(ev)).toBe("sshd");
    expect(compileGetter("dns.question.name")(ev)).toBe("a.example");
    expect(compileGetter("x.y.z.w")(ev)).toBe(1);
    expect(compileGetter("labels.env")(ev)).toBe("lab");
    expect(compileGetter("source.ip")(ev)).toBe("10.0.0.1");
    expect(compileGetter("event.dataset.length")(ev)).toBeUndefined();
    expect(compileGetter("message")(ev)).toBeUndefined();
    expect(compileGetter("event")(null)).toBeUndefined();
  });
});

describe("checkCondition", () => {
  const errs = (c: unknown) => checkCondition(c);
  it("names the field and the problem", () => {
    expect(errs({ "user.name": ["a", "b"] })).toEqual([{ field: "match.user.name", message: expect.stringContaining('{"in"') }]);
    expect(errs({ "user.name": null })[0]!.message).toMatch(/exists/);
    expect(errs({ "user.name": { like: "a%" } })).toEqual([{ field: "match.user.name.like", message: expect.stringContaining('unknown operator "like"') }]);
    expect(errs({ message: { regex: "(" } })[0]!.field).toBe("match.message.regex");
    expect(errs({ message: { regex: "^(a+)+$" } })[0]!.message).toMatch(/nested quantifiers/);
    // The same analysis as extractors and event search: overlapping alternation and adjacent unbounded runs too.
    expect(errs({ message: { regex: "^(a|ab)*$" } })[0]!.message).toMatch(/alternatives/);
    expect(errs({ message: { regex: "\\S+\\S+x" } })[0]!.message).toMatch(/two unbounded repetitions/);
    expect(errs({ message: { regex: "(?i)sshd.*: authentication failure[ ;].* rhost=(\\S+)" } })).toEqual([]);
    expect(errs({ any: [] })[0]!.field).toBe("match.any");
    expect(errs({ all: [{ "a b": 1 }] })[0]!.field).toBe("match.all[0].a b");
    expect(errs({ n: { gt: "5" } })[0]!.message).toMatch(/number/);
    expect(errs({ n: { exists: "yes" } })[0]!.message).toMatch(/true or false/);
    expect(errs("x")[0]!.field).toBe("match");
    expect(errs({ x: { in: [] } })[0]!.field).toBe("match.x.in");
    expect(errs({ x: { cidr: ["10.0.0.0/8", "nope"] } })[0]!.message).toMatch(/nope/);
  });
  it("accepts every documented operator", () => {
    expect(errs({ a: 1, b: "x", c: true, d: { in: [1, "2"] }, e: { cidr: "::/0" }, f: { regex: "x" }, g: { gt: 1, gte: 1, lt: 2, lte: 2 }, h: { exists: true }, i: { eq: 1 }, j: { contains: "x" }, not: { a: 2 }, any: [{ a: 1 }], all: [{ a: 1 }] })).toEqual([]);
  });
});

describe("durations and templates", () => {
  it("parses durations", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("15m")).toBe(900_000);
    expect(parseDuration("26h")).toBe(93_600_000);
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("1.5s")).toBe(1500);
    for (const bad of ["60", "", "5 m", "-5s", "0s", "5y", "m", "400d", 60, null]) expect(parseDuration(bad), String(bad)).toBeUndefined();
    expect(formatDuration(93_600_000)).toBe("26h");
    expect(formatDuration(90_000)).toBe("90s");
  });
  it("renders templates from flat and nested variables; missing ones render empty", () => {
    const vars = { count: 5, window: "60s", "source.ip": "203.0.113.7", user: { name: "root" }, list: ["a", "b"] };
    expect(renderTemplate("Brute force from {{source.ip}}", vars)).toBe("Brute force from 203.0.113.7");
    expect(renderTemplate("{{count}} failed logins in {{ window }}, last user {{user.name}}", vars)).toBe("5 failed logins in 60s, last user root");
    expect(renderTemplate("[{{nope}}] {{list}}", vars)).toBe("[] a,b");
    expect(templateVars("{{a.b}} {{c}} {{a.b}}")).toEqual(["a.b", "c"]);
  });
});
