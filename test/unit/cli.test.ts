/**
 * The command line's pure parts: siemquery options → /v1/events parameters, time ranges, output
 * formats, batching under the ingest limits, the rule importer's choice, the config resolution, and
 * `--help` with examples for every command.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildEventsQuery, isIpOrCidr, passesClientFilters } from "../../cli/src/query-options.js";
import { lastMs, parseLast, parseRange, parseTime } from "../../cli/src/time.js";
import { csvHeader, csvRow, fillTemplate, formatList, getPath, pickFormat, progressBar, renderTable } from "../../cli/src/output.js";
import { batches, cutLine, MAX_LINE_BYTES, sourceOf } from "../../cli/src/commands/send.js";
import { importKind } from "../../cli/src/commands/rules.js";
import { fromSiemstressHelpers, fromSiemstressRules, likeToRegex, nameFirstGroup, parseQuery, severityOf } from "../../cli/src/siemstress.js";
import { configPath, readConfig, resolveConfig, writeConfig } from "../../cli/src/config.js";
import { ApiError, EXIT, UsageError } from "../../cli/src/errors.js";
import { buildProgram } from "../../cli/src/main.js";
import { commandTree } from "../../cli/src/commands/completion.js";
import { toSearchParams } from "../../cli/src/client.js";

const q = (opts: Record<string, unknown>) => buildEventsQuery(opts);

describe("query options → events API", () => {
  it("maps every siemquery option and its negation", () => {
    const r = q({
      last: "5m", shost: ["10.0.0.0/8"], rshost: ["10.0.0.5", "nas"], dhost: ["192.168.1.2"], rdhost: ["::1"],
      sport: ["1000-2000"], rsport: ["1500"], dport: ["22"], rdport: ["53"], process: ["sshd", "systemd-logind"],
      rprocess: ["cron"], protocol: ["tcp"], rprotocol: ["udp"], grep: ["fail"], rgrep: ["admin"], pid: ["812"], rpid: ["1"],
    });
    expect(r.params).toEqual({
      last: ["5m"], src_ip: ["10.0.0.0/8"], not_src_ip: ["10.0.0.5"], not_host: ["nas"], dst_ip: ["192.168.1.2"], not_dst_ip: ["::1"],
      src_port: ["1000-2000"], not_src_port: ["1500"], dst_port: ["22"], not_dst_port: ["53"], program: ["sshd", "systemd-logind"],
      not_program: ["cron"], protocol: ["tcp"], not_protocol: ["udp"], q: ["fail"], not_q: ["admin"],
    });
    expect(r.clientFilters).toEqual([{ path: "process.pid", values: [812], negate: false }, { path: "process.pid", values: [1], negate: true }]);
  });

  it("maps the API's own filters and their --not- forms", () => {
    const r = q({ host: ["nas"], notHost: ["router"], dataset: ["sshd"], user: ["root"], notUser: ["git"], action: ["drop"], outcome: ["failure"], severity: ["err"], srcIp: ["fd00::/8"], notDstIp: ["10.0.0.1"], regex: ["^<38>"], notRegex: ["CRON"], from: "2026-11-22T00:00:00Z", to: "20261123000000" });
    expect(r.params.host).toEqual(["nas"]);
    expect(r.params.not_host).toEqual(["router"]);
    expect(r.params.not_user).toEqual(["git"]);
    expect(r.params.src_ip).toEqual(["fd00::/8"]);
    expect(r.params.not_dst_ip).toEqual(["10.0.0.1"]);
    expect(r.params.regex).toEqual(["^<38>"]);
    expect(r.params.not_regex).toEqual(["CRON"]);
    expect(r.params.from).toEqual(["2026-11-22T00:00:00.000Z"]);
    expect(r.params.to).toEqual([new Date(2026, 10, 23).toISOString()]);
  });

  it("--shost: an address is source.ip, a name the logging host; both at once is a usage error", () => {
    expect(q({ shost: ["nas", "router"] }).params).toEqual({ host: ["nas", "router"] });
    expect(q({ shost: ["2001:db8::/32"] }).params).toEqual({ src_ip: ["2001:db8::/32"] });
    expect(() => q({ shost: ["nas", "10.0.0.1"] })).toThrow(UsageError);
    expect(() => q({ dhost: ["nas"] })).toThrow(/IP address or CIDR/);
    expect(() => q({ pid: ["abc"] })).toThrow(/process id/);
  });

  it("refuses contradictory time options", () => {
    expect(() => q({ last: "5m", range: "20260101000000-20260102000000" })).toThrow(/--last/);
    expect(() => q({ range: "20260101000000-20260102000000", to: "2026-01-03" })).toThrow(/--range/);
    expect(() => q({ last: "5 minutes" })).toThrow(/30s, 5m/);
  });

  it("client filters keep events lacking the field only when negated", () => {
    const f = [{ path: "process.pid", values: [812], negate: false }];
    expect(passesClientFilters({ process: { pid: 812 } }, f)).toBe(true);
    expect(passesClientFilters({ process: { pid: 813 } }, f)).toBe(false);
    expect(passesClientFilters({}, f)).toBe(false);
    expect(passesClientFilters({}, [{ ...f[0]!, negate: true }])).toBe(true);
    expect(passesClientFilters({ process: { pid: 812 } }, [{ ...f[0]!, negate: true }])).toBe(false);
  });

  it("tells addresses from names", () => {
    for (const s of ["10.0.0.1", "10.0.0.0/8", "::1", "fe80::1/64", "::ffff:10.0.0.1"]) expect(isIpOrCidr(s), s).toBe(true);
    for (const s of ["nas", "router.lan", "10.0.0", "abc:"]) expect(isIpOrCidr(s) && !s.includes(":"), s).toBe(false);
  });

  it("repeats keys in the query string and drops empty values", () => {
    expect(toSearchParams({ q: ["a", "b"], last: "5m", cursor: undefined, all: false, limit: 3 }).toString()).toBe("q=a&q=b&last=5m&limit=3");
  });
});

describe("time options", () => {
  it("parses --last, --range (siemquery's and RFC 3339) and single times", () => {
    expect(parseLast("24h")).toBe("24h");
    expect(lastMs("2w")).toBe(14 * 86_400_000);
    expect(parseRange("20170726020000-20170726050000")).toEqual({ from: new Date(2017, 6, 26, 2).getTime(), to: new Date(2017, 6, 26, 5).getTime() });
    expect(parseRange("2026-11-22T10:00:00Z..2026-11-22T12:00:00+01:00")).toEqual({ from: Date.UTC(2026, 10, 22, 10), to: Date.UTC(2026, 10, 22, 11) });
    expect(parseTime("20261122", "--from")).toBe(new Date(2026, 10, 22).getTime());
    expect(() => parseRange("20261122-20261121")).toThrow(/before the start/);
    expect(() => parseRange("yesterday")).toThrow(UsageError);
    expect(() => parseTime("20261340000000", "--from")).toThrow(/not a real date/);
  });
});

describe("output", () => {
  const rows = [
    { id: "a", "@timestamp": "2026-11-22T10:00:00.000Z", source: { ip: "10.0.0.1", port: 22 }, message: 'say "hi", then\nbye', tags: ["x", "y"] },
    { id: "bb", "@timestamp": "2026-11-22T10:00:01.000Z", source: { ip: "10.0.0.22" }, message: "short" },
  ];
  const cols = [{ header: "ID", path: "id" }, { header: "SRC", path: "source.ip" }, { header: "MESSAGE", path: "message" }];

  it("picks a table on a terminal, NDJSON in a pipe, or what --format/--csv say", () => {
    expect(pickFormat({}, true)).toBe("table");
    expect(pickFormat({}, false)).toBe("ndjson");
    expect(pickFormat({ csv: true }, true)).toBe("csv");
    expect(pickFormat({ format: "json" }, true)).toBe("json");
    expect(pickFormat({ format: "{id} {message}" }, false)).toEqual({ template: "{id} {message}" });
    expect(() => pickFormat({ format: "yaml" }, false)).toThrow(UsageError);
  });

  it("reads dotted paths, keys with dots first", () => {
    expect(getPath(rows[0], "@timestamp")).toBe("2026-11-22T10:00:00.000Z");
    expect(getPath(rows[0], "source.port")).toBe(22);
    expect(getPath(rows[1], "source.port")).toBeUndefined();
    expect(getPath({ "a.b": 1, a: { b: 2 } }, "a.b")).toBe(1);
  });

  it("writes RFC 4180 CSV that quotes commas, quotes and newlines", () => {
    const csv = csvHeader(cols) + rows.map((r) => csvRow(r, cols)).join("");
    expect(csv).toBe('ID,SRC,MESSAGE\r\na,10.0.0.1,"say ""hi"", then\nbye"\r\nbb,10.0.0.22,short\r\n');
  });

  it("fills templates, braces escaped by doubling", () => {
    expect(fillTemplate("{id} {source.ip}:{source.port} {{x}} {tags}", rows[0])).toBe("a 10.0.0.1:22 {x} x,y");
    expect(fillTemplate("{nope}|", rows[1])).toBe("|");
  });

  it("aligns table columns (no borders) and keeps each row on one line", () => {
    const lines = renderTable(rows, cols, 200).replace(/\x1b\[[0-9;]*m/g, "").trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    const at = (l: string, word: string) => l.indexOf(word);
    expect(at(lines[1]!, "10.0.0.1")).toBe(at(lines[0]!, "SRC"));
    expect(at(lines[2]!, "10.0.0.22")).toBe(at(lines[0]!, "SRC"));
    expect(lines[1]).toContain('say "hi", then bye');
    expect(renderTable([], cols)).toBe("");
  });

  it("clips the last column to the terminal width", () => {
    const long = [{ id: "a", source: { ip: "1.1.1.1" }, message: "x".repeat(500) }];
    const line = renderTable(long, cols, 80).replace(/\x1b\[[0-9;]*m/g, "").split("\n")[1]!;
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line.endsWith("…")).toBe(true);
  });

  it("draws a progress bar on a terminal only, ending at 100%", () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (s: string) => written.push(s) };
    const bar = progressBar("replay f", 200, tty);
    bar.update(50);
    bar.done();
    expect(written[0]).toBe("\rreplay f [########......................]  25% 50/200");
    expect(written.slice(-2)).toEqual(["\rreplay f [##############################] 100% 200/200", "\n"]);
    const piped: string[] = [];
    const quiet = progressBar("x", 10, { isTTY: false, write: (s: string) => piped.push(s) });
    quiet.update(5);
    quiet.done();
    expect(piped).toEqual([]);
  });

  it("formats whole lists as JSON and NDJSON that parse back", () => {
    expect(JSON.parse(formatList(rows, cols, "json"))).toEqual(rows);
    expect(formatList(rows, cols, "ndjson").trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual(rows);
  });
});

describe("send batching", () => {
  async function* gen(n: number, size = 10) {
    for (let i = 0; i < n; i++) yield { raw: "x".repeat(size), transport: "file" };
  }
  const collectAll = async <T>(it: AsyncIterable<T>) => {
    const out: T[] = [];
    for await (const x of it) out.push(x);
    return out;
  };

  it("cuts batches at the line count and the byte budget, losing nothing", async () => {
    const byLines = await collectAll(batches(gen(12), 5));
    expect(byLines.map((b) => b.length)).toEqual([5, 5, 2]);
    const byBytes = await collectAll(batches(gen(10, 1000), 5000, 3500));
    expect(byBytes.map((b) => b.length)).toEqual([3, 3, 3, 1]);
    expect(byBytes.flat()).toHaveLength(10);
  });

  it("cuts an overlong line on a character boundary and flags it", () => {
    expect(cutLine("short")).toEqual({ raw: "short", truncated: false });
    const r = cutLine("é".repeat(MAX_LINE_BYTES));
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.raw)).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect(r.raw).not.toContain("\uFFFD");
  });

  it("--source is an address (the sender) or host:NAME", () => {
    expect(sourceOf("192.168.1.1")).toEqual({ key: "ip:192.168.1.1", sourceIp: "192.168.1.1" });
    expect(sourceOf("ip:fd00::1")).toEqual({ key: "ip:fd00::1", sourceIp: "fd00::1" });
    expect(sourceOf("host:nas")).toEqual({ key: "host:nas" });
    expect(() => sourceOf("nas")).toThrow(UsageError);
    expect(() => sourceOf("10.0.0.0/8")).toThrow(UsageError);
  });
});

describe("rules import", () => {
  it("chooses the importer by extension, YAML by its keys", () => {
    expect(importKind("a.json", "[]")).toBe("json");
    expect(importKind("x.sec", "")).toBe("sec");
    expect(importKind("x.conf", "")).toBe("sec");
    expect(importKind("s.yml", "title: t\nlogsource:\n  product: linux\ndetection:\n  condition: a\n")).toBe("sigma");
    expect(importKind("c.yaml", "type: leaky\nname: crowdsecurity/ssh-bf\nfilter: \"evt.Meta.log_type == 'ssh_failed-auth'\"\n")).toBe("crowdsec");
    expect(() => importKind("c.yaml", "a: b\n")).toThrow(/--type/);
    expect(() => importKind("rules.txt", "")).toThrow(/cannot tell the rule format/);
  });
});

describe("siemstress helpers as extractors", () => {
  it("names the first capturing group (skipping classes, escapes and non-capturing groups), or the whole match", () => {
    expect(nameFirstGroup("user[=\\s]([\\w-]+)", "users")).toBe("user[=\\s](?<users>[\\w-]+)");
    expect(nameFirstGroup("a[(]b\\(c(?:d)(e)(f)", "x")).toBe("a[(]b\\(c(?:d)(?<x>e)(f)");
    expect(nameFirstGroup("[0-9]{1,3}(?:\\.[0-9]{1,3}){3}", "ip4s")).toBe("(?<ip4s>[0-9]{1,3}(?:\\.[0-9]{1,3}){3})");
    expect(new RegExp(nameFirstGroup("for (\\w+) from", "users")).exec("Failed password for root from x")?.groups).toEqual({ users: "root" });
  });

  it("turns every helper of every section into one extractor with a unique name", () => {
    expect(fromSiemstressHelpers({ HELPERSAuth: [{ var_name: "users", reg_exp: "user=(\\w+)" }, { var_name: "users", reg_exp: "for (\\w+) from" }], HELPERSVis: [{ var_name: "files", reg_exp: "file: (\\S+)" }] })).toEqual([
      { name: "users_1", pattern: "user=(?<users>\\w+)" },
      { name: "users_2", pattern: "for (?<users>\\w+) from" },
      { name: "files_1", pattern: "file: (?<files>\\S+)" },
    ]);
    expect(fromSiemstressHelpers({ extractors: "nope" })).toBeNull();
    expect(fromSiemstressHelpers({})).toBeNull();
  });
});

describe("siemstress rules as Porchlight rules", () => {
  it("turns LIKE patterns into case-insensitive regexes and syslog severities into alert severities", () => {
    expect(likeToRegex("%fail%")).toBe("(?i)fail");
    expect(likeToRegex("sshd")).toBe("(?i)^sshd$");
    expect(likeToRegex("a%%b_c%")).toBe("(?i)^a.*b.c");
    expect(likeToRegex("%1.2%")).toBe("(?i)1\\.2");
    expect(new RegExp(likeToRegex("%PIR: Motion%").slice(4), "i").test("pir: motion detected")).toBe(true);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(severityOf)).toEqual(["critical", "critical", "high", "medium", "medium", "low", "informational", "informational"]);
  });

  it("reads the WHERE clause without its time window; other shapes are skipped with a reason", () => {
    expect(parseQuery('SELECT Id FROM Auth WHERE DateStamp >= timestamp(date_sub(now(), interval 10 minute)) AND (Message LIKE "%fail%" AND Message LIKE "%pam%")')).toEqual({
      match: { all: [{ message: { regex: "(?i)fail" } }, { message: { regex: "(?i)pam" } }] }, windowMin: 10,
    });
    expect(parseQuery('SELECT Id FROM Auth WHERE DateStamp >= timestamp(date_sub(now(), interval 1 hour)) AND (Process LIKE "sshd" OR Process LIKE "dropbear")')).toEqual({
      match: { any: [{ "process.name": { regex: "(?i)^sshd$" } }, { "process.name": { regex: "(?i)^dropbear$" } }] }, windowMin: 60,
    });
    expect(parseQuery('SELECT Id FROM Auth WHERE (RuleName LIKE "PAM_AuthFail_10m")')).toEqual({ skip: "correlates other rules' hits (a siemstress meta rule)" });
    expect(parseQuery('SELECT Id FROM Auth WHERE (Message LIKE "%a%" AND Process LIKE "x" OR Message LIKE "%b%")')).toMatchObject({ skip: expect.stringMatching(/mixes AND and OR/) });
    expect(parseQuery('SELECT Id FROM Auth WHERE (Facility LIKE "auth")')).toMatchObject({ skip: expect.stringMatching(/column Facility/) });
    expect(parseQuery("DROP TABLE Auth")).toEqual({ skip: "not a SELECT ... WHERE query" });
  });

  it("makes threshold rules (EventLimit + 1 in TimeInt minutes) and single rules (EventLimit 0), skipping meta rules", () => {
    const r = fromSiemstressRules({
      RULESAuth: [
        { RuleName: "PAM_AuthFail_10m", SQLQuery: 'SELECT Id FROM Auth WHERE DateStamp >= timestamp(date_sub(now(), interval 10 minute)) AND (Message LIKE "%fail%" AND Message LIKE "%pam%")', EventLimit: 7, TimeInt: 10, Severity: 4, Message: "Over 7 pam auth failures in 10 minutes", IsEnabled: 1, SourceTable: "Auth", OutTable: "SIEMDefault" },
        { RuleName: "VIS NightMoves", SQLQuery: 'SELECT Id FROM Visual WHERE DateStamp >= timestamp(date_sub(now(), interval 1 hour)) AND (Message LIKE "%PIR: Motion%")', EventLimit: 0, TimeInt: 0, Severity: 2, Message: "Motion at night", IsEnabled: 0, SourceTable: "Visual", OutTable: "SIEMDefault" },
      ],
      RULESSIEMDefault: [{ RuleName: "PAM_AuthFail_1h", SQLQuery: 'SELECT Id FROM Auth WHERE (RuleName LIKE "PAM_AuthFail_10m")', EventLimit: 2, TimeInt: 60, Severity: 3, SourceTable: "SIEMDefault", OutTable: "SIEMDefault" }],
    });
    expect(r?.skipped).toEqual([{ name: "PAM_AuthFail_1h", reason: "correlates other rules' hits (a siemstress meta rule)" }]);
    expect(r?.rules[0]).toMatchObject({ id: "PAM_AuthFail_10m", type: "threshold", threshold: 8, window: "600s", severity: "medium", enabled: true, title: "Over 7 pam auth failures in 10 minutes" });
    expect(r?.rules[1]).toMatchObject({ id: "VIS_NightMoves", name: "VIS NightMoves", type: "single", severity: "high", enabled: false, match: { message: { regex: "(?i)PIR: Motion" } } });
    expect(fromSiemstressRules([{ id: "x" }])).toBeNull();
    expect(fromSiemstressRules({ rules: [] })).toBeNull();
  });
});

describe("configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), "porchlight-cli-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { XDG_CONFIG_HOME: dir } as NodeJS.ProcessEnv;

  it("lives under XDG_CONFIG_HOME with mode 0600, and env wins over the default profile but not over --profile", () => {
    const path = configPath(env);
    expect(path).toBe(join(dir, "porchlight", "config.json"));
    expect(() => resolveConfig({}, env)).toThrow(/PORCHLIGHT_URL/);
    writeConfig(path, { default: "home", profiles: { home: { url: "https://home.example/", token: "t1" }, lab: { url: "http://127.0.0.1:8787", token: "t2" } } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readConfig(path).profiles.lab?.token).toBe("t2");
    expect(resolveConfig({}, env)).toEqual({ url: "https://home.example", token: "t1", profile: "home", source: "profile" });
    const withEnv = { ...env, PORCHLIGHT_URL: "http://10.0.0.2:8787", PORCHLIGHT_TOKEN: "t3" };
    expect(resolveConfig({}, withEnv)).toMatchObject({ url: "http://10.0.0.2:8787", token: "t3", source: "env" });
    expect(resolveConfig({ profile: "lab" }, withEnv)).toMatchObject({ url: "http://127.0.0.1:8787", token: "t2", profile: "lab" });
    expect(() => resolveConfig({ profile: "nope" }, env)).toThrow(/no profile 'nope'/);
    expect(() => resolveConfig({}, { ...env, PORCHLIGHT_URL: "ftp://x" })).toThrow(/http and https/);
  });
});

describe("errors", () => {
  it("an API 404 exits 3, other API errors 1, with code and message", () => {
    const nf = new ApiError(404, "not_found", "No alert \"x\"");
    expect(nf.exitCode).toBe(EXIT.NOT_FOUND);
    expect(nf.message).toBe('not_found: No alert "x"');
    const unauth = new ApiError(401, "unauthorized", "A valid token is required");
    expect(unauth.exitCode).toBe(EXIT.ERROR);
    expect(unauth.message).toMatch(/refused the token/);
  });
});

describe("help", () => {
  it("every command has a description and examples in --help", () => {
    const program = buildProgram();
    const walk = (cmd: typeof program, path: string[]): void => {
      for (const c of cmd.commands) {
        const name = [...path, c.name()].join(" ");
        expect(c.description(), name).not.toBe("");
        // Groups (rules, extractors...) list their subcommands; leaves show examples.
        if (c.commands.length === 0) {
          let help = "";
          c.configureOutput({ writeOut: (s) => (help += s) });
          c.outputHelp();
          expect(help, name).toMatch(/Examples:\n {2}\$ .*porchlight /);
        }
        walk(c, [...path, c.name()]);
      }
    };
    walk(program, []);
    expect(commandTree(program).map((t) => t.path)).toEqual(expect.arrayContaining(["", "query", "rules import", "extractors export", "completion"]));
  });
});
