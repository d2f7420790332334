/**
 * The NDJSON fast path (workers/ingest/batch.ts relayEnvelope): for every line it accepts, it must give
 * exactly what JSON.parse gives; it must accept the relay's own lines (relay/sources/source.ts record)
 * when their strings need no escaping, and leave everything else to JSON.parse.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prepareBatch, relayEnvelope, rfc3339Ms } from "../../workers/ingest/batch.ts";
import { DEFAULT_CONTEXT } from "../../workers/parse/index.ts";
import { record } from "../../relay/sources/source.ts";

const line = (raw: string, ip: string | null, transport: "udp" | "tcp", truncated: boolean) =>
  record(Buffer.from(raw), ip, transport, truncated).slice(0, -1);

describe("NDJSON envelope fast path", () => {
  it("reads the relay's lines as JSON.parse does", () => {
    for (const [raw, ip, t, cut] of [
      ["<38>Nov 22 10:00:02 nas sshd[1]: Failed password for root from 203.0.113.9 port 22 ssh2", "192.168.1.1", "udp", false],
      ["plain é中文🔥 line", null, "tcp", true],
      ["", "fd00::1", "udp", false],
    ] as const) {
      const l = line(raw, ip, t, cut);
      expect(relayEnvelope(l)).not.toBeNull();
      expect(relayEnvelope(l)).toEqual(JSON.parse(l));
    }
  });

  it("leaves lines with escapes, control characters or another layout to JSON.parse", () => {
    for (const l of [
      line('has "quotes"', "192.168.1.1", "udp", false),
      line("back\\slash", "192.168.1.1", "udp", false),
      line("tab\there", "192.168.1.1", "udp", false),
      '{"raw":"x","transport":"udp","extra":1}',
      '{"transport":"udp","raw":"x"}',
      '{"raw":"x","transport":"udp"} ',
      '{"raw":"x\tinside","transport":"udp"}',
      '{"raw":"x","received_at":"2026-01-01T00:00:00.000Z","transport":"u\\u0064p"}',
    ]) expect(relayEnvelope(l), l).toBeNull();
  });

  it("never disagrees with JSON.parse on arbitrary lines", () => {
    const str = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 20 }), fc.constantFrom("udp", "tcp", "10.0.0.1", "2026-11-22T10:00:00.123Z"));
    const envelope = fc.tuple(str, fc.option(str), fc.option(str), str, fc.boolean()).map(([raw, at, ip, t, cut]) =>
      `{"raw":${JSON.stringify(raw)}${at === null ? "" : `,"received_at":${JSON.stringify(at)}`}${ip === null ? "" : `,"source_ip":${JSON.stringify(ip)}`},"transport":${JSON.stringify(t)}${cut ? ',"truncated":true' : ""}}`);
    fc.assert(fc.property(fc.oneof(envelope, fc.string({ maxLength: 80 }), envelope.map((e) => e.slice(0, -1)), envelope.map((e) => e + "x")), (l) => {
      const fast = relayEnvelope(l);
      if (fast === null) return;
      expect(fast).toEqual(JSON.parse(l));
    }), { numRuns: 5000 });
  });

  it("agrees with JSON.parse line after line when lines share the part after received_at (read once, then reused)", () => {
    const rest = fc.constantFrom(
      ',"source_ip":"192.168.1.1","transport":"udp"}', ',"transport":"tcp","truncated":true}', ',"source_ip":"10.0.0.\\u0031","transport":"udp"}',
      ',"source_ip":"192.168.1.1","transport":"udp"} ', ',"source_ip":"192.168.1.1","transport":"udp","truncated":true}', ',"transport":"udp"',
    );
    const at = fc.constantFrom("2026-11-22T10:00:00.123Z", "2026-11-22T10:00:01.999Z", "x\\\"");
    const l = fc.tuple(fc.constantFrom("a", "b c", ""), fc.option(at), rest).map(([raw, t, r]) => `{"raw":"${raw}"${t === null ? "" : `,"received_at":"${t}"`}${r}`);
    fc.assert(fc.property(fc.array(l, { minLength: 2, maxLength: 12 }), (ls) => {
      for (const x of ls) {
        const fast = relayEnvelope(x);
        let parsed: unknown;
        try { parsed = JSON.parse(x); } catch { parsed = undefined; }
        if (parsed === undefined) expect(fast, x).toBeNull();
        else if (fast !== null) expect(fast, x).toEqual(parsed);
      }
    }), { numRuns: 500 });
    // The relay's own lines take the fast path every time, the cached rest included.
    for (let i = 0; i < 3; i++) expect(relayEnvelope(line("x", "192.168.1.1", "udp", false))).toEqual({ raw: "x", received_at: expect.any(String), source_ip: "192.168.1.1", transport: "udp" });
  });

  it("gives the same batch as JSON.parse would, error reports included", () => {
    const lines = [
      line("<38>Nov 22 10:00:02 nas sshd[1]: Failed password for root from 203.0.113.9 port 22 ssh2", "192.168.1.1", "udp", false),
      line("kernel: DROP IN=eth1 SRC=10.0.0.1", "not-an-ip", "udp", true),
      '{"raw":"x","received_at":"yesterday","transport":"carrier-pigeon"}',
      "not json at all",
    ];
    const b = prepareBatch(lines.join("\n"), "ndjson", { ctx: DEFAULT_CONTEXT, batchKey: "k", nowMs: 1_790_000_000_000 });
    expect(b.accepted).toBe(4);
    expect(b.errors.map((e) => e.line)).toEqual([2, 3, 3, 4]);
    expect(b.events[0]!.porchlight).toMatchObject({ source_ip: "192.168.1.1", transport: "udp" });
    expect(b.events[1]!.porchlight).toMatchObject({ truncated: true, transport: "udp" });
    expect(b.events[1]!.porchlight?.source_ip).toBeUndefined();
    expect(b.events[3]!.raw).toBe("not json at all");
  });
});

describe("received_at: RFC 3339 read by the parsers' one ISO reader (scanIso)", () => {
  /** The reader it replaced, the plain reference: a regex, then Date.parse. */
  const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
  const reference = (s: string): number => (RFC3339.test(s) ? Date.parse(s) : NaN);
  const pad = (n: number, w: number) => String(n).padStart(w, "0");

  it("agrees with Date.parse on every RFC 3339 time with a real calendar date, in any of its spellings (fast-check)", () => {
    const stamp = fc.record({
      t: fc.integer({ min: -30_610_224_000_000, max: 253_402_300_799_999 }), // years 1000-9999: Date.parse reads a space-separated "0099-…" as 1999
      frac: fc.integer({ min: 0, max: 9 }), sep: fc.constantFrom("T", "t", " "),
      zone: fc.oneof(fc.constantFrom("Z", "z"), fc.tuple(fc.constantFrom("+", "-"), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([sg, h, m]) => `${sg}${pad(h, 2)}:${pad(m, 2)}`)),
      digits: fc.integer({ min: 0, max: 999_999_999 }),
    }).map(({ t, frac, sep, zone, digits }) => {
      const d = new Date(t);
      const f = frac === 0 ? "" : "." + pad(digits, 9).slice(0, frac);
      return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}${sep}${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}${f}${zone}`;
    });
    fc.assert(fc.property(fc.array(stamp, { minLength: 1, maxLength: 5 }), (stamps) => {
      for (const s of stamps) expect(rfc3339Ms(s), s).toBe(reference(s));
    }), { numRuns: 3000 });
  });

  it("refuses what is not an RFC 3339 time with its zone (where Date.parse rolled Feb 30 over, it is refused)", () => {
    for (const s of ["2026-01-01T00:00:00", "2026-01-01", "yesterday", "2026-01-01T00:00:00.000Zjunk", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", ""]) {
      expect(rfc3339Ms(s), s).toBeNaN();
    }
    expect(rfc3339Ms("2026-01-01T23:59:60Z")).toBe(Date.parse("2026-01-01T23:59:59Z")); // a leap second stays in its minute
  });
});
