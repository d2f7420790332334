/**
 * The command line's pure parts for notifications and network visibility: channel and blackout
 * bodies from options, day lists, secrets from a flag or a file, device names resolved to addresses
 * (and the fallback to host.hostname), sessions options → /v1/sessions parameters, byte and duration
 * formatting.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { blackoutBody, channelBody, expandDays } from "../../cli/src/commands/channels.js";
import { buildSessionsQuery, humanBytes, humanDuration, SESSION_TABLE } from "../../cli/src/commands/network.js";
import { renderTable } from "../../cli/src/output.js";
import { matchDevices, resolveHostValues } from "../../cli/src/devices.js";
import { UsageError } from "../../cli/src/errors.js";
import { readText } from "../../cli/src/files.js";
import { buildEventsQuery } from "../../cli/src/query-options.js";
import { readSecret } from "../../cli/src/secret.js";
import { buildProgram } from "../../cli/src/main.js";
import { commandTree } from "../../cli/src/commands/completion.js";

const DEVICES = [
  { id: "d-b827eb123456", name: "Kitchen Pi", hostname: "raspberrypi", ips: ["192.168.1.20", "192.168.1.21"] },
  { id: "d-001b63aabbcc", name: null, hostname: "nas", ips: ["192.168.1.5"] },
  { id: "d-001b63ddeeff", name: "nas", hostname: "old-nas", ips: ["192.168.1.6"] },
  { id: "d-da1900000001", name: null, hostname: "android", ips: ["192.168.1.30"] },
  { id: "d-da1900000002", name: null, hostname: "Android", ips: ["192.168.1.31"] },
  { id: "d-da1900000003", name: null, hostname: "tv", ips: [] },
];

describe("device names", () => {
  it("match by id, then by the user's name, then by hostname, case-insensitively", () => {
    expect(matchDevices(DEVICES, "d-b827eb123456").map((d) => d.id)).toEqual(["d-b827eb123456"]);
    expect(matchDevices(DEVICES, "kitchen pi").map((d) => d.id)).toEqual(["d-b827eb123456"]);
    expect(matchDevices(DEVICES, "RaspberryPi").map((d) => d.id)).toEqual(["d-b827eb123456"]);
    // The user's name wins over another device's DHCP hostname.
    expect(matchDevices(DEVICES, "nas").map((d) => d.id)).toEqual(["d-001b63ddeeff"]);
    expect(matchDevices(DEVICES, "android").map((d) => d.id)).toEqual(["d-da1900000001", "d-da1900000002"]);
    expect(matchDevices(DEVICES, "printer")).toEqual([]);
  });

  it("become the devices' addresses; unknown names (or devices without one) stay names", () => {
    const r = resolveHostValues(["Kitchen Pi", "10.0.0.0/8", "android", "printer", "tv"], DEVICES);
    expect(r.values).toEqual(["192.168.1.20", "192.168.1.21", "10.0.0.0/8", "192.168.1.30", "192.168.1.31", "printer", "tv"]);
    expect(r.unresolved).toEqual(["printer", "tv"]);
    expect(r.used.map((u) => [u.word, u.ips])).toEqual([["Kitchen Pi", ["192.168.1.20", "192.168.1.21"]], ["android", ["192.168.1.30", "192.168.1.31"]]]);
    // Resolved names are addresses: they may sit beside other addresses in one --shost.
    expect(buildEventsQuery({ shost: r.values.slice(0, 5) }).params).toEqual({ src_ip: ["192.168.1.20", "192.168.1.21", "10.0.0.0/8", "192.168.1.30", "192.168.1.31"] });
    expect(buildEventsQuery({ shost: ["printer"] }).params).toEqual({ host: ["printer"] });
  });
});

describe("channels", () => {
  it("builds a create body: config by type, the secret in the type's field, filter, repeat, digests", () => {
    expect(channelBody({ name: "phone", url: "http://127.0.0.1:1", topic: "t", minSeverity: "high", rule: ["a,b"], tag: ["x"], repeat: "4h", onClose: true, blackoutDigest: false, dailyDigest: "08:00", timezone: "Europe/Berlin" }, { type: "ntfy", secret: "tk_1", create: true })).toEqual({
      name: "phone", type: "ntfy", config: { url: "http://127.0.0.1:1", topic: "t", token: "tk_1" },
      filter: { min_severity: "high", rules: ["a", "b"], tags: ["x"] }, repeat: "4h", on_close: true, blackout_digest: false,
      daily_digest: { at: "08:00", timezone: "Europe/Berlin" },
    });
    expect(channelBody({ name: "hook", url: "https://discord.com/api/webhooks/1/x", preset: "discord", repeat: "never", disabled: true }, { type: "webhook", secret: "s", create: true })).toEqual({
      name: "hook", type: "webhook", enabled: false, config: { url: "https://discord.com/api/webhooks/1/x", preset: "discord", secret: "s" }, repeat: null,
    });
    expect(channelBody({ name: "tg", chatId: "42" }, { type: "telegram", secret: "1:abc", create: true }).config).toEqual({ chat_id: "42", bot_token: "1:abc" });
  });

  it("refuses options of another type, a telegram channel without its token, and bad values", () => {
    expect(() => channelBody({ name: "x", topic: "t" }, { type: "webhook", create: true })).toThrow(/--topic is for ntfy channels, not webhook/);
    expect(() => channelBody({ name: "x", chatId: "1" }, { type: "telegram", create: true })).toThrow(/needs its bot token/);
    expect(() => channelBody({ name: "x", to: "a@b.c" }, { type: "email", secret: "s", create: true })).toThrow(/has no secret/);
    expect(() => channelBody({ name: "x" }, { type: "pager", create: true })).toThrow(UsageError);
    expect(() => channelBody({ minSeverity: "loud" }, { type: "ntfy", create: false })).toThrow(/--min-severity 'loud'/);
    expect(() => channelBody({ dailyDigest: "8am" }, { type: "ntfy", create: false })).toThrow(/HH:MM/);
    expect(() => channelBody({ timezone: "UTC" }, { type: "ntfy", create: false })).toThrow(/--timezone goes with --daily-digest/);
  });

  it("builds a patch of only what is given, merging the filter and clearing what is asked", () => {
    const current = { filter: { min_severity: "medium", rules: ["r1"], tags: [] } };
    expect(channelBody({ tag: ["iot"] }, { type: "ntfy", current, create: false })).toEqual({ filter: { min_severity: "medium", rules: ["r1"], tags: ["iot"] } });
    expect(channelBody({ minSeverity: "any" }, { type: "ntfy", current, create: false })).toEqual({ filter: { rules: ["r1"], tags: [] } });
    expect(channelBody({ clearSecret: true, dailyDigest: false }, { type: "ntfy", current, create: false })).toEqual({ config: { token: null }, daily_digest: null });
    expect(channelBody({ name: "renamed" }, { type: "email", current, create: false })).toEqual({ name: "renamed" });
    expect(() => channelBody({}, { type: "ntfy", current, create: false })).toThrow(/nothing to change/);
  });

  it("reads a secret from the flag or a file (trailing newline dropped), one way only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-secret-"));
    try {
      writeFileSync(join(dir, "token"), "tk_from_file\n");
      expect(await readSecret({ secretFile: join(dir, "token") }, "token", readText)).toBe("tk_from_file");
      expect(await readSecret({ secret: "tk_flag" }, "token", readText)).toBe("tk_flag");
      expect(await readSecret({}, "token", readText)).toBeUndefined();
      await expect(readSecret({ secret: "a", secretFile: "b" }, "token", readText)).rejects.toThrow(/one way/);
      await expect(readSecret({ secretFile: join(dir, "nope") }, "token", readText)).rejects.toMatchObject({ exitCode: 3 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("blackouts", () => {
  const NOW = Date.parse("2026-12-06T12:00:00Z");
  it("one-off from --start/--end or --for (from now or --start)", () => {
    expect(blackoutBody("m", { start: "2026-12-24T00:00:00Z", end: "2026-12-27T00:00:00Z" }, NOW)).toEqual({ name: "m", start: "2026-12-24T00:00:00.000Z", end: "2026-12-27T00:00:00.000Z" });
    expect(blackoutBody("m", { for: "2h", rule: ["router-down"] }, NOW)).toEqual({ name: "m", start: "2026-12-06T12:00:00.000Z", end: "2026-12-06T14:00:00.000Z", filter: { rules: ["router-down"] } });
    expect(blackoutBody("m", { start: "2026-12-07T00:00:00Z", for: "30m" }, NOW).end).toBe("2026-12-07T00:30:00.000Z");
  });

  it("recurring with days, wall times and a zone; mixed or partial forms are usage errors", () => {
    expect(blackoutBody("night", { days: "mon-fri", from: "22:00", to: "07:00", timezone: "Europe/Berlin", channel: ["ch_1"] }, NOW)).toEqual({
      name: "night", days: ["mon", "tue", "wed", "thu", "fri"], from: "22:00", to: "07:00", timezone: "Europe/Berlin", filter: { channels: ["ch_1"] },
    });
    expect(blackoutBody("n", { from: "22:00", to: "07:00", timezone: "UTC" }, NOW).days).toHaveLength(7);
    expect(() => blackoutBody("n", {}, NOW)).toThrow(/give --start and --end/);
    expect(() => blackoutBody("n", { for: "2h", days: "mon" }, NOW)).toThrow(/not both/);
    expect(() => blackoutBody("n", { days: "mon", from: "22:00" }, NOW)).toThrow(/needs --from HH:MM and --to/);
    expect(() => blackoutBody("n", { from: "10pm", to: "07:00" }, NOW)).toThrow(/--from '10pm'/);
    expect(() => blackoutBody("n", { start: "2026-12-24T00:00:00Z" }, NOW)).toThrow(/needs --start and --end/);
    expect(() => blackoutBody("n", { for: "2 hours" }, NOW)).toThrow(UsageError);
    expect(() => blackoutBody("n", { for: "1h", timezone: "UTC" }, NOW)).toThrow(/--timezone is for recurring/);
  });

  it("expands day lists, ranges across the week's end, weekdays and weekends", () => {
    expect(expandDays("sat,sun")).toEqual(["sun", "sat"]);
    expect(expandDays("fri-mon")).toEqual(["sun", "mon", "fri", "sat"]);
    expect(expandDays("weekdays")).toEqual(["mon", "tue", "wed", "thu", "fri"]);
    expect(expandDays("Weekends,wed")).toEqual(["sun", "wed", "sat"]);
    expect(() => expandDays("monday")).toThrow(/days like mon,tue/);
  });
});

describe("sessions and network output", () => {
  it("maps options to /v1/sessions parameters, with the time options of query", () => {
    expect(buildSessionsQuery({ last: "7d", device: ["d-b827eb123456"], srcIp: ["192.168.1.0/24"], country: ["CN", "RU"], asn: ["AS15169"], domain: ["example.com"], port: ["53"], transport: ["udp"], router: ["gw"], cidr: ["10.0.0.0/8"], dstIp: ["8.8.8.8"] })).toEqual({
      last: ["7d"], device: ["d-b827eb123456"], src_ip: ["192.168.1.0/24"], country: ["CN", "RU"], asn: ["AS15169"], domain: ["example.com"], port: ["53"], transport: ["udp"], router: ["gw"], cidr: ["10.0.0.0/8"], dst_ip: ["8.8.8.8"],
    });
    expect(buildSessionsQuery({ range: "2026-12-01T00:00:00Z..2026-12-02T00:00:00Z" })).toEqual({ from: ["2026-12-01T00:00:00.000Z"], to: ["2026-12-02T00:00:00.000Z"] });
    expect(() => buildSessionsQuery({ last: "1h", from: "2026-12-01T00:00:00Z" })).toThrow(UsageError);
  });

  it("formats bytes and ECS nanosecond durations for people", () => {
    expect([0, 999, 1500, 90_120, 3_200_000, 12e9].map(humanBytes)).toEqual(["0 B", "999 B", "1.5 kB", "90 kB", "3.2 MB", "12 GB"]);
    expect(humanBytes(undefined)).toBe("");
    expect([850e6, 42e9, 312e9, 7380e9].map(humanDuration)).toEqual(["850ms", "42s", "5m12s", "2h03m"]);
    expect(humanDuration(undefined)).toBe("");
  });

  it("shows a session as one table row: endpoints, country, human bytes and duration, domain else AS", () => {
    const session = {
      event: { start: "2026-12-06T11:40:02.000Z", duration: 60e9 }, network: { transport: "tcp" },
      source: { ip: "192.168.1.20", port: 41000, bytes: 1500 }, porchlight: { session: { device: { id: "d-b827eb123456" } } },
      destination: { ip: "2001:db8::1", port: 443, bytes: 90_000, geo: { country_iso_code: "US" }, as: { number: 15169, organization: { name: "Google LLC" } } },
    };
    const [head, row] = renderTable([session], SESSION_TABLE, 200).trimEnd().split("\n");
    expect(head).toMatch(/^START\s+DURATION\s+DEVICE\s+PROTO\s+SOURCE\s+DESTINATION\s+CC\s+OUT\s+IN\s+DOMAIN \/ AS$/);
    expect(row!.split(/\s{2,}/)).toEqual(["2026-12-06T11:40:02.000Z", "1m00s", "d-b827eb123456", "tcp", "192.168.1.20:41000", "[2001:db8::1]:443", "US", "1.5 kB", "90 kB", "Google LLC"]);
  });

  it("every new command is in the completion tree", () => {
    const paths = commandTree(buildProgram()).map((t) => t.path);
    for (const p of ["channels list", "channels show", "channels add", "channels edit", "channels test", "channels enable", "channels disable", "channels delete", "channels deliveries", "blackouts list", "blackouts add", "blackouts delete", "devices list", "devices show", "devices name", "devices tag", "devices destinations", "sessions", "talkers", "alert"]) {
      expect(paths, p).toContain(p);
    }
  });
});
