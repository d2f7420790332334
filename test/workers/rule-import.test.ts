/**
 * POST /v1/rules/import/{crowdsec,sec,sigma} in workerd: a file's text in, rules stored rule by rule,
 * refusals listed per rule with the reason, 400 when nothing converts, admin only; an imported rule
 * raises on real events.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { evaluateBatch } from "../../workers/rules/evaluate.ts";
import { api, tokenWith } from "./api-client.ts";
import { alertsOf, ev, sshFail, T0, uid } from "./rules-fixtures.ts";

const post = async (kind: string, text: string, token?: string) => {
  const res = await api(`/v1/rules/import/${kind}`, { method: "POST", body: text, headers: { "content-type": kind === "sec" ? "text/plain" : "application/yaml" }, ...(token ? { token } : {}) });
  return { status: res.status, body: (await res.json()) as any };
};

describe("foreign rule imports", () => {
  it("CrowdSec: imports the leaky scenario, refuses the bayesian one by name, and the rule raises", async () => {
    const name = uid("cs");
    const yaml = `type: leaky
name: test/${name}
filter: "evt.Meta.log_type == 'ssh_failed-auth'"
groupby: evt.Meta.source_ip
capacity: 2
leakspeed: 10s
labels:
  label: Test brute force
---
type: bayesian
name: test/${name}-bayes
filter: "evt.Meta.log_type == 'ssh_failed-auth'"
`;
    const { status, body } = await post("crowdsec", yaml);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.imported).toBe(1);
    const id = body.ids[0] as string;
    expect(body.rules).toEqual([{ id, name: "Test brute force", type: "bucket" }]);
    expect(body.refused).toEqual([expect.objectContaining({ rule: `test/${name}-bayes`, field: "type", reason: expect.stringContaining("bayesian") })]);
    expect(((await (await api(`/v1/rules/${id}`)).json()) as { type: string }).type).toBe("bucket");
    await evaluateBatch(env, uid("b"), [0, 1, 2].map((i) => sshFail("203.0.113.9", T0 + i * 1000)));
    expect((await alertsOf(id)).map((a) => a.count)).toEqual([3]);
  });

  it("SEC: Single, SingleWithThreshold, SingleWithSuppress, PairWithWindow and Suppress import; Calendar is refused naming the line", async () => {
    const p = uid("sec");
    const text = `type=SingleWithThreshold
ptype=RegExp
pattern=sshd\\[\\d+\\]: Failed password for (\\S+) from ([\\d.]+)
desc=SSH brute force from $2
action=write - $0
window=60
thresh=3

type=SingleWithSuppress
ptype=RegExp
pattern=kernel: Out of memory: Killed process \\d+ \\((\\S+)\\)
desc=OOM killed $1
window=300

type=PairWithWindow
ptype=RegExp
pattern=backup\\[\\d+\\]: job (\\S+) started
desc=backup $1 did not finish
ptype2=RegExp
pattern2=backup\\[\\d+\\]: job $1 finished
window=3600

type=Suppress
ptype=RegExp
pattern=sshd\\[\\d+\\]: Connection closed

type=Calendar
time=0 * * * *
desc=hourly
action=none
`;
    const { status, body } = await post(`sec?prefix=${p}`, text);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.rules.map((r: { type: string }) => r.type)).toEqual(["threshold", "bucket", "sequence", "suppress"]);
    expect(body.refused).toEqual([{ rule: "line 27", field: "type", reason: expect.stringContaining('"Calendar" is not supported') }]);
    const [brute, , pair] = body.ids as string[];
    await evaluateBatch(env, uid("b"), [0, 1, 2].map((i) => ev(`<38>Nov 22 10:00:0${i} nas sshd[81${i}]: Failed password for root from 198.51.100.4 port 5${i} ssh2`, T0 + i * 1000)));
    expect((await alertsOf(brute!)).map((a) => [a.title, a.count])).toEqual([["SSH brute force from 198.51.100.4", 3]]);
    // the pair: a start with its finish inside the window is silent; a start without one raises
    // (noticed here by the group's next event, after the window)
    await evaluateBatch(env, uid("b"), [
      ev("<14>Nov 22 10:00:00 nas backup[1]: job nightly started", T0),
      ev("<14>Nov 22 10:10:00 nas backup[1]: job nightly finished", T0 + 600_000),
      ev("<14>Nov 22 10:20:00 nas backup[1]: job weekly started", T0 + 1_200_000),
      ev("<14>Nov 22 12:00:00 nas backup[1]: job other finished", T0 + 7_200_000),
      ev("<14>Nov 22 12:00:00 nas backup[1]: job weekly started", T0 + 7_200_000),
    ]);
    expect((await alertsOf(pair!)).map((a) => a.title)).toEqual(["backup weekly did not finish"]);
  });

  it("Sigma: a keyword rule and an event_count correlation import; an unmapped logsource is refused", async () => {
    const n = uid("sg");
    const yaml = `title: Suspicious OpenSSH Daemon Error ${n}
id: ${n}
logsource: { product: linux, service: sshd }
detection:
  keywords: ['Corrupted MAC on input', 'bad client public DH value']
  condition: keywords
level: high
---
title: failed ssh ${n}
name: failed_ssh_${n}
logsource: { product: linux, service: sshd }
detection:
  sel: { message|startswith: 'Failed password' }
  condition: sel
generate: false
---
title: SSH brute force ${n}
id: ${n}-corr
correlation:
  type: event_count
  rules: [failed_ssh_${n}]
  group-by: [src_ip]
  timespan: 1m
  condition: { gte: 3 }
level: critical
---
title: Windows thing ${n}
logsource: { product: windows, category: process_creation }
detection:
  sel: { Image|endswith: '\\\\cmd.exe' }
  condition: sel
`;
    const { status, body } = await post("sigma", yaml);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.rules).toEqual([
      { id: `sigma.${n}`, name: `Suspicious OpenSSH Daemon Error ${n}`, type: "single" },
      { id: `sigma.${n}-corr`, name: `SSH brute force ${n}`, type: "threshold" },
    ]);
    expect(body.refused).toEqual([expect.objectContaining({ rule: `Windows thing ${n}`, field: "logsource" })]);
    await evaluateBatch(env, uid("b"), [
      ev("<38>Nov 22 10:00:00 nas sshd[9]: Corrupted MAC on input.", T0),
      ...[0, 1, 2].map((i) => sshFail("192.0.2.77", T0 + i * 1000)),
    ]);
    expect((await alertsOf(`sigma.${n}`)).map((a) => a.severity)).toEqual(["high"]);
    expect((await alertsOf(`sigma.${n}-corr`)).map((a) => [a.severity, a.count])).toEqual([["critical", 3]]);
  });

  it("answers 400 listing the refusals when nothing converts, 400 for an empty body, 403 for a read token", async () => {
    const bad = await post("sigma", "title: x\nlogsource: {product: windows}\ndetection: {s: {a: b}, condition: s}\n");
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("validation_failed");
    expect(bad.body.error.details.refused).toHaveLength(1);
    expect((await post("crowdsec", "  \n")).status).toBe(400);
    expect((await post("sec", "not: [yaml")).status).toBe(400);
    expect((await post("crowdsec", "{{{")).status).toBe(400);
    expect((await post("sec", "type=Single\nptype=RegExp\npattern=x\ndesc=y\n", await tokenWith("read"))).status).toBe(403);
  });
});
