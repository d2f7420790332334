/**
 * Stored events: a row stores `raw`, the typed columns and only what re-parsing cannot restore
 * (workers/store/search-time.ts); for every event normalize() produces, the row read back (through the
 * JSON text the database stores) is the same event. Rows of 0.1 builds (whole documents, compacted by
 * workers/store/doc.ts) still read back exactly.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../bench/corpus.ts";
import type { EcsEvent } from "../../workers/ecs.ts";
import { compileExtractor } from "../../workers/parse/extractors.ts";
import { normalize, DEFAULT_CONTEXT } from "../../workers/parse/index.ts";
import type { ParseContext, RawInput } from "../../workers/parse/types.ts";
import { CLASSES, COMPACT_KEY, compactDoc, expandDoc } from "../../workers/store/doc.ts";
import { categoryMask, classBits, ECS_CATEGORIES, ECS_TYPES, typeMask } from "../../workers/store/search-time.ts";
import { apiEvent, eventOfRow, eventRow, type EventRow } from "../../workers/store/store.ts";
import { renderTimes } from "../../workers/ecs.ts";
import { CORPORA_DIR, haveCorpus } from "../conformance/corpora.ts";

/** The row as the database returns it: doc through its JSON text. */
const stored = (row: EventRow): EventRow => ({ ...row, doc: JSON.parse(JSON.stringify(row.doc)) as Record<string, unknown> });
const plain = (e: unknown): unknown => JSON.parse(JSON.stringify(e));

/** The event read back from its row: the same event inside (times in ms), and at the API with its times as text. */
function roundTrip(e: EcsEvent): void {
  const row = eventRow(e);
  expect({ ts: row.ts, received_at: row.received_at }).toEqual({ ts: e["@timestamp"], received_at: e.received_at });
  expect(plain(eventOfRow(stored(row)))).toEqual(plain(e));
  expect(plain(apiEvent(stored(row)))).toEqual(plain(renderTimes(e)));
}

/** The row a 0.1 build stored for `e`: the whole document, compacted. */
function legacyRow(e: EcsEvent): EventRow {
  const row = { ...eventRow(e), class_bits: null };
  return { ...row, doc: compactDoc(e, row) };
}

function legacyRoundTrip(e: EcsEvent): void {
  expect(plain(expandDoc(stored(legacyRow(e))))).toEqual(plain(e));
  expect(plain(apiEvent(stored(legacyRow(e))))).toEqual(plain(renderTimes(e)));
}

/** normalize() → roundTrip. */
function check(input: RawInput, i: number, ctx: ParseContext = DEFAULT_CONTEXT): void {
  roundTrip(normalize(input, ctx, "k", i));
}

const docChars = (e: EcsEvent): number => {
  const { id: _i, "@timestamp": _t, received_at: _r, raw: _w, message: _m, ...doc } = e;
  return JSON.stringify(doc).length;
};

function* corpusLines(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* corpusLines(p);
    else for (const line of readFileSync(p, "utf8").split("\n")) if (line.trim() !== "") yield line.replace(/\r$/, "");
  }
}

/** SKIPPED (with the line haveCorpus prints) when ../shared/corpora is absent. */
const HAVE_CORPORA = haveCorpus();

/** An event's dataset and the sorted paths of its fields (values left out): lines of one shape take one path through the document code. */
function shapeOf(e: EcsEvent): string {
  const paths: string[] = [];
  const walk = (v: unknown, at: string): void => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k], `${at}.${k}`);
    else paths.push(Array.isArray(v) ? `${at}[]` : at);
  };
  walk(e, "");
  return `${e.event.dataset} ${paths.sort().join(" ")}`;
}

const inputs = (raw: string, i: number): RawInput[] => [
  { raw, receivedAt: 1_790_000_000_000 + i, transport: "udp", sourceIp: "192.168.1.1" },
  { raw, receivedAt: 1_790_000_000_000, transport: "http" },
];

const SSH_FAIL = "<38>Nov 22 10:00:02 nas sshd[46691]: Failed password for root from 45.60.13.78 port 40000 ssh2";
const FW_DROP = "<4>Nov 22 10:00:01 router kernel: DROP IN=eth1 OUT= SRC=45.60.13.78 DST=192.168.1.2 PROTO=TCP SPT=4000 DPT=22";

const ARBITRARY_LINE = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 200 }),
  // Syslog-shaped lines with arbitrary PRI, host, program and body, so the parsers get past the header.
  fc.tuple(fc.integer({ min: 0, max: 200 }), fc.stringMatching(/^[a-z0-9.-]{0,12}$/), fc.stringMatching(/^[a-z-]{0,10}(\[\d{1,6}\])?$/), fc.string({ maxLength: 120 }))
    .map(([pri, host, prog, msg]) => `<${pri}>Nov 22 10:00:01 ${host} ${prog}: ${msg}`),
  fc.tuple(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 70000 }), fc.constantFrom("TCP", "UDP", "ICMP", ""))
    .map(([s, d, p, proto]) => `<4>Nov 22 10:00:01 router kernel: DROP IN=eth1 OUT= SRC=${s} DST=${d} PROTO=${proto} SPT=${p} DPT=${p}`),
  fc.tuple(fc.ipV4(), fc.stringMatching(/^[a-z]{0,8}$/))
    .map(([ip, user]) => `<38>Nov 22 10:00:02 nas sshd[123]: Failed password for ${user} from ${ip} port 22 ssh2`),
);

describe("stored events: index-time columns, search-time fields", () => {
  it("reads back every event of the bench corpus, storing almost nothing beside raw and the columns", () => {
    let relayed = 0, direct = 0, n = 0;
    for (const [i, raw] of generateCorpus(3000, 7).entries()) {
      const e = normalize({ raw, receivedAt: 1_790_000_000_000, transport: "udp", sourceIp: "192.168.1.1" }, DEFAULT_CONTEXT, "k", i);
      roundTrip(e);
      relayed += JSON.stringify(eventRow(e).doc).length;
      const h = normalize({ raw, receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", i);
      roundTrip(h);
      direct += JSON.stringify(eventRow(h).doc).length;
      n++;
    }
    // A relayed line keeps its sender and transport ({"s":"192.168.1.1","t":"udp"}); a direct one nothing.
    expect(relayed / n).toBeLessThanOrEqual(30);
    expect(direct / n).toBe(2);
  });

  it.skipIf(!HAVE_CORPORA)("reads back every event of every corpus line (as UDP from an address, and as HTTP)", () => {
    let n = 0;
    for (const raw of corpusLines(CORPORA_DIR)) {
      for (const input of inputs(raw, n)) check(input, n);
      n++;
    }
    expect(n).toBeGreaterThan(1000);
  });

  it("reads back events of arbitrary lines", () => {
    fc.assert(fc.property(ARBITRARY_LINE, fc.integer({ min: 0, max: 999 }), (raw, i) => {
      for (const input of inputs(raw, i)) check(input, i);
      check({ raw, receivedAt: 1_790_000_000_000.5 + i * 1e9 }, i);
    }), { numRuns: 3000 });
  });

  it("keeps the extractors' labels as they were at ingest, and the cut flags", () => {
    const x = compileExtractor({ id: "x1", name: "user", pattern: "for (?<who>\\w+) from", program: null, host: null });
    if (!x.ok) throw new Error(x.error);
    const ctx: ParseContext = { timezoneFor: () => "Europe/Berlin", extractors: [x.extractor] };
    const e = normalize({ raw: SSH_FAIL, receivedAt: 1_790_000_000_000, transport: "tcp", sourceIp: "10.0.0.2" }, ctx, "k", 0);
    expect(e.labels).toEqual({ who: "root" });
    roundTrip(e);
    expect(stored(eventRow(e)).doc).toEqual({ s: "10.0.0.2", t: "tcp", l: { who: "root" } });
    // A line cut at INGEST_MAX_LINE_BYTES: raw is stored cut, and the flag is kept beside it.
    const long = normalize({ raw: SSH_FAIL + " " + "x".repeat(70_000), receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 1);
    expect(long.porchlight?.truncated).toBe(true);
    roundTrip(long);
    // A line the relay cut (RawInput.truncated, as prepareBatch passes it).
    const relayCut = normalize({ raw: SSH_FAIL, receivedAt: 1_790_000_000_000, transport: "udp", truncated: true }, DEFAULT_CONTEXT, "k", 2);
    expect(relayCut.porchlight?.truncated).toBe(true);
    roundTrip(relayCut);
  });

  it("shows what a newer parser derives, and lists the stored columns that differ (index drift)", () => {
    const row = stored(eventRow(normalize({ raw: SSH_FAIL, receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 0)));
    expect((apiEvent(row).porchlight as { index_drift?: unknown } | undefined)?.index_drift).toBeUndefined();
    // As if an older parser had indexed this line with another outcome and no classification.
    const old = { ...row, outcome: "unknown", class_bits: null };
    const a = apiEvent(old) as unknown as EcsEvent & { porchlight: { index_drift: Record<string, unknown> } };
    expect(a.event.outcome).toBe("failure");
    expect(a.porchlight.index_drift).toEqual({ outcome: "unknown" });
  });

  it("indexes event.category and event.type as bits of ECS's allowed values", () => {
    expect(new Set(ECS_CATEGORIES).size + new Set(ECS_TYPES).size).toBe(37);
    const login = eventRow(normalize({ raw: SSH_FAIL, receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 0));
    expect(login.class_bits! % (2 * categoryMask("authentication"))).toBeGreaterThanOrEqual(categoryMask("authentication"));
    const drop = eventRow(normalize({ raw: FW_DROP, receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 0));
    expect(drop.class_bits).toBe(categoryMask("network") + typeMask("connection") + typeMask("denied"));
    expect(classBits(["network", "network", "nonsense"], ["denied"])).toBe(categoryMask("network") + typeMask("denied"));
    expect(classBits(undefined, ["not-ecs"])).toBeNull();
  });
});

describe("documents of 0.1 builds (compactDoc / expandDoc) still read back", () => {
  it("restores every event of the bench corpus, and halves its document", () => {
    let before = 0, after = 0, n = 0;
    for (const [i, raw] of generateCorpus(3000, 7).entries()) {
      const e = normalize({ raw, receivedAt: 1_790_000_000_000, transport: "http" }, DEFAULT_CONTEXT, "k", i);
      legacyRoundTrip(e);
      before += docChars(e);
      after += JSON.stringify(legacyRow(e).doc).length;
      n++;
    }
    // The mix's mean doc is ≈650 characters; compaction must at least remove a third of it.
    expect(after / n).toBeLessThan((before / n) * 0.67);
  });

  // The 0.1 reader is frozen (nothing writes 0.1 documents any more), so the corpora are sampled: the
  // first two lines of each event shape (dataset and set of field paths) and every 50th line, instead
  // of all of them (that cost 9 of the unit tier's seconds for the same coverage of shapes).
  it.skipIf(!HAVE_CORPORA)("restores the events of every event shape of the corpus lines (as UDP from an address, and as HTTP)", () => {
    const perShape = new Map<string, number>();
    let n = 0, sampled = 0;
    for (const raw of corpusLines(CORPORA_DIR)) {
      const shape = shapeOf(normalize({ raw, receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", n));
      const seen = perShape.get(shape) ?? 0;
      perShape.set(shape, seen + 1);
      if (seen < 2 || n % 50 === 0) {
        for (const input of inputs(raw, n)) legacyRoundTrip(normalize(input, DEFAULT_CONTEXT, "k", n));
        sampled++;
      }
      n++;
    }
    expect(n).toBeGreaterThan(1000);
    expect(perShape.size).toBeGreaterThan(50);
    console.log(`0.1 documents: ${sampled} of ${n} corpus lines round-tripped, ${perShape.size} event shapes`);
  });

  it("restores events of arbitrary lines", () => {
    fc.assert(fc.property(ARBITRARY_LINE, fc.integer({ min: 0, max: 999 }), (raw, i) => {
      for (const input of inputs(raw, i)) legacyRoundTrip(normalize(input, DEFAULT_CONTEXT, "k", i));
    }), { numRuns: 1000 });
  });

  it("reads a document stored before compaction unchanged, and kept fields win over restored ones", () => {
    const e = normalize({ raw: "<38>Nov 22 10:00:02 nas sshd[46691]: Failed password for root from 45.60.13.78 port 40000 ssh2", receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 0);
    const row = legacyRow(e);
    expect(row.doc[COMPACT_KEY]).toBeTypeOf("number");
    const { id: _i, "@timestamp": _t, received_at: _r, raw: _w, message: _m, ...full } = e;
    expect(plain(apiEvent({ ...row, doc: plain(full) as Record<string, unknown> }))).toEqual(plain(renderTimes(e)));
    // A doc that keeps a field its bit also covers: the stored value is returned.
    const doc = { ...(plain(row.doc) as Record<string, unknown>), host: { hostname: "other" } };
    expect((apiEvent({ ...row, doc }).host as { hostname: string }).hostname).toBe("other");
  });

  it("keeps what is not exactly restorable", () => {
    const e = normalize({ raw: "<38>Nov 22 10:00:02 nas sshd[46691]: Failed password for root from 45.60.13.78 port 40000 ssh2", receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 0);
    // A facility name that is not the standard one, a priority that does not match, a procid with a leading zero.
    const odd = plain(e) as EcsEvent;
    odd.log!.syslog!.facility = { code: 4, name: "security" };
    odd.log!.syslog!.priority = 7;
    odd.log!.syslog!.procid = "046691";
    odd.related = { ip: ["45.60.13.78", "10.0.0.1"], user: ["root"] };
    // A classification pair that is not in the table (extra type), and one whose category alone is.
    odd.event.type = ["start", "info"];
    const doc = legacyRow(odd).doc as { log: { syslog: Record<string, unknown> }; related: unknown; event: Record<string, unknown> };
    expect(doc.log.syslog).toMatchObject({ facility: { code: 4, name: "security" }, priority: 7, procid: "046691" });
    expect(doc.related).toEqual({ ip: ["45.60.13.78", "10.0.0.1"] });
    expect(doc.event).toMatchObject({ category: ["authentication"], type: ["start", "info"] });
    legacyRoundTrip(odd);
    const onlyCategory = plain(e) as EcsEvent;
    delete onlyCategory.event.type;
    expect((legacyRow(onlyCategory).doc as { event: Record<string, unknown> }).event.category).toEqual(["authentication"]);
    legacyRoundTrip(onlyCategory);
  });

  it("stores a MAC printed in raw as its offset there, and keeps one raw does not print exactly", () => {
    const raw = "<4>Nov 22 10:00:01 router kernel: DROP IN=eth1 OUT= MAC=3d:c1:27:52:69:3f:26:b9:93:20:43:0c:08:00 SRC=45.60.13.78 DST=192.168.1.2 PROTO=TCP SPT=4000 DPT=22";
    const e = normalize({ raw, receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 0);
    expect(e.source?.mac).toBe("26-B9-93-20-43-0C");
    expect(e.destination?.mac).toBe("3D-C1-27-52-69-3F");
    const doc = stored(legacyRow(e)).doc;
    expect(JSON.stringify(doc)).not.toMatch(/mac|B9-93/);
    legacyRoundTrip(e);
    // Not in raw in any colon form, or in raw with another case than restoring gives: kept.
    for (const mac of ["AA-BB-CC-DD-EE-FF", "3d-c1-27-52-69-3f"]) {
      const odd = plain(e) as EcsEvent;
      odd.destination!.mac = mac;
      expect((stored(legacyRow(odd)).doc.destination as { mac?: string }).mac).toBe(mac);
      legacyRoundTrip(odd);
    }
  });

  it("stores an observer that is only an ingress interface name as that name", () => {
    const e = normalize({ raw: "<4>Nov 22 10:00:01 router kernel: DROP IN=eth1 OUT= SRC=45.60.13.78 DST=192.168.1.2 PROTO=TCP SPT=4000 DPT=22", receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 0);
    expect(e.observer).toEqual({ ingress: { interface: { name: "eth1" } } });
    const row = stored(legacyRow(e));
    expect(row.doc.observer).toBeUndefined();
    expect(plain(apiEvent(row))).toEqual(plain(renderTimes(e)));
    // Anything more than the name (an egress, another ingress field) keeps the observer as it is.
    for (const observer of [{ ingress: { interface: { name: "eth1" } }, egress: { interface: { name: "eth0" } } }, { ingress: { interface: { name: "eth1", alias: "lan" } } }, { ingress: { zone: "lan", interface: { name: "eth1" } } }, { ingress: { interface: { name: 3 } } }]) {
      const odd = { ...(plain(e) as EcsEvent), observer } as EcsEvent;
      expect(stored(legacyRow(odd)).doc.observer).toEqual(observer);
      legacyRoundTrip(odd);
    }
  });

  it("packs a common event.category/event.type pair into the ~ number, restoring fresh arrays", () => {
    const e = normalize({ raw: "<4>Nov 22 10:00:01 router kernel: ACCEPT IN=eth1 OUT= SRC=45.60.13.78 DST=192.168.1.2 PROTO=TCP SPT=4000 DPT=22", receivedAt: 1_790_000_000_000, transport: "udp" }, DEFAULT_CONTEXT, "k", 0);
    expect(e.event).toMatchObject({ category: ["network"], type: ["connection", "allowed"] });
    const row = stored(legacyRow(e));
    expect(JSON.stringify(row.doc)).not.toContain("category");
    const a = apiEvent(row) as unknown as EcsEvent;
    expect(a.event).toMatchObject({ category: ["network"], type: ["connection", "allowed"] });
    a.event.type!.push("changed");
    expect((apiEvent(row) as unknown as EcsEvent).event.type).toEqual(["connection", "allowed"]);
    // A doc written before the pair was packed (its ~ number below 2^32) still reads back as stored.
    const old = { ...row, doc: { ...row.doc, event: { category: ["network"], type: ["connection", "allowed"] }, [COMPACT_KEY]: (row.doc[COMPACT_KEY] as number) % 2 ** 32 } };
    expect(plain(apiEvent(old))).toEqual(plain(renderTimes(e)));
  });

  it("keeps in the doc the classification fields the stats queries read with SQL (authentication, denied)", () => {
    for (const [category, type] of CLASSES) {
      expect(category).not.toContain("authentication");
      expect(type).not.toContain("denied");
    }
    const drop = normalize({ raw: "<4>Nov 22 10:00:01 router kernel: DROP IN=eth1 OUT= SRC=45.60.13.78 DST=192.168.1.2 PROTO=TCP SPT=4000 DPT=22", receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 0);
    expect(stored(legacyRow(drop)).doc.event).toMatchObject({ type: ["connection", "denied"] });
    const login = normalize({ raw: "<38>Nov 22 10:00:02 nas sshd[46691]: Failed password for root from 45.60.13.78 port 40000 ssh2", receivedAt: 1_790_000_000_000 }, DEFAULT_CONTEXT, "k", 0);
    expect(stored(legacyRow(login)).doc.event).toMatchObject({ category: ["authentication"] });
  });
});
