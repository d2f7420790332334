/**
 * The iptables fast path against its plain reference (workers/parse/programs/iptables-reference.ts): the
 * hand scanners and their regex/split twins agree on generated netfilter lines (keys we use and keys we
 * skip, glued prefixes, uptime stamps, embedded ICMP packets, odd spacing) and on every line of the
 * corpora and the bench corpus that looks like netfilter.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isWanish, KEY_NAMES, netfilterStart, scan, uptimeStampEnd } from "../../workers/parse/programs/iptables.ts";
import { isWanishReference, netfilterStartReference, scanReference, uptimeStampEndReference } from "../../workers/parse/programs/iptables-reference.ts";
import { generateCorpus } from "../../bench/corpus.ts";
import { CORPORA_DIR, haveCorpus } from "../conformance/corpora.ts";

function agree(line: string): void {
  const start = netfilterStart(line);
  expect(start, line).toBe(netfilterStartReference(line));
  if (start >= 0) expect(scan(line, start), line).toEqual(scanReference(line, start));
  expect(uptimeStampEnd(line, start < 0 ? line.length : start), line).toBe(uptimeStampEndReference(line, start < 0 ? line.length : start));
}

const word = fc.stringMatching(/^[A-Za-z0-9:.()_\-\[\]]{0,12}$/);
const key = fc.oneof(fc.constantFrom(...KEY_NAMES, "ID", "TOS", "PREC", "WINDOW", "RES", "URGP", "SRCX", "XSRC", "in", "Src", "A", "C"), word);
const token = fc.oneof(
  fc.tuple(key, word).map(([k, v]) => `${k}=${v}`),
  fc.constantFrom("SYN", "ACK", "DF", "URGP=0", "[SRC=10.0.0.1", "DST=1.2.3.4]", "OUT=", "IN=", "MAC="),
  word,
);
const netfilterLine = fc.record({
  stamp: fc.constantFrom("", "[ 1234.567890] ", "[12.5] ", "[1.] ", "[ 7] ", "[.12] ", "[123.4.5] "),
  prefix: fc.constantFrom("", "DROP(src wan)", "[UFW BLOCK] ", "FW-DROP: ", "A=DROP C=inet ", "xIN=", "PHYS"),
  tokens: fc.array(token, { maxLength: 24 }),
  sep: fc.constantFrom(" ", "  ", " \t"),
}).map(({ stamp, prefix, tokens, sep }) => `${stamp}${prefix}IN=eth0 OUT= ${tokens.join(sep)} SRC=10.0.0.2`);

describe("iptables fast path = plain reference", () => {
  it("generated netfilter lines (fast-check)", () => {
    fc.assert(fc.property(netfilterLine, (line) => agree(line)), { numRuns: 3000 });
  });

  it("arbitrary text, and text around the keys", () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), (a, b) => {
      agree(a);
      agree(`${a}IN=${b} SRC=${a}`);
      agree(`${b} OUT=${a} SRC=`);
    }), { numRuns: 2000 });
  });

  it("interface names: isWanish is the regex", () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("wan", "WAN0", "wwan1", "pppoe-wan", "PpP0", "eRouter0", "eth0", "wa", "w", "", "ſan", "wſn")), (s) => {
      expect(isWanish(s), s).toBe(isWanishReference(s));
    }), { numRuns: 2000 });
  });

  it("every netfilter-looking line of the bench corpus", () => {
    const lines = generateCorpus(3000, 11).filter((l) => l.includes("SRC="));
    expect(lines.length).toBeGreaterThan(500);
    for (const l of lines) agree(l);
  });

  it.skipIf(!haveCorpus())("every line of the corpora that mentions SRC= (SKIPPED when ../shared/corpora is absent)", () => {
    let n = 0;
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else for (const l of readFileSync(p, "utf8").split("\n")) if (l.includes("SRC=")) { agree(l); n++; }
      }
    };
    walk(CORPORA_DIR);
    expect(n).toBeGreaterThan(100);
  });
});
