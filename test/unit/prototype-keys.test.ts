/**
 * Text from a log line used as a key: every Object.prototype name (`constructor`, `__proto__`,
 * `toString`, `hasOwnProperty`, ...) fed through every table and parser path that looks text up (program
 * name from either header or a headerless tag, pfSense action, key=value keys of netfilter, conntrack,
 * Sophos and sudo lines, structured data ids and params, extractor group names, zone abbreviations,
 * facility.severity tokens) and through the rule paths keyed by event values (new_value's seen values,
 * group objects, templates, the CrowdSec importer's tables). Each yields a sane event: no parse fault,
 * no function or Object.prototype in any field.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";
import { compileExtractor } from "../../workers/parse/extractors.ts";
import { parsePfsense } from "../../workers/parse/programs/pfsense.ts";
import type { ParseContext } from "../../workers/parse/types.ts";
import { validateRule } from "../../workers/rules/validate.ts";
import { renderTemplate } from "../../workers/rules/template.ts";
import { compileCondition } from "../../workers/rules/condition.ts";
import { importCrowdsecScenarios } from "../../workers/rules/crowdsec-import.ts";
import { parseDuration } from "../../workers/rules/duration.ts";
import type { RuleDef } from "../../workers/rules/types.ts";
import { ev, RuleHost } from "./rules-engine-harness.ts";

/** Every name Object.prototype answers to, the accessor `__proto__` included. */
const PROTO_NAMES = [...new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"])];
const protoName = fc.constantFrom(...PROTO_NAMES);

/** Lines that put `n` where a table or a key=value map reads text from the log. */
const LINES: ((n: string) => string)[] = [
  (n) => `<13>Jan  8 03:37:09 host ${n}[12]: Failed password for root from 10.0.0.1 port 22 ssh2`,
  (n) => `<13>1 2026-01-08T03:37:09Z host ${n} 12 - - hello`,
  (n) => `srv ${n}[123]: hello`,
  (n) => `[${n}]: hello`,
  (n) => `${n}[1252]: hello`,
  (n) => `<134>Jan  8 03:37:09 fw filterlog[1]: 5,,,1000000103,igb1,match,${n},in,4,0x0,,64,0,0,DF,6,tcp,60,10.0.0.2,203.0.113.9,51000,443,0,S,1,,64240,,mss`,
  (n) => `<4>Jan  8 03:37:09 gw kernel: [ 1234.567890] DROP IN=eth0 OUT= ${n}=x SRC=203.0.113.7 DST=10.0.0.2 LEN=60 PROTO=TCP SPT=4444 DPT=22 SYN`,
  (n) => `<4>Jan  8 03:37:09 gw kernel: ${n} IN=eth0 OUT= SRC=203.0.113.7 DST=10.0.0.2 PROTO=${n} SPT=1 DPT=2 ${n}`,
  (n) => `<6>Jan  8 03:37:09 gw conntrack: [NEW] tcp 6 120 SYN_SENT ${n}=1 src=10.0.0.2 dst=203.0.113.9 sport=1 dport=2 ${n}=3 [UNREPLIED] src=203.0.113.9 dst=10.0.0.2`,
  (n) => `<6>Jan  8 03:37:09 utm ulogd[1]: id="2001" ${n}="x" action="${n}" srcip="203.0.113.7" dstip="10.0.0.2" proto="${n}" srcport="1" dstport="2" length="40"`,
  (n) => `<6>Jan  8 03:37:09 utm ulogd[1]: id="2001" srcip="203.0.113.7" dstip="10.0.0.2" proto="${n}"`,
  (n) => `<85>Jan  8 03:37:09 host sudo: alice : TTY=pts/0 ; ${n}=x ; PWD=/ ; USER=root ; COMMAND=/bin/${n}`,
  (n) => `<13>1 2026-01-08T03:37:09Z host app 12 - [${n} ${n}="x"][x@1 ${n}="y"] hello`,
  (n) => `<13>Jan  8 03:37:09 ${n} host app: hello`,
  (n) => `Jan  8 03:37:09 host ${n}.${n} app: hello`,
  (n) => `<30>Jan  8 03:37:09 host dnsmasq-dhcp[1]: DHCPACK(${n}) 10.0.0.5 aa:bb:cc:dd:ee:ff ${n}`,
  (n) => `<38>Jan  8 03:37:09 host sshd[1]: Invalid user ${n} from 203.0.113.7 port 22`,
];

/** Extractors whose named groups are Object.prototype names (valid identifiers only: `(?<__proto__>…)` is one). */
function extractorContext(): ParseContext {
  const groups = PROTO_NAMES.filter((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n));
  const extractors = groups.map((g) => {
    const r = compileExtractor({ name: `x_${g}`, pattern: `(?<${g}>[a-z]+)` });
    if (!r.ok) throw new Error(r.error);
    return r.extractor;
  });
  return { ...DEFAULT_CONTEXT, extractors, timezoneFor: () => "UTC" };
}

/** Paths of values in `v` that are functions or objects whose prototype is not Object's, Array's or null. */
function insaneValues(v: unknown, path = "", out: string[] = []): string[] {
  if (typeof v === "function") out.push(`${path}: function`);
  else if (v !== null && typeof v === "object") {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) out.push(`${path}: prototype ${String(proto?.constructor?.name)}`);
    for (const k of Object.keys(v)) insaneValues((v as Record<string, unknown>)[k], `${path}.${k}`, out);
  }
  return out;
}

function rule(r: Record<string, unknown>): RuleDef {
  const v = validateRule({ id: "r", name: "r", match: {}, severity: "high", ...r });
  if (!v.ok) throw new Error(JSON.stringify(v.errors));
  return v.rule;
}

describe("Object.prototype names as text from a log", () => {
  const ctx = extractorContext();

  it("every parser path yields a sane event, never a parser fault (fast-check over every name and line shape)", () => {
    fc.assert(
      fc.property(protoName, fc.integer({ min: 0, max: LINES.length - 1 }), (name, shape) => {
        const line = LINES[shape]!(name);
        const e = normalize({ raw: line, receivedAt: Date.UTC(2026, 0, 8) }, ctx);
        expect(e.porchlight?.parse_error ?? "", line).not.toMatch(/internal parser fault/);
        expect(insaneValues(e), line).toEqual([]);
        expect(JSON.parse(JSON.stringify(e)).raw).toBe(line);
      }),
      { numRuns: PROTO_NAMES.length * LINES.length },
    );
  });

  it("each name through each line shape, exhaustively", () => {
    for (const name of PROTO_NAMES) {
      for (const shape of LINES) {
        const line = shape(name);
        const e = normalize({ raw: line, receivedAt: Date.UTC(2026, 0, 8) }, ctx);
        expect(e.porchlight?.parse_error ?? "", line).not.toMatch(/internal parser fault/);
        expect(insaneValues(e), line).toEqual([]);
      }
    }
  });

  it("regression: a syslog line from program `constructor` or `__proto__` is a syslog event, not a parse failure", () => {
    for (const name of ["constructor", "__proto__"]) {
      const e = normalize({ raw: `<13>Jan  8 03:37:09 host ${name}[12]: hello`, receivedAt: Date.UTC(2026, 0, 8) }, DEFAULT_CONTEXT);
      expect(e.event.dataset).toBe("syslog");
      expect(e.porchlight?.parse_error).toBeUndefined();
      expect(e.process).toEqual({ name, pid: 12 });
    }
  });

  it("regression: a pfSense filterlog action `constructor` is logged as \"log\", not the Object function", () => {
    for (const name of PROTO_NAMES) {
      const f = parsePfsense(`5,,,1000000103,igb1,match,${name},in,4,0x0,,64,0,0,DF,6,tcp,60,10.0.0.2,203.0.113.9,51000,443,0,S,1,,64240,,mss`);
      expect(f!.event.action).toBe("log");
      expect(f!.porchlight!.fields!.pf_action).toBe(name);
    }
  });

  it("a Sophos packet filter proto `constructor` stays text (not the Object function)", () => {
    const e = normalize({ raw: `<6>Jan  8 03:37:09 utm ulogd[1]: srcip="203.0.113.7" dstip="10.0.0.2" proto="constructor"`, receivedAt: 0 }, DEFAULT_CONTEXT);
    expect(e.network?.transport).toBe("constructor");
  });

  it("extractor groups named after Object.prototype members become labels of that name", () => {
    const e = normalize({ raw: "<13>Jan  8 03:37:09 host app: hello", receivedAt: 0 }, ctx);
    expect(Object.hasOwn(e.labels!, "__proto__")).toBe(true);
    expect(e.labels!.constructor).toBe("hello");
    expect(Object.getPrototypeOf(e.labels)).toBe(Object.prototype);
  });
});

describe("Object.prototype names as values rules key by", () => {
  it("new_value alerts the first time each name is seen, and only the first (through the JSON round trip of its state)", () => {
    const h = new RuleHost(rule({ type: "new_value", fields: ["user.name"] }));
    const t0 = Date.UTC(2026, 0, 8);
    PROTO_NAMES.forEach((n, i) => h.step(ev(t0 + i, { "user.name": n })));
    PROTO_NAMES.forEach((n, i) => h.step(ev(t0 + 1000 + i, { "user.name": n })));
    expect(h.firings.map((f) => f.vars.value)).toEqual(PROTO_NAMES);
  });

  it("a rule's field path naming an Object.prototype member reads data, never the inherited member", () => {
    const e = ev(0, { "user.name": "x" });
    for (const n of PROTO_NAMES) {
      expect(compileCondition({ [n]: { exists: true } })(e).matched, n).toBe(false);
      expect(compileCondition({ [`user.${n}`]: { exists: true } })(e).matched, n).toBe(false);
      expect(compileCondition({ [`labels.${n}`]: { exists: true } })({ labels: { [n]: "v" } }).matched, n).toBe(true); // a computed key is an own key, __proto__ too
    }
  });

  it("group objects and templates hold the names as data", () => {
    const h = new RuleHost(rule({ type: "single", group_by: ["user.name"], title: "{{user.name}} {{constructor}} {{toString}}" }));
    h.step(ev(0, { "user.name": "__proto__" }));
    const f = h.firings[0]!;
    expect(f.group).toEqual({ "user.name": "__proto__" });
    expect(renderTemplate("{{constructor}}|{{toString}}|{{__proto__}}|{{user.name}}", f.vars)).toBe("|||__proto__");
  });

  it("the CrowdSec importer and durations answer Object.prototype names as unknown", () => {
    for (const n of PROTO_NAMES) {
      const r = importCrowdsecScenarios(`type: leaky\nname: t/${n}\nfilter: "evt.Meta.log_type == '${n}'"\ngroupby: evt.Meta.source_ip\ncapacity: 5\nleakspeed: 10s\n`);
      expect(r.rules, n).toEqual([]);
      expect(r.errors[0]!.message, n).toMatch(/no equivalent/);
      expect(importCrowdsecScenarios(`type: leaky\nname: t\nfilter: "evt.Meta.${n} == 'x'"\ngroupby: evt.Meta.source_ip\ncapacity: 5\nleakspeed: 10s\n`).rules).toEqual([]);
      expect(parseDuration(`1${n}`)).toBeUndefined();
    }
  });
});
