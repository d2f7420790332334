/**
 * Property tests of the syslog format stage: no input makes it throw, every result is a SyslogMessage
 * with a string msg, unknown shapes come back whole, and ingest's lenient RFC 5424 reading agrees with
 * the strict one on every line the strict one accepts (up to a trailing CR/LF, which ingest drops).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRfc5424Strict, parseSyslog } from "../../workers/parse/syslog.ts";
import type { SyslogMessage } from "../../workers/parse/types.ts";
import { utcMs } from "../../workers/parse/time.ts";

const FORMATS = new Set(["rfc5424", "rfc3164", "openwrt", "iso", "none"]);
const opts = { receivedAt: Date.UTC(2024, 10, 22, 12), timezone: (h?: string) => (h?.startsWith("b") ? "Europe/Berlin" : "UTC") };

function assertShape(line: string, m: SyslogMessage): void {
  expect(typeof m.msg).toBe("string");
  expect(FORMATS.has(m.format)).toBe(true);
  if (m.format === "none") expect(m.msg).toBe(line);
  if (m.timestamp !== undefined) expect(Number.isFinite(m.timestamp)).toBe(true);
  if (m.pri !== undefined) expect(m.pri >= 0 && m.pri <= 191).toBe(true);
}

/** Pieces of real syslog lines, so generated input reaches deep into the scanners, not just the PRI. */
const piece = fc.oneof(
  fc.constantFrom(
    "<13>", "<0>", "<191>", "<192>", "<01>", "<", ">", "1 ", "0 ", "999 ", "- ", "-", " ", "  ", ":", ": ", "[", "]",
    "Nov 22 10:00:00 ", "Feb 29 23:59:60 ", "Jan  1 00:00:00.123456 ", "Sat Oct 26 02:55:20 2024 ", "Mar 1 2024 00:00:00 UTC: ",
    "2024-01-01T00:00:00Z ", "2024-02-30T25:61:61.1234567+24:00 ", "2024-07-01T12:00:00 ", "123: ", "*Mar  1 ", ".Mar  1 ",
    "host ", "bhost ", "fe80::1 ", "daemon.info ", "kern.warn ", "sshd[123]: ", "sshd[: ", "prog: ", "prog[]: ", "%SYS-5-X: ",
    "[id a=\"b\"]", "[id a=\"\\\"\\]\\\\\"]", "[id a=\"]", "[id a=\"b\" c=\"d\"][e f=\"g\"]", "[__proto__ constructor=\"x\"]",
    "\ufeff", "\ufffd", "\0", "\r\n", "\t", "message repeated 3 times: [ inner ]", "message repeated 99999999999 times: [",
    "Message forwarded from x: ",
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
);
const syslogish = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(""));

/** RFC 5424 lines with random header values, SD elements (escaped or not) and MSG: mostly valid. */
const name = fc.string({ unit: fc.constantFrom(..."abcxyz019@.-_"), minLength: 1, maxLength: 8 });
const header = fc.oneof(fc.constant("-"), name);
// Value tokens: mostly escaped specials (valid), sometimes raw ones (invalid), to probe both verdicts.
const sdValue = fc
  .array(
    fc.oneof(
      { weight: 30, arbitrary: fc.constantFrom("a", "b", " ", "é", "\ufeff", "\\]", '\\"', "\\\\") },
      { weight: 1, arbitrary: fc.constantFrom("]", '"', "\\", "\\n") },
    ),
    { maxLength: 8 },
  )
  .map((t) => t.join(""));
const sdElement = fc.tuple(name, fc.array(fc.tuple(name, sdValue), { maxLength: 3 })).map(
  ([id, params]) => `[${id}${params.map(([k, v]) => ` ${k}="${v}"`).join("")}]`,
);
const rfc5424ish = fc
  .tuple(
    fc.integer({ min: 0, max: 191 }),
    fc.constantFrom("-", "2024-01-01T00:00:00.5+01:00", "2024-02-29T23:59:59.123456Z", "2024-12-31T23:59:59-11:30"),
    header, header, header, header,
    fc.oneof(fc.constant("-"), fc.array(sdElement, { minLength: 1, maxLength: 3 }).map((a) => a.join(""))),
    fc.option(fc.string({ unit: "grapheme", maxLength: 20 })),
  )
  .map(([pri, ts, h, a, p, m, sd, msg]) => `<${pri}>1 ${ts} ${h} ${a} ${p} ${m} ${sd}${msg === null ? "" : ` ${msg}`}`);

/** Arbitrary bytes decoded the way ingest decodes a body (UTF-8 with replacement characters). */
const decodedBytes = fc.uint8Array({ maxLength: 300 }).map((b) => new TextDecoder("utf-8").decode(b));

describe("parseSyslog properties", () => {
  it("never throws and returns a SyslogMessage for arbitrary strings (incl. lone surrogates)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (line) => {
        assertShape(line, parseSyslog(line, opts));
        expect(typeof parseRfc5424Strict(line).ok).toBe("boolean");
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws for arbitrary bytes decoded as UTF-8", () => {
    fc.assert(
      fc.property(decodedBytes, (line) => {
        assertShape(line, parseSyslog(line, opts));
        expect(typeof parseRfc5424Strict(line, { compliantMsg: true }).ok).toBe("boolean");
      }),
      { numRuns: 3000 },
    );
  });

  it("never throws for syslog-shaped lines assembled from real fragments", () => {
    fc.assert(
      fc.property(syslogish, fc.integer({ min: 0, max: 4_102_444_800_000 }), (line, receivedAt) => {
        assertShape(line, parseSyslog(line, { ...opts, receivedAt }));
      }),
      { numRuns: 5000 },
    );
  });

  it("reads every strictly valid RFC 5424 line exactly as the strict parser does", () => {
    let valid = 0;
    fc.assert(
      fc.property(rfc5424ish, (line) => {
        const strict = parseRfc5424Strict(line);
        if (!strict.ok) return;
        valid++;
        // Ingest differs only in dropping a trailing CR/LF from MSG.
        expect(parseSyslog(line, opts)).toEqual({ ...strict.msg, msg: strict.msg.msg.replace(/[\r\n]+$/, "") });
      }),
      { numRuns: 3000 },
    );
    expect(valid).toBeGreaterThan(300); // the property was exercised, not vacuously true
  });

  it("computes calendar instants exactly like Date (all years 0-9999)", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("0000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }), (d) => {
        const got = utcMs(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
        expect(got).toBe(d.getTime());
      }),
      { numRuns: 2000 },
    );
  });
});
