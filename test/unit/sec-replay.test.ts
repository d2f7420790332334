/**
 * SEC's ssh-brute.sec (two SingleWith2Thresholds rules: 4 failures in 60 s from one source → block;
 * 2 h without one → unblock) ported with sec.ts to our threshold rules, replayed on loghub's
 * OpenSSH_2k.log with log time as the clock, against an independent, literal reading of the sec(1)
 * man page: per operation key a list of occurrence times; the window slides to the earliest time
 * still within `window` when it has expired; at `thresh` the action runs and the operation waits for
 * `window2` quiet seconds (every match restarts the wait), then runs action2 and ends.
 * There is no upstream expected output for SEC, so the expected counts are computed here.
 */
import { describe, expect, it } from "vitest";
import { haveCorpus, readCorpusText } from "../conformance/corpora.ts";
import { importSecRules, parseSecConfig } from "../../workers/rules/sec.ts";
import { compileRule } from "../../workers/rules/project.ts";
import { RuleHost } from "./rules-engine-harness.ts";
import { toEvents } from "./rules-replay-events.ts";

const HAVE = haveCorpus("sec-rulesets", "ssh-brute.sec") && haveCorpus("loghub", "OpenSSH", "OpenSSH_2k.log");

/** The man page, literally: returns raised (key, line index) and cleared keys, in order. */
function secByTheManPage(lines: { t: number; raw: string }[], pattern: RegExp, window: number, thresh: number, window2: number) {
  type Op = { pass: 1 | 2; start: number; times: number[] };
  const ops = new Map<string, Op>();
  const raised: string[] = [];
  const cleared: string[] = [];
  for (const { t, raw } of lines) {
    const m = pattern.exec(raw);
    if (!m) continue;
    const key = m[1]!;
    let op = ops.get(key);
    if (op && t - op.start > (op.pass === 1 ? window : window2)) {
      if (op.pass === 1) {
        op.times = op.times.filter((x) => x >= t - window);
        if (op.times.length === 0) ops.delete(key);
        else op.start = op.times[0]!;
      } else {
        cleared.push(key);
        ops.delete(key);
      }
    }
    op = ops.get(key);
    if (!op) ops.set(key, (op = { pass: 1, start: t, times: [] }));
    if (op.pass === 2) {
      op.start = t; // thresh2 = 0: any event moves the second window to now
      continue;
    }
    op.times.push(t);
    if (op.times.length >= thresh) {
      raised.push(key);
      Object.assign(op, { pass: 2, start: t, times: [] });
    }
  }
  return { raised, cleared };
}

describe.skipIf(!HAVE)("SEC ssh-brute.sec on loghub OpenSSH_2k.log", () => {
  it("ports to two threshold rules with SEC's parameters", () => {
    const { rules, errors } = importSecRules(readCorpusText("sec-rulesets", "ssh-brute.sec"), "ssh-brute");
    expect(errors).toEqual([]);
    expect(rules.map((r) => [r.type, r.threshold, r.window, r.clear_after, r.group_by])).toEqual([
      ["threshold", 4, "60s", "7200s", ["c1"]],
      ["threshold", 4, "60s", "7200s", ["c1"]],
    ]);
    expect(rules[1]!.title).toBe("Multiple ssh password failures from {{c1}}");
  });

  it("raises and clears exactly as the man page semantics say, per source", () => {
    const text = readCorpusText("sec-rulesets", "ssh-brute.sec");
    const { rules } = importSecRules(text, "ssh-brute");
    const specs = parseSecConfig(text);
    const lines = readCorpusText("loghub", "OpenSSH", "OpenSSH_2k.log").split("\n");
    const events = toEvents(lines);
    const timed = events.map((e) => ({ t: e["@timestamp"] / 1000, raw: e.raw }));
    let totalRaised = 0;
    rules.forEach((rule, i) => {
      const want = secByTheManPage(timed, new RegExp(specs[i]!.fields.pattern!), 60, 4, 7200);
      const c = compileRule(rule);
      const host = new RuleHost(rule);
      for (const e of events) {
        const m = c.match(e);
        if (m) host.step(m);
      }
      const raised = host.firings.filter((f) => f.action === "raise").map((f) => f.group.c1!);
      const cleared = host.firings.filter((f) => f.action === "clear").map((f) => f.group.c1!);
      expect(raised, rule.name).toEqual(want.raised);
      expect(cleared, rule.name).toEqual(want.cleared);
      totalRaised += raised.length;
      console.log(`[sec-replay] ${rule.name}: ${raised.length} raises (${new Set(raised).size} sources), ${cleared.length} clears within the file`);
    });
    // the file is an intense brute force from a few sources: the rules must actually fire
    expect(totalRaised).toBeGreaterThan(10);
  });

  it("rejects what it cannot port, naming it", () => {
    const r = importSecRules("type=Calendar\ntime=* * * * *\ndesc=x\naction=none\n\ntype=SingleWith2Thresholds\nptype=SubStr\npattern=b\ndesc=y\naction=none\nwindow=5\nthresh=2\nwindow2=10\nthresh2=3\n");
    expect(r.errors.map((e) => [e.line, e.field])).toEqual([[1, "type"], [6, "ptype"], [6, "thresh2"]]);
  });
});
