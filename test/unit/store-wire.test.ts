/**
 * The INSERT wire format's fast row encoder (insertEventStatements) against its plain twin
 * (referenceWireRow), the column order they share, the statement size budget with the doc list
 * counted, and the row mapping's times (the event's own ms: nothing is parsed back).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";
import { ipKey } from "../../workers/parse/ip.ts";
import { eventRow } from "../../workers/store/rows.ts";
import type { EventRow } from "../../workers/store/types.ts";
import { INSERT_MAX_BYTES, insertEventStatements, referenceWireRow, WIRE_COLUMNS } from "../../workers/store/wire.ts";

const pad = (w: unknown[]): unknown[] => [...w, ...new Array<null>(WIRE_COLUMNS.length - w.length).fill(null)];

/** The statement's rows and docs as the fast encoder built them, and as the reference builds them. */
function bothEncodings(rows: EventRow[]) {
  const [st, ...more] = insertEventStatements(rows);
  expect(more).toEqual([]);
  const fast = (JSON.parse(st!.params[0] as string) as unknown[][]).map(pad);
  const docs = JSON.parse(st!.params[3] as string) as unknown[];
  const baseTs = st!.params[1] as number, baseRec = st!.params[2] as number;
  const docIndex = new Map<object, number>();
  for (const r of rows) if (!docIndex.has(r.doc)) docIndex.set(r.doc, docIndex.size);
  const reference = rows.map((r) => pad(referenceWireRow(r, baseTs, baseRec, docIndex.get(r.doc)!)));
  return { fast, reference, docs, expectedDocs: [...docIndex.keys()], baseTs, baseRec };
}

const SHARED_DOCS = [{}, { s: "192.168.1.1", t: "udp" }, { s: "fd00::7", t: "tcp", l: { site: "garage" } }];
const IPS = ["10.1.2.3", "192.168.1.254", "::ffff:10.9.9.9", "2001:db8::5", "fe80::1"];

const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 2 });
const text = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: "binary", maxLength: 20 }), fc.constantFrom("", "sshd", "nas", "\u0000x", "🔥 tail"));

const rowArb: fc.Arbitrary<EventRow> = fc
  .record({
    id: fc.string({ minLength: 1, maxLength: 26 }),
    ts: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    received_at: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    dataset: fc.constantFrom("unparsed", "sshd", "iptables"),
    raw: text,
    messageKind: fc.constantFrom("tail", "other", "null"),
    other: text,
    tailLen: fc.nat({ max: 40 }),
    doc: fc.constantFrom(...SHARED_DOCS),
    severity: nullable(fc.integer({ min: 0, max: 7 })),
    program: nullable(text),
    host: nullable(text),
    action: nullable(text),
    class_bits: nullable(fc.integer({ min: 0, max: 2 ** 40 })),
    src_ip: nullable(fc.constantFrom(...IPS)),
    outcome: nullable(fc.constantFrom("success", "failure")),
    dst_ip: nullable(fc.constantFrom(...IPS)),
    protocol: nullable(fc.constantFrom("tcp", "udp")),
    src_port: nullable(fc.integer({ min: 0, max: 65535 })),
    dst_port: nullable(fc.integer({ min: 0, max: 65535 })),
    user: nullable(text),
  })
  .map(({ messageKind, other, tailLen, ...r }) => ({
    ...r,
    message: messageKind === "null" ? null : messageKind === "tail" ? r.raw.slice(Math.max(0, r.raw.length - tailLen)) : other,
    src_ip_key: r.src_ip === null ? null : ipKey(r.src_ip),
    dst_ip_key: r.dst_ip === null ? null : ipKey(r.dst_ip),
  }));

describe("INSERT wire format", () => {
  it("the fast row encoder agrees with referenceWireRow on every row (fast-check)", () => {
    fc.assert(
      fc.property(fc.array(rowArb, { minLength: 1, maxLength: 8 }), (rows) => {
        const { fast, reference, docs, expectedDocs } = bothEncodings(rows);
        expect(fast).toEqual(reference);
        expect(docs).toEqual(expectedDocs);
      }),
      { numRuns: 300 },
    );
  });

  it("puts each column at its WIRE_COLUMNS position: a row with only that column set, for every nullable column", () => {
    const base: EventRow = {
      id: "01J000", ts: 1000, received_at: 1005, dataset: "unparsed", raw: "r", message: null, doc: SHARED_DOCS[0]!,
      severity: null, program: null, host: null, action: null, class_bits: null, src_ip: null, src_ip_key: null,
      outcome: null, dst_ip: null, dst_ip_key: null, protocol: null, src_port: null, dst_port: null, user: null,
    };
    const values: Partial<EventRow> = {
      severity: 3, program: "sshd", host: "nas", action: "drop", class_bits: 5, src_ip: "10.0.0.1", src_ip_key: ipKey("10.0.0.1"),
      outcome: "failure", dst_ip: "2001:db8::1", dst_ip_key: ipKey("2001:db8::1"), protocol: "tcp", src_port: 22, dst_port: 2222, user: "root",
    };
    for (const [c, v] of Object.entries(values) as [keyof EventRow, unknown][]) {
      // An address and its key travel together.
      const pair = c === "src_ip_key" ? { src_ip: values.src_ip } : c === "dst_ip_key" ? { dst_ip: values.dst_ip } : {};
      const row = { ...base, ...pair, [c]: v } as EventRow;
      const { fast, reference } = bothEncodings([row]);
      expect(fast, c).toEqual(reference);
      const at = WIRE_COLUMNS.indexOf(c as (typeof WIRE_COLUMNS)[number]);
      expect(fast[0]![at], c).not.toBeNull();
    }
  });

  it("keeps the column order the encoder's hard-coded positions were written for", () => {
    // Changing this list means changing insertEventStatements' positions (the tests above fail otherwise).
    expect(WIRE_COLUMNS).toEqual([
      "id", "ts", "received_at", "dataset", "raw", "message", "doc", "severity", "program", "host", "action", "class_bits",
      "src_ip", "src_ip_key", "outcome", "dst_ip", "dst_ip_key", "protocol", "src_port", "dst_port", "user",
    ]);
  });

  it("counts the doc list against INSERT_MAX_BYTES: rows JSON + docs JSON of every statement stay under it", () => {
    // Big distinct docs (labels) and long lines: the doc list alone is ~0.5 MB, sent with each statement.
    const rows: EventRow[] = Array.from({ length: 600 }, (_, i) => {
      const e = normalize({ raw: `<13>Nov 22 10:00:00 nas app: ${"m".repeat(2500)}${i}`, receivedAt: 1_790_000_000_000 + i }, DEFAULT_CONTEXT, "k", i);
      const row = eventRow(e);
      return { ...row, doc: i < 50 ? { l: { note: "n".repeat(10_000) + i } } : SHARED_DOCS[1]! };
    });
    const stmts = insertEventStatements(rows);
    expect(stmts.length).toBeGreaterThan(1);
    const bytes = (s: string) => new TextEncoder().encode(s).byteLength;
    for (const s of stmts) expect(bytes(s.params[0] as string) + bytes(s.params[3] as string)).toBeLessThanOrEqual(INSERT_MAX_BYTES);
    expect(stmts.reduce((n, s) => n + (JSON.parse(s.params[0] as string) as unknown[]).length, 0)).toBe(600);
  });
});

describe("row mapping", () => {
  const stamp = fc.oneof(
    fc.date({ min: new Date("1971-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.tuple(fc.date({ min: new Date("1971-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }), fc.constantFrom("+02:00", "-05:30", "Z"), fc.constantFrom("", ".5", ".123456"))
      .map(([d, off, frac]) => d.toISOString().slice(0, 19) + frac + off),
    fc.constantFrom("-", "2026-13-45T99:00:00Z", "not a time"),
  );
  it("a row's times are its event's times (ms, no text between), the instant the line's RFC 3339 stamp names (fast-check)", () => {
    fc.assert(
      fc.property(stamp, fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.nat({ max: 999 }), (t, receivedAt, i) => {
        const e = normalize({ raw: `<38>1 ${t} nas sshd 1 - - m`, receivedAt }, DEFAULT_CONTEXT, "k", i);
        const row = eventRow(e);
        expect([row.ts, row.received_at]).toEqual([e["@timestamp"], e.received_at]);
        const named = Date.parse(t);
        expect(e["@timestamp"], t).toBe(Number.isFinite(named) ? named : receivedAt);
      }),
      { numRuns: 500 },
    );
  });
});
