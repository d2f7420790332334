/**
 * The Store conformance suite: one set of behaviours every backend must show, for every table and
 * every method of the Store. Run against libSQL through @libsql/client on a `file:` database in Node
 * (test/unit/store-conformance.test.ts) and against real D1 in workerd
 * (test/workers/store-conformance.test.ts). Tests do not assume an empty database: each uses its own
 * hosts, ids and keys.
 */
import { describe, expect, it } from "vitest";
import type { EcsEvent } from "../../workers/ecs.ts";
import { lowerBound, newEventId } from "../../workers/parse/id.ts";
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";
import { ipKey, parseCidr } from "../../workers/parse/ip.ts";
import { probeOf } from "../../workers/store/summaries.ts";
import type { Condition } from "../../workers/store/events-query.ts";
import { eventOfRow, eventRow, insertEventStatements, type Store } from "../../workers/store/store.ts";
import type { AlertInput } from "../../workers/store/alerts.ts";
import { rollupsOf } from "../../workers/store/rollups.ts";
import type { RuleDef } from "../../workers/rules/types.ts";
import { D1_MAX_BOUND_PARAMS } from "../../workers/constants.ts";
import { ONLINE_WINDOW_MS, type DeviceWrite, type SessionCondition, type SessionRow, type SessionsQuery } from "../../workers/store/network.ts";
import type { ChannelRecord } from "../../workers/store/notify.ts";
import type { BlackoutCreate } from "../../workers/notify/model.ts";

let seq = 0;
const unique = (p: string) => `${p}-${Date.now().toString(36)}-${(seq++).toString(36)}`;

/** What makeEvent's line says; each field has a default. */
export interface EventSpec {
  srcIp?: string;
  srcPort?: number;
  /** null: a line without a user. */
  user?: string | null;
  /** The syslog MSG (default: an sshd password failure from srcIp:srcPort for user). */
  message?: string;
  /** The whole line, instead of the RFC 5424 line built from the rest. */
  raw?: string;
}

/**
 * An event as ingest makes it, at `ms` for `host`: an RFC 5424 sshd line (event time `ms`, received 5 ms
 * later) through the real normalize(). Stored events are re-derived from `raw` when read, so test events
 * must come from lines, not be assembled by hand.
 */
export function makeEvent(host: string, ms: number, i: number, spec: EventSpec = {}): EcsEvent {
  const user = spec.user === undefined ? (i % 2 ? "root" : "admin") : spec.user;
  const ip = spec.srcIp ?? `203.0.113.${i % 250}`;
  const port = spec.srcPort ?? 40000 + i;
  const message = spec.message ?? (user === null ? `Connection closed by ${ip} port ${port} [preauth]` : `Failed password for ${user} from ${ip} port ${port} ssh2`);
  const raw = spec.raw ?? `<38>1 ${new Date(ms).toISOString()} ${host} sshd 1 - - ${message}`;
  return normalize({ raw, receivedAt: ms + 5 }, DEFAULT_CONTEXT, host, i);
}

export interface BackendQuirks {
  /** False when the backend's client cuts text at a NUL character (the libSQL Node client does; D1 does not). */
  nulInText?: boolean;
}

export function storeConformance(name: string, makeStore: () => Store | Promise<Store>, quirks: BackendQuirks = {}): void {
  describe(`Store conformance (${name})`, () => {
    const T0 = Date.parse("2026-03-01T12:00:00.000Z");

    async function seeded(n: number, extra: (i: number) => EventSpec = () => ({})) {
      const store = await makeStore();
      const host = unique("h");
      const events = Array.from({ length: n }, (_, i) => makeEvent(host, T0 + i * 1000, i, extra(i)));
      const r = await store.insertEvents(events.map(eventRow));
      expect(r.stored).toBe(n);
      const hostCond = { kind: "in" as const, column: "host" as const, values: [host], negate: false };
      return { store, host, events, hostCond };
    }

    it("stores events once (INSERT OR IGNORE) and reads them back exactly", async () => {
      const { store, events } = await seeded(3);
      const again = await store.insertEvents(events.map(eventRow));
      expect(again.stored).toBe(0);
      const got = await store.getEvent(events[1]!.id);
      expect(got).not.toBeNull();
      expect(eventOfRow(got!)).toEqual(events[1]);
      expect(await store.getEvent("0".repeat(26))).toBeNull();
    });

    it("keeps message and raw exact whatever their characters (message sent as a tail length of raw when it can be)", async () => {
      const cases: [string, string][] = [
        ["<13>Nov 22 10:00:00 h app: plain tail", "plain tail"],
        ["<13>Nov 22 10:00:00 h app: accents éàü and 中文 tail", "accents éàü and 中文 tail"],
        ["<13>Nov 22 10:00:00 h app: emoji 🔥 tail", "emoji 🔥 tail"],
        ...(quirks.nulInText === false ? [] : ([["<13>Nov 22 10:00:00 h app: nul \u0000 inside", "nul \u0000 inside"]] as [string, string][])),
        ["🔥 prefix astral, ascii tail", "ascii tail"],
        ["whole line is the message", "whole line is the message"],
        ["message not a suffix", "something else"],
        ["empty message", ""],
      ];
      const store = await makeStore();
      const host = unique("msg");
      // The message column as some parser could set it (message repeated, or a parser's own message).
      const events = cases.map(([raw, message], i) => ({ ...makeEvent(host, T0 + i, i, { raw }), message }));
      expect((await store.insertEvents(events.map(eventRow))).stored).toBe(cases.length);
      for (const e of events) {
        const got = await store.getEvent(e.id);
        expect(got?.raw).toBe(e.raw);
        expect(got?.message).toBe(e.message);
      }
    });

    it("keeps each row's times, sender, transport and labels (offsets and a shared doc list on the wire)", async () => {
      const store = await makeStore();
      const host = unique("wire");
      const senders = ["192.168.1.1", "192.168.1.20", "fd00::7"];
      // Out of order in event time, received over several seconds, from three senders; one with labels.
      const events = Array.from({ length: 12 }, (_, i) => {
        const ms = T0 + ((i * 7) % 12) * 1000 - 5000;
        const raw = `<38>1 ${new Date(ms).toISOString()} ${host} sshd 1 - - Failed password for root from 203.0.113.${i} port 4000 ssh2`;
        const e = normalize({ raw, receivedAt: T0 + i * 333, sourceIp: senders[i % 3]!, transport: i % 2 ? "udp" : "tcp" }, DEFAULT_CONTEXT, host, i);
        if (i === 4) e.labels = { site: "garage" };
        return e;
      });
      const rows = events.map(eventRow);
      const [st] = insertEventStatements(rows);
      // Distinct docs, each sent once: 3 senders × 2 transports, plus the one with labels.
      expect((JSON.parse(st!.params[3] as string) as unknown[]).length).toBe(7);
      expect((await store.insertEvents(rows)).stored).toBe(12);
      for (const e of events) expect(eventOfRow((await store.getEvent(e.id))!)).toEqual(e);
    });

    it("returns newest first, pages with a cursor and bounds time ranges by id", async () => {
      const { store, events, hostCond } = await seeded(10);
      const page1 = await store.queryEvents({ conditions: [hostCond], limit: 4 });
      expect(page1.map((r) => r.id)).toEqual(events.slice(6).reverse().map((e) => e.id));
      const page2 = await store.queryEvents({ conditions: [hostCond], limit: 4, before: page1[3]!.id });
      expect(page2.map((r) => r.id)).toEqual(events.slice(2, 6).reverse().map((e) => e.id));
      const ranged = await store.queryEvents({
        conditions: [hostCond],
        limit: 100,
        fromId: lowerBound(T0 + 3000),
        toId: lowerBound(T0 + 5000 + 1),
      });
      expect(ranged.map((r) => r.ts)).toEqual([T0 + 5000, T0 + 4000, T0 + 3000]);
    });

    it("filters: OR within a field, AND across fields, negation keeps NULLs", async () => {
      const { store, hostCond } = await seeded(6, (i) => (i === 5 ? { user: null } : {}));
      const q = (conditions: any[]) => store.queryEvents({ conditions: [hostCond, ...conditions], limit: 100 });
      expect(await q([{ kind: "in", column: "user", values: ["root"], negate: false }])).toHaveLength(2);
      expect(await q([{ kind: "in", column: "user", values: ["root", "admin"], negate: false }])).toHaveLength(5);
      // not_user=root: the admin events and the one without a user.
      expect(await q([{ kind: "in", column: "user", values: ["root"], negate: true }])).toHaveLength(4);
      expect(
        await q([
          { kind: "in", column: "user", values: ["admin"], negate: false },
          { kind: "range", column: "src_port", ranges: [[40000, 40002]], negate: false },
        ]),
      ).toHaveLength(2);
      expect(await q([{ kind: "in", column: "severity", values: [6], negate: false }])).toHaveLength(6);
    });

    it("matches IPs and CIDRs (IPv4, IPv4-mapped, IPv6) through the key range", async () => {
      const ips = ["10.1.2.3", "10.200.0.1", "::ffff:10.9.9.9", "2001:db8::5", "2001:db9::1", "192.168.1.7"];
      const { store, hostCond } = await seeded(ips.length, (i) => ({ srcIp: ips[i]! }));
      const by = async (cidr: string, negate = false) => {
        const r = parseCidr(cidr)!;
        const rows = await store.queryEvents({ conditions: [hostCond, { kind: "range", column: "src_ip_key", ranges: [[r.lo, r.hi]], negate }], limit: 100 });
        return rows.map((x) => x.src_ip).sort();
      };
      // The parsers write an IPv4-mapped address in its IPv4 form; the key range matches it either way.
      expect(await by("10.0.0.0/8")).toEqual(["10.1.2.3", "10.200.0.1", "10.9.9.9"].sort());
      expect(await by("::ffff:10.0.0.0/104")).toEqual(["10.1.2.3", "10.200.0.1", "10.9.9.9"].sort());
      expect(await by("10.1.2.3")).toEqual(["10.1.2.3"]);
      expect(await by("2001:db8::/32")).toEqual(["2001:db8::5"]);
      expect(await by("10.0.0.0/8", true)).toEqual(["192.168.1.7", "2001:db8::5", "2001:db9::1"].sort());
    });

    it("finds case-insensitive substrings of the message, including long needles", async () => {
      const long = "a needle that is much longer than fifty bytes, which d1 refuses for like patterns";
      const { store, hostCond } = await seeded(3, (i) => ({ message: i === 1 ? `Prefix ${long.toUpperCase()} suffix` : `other ${i} 100%_x` }));
      const q = (values: string[], negate = false) =>
        store.queryEvents({ conditions: [hostCond, { kind: "contains", column: "message", values, negate }], limit: 100 });
      expect(await q([long])).toHaveLength(1);
      // % and _ are not wildcards.
      expect(await q(["100%_x"])).toHaveLength(2);
      expect(await q(["0%_"])).toHaveLength(2);
      expect(await q(["%"])).toHaveLength(2);
      expect(await q([long], true)).toHaveLength(2);
    });

    it("refuses more filter values than D1 can bind", async () => {
      const store = await makeStore();
      const values = Array.from({ length: 200 }, (_, i) => `v${i}`);
      await expect(store.queryEvents({ conditions: [{ kind: "in", column: "host", values, negate: false }], limit: 10 })).rejects.toThrow(/Too many filter values/);
    });

    it("splits large batches into several statements, each parameter under D1's value limit", async () => {
      const host = unique("big");
      const events = Array.from({ length: 1000 }, (_, i) => makeEvent(host, T0 + i, i, { message: "m".repeat(2500) + i }));
      const rows = events.map(eventRow);
      const stmts = insertEventStatements(rows);
      expect(stmts.length).toBeGreaterThan(1);
      for (const s of stmts) expect(new TextEncoder().encode(s.params[0] as string).byteLength).toBeLessThan(2_000_000);
      const store = await makeStore();
      expect((await store.insertEvents(rows)).stored).toBe(1000);
      const got = await store.queryEvents({ conditions: [{ kind: "in", column: "host", values: [host], negate: false }], limit: 5000 });
      expect(got).toHaveLength(1000);
    });

    it("records a batch once, replays its response and counts what it wrote", async () => {
      const store = await makeStore();
      const key = unique("batch");
      expect((await store.ingestPreflight(key)).response).toBeNull();
      const before = await store.counters();
      const response = { accepted: 3, stored: 3, parse_errors: 1, empty: 0, duplicate: false, errors: [], alerts: 0, suppressed: 0, late: 0 };
      const w = await store.recordBatch({
        key,
        receivedAt: T0,
        response,
        counters: { received: 3, stored: 3, parse_errors: 1, empty_lines: 0, rows_written: 3 },
        relay: { name: key, ip: "192.168.1.2", lines: 3, bytes: 120 },
      });
      // batches + relays + 4 non-zero counters (received, stored, parse_errors, rows_written).
      expect(w.rowsWritten).toBe(6);
      expect((await store.ingestPreflight(key)).response).toEqual(response);
      const after = await store.counters();
      expect((after.received ?? 0) - (before.received ?? 0)).toBe(3);
      expect((after.rows_written ?? 0) - (before.rows_written ?? 0)).toBe(3 + 6);
      expect(after.empty_lines ?? 0).toBe(before.empty_lines ?? 0);
      expect((await store.relays()).find((r) => r.name === key)).toMatchObject({ batches: 1, lines: 3, bytes: 120, last_ip: "192.168.1.2" });

      // A pending attempt is reported as such, then completed in place by recordBatch (one row each).
      const key2 = unique("pending");
      await store.markPending(key2, { pending: true, received_at: T0, stored: 2, rows_written: 3 });
      const pre = await store.ingestPreflight(key2);
      expect(pre.response).toBeNull();
      expect(pre.pending).toEqual({ pending: true, received_at: T0, stored: 2, rows_written: 3 });
      const w2 = await store.recordBatch({ key: key2, receivedAt: T0, response, counters: { received: 2 } });
      expect(w2.rowsWritten).toBe(2);
      expect((await store.ingestPreflight(key2)).response).toEqual(response);
    });

    it("counts replayed batches", async () => {
      const store = await makeStore();
      const before = (await store.counters()).duplicate_batches ?? 0;
      await store.countDuplicateBatch();
      await store.countDuplicateBatch();
      expect((await store.counters()).duplicate_batches).toBe(before + 2);
    });

    it("prunes batches received before a time, keeping newer ones", async () => {
      const store = await makeStore();
      const response = { accepted: 1, stored: 1, parse_errors: 0, empty: 0, duplicate: false, errors: [], alerts: 0, suppressed: 0, late: 0 };
      const old = unique("old"), recent = unique("recent");
      await store.recordBatch({ key: old, receivedAt: 1000, response, counters: {} });
      await store.recordBatch({ key: recent, receivedAt: Date.now(), response, counters: {} });
      const r = await store.pruneBatches(Date.now() - 86_400_000);
      expect(r.rowsWritten).toBeGreaterThanOrEqual(1);
      expect((await store.ingestPreflight(old)).response).toBeNull();
      expect((await store.ingestPreflight(recent)).response).toEqual(response);
    });

    it("creates, lists and deletes tokens without exposing hashes", async () => {
      const store = await makeStore();
      const id = unique("tok").replace(/-/g, "").slice(0, 20);
      await store.createToken({ id, name: "relay", scopes: ["ingest"], created_at: T0, last_used_at: null }, "f".repeat(64));
      const listed = (await store.listTokens()).find((t) => t.id === id);
      expect(listed).toEqual({ id, name: "relay", scopes: ["ingest"], created_at: T0, last_used_at: null });
      expect(JSON.stringify(listed)).not.toContain("f".repeat(64));
      expect(await store.deleteToken(id)).toBe(true);
      expect(await store.deleteToken(id)).toBe(false);
    });

    it("keeps extractors and sources, and the settings version changes with them", async () => {
      const store = await makeStore();
      const v0 = await store.settingsVersion();
      const id = unique("x");
      const x = { id, name: "vpn", pattern: "user=(?<vpn_user>\\S+)", program: "openvpn", host: null, enabled: true, created_at: T0, updated_at: Date.now() };
      await store.putExtractor(x);
      const v1 = await store.settingsVersion();
      expect(v1).not.toBe(v0);
      expect(await store.getExtractor(id)).toEqual(x);
      await store.putExtractor({ ...x, pattern: "u=(?<u>\\S+)", updated_at: x.updated_at + 1 });
      expect((await store.getExtractor(id))!.pattern).toBe("u=(?<u>\\S+)");
      expect((await store.listExtractors()).some((e) => e.id === id)).toBe(true);

      const key = `host:${unique("src")}`;
      await store.putSource({ key, timezone: "Europe/Berlin", updated_at: Date.now() + 2 });
      const settings = await store.parseSettings();
      expect(settings.version).toBe(await store.settingsVersion());
      expect(settings.sources.find((s) => s.key === key)?.timezone).toBe("Europe/Berlin");
      expect(settings.extractors.find((e) => e.id === id)?.pattern).toBe("u=(?<u>\\S+)");
      expect(await store.getSource(key)).toMatchObject({ key, timezone: "Europe/Berlin" });
      expect((await store.listSources()).some((s) => s.key === key)).toBe(true);

      const v2 = await store.settingsVersion();
      expect(await store.deleteSource(key)).toBe(true);
      expect(await store.deleteExtractor(id)).toBe(true);
      expect(await store.settingsVersion()).not.toBe(v2);
      expect(await store.getSource(key)).toBeNull();
      expect(await store.deleteExtractor(id)).toBe(false);

      // Ingest caches the retention policy and network settings by this version too: saving either changes it.
      const v3 = await store.settingsVersion();
      await store.putRetentionPolicy([{ dataset: "*", keepMs: 86_400_000 }], Date.now());
      const v4 = await store.settingsVersion();
      expect(v4).not.toBe(v3);
      await store.putRetentionPolicy([], Date.now() + 1);
      expect(await store.settingsVersion()).not.toBe(v4);
      const v5 = await store.settingsVersion();
      await store.writeNetworkSetting(unique("setting"), { on: true }, Date.now());
      expect(await store.settingsVersion()).not.toBe(v5);
    });
    it("reads events by ids and scans an id range in order (getEvents, scanEvents)", async () => {
      const { store, events } = await seeded(5);
      const ids = events.map((e) => e.id);
      expect((await store.getEvents([ids[3]!, ids[1]!, "0".repeat(26), ids[1]!])).map((r) => r.id)).toEqual([ids[1], ids[3]]);
      expect(await store.getEvents([])).toEqual([]);
      const scan = await store.scanEvents(ids[1]!, true, ids[4]!, 100);
      expect(scan.map((r) => r.id).filter((id) => ids.includes(id))).toEqual(ids.slice(1, 4));
      const after = await store.scanEvents(ids[1]!, false, ids[4]!, 100);
      expect(after.map((r) => r.id).filter((id) => ids.includes(id))).toEqual(ids.slice(2, 4));
      expect(eventOfRow((await store.scanEvents(ids[0]!, true, ids[1]!, 1))[0]!)).toEqual(events[0]);
    });

    it("adds to counters outside a batch and limits the relay listing", async () => {
      const store = await makeStore();
      const name = unique("ctr").replace(/-/g, "_");
      await store.addCounters({ [name]: 2 });
      await store.addCounters({ [name]: 3 });
      expect((await store.counters())[name]).toBe(5);
      const response = { accepted: 0, stored: 0, parse_errors: 0, empty: 0, duplicate: false, errors: [], alerts: 0, suppressed: 0, late: 0 };
      for (const i of [1, 2]) await store.recordBatch({ key: unique("rl"), receivedAt: Date.now() + i, response, counters: {}, relay: { name: unique("relay"), ip: null, lines: 1, bytes: 1 } });
      expect(await store.relays(1)).toHaveLength(1);
      expect((await store.relays()).length).toBeGreaterThanOrEqual(2);
    });

    it("finds a token with its hash for bearer checks and records its use", async () => {
      const store = await makeStore();
      const id = unique("tk").replace(/-/g, "").slice(0, 20);
      await store.createToken({ id, name: "cli", scopes: ["read", "ingest"], created_at: T0, last_used_at: null }, "a".repeat(64));
      expect(await store.findToken(id)).toEqual({ token: { id, name: "cli", scopes: ["read", "ingest"], created_at: T0, last_used_at: null }, hash: "a".repeat(64) });
      await store.touchToken(id, T0 + 5);
      expect((await store.findToken(id))!.token.last_used_at).toBe(T0 + 5);
      expect(await store.findToken("nosuchtoken")).toBeNull();
    });

    // --- Alerts

    const firing = (ruleId: string, over: Partial<AlertInput> = {}): AlertInput => ({
      firingId: unique("f"),
      ruleId,
      action: "raise",
      resource: "nas",
      group: { "source.ip": "192.0.2.1" },
      severity: "high",
      title: "t",
      text: "x",
      count: 1,
      eventIds: ["E1"],
      magnitude: 1,
      tags: ["ssh"],
      attributes: {},
      at: T0,
      ...over,
    });

    it("applies firings: one alert per key, duplicates counted, a firing id applied once, concurrent writers both count", async () => {
      const store = await makeStore();
      const rule = unique("r");
      const f1 = firing(rule);
      const first = await store.applyFirings([f1], T0);
      expect(first).toMatchObject({ applied: 1, skipped: 0 });
      const id = first.changed[0]!.id;
      expect(await store.applyFirings([f1], T0)).toMatchObject({ applied: 0, skipped: 1, changed: [] });
      await store.applyFirings([firing(rule, { severity: "critical", eventIds: ["E2"] })], T0 + 1);
      const row = await store.getAlert(id);
      expect(row).toMatchObject({ id, rule_id: rule, duplicate_count: 1, severity: "critical", previous_severity: "high", status: "open", updated_at: T0 + 1 });
      expect(JSON.parse(row!.event_ids)).toEqual(["E1", "E2"]);
      // Two writers at once: the conflict guard makes the loser read again, so both count.
      const again = { severity: "critical" as const };
      await Promise.all([store.applyFirings([firing(rule, again)], T0 + 2), store.applyFirings([firing(rule, again)], T0 + 3)]);
      expect((await store.getAlert(id))!.duplicate_count).toBe(3);
      expect((await store.alertHistory(id)).map((h) => h.action)).toEqual(["create", "severity"]);
      expect(await store.getAlert("al_000000000000000000000000")).toBeNull();
    });

    it("lists alerts with filters and a cursor, runs lifecycle actions and sweeps due ones, deletes", async () => {
      const store = await makeStore();
      const rule = unique("r");
      for (const [i, resource] of ["a", "b", "c"].entries()) await store.applyFirings([firing(rule, { resource, at: T0 + i })], T0);
      const page1 = await store.listAlerts({ rule: [rule], limit: 2 }, T0);
      expect(page1.alerts.map((a) => a.resource)).toEqual(["c", "b"]);
      const { decodeCursor } = await import("../../workers/store/alerts.ts");
      const page2 = await store.listAlerts({ rule: [rule], limit: 2, cursor: decodeCursor(page1.cursor!)! }, T0);
      expect(page2.alerts.map((a) => a.resource)).toEqual(["a"]);
      expect(page2.cursor).toBeNull();
      const [c, b, a] = page1.alerts.concat(page2.alerts);
      expect((await store.transitionAlert(a!.id, "ack", { who: "me" }, T0 + 10)).status).toBe("ok");
      expect(await store.transitionAlert(a!.id, "unshelve" as never, { who: "me" }, T0 + 10).catch(() => "threw")).toBe("threw");
      expect(await store.transitionAlert(a!.id, "ack", { who: "me" }, T0 + 11)).toMatchObject({ status: "conflict" });
      expect(await store.transitionAlert("al_000000000000000000000000", "ack", { who: "me" }, T0)).toEqual({ status: "not_found" });
      const shelved = await store.transitionAlert(b!.id, "shelve", { who: "me", shelveMs: 1000 }, T0 + 10);
      expect(shelved).toMatchObject({ status: "ok", alert: { status: "shelved" } });
      expect((await store.listAlerts({ rule: [rule], status: ["ack", "shelved"], limit: 10 }, T0 + 10)).alerts.map((x) => x.resource).sort()).toEqual(["a", "b"]);
      expect(await store.sweepDueAlerts(T0 + 2000)).toContain(b!.id);
      expect((await store.getAlert(b!.id))!.status).toBe("open");
      expect((await store.alertHistory(b!.id)).map((h) => h.action)).toEqual(["create", "shelve", "unshelve"]);
      expect(await store.deleteAlert(c!.id)).toBe(true);
      expect(await store.deleteAlert(c!.id)).toBe(false);
      expect(await store.alertHistory(c!.id)).toEqual([]);
    });

    // --- Rules

    const ruleDef = (id: string, enabled = true): RuleDef =>
      ({ id, name: "Flood", type: "threshold", enabled, match: { "event.outcome": "failure" }, group_by: ["source.ip"], threshold: 3, window: "60s" }) as unknown as RuleDef;

    it("keeps rules: create once, replace with a bumped version and a strictly later revision, list, delete", async () => {
      const store = await makeStore();
      const id = unique("rule");
      expect(await store.createRule(ruleDef(id), T0)).toBe(true);
      expect(await store.createRule(ruleDef(id), T0)).toBe(false);
      expect(await store.getRule(id)).toEqual({ id, definition: JSON.stringify(ruleDef(id)), enabled: true, version: 1, created_at: T0, updated_at: T0 });
      // Replaced in the same ms: the revision still moves forward.
      await store.putRules([{ ...ruleDef(id), name: "Flood 2" } as RuleDef], T0);
      expect(await store.getRule(id)).toMatchObject({ version: 2, created_at: T0, updated_at: T0 + 1 });
      const off = unique("rule");
      await store.putRules([ruleDef(off, false)], T0);
      expect((await store.listRules()).filter((r) => r.id === id || r.id === off).map((r) => [r.id, r.enabled])).toEqual(
        [[id, true], [off, false]].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      );
      const revisions = await store.enabledRuleRevisions();
      expect(revisions.find((r) => r.id === id)).toEqual({ id, revision: T0 + 1 });
      expect(revisions.some((r) => r.id === off)).toBe(false);
      expect((await store.ruleDefinitions([id, off, "missing"])).map((r) => r.id).sort()).toEqual([id, off].sort());
      expect(JSON.parse((await store.ruleDefinitions([id]))[0]!.definition).name).toBe("Flood 2");
      expect(await store.ruleDefinitions([])).toEqual([]);
      expect(await store.deleteRule(id)).toBe(true);
      expect(await store.deleteRule(id)).toBe(false);
      expect(await store.getRule(id)).toBeNull();
    });

    it("adds only the rules not stored yet (a re-imported pack keeps the user's edits)", async () => {
      const store = await makeStore();
      const kept = unique("rule");
      const fresh = unique("rule");
      expect(await store.addNewRules([], T0)).toEqual([]);
      await store.putRules([{ ...ruleDef(kept), name: "Edited by the user" } as RuleDef], T0);
      expect(await store.addNewRules([ruleDef(kept), ruleDef(fresh)], T0 + 5)).toEqual([fresh]);
      expect(await store.getRule(kept)).toMatchObject({ version: 1, updated_at: T0 });
      expect(JSON.parse((await store.getRule(kept))!.definition).name).toBe("Edited by the user");
      expect(await store.getRule(fresh)).toMatchObject({ version: 1, created_at: T0 + 5 });
    });

    // --- Web sessions

    it("keeps sessions with their token's current scopes, prunes expired ones at login, deletes", async () => {
      const store = await makeStore();
      const tokenId = unique("st").replace(/-/g, "").slice(0, 20);
      await store.createToken({ id: tokenId, name: "phone", scopes: ["read"], created_at: T0, last_used_at: null }, "b".repeat(64));
      const now = Date.now();
      const old = unique("sess-old");
      await store.createSession({ idHash: old, principal: tokenId, scopes: ["read"], csrf: "c0", createdAt: now - 10, expiresAt: now - 1 }, now - 10);
      const live = unique("sess");
      await store.createSession({ idHash: live, principal: tokenId, scopes: ["read"], csrf: "c1", createdAt: now, expiresAt: now + 60_000 }, now);
      expect(await store.getSession(old)).toBeNull(); // pruned by the second login
      expect(await store.getSession(live)).toEqual({ idHash: live, principal: tokenId, scopes: ["read"], csrf: "c1", createdAt: now, expiresAt: now + 60_000, token: { name: "phone", scopes: ["read"] } });
      await store.deleteToken(tokenId);
      expect((await store.getSession(live))!.token).toBeNull();
      await store.deleteSession(live);
      expect(await store.getSession(live)).toBeNull();
    });

    it("counts login attempts per address in fixed windows and clears them", async () => {
      const store = await makeStore();
      const ip = unique("ip");
      expect(await store.countLoginAttempt(ip, T0, 60_000)).toEqual({ count: 1, windowStart: T0 });
      expect(await store.countLoginAttempt(ip, T0 + 10, 60_000)).toEqual({ count: 2, windowStart: T0 });
      expect(await store.countLoginAttempt(ip, T0 + 60_000, 60_000)).toEqual({ count: 1, windowStart: T0 + 60_000 });
      await store.clearLoginAttempts(ip);
      expect(await store.countLoginAttempt(ip, T0 + 60_001, 60_000)).toEqual({ count: 1, windowStart: T0 + 60_001 });
    });

    // --- Network visibility (devices, flow sessions, network settings)

    /** A flow_sessions row of `device` on `router`; `i` orders ids within `prefix`. */
    function flow(prefix: string, i: number, router: string, device: string | null, over: Partial<SessionRow> = {}): SessionRow {
      return {
        id: `${prefix}-${String(i).padStart(4, "0")}`, start: T0 + i * 60_000, end: T0 + i * 60_000 + 5_000, router, zone: 0, transport: "tcp",
        src_ip: "192.168.1.20", dst_ip: "198.51.100.7", src_ip_key: "00000000000000000000ffffc0a80114", dst_ip_key: "00000000000000000000ffffc6336407",
        src_port: 50000 + i, dst_port: 443, src_bytes: 100 * (i + 1), src_packets: 2, dst_bytes: 1000 * (i + 1), dst_packets: 3, device_id: device,
        src_country: null, src_asn: null, src_org: null, dst_country: "DE", dst_asn: 3320, dst_org: "DTAG", dst_domain: "example.com", end_reason: "destroy",
        ...over,
      };
    }

    function device(id: string, router: string, over: Partial<DeviceWrite> = {}): DeviceWrite {
      return { id, router, mac: null, macs: [], ips: ["192.168.1.20"], hostname: null, client_id: null, vendor: null, randomized: false, first_seen: T0, last_seen: T0, left: false, learned: false, ...over };
    }

    it("writes devices, sessions and folds in one call; upserts keep the user's name and tags, a fold moves sessions and user fields", async () => {
      const store = await makeStore();
      const router = unique("rt");
      const mac = unique("dev-mac"), ipOnly = unique("dev-ip");
      const prefix = unique("fs");
      await store.writeNetwork({
        devices: [device(mac, router, { mac: "aa:bb:cc:00:00:01", macs: ["aa:bb:cc:00:00:01"], hostname: "laptop", vendor: "Acme", randomized: true }), device(ipOnly, router)],
        sessions: [flow(prefix, 0, router, ipOnly), flow(prefix, 1, router, mac)],
        folds: [],
      });
      const now = T0 + 60_000;
      expect(await store.getDevice(mac, now)).toEqual({
        id: mac, mac: "aa:bb:cc:00:00:01", ips: ["192.168.1.20"], hostname: "laptop", vendor: "Acme", name: null, tags: [], randomized_mac: true,
        first_seen: new Date(T0).toISOString(), last_seen: new Date(T0).toISOString(), online: true, macs: ["aa:bb:cc:00:00:01"], router, learned: false,
      });
      expect((await store.getDevice(mac, T0 + ONLINE_WINDOW_MS + 1))!.online).toBe(false);
      expect(await store.getDevice(unique("none"), now)).toBeNull();

      // The API's columns: name and tags only; an empty patch reads the device back.
      expect(await store.patchDevice(mac, { name: "work laptop" }, now)).toMatchObject({ name: "work laptop", tags: [] });
      expect(await store.patchDevice(ipOnly, { tags: ["iot"] }, now)).toMatchObject({ name: null, tags: ["iot"] });
      expect(await store.patchDevice(ipOnly, {}, now)).toMatchObject({ id: ipOnly, tags: ["iot"] });
      expect(await store.patchDevice(unique("none"), { name: "x" }, now)).toBeNull();

      // An object's upsert: first_seen only moves back, last_seen only forward, name and tags untouched; a session id is stored once.
      await store.writeNetwork({
        devices: [device(mac, router, { mac: "aa:bb:cc:00:00:01", macs: ["aa:bb:cc:00:00:01"], hostname: "laptop-2", first_seen: T0 + 5, last_seen: T0 - 5, left: true })],
        sessions: [flow(prefix, 1, router, mac, { src_bytes: 999_999 })],
        folds: [],
      });
      expect(await store.getDevice(mac, now)).toMatchObject({ name: "work laptop", tags: [], hostname: "laptop-2", first_seen: new Date(T0).toISOString(), last_seen: new Date(T0).toISOString(), online: false });
      const mine = (q: Partial<SessionsQuery> = {}) => store.querySessions({ conditions: [{ kind: "in", columns: ["router"], values: [router] }], limit: 100, ...q });
      expect((await mine()).map((s) => [s.id, s.src_bytes])).toEqual([[`${prefix}-0001`, 200], [`${prefix}-0000`, 100]]);

      // Fold the IP-only device into the MAC device: its session moves, its tags fill the target's empty tags (the target's name stays).
      await store.writeNetwork({ devices: [], sessions: [], folds: [{ from: ipOnly, to: mac }] });
      expect(await store.getDevice(ipOnly, now)).toBeNull();
      expect(await store.getDevice(mac, now)).toMatchObject({ name: "work laptop", tags: ["iot"] });
      expect((await mine()).map((s) => s.device_id)).toEqual([mac, mac]);
      const listed = (await store.listDevices(now)).filter((d) => d.router === router);
      expect(listed.map((d) => d.id)).toEqual([mac]);
    });

    it("queries sessions newest first within id bounds, with value, range and domain filters, and refuses too many values", async () => {
      const store = await makeStore();
      const router = unique("rt");
      const prefix = unique("fs");
      await store.writeNetwork({
        devices: [],
        sessions: [
          flow(prefix, 0, router, null, { dst_domain: "example.com", dst_port: 443 }),
          flow(prefix, 1, router, null, { dst_domain: "cdn.example.com", dst_port: 80 }),
          flow(prefix, 2, router, null, { dst_domain: "badexample.com", dst_port: 8443, transport: "udp" }),
          flow(prefix, 3, router, null, { dst_domain: null, dst_port: 53, transport: "udp" }),
        ],
        folds: [],
      });
      const onRouter: SessionCondition = { kind: "in", columns: ["router"], values: [router] };
      const ids = (rows: SessionRow[]) => rows.map((r) => Number(r.id.slice(-4)));
      const q = (conditions: SessionCondition[], extra: Partial<SessionsQuery> = {}) => store.querySessions({ conditions: [onRouter, ...conditions], limit: 100, ...extra }).then(ids);
      expect(await q([])).toEqual([3, 2, 1, 0]);
      expect(await q([{ kind: "domain", values: ["example.com"] }])).toEqual([1, 0]);
      expect(await q([{ kind: "range", columns: ["dst_port"], ranges: [[80, 443]] }])).toEqual([1, 0]);
      expect(await q([{ kind: "in", columns: ["transport"], values: ["udp"] }, { kind: "in", columns: ["src_port", "dst_port"], values: [53] }])).toEqual([3]);
      expect(await q([], { fromId: `${prefix}-0001`, toId: `${prefix}-0003` })).toEqual([2, 1]);
      expect(await q([], { before: `${prefix}-0002`, limit: 1 })).toEqual([1]);
      // The session row comes back as stored.
      const [row] = await store.querySessions({ conditions: [onRouter], limit: 1 });
      expect(row).toEqual(flow(prefix, 3, router, null, { dst_domain: null, dst_port: 53, transport: "udp" }));
      const many = Array.from({ length: D1_MAX_BOUND_PARAMS }, (_, i) => i);
      await expect(store.querySessions({ conditions: [{ kind: "in", columns: ["dst_port"], values: many }], limit: 1 })).rejects.toThrow(/Too many filter values/);
    });

    it("aggregates a device's destinations, a destination's talkers and a device's hourly bytes from a lower id bound", async () => {
      const store = await makeStore();
      const router = unique("rt");
      const prefix = unique("fs");
      const a = unique("dev-a"), b = unique("dev-b");
      const domain = `${unique("d")}.example`;
      await store.writeNetwork({
        devices: [device(a, router), device(b, router)],
        sessions: [
          flow(prefix, 0, router, a, { dst_domain: domain, dst_country: "US", dst_port: 443, src_bytes: 10, dst_bytes: 20 }),
          flow(prefix, 1, router, a, { dst_domain: `www.${domain}`, dst_country: "US", dst_port: 443, src_bytes: 30, dst_bytes: 40 }),
          flow(prefix, 61, router, a, { dst_domain: "other.example", dst_country: "FR", dst_port: 22, src_bytes: 1, dst_bytes: null }),
          flow(prefix, 2, router, b, { dst_domain: domain, dst_country: "US", dst_port: 443, src_bytes: 500, dst_bytes: 500 }),
        ],
        folds: [],
      });
      const iso = (ms: number) => new Date(ms).toISOString();
      expect(await store.deviceDestinations(a, "country", prefix, 10)).toEqual([
        { key: "US", sessions: 2, bytes_out: 40, bytes_in: 60, first_seen: iso(T0), last_seen: iso(T0 + 65_000) },
        { key: "FR", sessions: 1, bytes_out: 1, bytes_in: 0, first_seen: iso(T0 + 61 * 60_000), last_seen: iso(T0 + 61 * 60_000 + 5_000) },
      ]);
      expect((await store.deviceDestinations(a, "port", prefix, 1)).map((x) => x.key)).toEqual([443]);
      expect((await store.deviceDestinations(a, "country", `${prefix}-0001`, 10)).map((x) => [x.key, x.sessions])).toEqual([["US", 1], ["FR", 1]]);
      // A domain matches its subdomains: device a talked to it twice (once via www.), b once with more bytes.
      expect((await store.destinationTalkers("domain", domain, prefix, 10)).map((t) => [t.device, t.key, t.sessions, t.bytes_out + t.bytes_in])).toEqual([[b, domain, 1, 1000], [a, domain, 2, 100]]);
      expect((await store.destinationTalkers("domain", domain, prefix, 1)).map((t) => t.device)).toEqual([b]);
      const hours = [
        { hour: Math.floor(T0 / 3_600_000) * 3_600_000, bytes_out: 40, bytes_in: 60, sessions: 2 },
        { hour: Math.floor((T0 + 61 * 60_000) / 3_600_000) * 3_600_000, bytes_out: 1, bytes_in: 0, sessions: 1 },
      ];
      expect(await store.deviceHourly(a, T0)).toEqual(hours);
      expect(await store.deviceHourly(a, T0 + 61 * 60_000)).toEqual(hours.slice(1));
    });

    it("keeps a device's hourly bytes once per session (a retried write adds nothing), through folds and after the sessions expire", async () => {
      const store = await makeStore();
      const router = unique("rt");
      const prefix = unique("fh");
      const ip = unique("dev-ip"), mac = unique("dev-mac");
      const H = Math.floor(T0 / 3_600_000) * 3_600_000;
      // Session ids as the objects make them (time-sortable by start), so the sweep finds them.
      const ids = [0, 1, 2].map((i) => newEventId(T0 + i * 60_000));
      const write = { devices: [device(ip, router), device(mac, router)], sessions: [flow(prefix, 0, router, ip, { id: ids[0]!, src_bytes: 7, dst_bytes: 3 }), flow(prefix, 1, router, mac, { id: ids[1]!, src_bytes: 100, dst_bytes: 1 })], folds: [] };
      await store.writeNetwork(write);
      await store.writeNetwork(write); // the outbox's retry: the sessions exist, nothing is added
      expect(await store.deviceHourly(ip, T0)).toEqual([{ hour: H, bytes_out: 7, bytes_in: 3, sessions: 1 }]);
      // The IP-only device folds into the MAC device: its hours are added to the target's.
      await store.writeNetwork({ devices: [], sessions: [flow(prefix, 2, router, ip, { id: ids[2]!, src_bytes: 1, dst_bytes: 1 })], folds: [{ from: ip, to: mac }] });
      expect(await store.deviceHourly(ip, T0)).toEqual([]);
      expect(await store.deviceHourly(mac, T0)).toEqual([{ hour: H, bytes_out: 108, bytes_in: 5, sessions: 3 }]);
      // Retention deletes the sessions; the hours stay.
      const onRouter: SessionCondition = { kind: "in", columns: ["router"], values: [router] };
      expect(await store.querySessions({ conditions: [onRouter], limit: 10 })).toHaveLength(3);
      const keepMs = 86_400_000 + (seq % 1000); // a cursor of its own
      for (let i = 0; i < 50; i++) {
        const c = await store.sweepRetentionChunk({ table: "flow_sessions", keepMs, horizonMs: T0 + 3_600_000 * 3, datasets: [], others: true, exclude: [], scanRows: 1000, now: T0 });
        if (c.done) break;
      }
      expect(await store.querySessions({ conditions: [onRouter], limit: 10 })).toHaveLength(0);
      expect(await store.deviceHourly(mac, T0)).toEqual([{ hour: H, bytes_out: 108, bytes_in: 5, sessions: 3 }]);
    });

    it("keeps network settings as JSON values, replaced on write", async () => {
      const store = await makeStore();
      const key = unique("ns");
      expect(await store.readNetworkSetting(key)).toBeUndefined();
      await store.writeNetworkSetting(key, { timeouts: { tcp: 600 }, storage: { gw: "sessions" } }, T0);
      expect(await store.readNetworkSetting(key)).toEqual({ timeouts: { tcp: 600 }, storage: { gw: "sessions" } });
      await store.writeNetworkSetting(key, { storage: {} }, T0 + 1);
      expect(await store.readNetworkSetting(key)).toEqual({ storage: {} });
    });

    // --- Notifications (the store holds secrets sealed; it never sees a key)

    function channelRec(over: Partial<ChannelRecord> = {}): ChannelRecord {
      return {
        name: "phone", type: "ntfy", enabled: true, config: { url: "https://ntfy.sh", topic: "t" }, secrets: "v1.sealed-text", filter: { min_severity: "high", rules: ["r1"], tags: [] },
        repeatMs: 3_600_000, onClose: true, blackoutDigest: false, dailyDigest: { at: "08:00", timezone: "Europe/Berlin" }, ...over,
      };
    }

    it("keeps channels: create with a fresh id, update all but the type, list in order and enabled by id, delete with its subscriptions", async () => {
      const store = await makeStore();
      const a = await store.createChannel(channelRec(), T0);
      expect(a).toEqual({ id: expect.stringMatching(/^ch_[0-9a-f]{18}$/), ...channelRec(), createdAt: T0, updatedAt: T0 });
      const b = await store.createChannel(channelRec({ name: "hook", type: "webhook", enabled: false, secrets: null, repeatMs: null, dailyDigest: null }), T0 + 1);
      expect(await store.getChannel(b.id)).toEqual(b);
      expect(await store.getChannel("ch_000000000000000000")).toBeNull();

      const next = channelRec({ name: "phone 2", enabled: false, config: { url: "https://ntfy.example", topic: "u" }, secrets: null, filter: { rules: [], tags: ["home"] }, repeatMs: null, onClose: false, blackoutDigest: true, dailyDigest: null });
      expect(await store.updateChannel(a.id, next, T0 + 5)).toEqual({ id: a.id, ...next, createdAt: T0, updatedAt: T0 + 5 });
      expect(await store.updateChannel(a.id, { ...next, type: "telegram" }, T0 + 6)).toBeNull(); // the type never changes
      expect(await store.updateChannel("ch_000000000000000000", next, T0 + 6)).toBeNull();
      await store.updateChannel(a.id, { ...next, enabled: true }, T0 + 7);

      const listed = (await store.listChannels()).filter((c) => c.id === a.id || c.id === b.id).map((c) => c.id);
      expect(listed).toEqual([a.id, b.id]); // by creation
      const enabled = (await store.listEnabledChannels()).map((c) => c.id);
      expect(enabled).toContain(a.id);
      expect(enabled).not.toContain(b.id);
      expect(enabled).toEqual([...enabled].sort());

      await store.addPushSubscription(a.id, "v1.sub", unique("eh"), T0);
      expect(await store.deleteChannel(a.id)).toBe(true);
      expect(await store.countPushSubscriptions(a.id)).toBe(0);
      expect(await store.getChannel(a.id)).toBeNull();
      expect(await store.deleteChannel(a.id)).toBe(false);
      expect(await store.deleteChannel(b.id)).toBe(true);
    });

    it("keeps push subscriptions sealed, one per endpoint, and deletes them", async () => {
      const store = await makeStore();
      const ch = await store.createChannel(channelRec({ type: "webpush", config: {}, secrets: null }), T0);
      const h1 = unique("eh"), h2 = unique("eh");
      const first = await store.addPushSubscription(ch.id, "v1.first", h1, T0);
      expect(first).toMatch(/^ps_[0-9a-f]{18}$/);
      const again = await store.addPushSubscription(ch.id, "v1.again", h1, T0 + 1); // same endpoint: replaces
      const other = await store.addPushSubscription(ch.id, "v1.other", h2, T0 + 2);
      expect(await store.countPushSubscriptions(ch.id)).toBe(2);
      expect(await store.pushSubscriptions(ch.id)).toEqual([{ id: again, sealed: "v1.again" }, { id: other, sealed: "v1.other" }].sort((x, y) => (x.id < y.id ? -1 : 1)));
      expect(await store.deletePushSubscription(again)).toBe(true);
      expect(await store.deletePushSubscription(again)).toBe(false);
      expect(await store.pushSubscriptions(ch.id)).toEqual([{ id: other, sealed: "v1.other" }]);
      expect(await store.deleteChannel(ch.id)).toBe(true);
    });

    it("keeps blackouts (one-off and recurring) and deletes them", async () => {
      const store = await makeStore();
      const once: BlackoutCreate = { name: unique("maint"), filter: { channels: [], rules: ["r1"], tags: [] }, start: T0, end: T0 + 3_600_000 };
      const nightly: BlackoutCreate = { name: unique("night"), filter: { channels: [], rules: [], tags: [] }, days: ["mon", "tue"], from: "22:00", to: "06:00", timezone: "Europe/Berlin" };
      const a = await store.createBlackout(once, T0);
      const b = await store.createBlackout(nightly, T0 + 1);
      expect(a).toEqual({ id: expect.stringMatching(/^bo_[0-9a-f]{18}$/), ...once });
      expect(await store.getBlackout(b.id)).toEqual({ id: b.id, ...nightly });
      expect((await store.listBlackouts()).filter((x) => x.id === a.id || x.id === b.id)).toEqual([a, b]);
      expect(await store.deleteBlackout(a.id)).toBe(true);
      expect(await store.deleteBlackout(a.id)).toBe(false);
      expect(await store.getBlackout(a.id)).toBeNull();
      expect(await store.deleteBlackout(b.id)).toBe(true);
    });

    it("uses an action nonce once, and prunes expired uses on the way", async () => {
      const store = await makeStore();
      const nonce = unique("n");
      expect(await store.useActionNonce(nonce, "alert-1", T0 + 1000, T0)).toBe(true);
      expect(await store.useActionNonce(nonce, "alert-1", T0 + 1000, T0 + 500)).toBe(false);
      // Once expired, the record is pruned by the next use (the route refuses expired links before asking).
      expect(await store.useActionNonce(unique("n"), "alert-2", T0 + 5000, T0 + 1001)).toBe(true);
      expect(await store.useActionNonce(nonce, "alert-1", T0 + 5000, T0 + 1002)).toBe(true);
    });

    // --- Heartbeats

    it("keeps the heartbeats listing: upserts never move last_beat back, deletes by name or source", async () => {
      const store = await makeStore();
      const source = unique("hb-rule");
      await store.putHeartbeats([
        { source, name: "nas", timeoutMs: 3_600_000, lastBeat: T0 + 5, deadline: T0 + 3_600_005, state: "ok" },
        { source, name: "pi", timeoutMs: 3_600_000, lastBeat: null, deadline: null, state: "ok" },
      ], T0);
      await store.putHeartbeats([{ source, name: "nas", timeoutMs: 7_200_000, lastBeat: T0, deadline: T0 + 7_200_000, state: "late" }], T0 + 1);
      const mine = () => store.listHeartbeats().then((all) => all.filter((h) => h.source === source));
      expect(await mine()).toEqual([
        { source, name: "nas", timeoutMs: 7_200_000, lastBeat: T0 + 5, deadline: T0 + 7_200_000, state: "late", updatedAt: T0 + 1 },
        { source, name: "pi", timeoutMs: 3_600_000, lastBeat: null, deadline: null, state: "ok", updatedAt: T0 },
      ]);
      expect(await store.deleteHeartbeats(source, "pi")).toBe(1);
      expect(await store.deleteHeartbeats(source, "pi")).toBe(0);
      expect(await store.deleteHeartbeats(source)).toBe(1);
      expect(await mine()).toEqual([]);
    });

    // --- Clock skew

    it("samples (host, @timestamp - received_at) of the most recent events stamped in a range, by id", async () => {
      const store = await makeStore();
      const host = unique("skew");
      const B0 = Date.parse("2002-03-04T05:00:00.000Z") + (seq % 1000) * 3_600_000;
      const events = Array.from({ length: 3 }, (_, i) => makeEvent(host, B0 + i * 1000, i));
      await store.insertEvents(events.map(eventRow)); // makeEvent receives each line 5 ms after its time
      const got = (await store.clockSamples(B0, B0 + 60_000, 100)).filter((s) => s.host === host);
      expect(got.map((s) => s.skew)).toEqual([-5, -5, -5]);
      expect((await store.clockSamples(B0 + 1500, B0 + 60_000, 100)).filter((s) => s.host === host)).toHaveLength(1);
    });

    // --- Address lists

    it("stores address lists whole, versions them strictly increasing, chunks large ones, deletes them", async () => {
      const store = await makeStore();
      const name = unique("list");
      const a = await store.putList(name, ["10.0.0.0/8", "192.0.2.1"], T0);
      expect(a).toEqual({ name, count: 2, updated_at: T0 });
      const b = await store.putList(name, ["2001:db8::/32"], T0); // same ms: the version still moves on
      expect(b.updated_at).toBe(T0 + 1);
      expect(await store.getListEntries(name)).toEqual(["2001:db8::/32"]);
      expect(await store.getListMeta(name)).toEqual(b);
      const big = Array.from({ length: 120_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
      await store.putList(name, big, T0 + 5);
      expect(await store.getListEntries(name)).toEqual(big);
      expect((await store.listVersions([name, unique("none")])).map((m) => [m.name, m.count])).toEqual([[name, big.length]]);
      expect((await store.listLists()).some((m) => m.name === name)).toBe(true);
      expect(await store.deleteList(name)).toBe(true);
      expect(await store.deleteList(name)).toBe(false);
      expect(await store.getListMeta(name)).toBeNull();
      expect(await store.getListEntries(name)).toEqual([]);
    });

    // --- Stats

    it("counts the overview: events per hour and dataset, failed logins, alerts per day, top sources", async () => {
      const store = await makeStore();
      // An hour of its own (year 2001): other tests' rows fall in other buckets.
      const H0 = Date.parse("2001-02-03T04:00:00.000Z") + (seq % 1000) * 3_600_000;
      const host = unique("st");
      const events = Array.from({ length: 4 }, (_, i) => makeEvent(host, H0 + i * 1000, i));
      await store.insertEvents(events.map(eventRow));
      await store.applyFirings([firing(unique("r"), { at: H0 + 1 })], H0);
      const c = await store.overviewCounts(H0);
      const dataset = eventRow(events[0]!).dataset;
      expect(c.eventsPerHour.find((r) => r.hour === H0 && r.dataset === dataset)?.n).toBe(4);
      expect(c.failedLoginsPerHour.find((r) => r.hour === H0)?.n).toBe(4); // sshd "Failed password" lines
      expect(c.alertsPerDay.find((r) => r.day === Math.floor(H0 / 86_400_000) * 86_400_000)?.n).toBeGreaterThanOrEqual(1);
      expect(c.topBlocked.length).toBeLessThanOrEqual(10);
      for (let i = 1; i < c.topBlocked.length; i++) expect(c.topBlocked[i]!.n).toBeLessThanOrEqual(c.topBlocked[i - 1]!.n);
    });

    it("keeps a retention policy and sweeps expired events of chosen datasets in bounded, resumable chunks", async () => {
      const store = await makeStore();
      await store.putRetentionPolicy([{ dataset: "*", keepMs: 30 * 86_400_000 }, { dataset: "iptables", keepMs: 7 * 86_400_000 }], T0);
      expect(await store.retentionPolicy()).toEqual([{ dataset: "*", keepMs: 30 * 86_400_000 }, { dataset: "iptables", keepMs: 7 * 86_400_000 }]);

      // Events far in the past (no other test's events are this old): 10 sshd, 10 iptables, 5 dnsmasq
      // before the horizon, 3 iptables after it.
      const base = Date.parse("2001-01-01T00:00:00.000Z") + Math.floor(Math.random() * 1e9);
      const host = unique("ret");
      const fw = (ms: number) => `<4>1 ${new Date(ms).toISOString()} ${host} kernel - - - DROP IN=eth0 OUT= SRC=203.0.113.9 DST=192.0.2.1 PROTO=TCP SPT=1 DPT=22`;
      const dns = (ms: number) => `<30>1 ${new Date(ms).toISOString()} ${host} dnsmasq 1 - - query[A] example.com from 192.168.1.5`;
      const evs = [
        ...Array.from({ length: 10 }, (_, i) => makeEvent(host, base + i * 3000, i)),
        ...Array.from({ length: 10 }, (_, i) => makeEvent(host, base + i * 3000 + 1000, 100 + i, { raw: fw(base + i * 3000 + 1000) })),
        ...Array.from({ length: 5 }, (_, i) => makeEvent(host, base + i * 3000 + 2000, 200 + i, { raw: dns(base + i * 3000 + 2000) })),
      ];
      const horizon = base + 60_000;
      const late = Array.from({ length: 3 }, (_, i) => makeEvent(host, horizon + i, 300 + i, { raw: fw(horizon + i) }));
      expect((await store.insertEvents([...evs, ...late].map(eventRow))).stored).toBe(28);
      const remaining = async () => {
        const rows = await store.scanEvents(lowerBound(base), true, lowerBound(horizon + 1000), 1000);
        const by: Record<string, number> = {};
        for (const r of rows) by[r.dataset] = (by[r.dataset] ?? 0) + 1;
        return by;
      };
      expect(await remaining()).toEqual({ sshd: 10, iptables: 13, dnsmasq: 5 });

      // iptables only, 7 rows scanned per chunk: 25 rows before the horizon take 4 chunks, the last one done.
      const keepA = 1000 + Math.floor(Math.random() * 1e9);
      const chunks = [];
      for (let i = 0; i < 10; i++) {
        const c = await store.sweepRetentionChunk({ table: "events", keepMs: keepA, horizonMs: horizon, datasets: ["iptables"], others: false, exclude: [], scanRows: 7, now: T0 });
        chunks.push(c);
        expect(c.scanned).toBeLessThanOrEqual(7);
        if (c.done) break;
      }
      expect(chunks.length).toBe(4);
      expect(chunks.reduce((n, c) => n + (c.deleted.iptables ?? 0), 0)).toBe(10);
      expect(chunks.every((c) => Object.keys(c.deleted).every((d) => d === "iptables"))).toBe(true);
      expect(chunks.reduce((n, c) => n + c.rowsWritten, 0)).toBeGreaterThanOrEqual(10);
      expect(await remaining()).toEqual({ sshd: 10, iptables: 3, dnsmasq: 5 });
      // Resumed from the cursor: nothing left to read behind it.
      const again = await store.sweepRetentionChunk({ table: "events", keepMs: keepA, horizonMs: horizon, datasets: ["iptables"], others: false, exclude: [], scanRows: 7, now: T0 });
      expect(again).toMatchObject({ scanned: 0, deleted: {}, done: true });

      // Rows that arrive in order (newer than every cursor) leave no late mark: the next chunk reads nothing.
      const fresh1 = makeEvent(host, horizon + 5000, 400, { raw: fw(horizon + 5000) });
      expect((await store.insertEvents([fresh1].map(eventRow))).stored).toBe(1);
      expect(await store.sweepRetentionChunk({ table: "events", keepMs: keepA, horizonMs: horizon, datasets: ["iptables"], others: false, exclude: [], scanRows: 7, now: T0 })).toMatchObject({ scanned: 0, done: true });
      // Late rows (behind the cursor) leave a mark: the sweep goes back for them, deleting only the expired ones.
      const lateRows = [base + 500, base + 1500].map((ms, i) => makeEvent(host, ms, 500 + i, { raw: fw(ms) }));
      expect((await store.insertEvents(lateRows.map(eventRow))).stored).toBe(2);
      let lateDeleted = 0;
      for (let i = 0; i < 10; i++) {
        const c = await store.sweepRetentionChunk({ table: "events", keepMs: keepA, horizonMs: horizon, datasets: ["iptables"], others: false, exclude: [], scanRows: 7, now: T0 });
        lateDeleted += c.deleted.iptables ?? 0;
        if (c.done) break;
      }
      expect(lateDeleted).toBe(2);
      // A batch mixing one old row (a wrong clock) with fresh ones marks only the old row's range: one row read, not the whole way to the cursor.
      const wall = Date.now();
      const mixed = [makeEvent(host, base + 700, 600, { raw: fw(base + 700) }), makeEvent(host, wall - 60_000, 601, { raw: fw(wall - 60_000) })];
      expect((await store.insertEvents(mixed.map(eventRow))).stored).toBe(2);
      expect(await store.sweepRetentionChunk({ table: "events", keepMs: keepA, horizonMs: horizon, datasets: ["iptables"], others: false, exclude: [], scanRows: 7, now: T0 })).toMatchObject({ scanned: 1, deleted: { iptables: 1 }, done: false });
      expect(await store.sweepRetentionChunk({ table: "events", keepMs: keepA, horizonMs: horizon, datasets: ["iptables"], others: false, exclude: [], scanRows: 7, now: T0 })).toMatchObject({ scanned: 0, done: true });
      expect(await remaining()).toEqual({ sshd: 10, iptables: 3, dnsmasq: 5 });
      expect((await store.scanEvents(lowerBound(horizon + 5000), true, lowerBound(horizon + 5001), 10)).map((r) => r.id)).toEqual([eventRow(fresh1).id]);

      // The default period: every dataset except those named elsewhere (sshd here).
      const keepB = keepA + 1;
      let deleted: Record<string, number> = {};
      for (let i = 0; i < 10; i++) {
        const c = await store.sweepRetentionChunk({ table: "events", keepMs: keepB, horizonMs: horizon, datasets: [], others: true, exclude: ["sshd"], scanRows: 100, now: T0 });
        for (const [d, n] of Object.entries(c.deleted)) deleted[d] = (deleted[d] ?? 0) + n;
        if (c.done) break;
      }
      expect(deleted).toEqual({ dnsmasq: 5 });
      expect(await remaining()).toEqual({ sshd: 10, iptables: 3 });

      // Saving the policy drops the cursors: a period's sweep starts again from the beginning.
      await store.putRetentionPolicy([], T0);
      expect(await store.retentionPolicy()).toEqual([]);
      const fresh = await store.sweepRetentionChunk({ table: "events", keepMs: keepA, horizonMs: horizon, datasets: ["sshd"], others: false, exclude: [], scanRows: 1000, now: T0 });
      expect(fresh.deleted).toEqual({ sshd: 10 });
      expect(await remaining()).toEqual({ iptables: 3 });
      // Rows put back from the archive are not marked late: they stay until the policy is next saved; others behind the cursor go.
      const restored = makeEvent(host, base + 800, 700);
      const lateOne = makeEvent(host, base + 900, 701);
      expect((await store.insertEvents([eventRow(restored)], { restored: true })).stored).toBe(1);
      expect((await store.insertEvents([eventRow(lateOne)])).stored).toBe(1);
      let restoredSweep: Record<string, number> = {};
      for (let i = 0; i < 10; i++) {
        const c = await store.sweepRetentionChunk({ table: "events", keepMs: keepA, horizonMs: horizon, datasets: ["sshd"], others: false, exclude: [], scanRows: 1000, now: T0 });
        for (const [d, n] of Object.entries(c.deleted)) restoredSweep[d] = (restoredSweep[d] ?? 0) + n;
        if (c.done) break;
      }
      expect(restoredSweep).toEqual({ sshd: 1 });
      expect((await store.getEvents([eventRow(restored).id, eventRow(lateOne).id])).map((r) => r.id)).toEqual([eventRow(restored).id]);
    });

    it("sweeps expired flow sessions by start time in chunks, also those written after the sweep passed their start", async () => {
      const store = await makeStore();
      const router = unique("rt-ret");
      // Session ids as the objects make them (time-sortable by start), in 2001: no other test's sessions are this old.
      const base = Date.parse("2001-06-01T00:00:00.000Z") + Math.floor(Math.random() * 1e9);
      const horizon = base + 60_000;
      const at = (ms: number, i: number) => flow("x", i, router, null, { id: newEventId(ms), start: ms, end: ms + 1000 });
      await store.writeNetwork({ devices: [], sessions: [0, 1, 2].map((i) => at(base + i * 1000, i)).concat([at(horizon + 1, 3), at(horizon + 2, 4)]), folds: [] });
      const mine = async () => (await store.querySessions({ conditions: [{ kind: "in", columns: ["router"], values: [router] }], limit: 100 })).map((r) => r.src_port! - 50000).sort();
      expect(await mine()).toEqual([0, 1, 2, 3, 4]);
      const keep = 1000 + Math.floor(Math.random() * 1e9);
      const sweep = async () => {
        let n = 0;
        for (let i = 0; i < 10; i++) {
          const c = await store.sweepRetentionChunk({ table: "flow_sessions", keepMs: keep, horizonMs: horizon, datasets: [], others: true, exclude: [], scanRows: 2, now: T0 });
          expect(c.scanned).toBeLessThanOrEqual(2);
          n += c.deleted.flow_sessions ?? 0;
          if (c.done) break;
        }
        return n;
      };
      expect(await sweep()).toBe(3);
      expect(await mine()).toEqual([3, 4]);
      // A long session is written when it ends: its start is behind the cursor, and the next sweep still finds it.
      await store.writeNetwork({ devices: [], sessions: [at(base + 500, 5)], folds: [] });
      expect(await mine()).toEqual([3, 4, 5]);
      expect(await sweep()).toBe(1);
      expect(await mine()).toEqual([3, 4]);
    });

    it("keeps hourly rollups written with a batch's record: exact per dataset, summed across batches, after the events are gone", async () => {
      const store = await makeStore();
      // Hours of their own (year 2002): other tests' rollups fall elsewhere.
      const H0 = Date.parse("2002-04-05T06:00:00.000Z") + (seq % 1000) * 7_200_000;
      const host = unique("ru");
      const fw = (ms: number, src: string) => `<4>1 ${new Date(ms).toISOString()} ${host} kernel - - - DROP IN=eth0 OUT= SRC=${src} DST=192.0.2.1 PROTO=TCP SPT=1 DPT=22`;
      const a = [
        ...Array.from({ length: 4 }, (_, i) => makeEvent(host, H0 + i * 1000, i)), // sshd failures
        ...Array.from({ length: 3 }, (_, i) => makeEvent(host, H0 + 5000 + i, 10 + i, { raw: fw(H0 + 5000 + i, "198.51.100.5") })),
        makeEvent(host, H0 + 3_600_000 + 1, 20, { raw: fw(H0 + 3_600_000 + 1, "198.51.100.6") }), // next hour
      ].map(eventRow);
      const b = [makeEvent(host, H0 + 9000, 30, { raw: fw(H0 + 9000, "198.51.100.5") })].map(eventRow);
      const parts = rollupsOf(a);
      expect(parts.map((p) => p.hour).sort()).toEqual([H0, H0 + 3_600_000]);
      const response = { accepted: 1, stored: 1, parse_errors: 0, empty: 0, duplicate: false, errors: [], alerts: 0, suppressed: 0, late: 0 };
      const keyA = unique("rb");
      const w = await store.recordBatch({ key: keyA, receivedAt: H0, response, counters: {}, rollups: parts });
      expect(w.rowsWritten).toBe(1 + parts.length); // the batches row and one row per hour part
      await store.recordBatch({ key: unique("rb"), receivedAt: H0, response, counters: {}, rollups: rollupsOf(b) });

      const c = await store.rollupCounts(H0);
      expect(c.eventsPerHour.filter((r) => r.hour === H0).sort((x, y) => (x.dataset < y.dataset ? -1 : 1))).toEqual([
        { hour: H0, dataset: "iptables", n: 4 },
        { hour: H0, dataset: "sshd", n: 4 },
      ]);
      expect(c.eventsPerHour.find((r) => r.hour === H0 + 3_600_000)).toEqual({ hour: H0 + 3_600_000, dataset: "iptables", n: 1 });
      expect(c.failedLoginsPerHour.find((r) => r.hour === H0)?.n).toBe(4);
      expect(c.topBlocked.find((r) => r.ip === "198.51.100.5")?.n).toBeGreaterThanOrEqual(4);

      const hours = await store.rollupHours(H0, H0 + 3_600_000);
      expect(hours.map((h) => h.hour)).toEqual([H0, H0 + 3_600_000]);
      expect(hours[0]!.counts).toMatchObject({ events: 8, auth_failure: 4, dataset: { sshd: 4, iptables: 4 }, host: { [host]: 8 }, action: { drop: 4 } });
      expect(hours[0]!.counts.src["198.51.100.5"]).toBe(4);
      expect(hours[0]!.counts.blocked).toEqual({ "198.51.100.5": 4 });
      expect(hours[1]!.counts.dst).toEqual({ "192.0.2.1": 1 });

      // Compaction merges an hour's parts into one row; the sums do not change.
      const compacted = await store.compactRollups(H0 + 3_600_000, 1000, H0);
      expect(compacted.parts).toBeGreaterThanOrEqual(2);
      const merged = await store.rollupHours(H0, H0 + 3_600_000);
      expect(merged).toEqual(hours);
      // A later batch for a merged hour adds a part: still summed.
      await store.recordBatch({ key: unique("rb"), receivedAt: H0, response, counters: {}, rollups: rollupsOf(b) });
      expect((await store.rollupHours(H0, H0))[0]!.counts.dataset.iptables).toBe(5);
      expect((await store.compactRollups(H0 + 3_600_000, 1000, H0)).hours).toBe(0); // the watermark is past H0
    });

    it("skips the hours its search summaries rule out and finds everything they hold (merged or not)", async () => {
      const store = await makeStore();
      const HOUR = 3_600_000;
      // Hours of their own (the suite shares one database): a day per run in 2004.
      const H = Date.parse("2004-01-01T00:00:00.000Z") + (seq % 300) * 86_400_000;
      const host = unique("sum");
      const rare = "198.51.100.77";
      const hostCond = { kind: "in" as const, column: "host" as const, values: [host], negate: false };
      const ipCond = (ip: string) => ({ kind: "in" as const, column: "src_ip_key" as const, values: [ipKey(ip)!], negate: false });
      const textCond = (v: string) => ({ kind: "contains" as const, column: "message" as const, values: [v], negate: false });
      const cidrCond = (c: string) => ({ kind: "range" as const, column: "src_ip_key" as const, ranges: [[parseCidr(c)!.lo, parseCidr(c)!.hi]] as [string, string][], negate: false });
      const range = { fromId: lowerBound(H), toId: lowerBound(H + 4 * HOUR) };
      // Hour 0 holds the rare address and word, hours 1-3 only the usual traffic.
      const events = [
        makeEvent(host, H + 60_000, 0, { srcIp: rare, message: `Failed password for zebracorn from ${rare} port 4242 ssh2` }),
        ...Array.from({ length: 12 }, (_, i) => makeEvent(host, H + HOUR * (1 + (i % 3)) + i * 1000, i + 1, { srcIp: `203.0.113.${i + 1}` })),
      ];
      await store.insertEvents(events.map(eventRow));
      const search = async (c: Condition) => (await store.queryEvents({ ...range, conditions: [hostCond, c], limit: 100 })).map((r) => r.id);
      // Before the merge every hour is a candidate.
      expect(await store.hoursWithout(probeOf([ipCond(rare)])!, H, H + 3 * HOUR)).toEqual([]);
      expect(await search(ipCond(rare))).toEqual([events[0]!.id]);

      const merged = await store.compactSummaries(H + 4 * HOUR, 100, Number.MIN_SAFE_INTEGER);
      expect(merged.parts).toBeGreaterThanOrEqual(4);
      expect(await store.hoursWithout(probeOf([ipCond(rare)])!, H, H + 3 * HOUR)).toEqual([H + HOUR, H + 2 * HOUR, H + 3 * HOUR]);
      expect(await store.hoursWithout(probeOf([textCond("zebracorn")])!, H, H + 3 * HOUR)).toEqual([H + HOUR, H + 2 * HOUR, H + 3 * HOUR]);
      expect(await store.hoursWithout(probeOf([textCond("failed password")])!, H, H + 3 * HOUR)).toEqual([]);
      // Results are those of a scan: the rare address, its /24, the word; nothing for what never occurred.
      expect(await search(ipCond(rare))).toEqual([events[0]!.id]);
      expect(await search(cidrCond("198.51.100.0/24"))).toEqual([events[0]!.id]);
      expect(await search(textCond("zebracorn"))).toEqual([events[0]!.id]);
      expect(await search(textCond("qqqxyzzy"))).toEqual([]);
      const userCond = (u: string) => ({ kind: "in" as const, column: "user" as const, values: [u], negate: false });
      expect(await store.hoursWithout(probeOf([userCond("zebracorn")])!, H, H + 3 * HOUR)).toEqual([H + HOUR, H + 2 * HOUR, H + 3 * HOUR]);
      expect(await search(userCond("zebracorn"))).toEqual([events[0]!.id]);
      expect(await search(ipCond("192.0.2.99"))).toEqual([]);
      const all = [...events].sort((a, b) => (a.id < b.id ? 1 : -1)).map((e) => e.id);
      expect(await search(textCond("failed password"))).toEqual(all);
      // Pages across skipped hours keep newest-first order and the cursor.
      const usual = all.filter((id) => id !== events[0]!.id);
      const page1 = await store.queryEvents({ ...range, conditions: [hostCond, cidrCond("203.0.113.0/24")], limit: 5 });
      const page2 = await store.queryEvents({ ...range, before: page1[4]!.id, conditions: [hostCond, cidrCond("203.0.113.0/24")], limit: 100 });
      expect([...page1, ...page2].map((r) => r.id)).toEqual(usual);

      // A late event for a merged hour that lacked the address: its part makes the hour a candidate again.
      const late = makeEvent(host, H + 2 * HOUR + 500_000, 99, { srcIp: rare });
      await store.insertEvents([eventRow(late)]);
      expect(await search(ipCond(rare))).toEqual([late.id, events[0]!.id]);
      await store.compactSummaries(H + 4 * HOUR, 100, Number.MIN_SAFE_INTEGER);
      expect(await search(ipCond(rare))).toEqual([late.id, events[0]!.id]);
      expect(await store.hoursWithout(probeOf([ipCond(rare)])!, H, H + 3 * HOUR)).toEqual([H + HOUR, H + 3 * HOUR]);

      // Summaries of hours before dropBefore go; without them nothing is skipped, nothing is lost.
      await store.compactSummaries(H + 4 * HOUR, 100, H + 2 * HOUR);
      expect(await store.hoursWithout(probeOf([ipCond(rare)])!, H, H + 3 * HOUR)).toEqual([H + 3 * HOUR]);
      expect(await search(ipCond(rare))).toEqual([late.id, events[0]!.id]);
    });

    it("keeps the usage ledger: adds per day, counts its own write, keeps the largest size", async () => {
      const store = await makeStore();
      const day = Date.parse("2003-01-01T00:00:00.000Z") + (seq % 1000) * 86_400_000;
      const zero = { worker_requests: 0, d1_rows_read: 0, d1_rows_written: 0, d1_queries: 0, d1_bytes: 0, do_requests: 0, r2_class_a: 0, r2_class_b: 0, notifications: 0 };
      await store.addUsage(day, { ...zero, worker_requests: 1, d1_rows_written: 10, d1_queries: 2, d1_bytes: 5000, r2_class_a: 1 });
      await store.addUsage(day, { ...zero, worker_requests: 1, d1_rows_read: 7, d1_bytes: 4000, notifications: 2 });
      await store.addUsage(day + 86_400_000, { ...zero, do_requests: 3 });
      const days = await store.usageDays(day, day + 86_400_000);
      expect(days).toEqual([
        { ...zero, day, worker_requests: 2, d1_rows_read: 7, d1_rows_written: 12, d1_queries: 4, d1_bytes: 5000, r2_class_a: 1, notifications: 2 },
        { ...zero, day: day + 86_400_000, do_requests: 3, d1_rows_written: 1, d1_queries: 1 },
      ]);
    });
  });
}
