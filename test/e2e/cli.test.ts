/**
 * The `porchlight` command line against a real `npm start` stack (wrangler dev, local D1, Durable
 * Objects, the default rule pack): every command once, its output formats parsed back, paging past
 * one page, `tail` seeing an alert raised by an ingest, send and replay round trips, and the messages
 * and exit codes for a bad token, an unreachable server, usage mistakes and unknown ids.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNtfyReceiver } from "./ntfy-receiver.ts";
import { freePort, ROOT, startStack, type Stack } from "./stack.ts";

const CLI = join(ROOT, "cli/bin/porchlight.js");
/** The node that runs the CLI: PORCHLIGHT_CLI_NODE checks an older one (the CLI supports Node >= 18). */
const NODE = process.env.PORCHLIGHT_CLI_NODE || process.execPath;
const haveZsh = spawnSync("zsh", ["-c", "true"]).status === 0;
if (!haveZsh) console.warn("SKIPPED: the zsh completion check (zsh is not installed; .ci/run installs it)");

let stack: Stack;
let tmp: string;
let xdg: string;

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs the CLI with the stack's URL and admin token (unless `env` overrides them). */
function run(args: string[], opts: { input?: string; env?: Record<string, string | undefined> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, ...args], {
      cwd: tmp,
      env: { ...process.env, PORCHLIGHT_URL: stack.base, PORCHLIGHT_TOKEN: stack.admin, PORCHLIGHT_PROFILE: undefined, XDG_CONFIG_HOME: xdg, NO_COLOR: "1", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs and expects exit 0, returning stdout. */
async function ok(args: string[], opts: Parameters<typeof run>[1] = {}): Promise<string> {
  const r = await run(args, opts);
  expect(r.code, `porchlight ${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

const ndjson = (text: string): any[] => text.split("\n").filter(Boolean).map((l) => JSON.parse(l));

/** RFC 4180 CSV (quoted cells may hold commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\r" && text[i + 1] === "\n") { row.push(cell); rows.push(row); row = []; cell = ""; i++; }
    else cell += c;
  }
  return rows;
}

const M = `clim${Date.now().toString(36)}`;
/** Event time of the first sent line, whole seconds, an hour ago (RFC 5424 lines carry it with a zone). */
const BASE = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
const at = (i: number) => new Date(BASE + i * 1000).toISOString();
const SSH = Array.from({ length: 7 }, (_, i) => `<38>1 ${at(i)} nas sshd ${800 + i} - - Failed password for ${M}u${i} from 203.0.113.${i} port ${4000 + i} ssh2`);
const FW = [0, 1].map((i) => `<12>1 ${at(10 + i)} router kernel - - - ${M} DROP IN=eth0 OUT= SRC=198.51.100.7 DST=192.168.1.2 LEN=60 PROTO=TCP SPT=${5555 + i} DPT=22`);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "porchlight-cli-e2e-"));
  xdg = join(tmp, "xdg");
  stack = await startStack({ relay: false });
});

afterAll(async () => {
  await stack?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("porchlight against npm start", () => {
  it("send: a file and standard input, then query reads them back in every format", async () => {
    writeFileSync(join(tmp, "ssh.log"), SSH.join("\n") + "\n\n");
    expect(JSON.parse(await ok(["send", "ssh.log", "--json"]))).toMatchObject({ accepted: 7, stored: 7, parse_errors: 0, batches: 1 });
    expect(JSON.parse(await ok(["send", "--json"], { input: FW.join("\r\n") }))).toMatchObject({ accepted: 2, stored: 2 });

    const events = ndjson(await ok(["query", "--last", "2h", "--grep", M]));
    expect(events).toHaveLength(9);
    expect(events.map((e) => e["@timestamp"])).toEqual([...events.map((e) => e["@timestamp"])].sort().reverse());
    expect(events.filter((e) => e.porchlight?.transport === "stdin")).toHaveLength(2);
    const ids = events.map((e) => e.id).sort();

    const csv = parseCsv(await ok(["query", "--last", "2h", "--grep", M, "--csv"]));
    expect(csv[0]).toEqual(["id", "@timestamp", "received_at", "host.hostname", "process.name", "event.dataset", "source.ip", "source.port", "destination.ip", "destination.port", "network.transport", "user.name", "event.action", "event.outcome", "log.syslog.severity.code", "message", "raw"]);
    expect(csv.slice(1).map((r) => r[0]).sort()).toEqual(ids);
    const row = csv.find((r) => r[15]?.includes(`${M}u3 `))!;
    expect(row.slice(3, 8)).toEqual(["nas", "sshd", "sshd", "203.0.113.3", "4003"]);

    await ok(["query", "--last", "2h", "--grep", M, "--json", "out.json"]);
    expect((JSON.parse(readFileSync(join(tmp, "out.json"), "utf8")) as any[]).map((e) => e.id).sort()).toEqual(ids);
    expect((JSON.parse(await ok(["query", "--last", "2h", "--grep", M, "--format", "json"])) as any[]).map((e) => e.id).sort()).toEqual(ids);
    const templ = (await ok(["query", "--last", "2h", "--grep", M, "--process", "sshd", "--format", "{source.ip}|{process.pid}"])).trim().split("\n");
    expect(templ.sort()).toEqual(SSH.map((_, i) => `203.0.113.${i}|${800 + i}`).sort());

    const table = (await ok(["query", "--last", "2h", "--grep", M, "--format", "table"])).trimEnd().split("\n");
    expect(table).toHaveLength(10);
    expect(table[0]).toMatch(/^TIME\s+HOST\s+PROCESS\s+SOURCE\s+DESTINATION\s+ACTION\s+MESSAGE$/);
    const col = table[0]!.indexOf("SOURCE");
    for (const line of table.slice(1)) expect(line.slice(col).split(" ")[0]).toMatch(/^(203\.0\.113\.\d|198\.51\.100\.7):\d+$/);
  });

  it("query follows the API's pages to --limit, and --all to the end", async () => {
    const five = ndjson(await ok(["query", "--last", "2h", "--grep", M, "--page-size", "2", "--limit", "5"]));
    expect(five).toHaveLength(5);
    expect(new Set(five.map((e) => e.id)).size).toBe(5);
    const all = ndjson(await ok(["query", "--last", "2h", "--grep", M, "--page-size", "4", "--all"]));
    expect(all).toHaveLength(9);
    expect(all.slice(0, 5).map((e) => e.id)).toEqual(five.map((e) => e.id));
    // --cursor continues where a search stopped.
    const rest = ndjson(await ok(["query", "--last", "2h", "--grep", M, "--cursor", five[4].id]));
    expect(rest.map((e) => e.id)).toEqual(all.slice(5).map((e) => e.id));
    // --pid is filtered by the CLI over the pages it reads, within --scan.
    const pid = ndjson(await ok(["query", "--last", "2h", "--grep", M, "--pid", "803", "--page-size", "2"]));
    expect(pid.map((e) => e.process.pid)).toEqual([803]);
    const bounded = await run(["query", "--last", "2h", "--grep", M, "--pid", "800", "--page-size", "2", "--scan", "4"]);
    expect(bounded.code).toBe(0);
    expect(bounded.stdout).toBe("");
    expect(bounded.stderr).toMatch(/^porchlight: stopped after reading 4 events \(--scan 4\); continue with --cursor \w{26}, or raise --scan\n$/);
  });

  it("siemquery's options and negations select what they say", async () => {
    const count = async (...args: string[]) => ndjson(await ok(["query", "--last", "2h", "--grep", M, ...args])).length;
    expect(await count("--shost", "203.0.113.0/30")).toBe(4);
    expect(await count("--shost", "203.0.113.2")).toBe(1);
    expect(await count("--rshost", "203.0.113.2")).toBe(8);
    expect(await count("--shost", "nas")).toBe(7);
    expect(await count("--rshost", "nas")).toBe(2);
    expect(await count("--dhost", "192.168.1.0/24")).toBe(2);
    expect(await count("--sport", "4001-4002")).toBe(2);
    expect(await count("--rsport", "4001-4002")).toBe(7);
    expect(await count("--dport", "22")).toBe(2);
    expect(await count("--rdport", "22")).toBe(7);
    expect(await count("--process", "sshd")).toBe(7);
    expect(await count("--rprocess", "sshd")).toBe(2);
    expect(await count("--rpid", "803")).toBe(8);
    expect(await count("--protocol", "tcp")).toBe(2);
    expect(await count("--rprotocol", "tcp")).toBe(7);
    // Repeated values OR together (so a second --grep widens); different options AND.
    expect(ndjson(await ok(["query", "--last", "2h", "--grep", `${M}u3 `])).length).toBe(1);
    expect(await count("--grep", "no-such-text")).toBe(9);
    expect(await count("--rgrep", `${M}u3 `)).toBe(8);
    expect(await count("--user", `${M}u1`, "--user", `${M}u2`)).toBe(2);
    expect(await count("--dataset", "sshd", "--outcome", "failure")).toBe(7);
    expect(await count("--regex", "u[56] from")).toBe(2);
    const range = ndjson(await ok(["query", "--range", `${at(0)}..${at(2)}`, "--grep", M]));
    expect(range.map((e) => e["@timestamp"]).sort()).toEqual([at(0), at(1), at(2)]);
  });

  it("replay sends a historical file keeping its timestamps, once", async () => {
    const R = `clir${Date.now().toString(36)}`;
    const file = join(tmp, "old-auth.log");
    writeFileSync(file, [0, 1, 2].map((i) => `<38>Mar  1 10:00:0${i} nas sshd[9${i}]: Accepted password for bob from 10.9.9.${i} port 22 ssh2 ${R}`).join("\n") + "\n");
    // Written on 2 March 2025: RFC 3164's missing year is inferred against that, not against today.
    utimesSync(file, new Date("2025-03-02T00:00:00Z"), new Date("2025-03-02T00:00:00Z"));
    const first = JSON.parse(await ok(["replay", file, "--json"]));
    expect(first).toMatchObject({ accepted: 3, stored: 3, duplicates: 0 });
    const events = ndjson(await ok(["query", "--range", "2025-03-01T00:00:00Z..2025-03-02T00:00:00Z", "--grep", R]));
    expect(events.map((e) => e["@timestamp"]).sort()).toEqual(["2025-03-01T10:00:00.000Z", "2025-03-01T10:00:01.000Z", "2025-03-01T10:00:02.000Z"]);
    for (const e of events) expect(e.received_at).toBe(e["@timestamp"]);
    const again = JSON.parse(await ok(["replay", file, "--json"]));
    expect(again).toMatchObject({ accepted: 3, duplicates: 3 });
    expect(ndjson(await ok(["query", "--range", "2025-03-01T00:00:00Z..2025-03-02T00:00:00Z", "--grep", R]))).toHaveLength(3);
  });

  let alertId = "";
  it("tail prints an alert raised by an ingest, as it happens", async () => {
    const T = `clit${Date.now().toString(36)}`;
    writeFileSync(join(tmp, "rule.json"), JSON.stringify([{ id: "cli-e2e-tail", name: "CLI e2e", type: "single", match: { message: { contains: T } }, severity: "high", resource: "{{host.hostname}}", title: "Marker on {{host.hostname}}" }]));
    expect(await ok(["rules", "import", "rule.json"])).toBe("imported 1 rules: cli-e2e-tail\n");

    const tail = spawn(NODE, [CLI, "tail", "--once", "--json"], { env: { ...process.env, PORCHLIGHT_URL: stack.base, PORCHLIGHT_TOKEN: stack.admin, NO_COLOR: "1" } });
    let out = "", err = "";
    tail.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => tail.on("close", r));
    await new Promise<void>((resolve, reject) => {
      tail.stderr.on("data", (d) => {
        err += d;
        if (/connected to/.test(err)) resolve();
      });
      tail.on("close", () => reject(new Error(`tail exited before connecting: ${err}`)));
    });
    expect(JSON.parse(await ok(["send", "--json"], { input: `<38>1 ${new Date().toISOString()} nas app - - - ${T}\n` }))).toMatchObject({ stored: 1, alerts: 1 });
    expect(await exited).toBe(0);
    const [line] = ndjson(out);
    expect(line).toMatchObject({ rule_id: "cli-e2e-tail", resource: "nas", severity: "high", status: "open", title: "Marker on nas" });
    alertId = line.id;
  });

  it("alerts, alert and the lifecycle actions", async () => {
    const listed = ndjson(await ok(["alerts", "--rule", "cli-e2e-tail"]));
    expect(listed.map((a) => a.id)).toEqual([alertId]);
    expect(JSON.parse(await ok(["alert", alertId]))).toMatchObject({ id: alertId, events: [expect.objectContaining({ message: expect.any(String) })] });
    expect(await ok(["ack", alertId, "--note", "looking"])).toContain(`${alertId} ack`);
    expect(await ok(["shelve", alertId, "--duration", "1h"])).toMatch(new RegExp(`${alertId} shelved until \\S+`));
    expect(await ok(["close", alertId])).toContain("closed");
    expect(await ok(["reopen", alertId])).toContain("open");
    const conflict = await run(["unack", alertId]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^porchlight: conflict: /);
    const detail = JSON.parse(await ok(["alert", alertId]));
    expect(detail.history.map((h: any) => h.action)).toEqual(expect.arrayContaining(["ack", "shelve", "close", "reopen"]));
    expect(detail.history.find((h: any) => h.action === "ack").note).toBe("looking");
    const csv = parseCsv(await ok(["alerts", "--status", "open", "--not-severity", "low", "--csv"]));
    expect(csv[0]).toEqual(["ID", "SEVERITY", "STATUS", "LAST SEEN", "DUP", "RULE", "RESOURCE", "TITLE"]);
    expect(csv.some((r) => r[0] === alertId)).toBe(true);
  });

  it("rules: list, show, enable, disable, edit, export, import, backtest, delete", async () => {
    expect(ndjson(await ok(["rules", "list"])).map((r) => r.id)).toContain("cli-e2e-tail");
    expect(JSON.parse(await ok(["rules", "show", "cli-e2e-tail"]))).toMatchObject({ id: "cli-e2e-tail", type: "single" });
    expect(await ok(["rules", "disable", "cli-e2e-tail"])).toMatch(/cli-e2e-tail disabled/);
    expect(JSON.parse(await ok(["rules", "show", "cli-e2e-tail"])).enabled).toBe(false);
    expect(await ok(["rules", "enable", "cli-e2e-tail"])).toMatch(/cli-e2e-tail enabled/);

    const editor = join(tmp, "editor.sh");
    writeFileSync(editor, `#!/bin/sh\nsed -i 's/Marker on/Edited marker on/' "$1"\n`);
    chmodSync(editor, 0o755);
    expect(await ok(["rules", "edit", "cli-e2e-tail"], { env: { EDITOR: editor, VISUAL: undefined } })).toMatch(/cli-e2e-tail saved/);
    expect(JSON.parse(await ok(["rules", "show", "cli-e2e-tail"])).title).toBe("Edited marker on {{host.hostname}}");

    await ok(["rules", "export", "rules.json"]);
    const exported = JSON.parse(readFileSync(join(tmp, "rules.json"), "utf8")) as any[];
    expect(exported.find((r) => r.id === "cli-e2e-tail")?.title).toBe("Edited marker on {{host.hostname}}");
    expect(await ok(["rules", "import", "rules.json"])).toMatch(new RegExp(`^imported ${exported.length} rules`));

    const bt = JSON.parse(await ok(["rules", "backtest", "cli-e2e-tail", "--last", "2h", "--json"]));
    expect(bt).toMatchObject({ matched: 1, firings: 1 });
    expect(bt.alerts[0].title).toBe("Edited marker on nas");

    // the foreign importers, chosen by extension; refusals are listed on stderr, one per rule
    writeFileSync(join(tmp, "sigma.yml"), "title: CLI sigma\nid: cli-e2e-sigma\nlogsource:\n  product: linux\n  service: sshd\ndetection:\n  sel:\n    message|contains: foo\n  condition: sel\n---\ntitle: CLI windows\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image: x\n  condition: sel\n");
    writeFileSync(join(tmp, "site.sec"), "type=Single\nptype=RegExp\npattern=foo\ndesc=foo\naction=write - foo\n");
    writeFileSync(join(tmp, "bf.yaml"), "type: leaky\nname: cli/e2e-bf\nfilter: \"evt.Meta.log_type == 'ssh_failed-auth'\"\ngroupby: evt.Meta.source_ip\ncapacity: 5\nleakspeed: 10s\n");
    const sigma = await run(["rules", "import", "sigma.yml"]);
    expect([sigma.code, sigma.stdout]).toEqual([0, "imported 1 rules: sigma.cli-e2e-sigma\n"]);
    expect(sigma.stderr).toMatch(/^porchlight: refused CLI windows \(logsource\): logsource .* is not one Porchlight parses/);
    expect(await ok(["rules", "import", "site.sec"])).toBe("imported 1 rules: site-1\n");
    expect(await ok(["rules", "import", "bf.yaml"])).toBe("imported 1 rules: cli.e2e-bf\n");
    for (const id of ["sigma.cli-e2e-sigma", "site-1", "cli.e2e-bf"]) await ok(["rules", "delete", id]);
    // siemmanage --exportrules's format converts to rules the server accepts, and they fire.
    const S = `clis${Date.now().toString(36)}`;
    writeFileSync(join(tmp, "siem-rules.json"), JSON.stringify({
      RULESAuth: [{ RuleName: "CLI_PamFail", SQLQuery: `SELECT Id FROM Auth WHERE DateStamp >= timestamp(date_sub(now(), interval 10 minute)) AND (Message LIKE "%${S}%" AND Message LIKE "%pam%")`, EventLimit: 2, TimeInt: 10, Severity: 2, Message: "Over 2 pam failures in 10 minutes", IsEnabled: 1, SourceTable: "Auth", OutTable: "SIEMDefault" }],
      RULESSIEMDefault: [{ RuleName: "CLI_PamFail_1h", SQLQuery: 'SELECT Id FROM SIEMDefault WHERE (RuleName LIKE "CLI_PamFail")', EventLimit: 2, TimeInt: 60, Severity: 1, Message: "x", IsEnabled: 1, SourceTable: "SIEMDefault", OutTable: "SIEMDefault" }],
    }));
    const siem = await run(["rules", "import", "siem-rules.json"]);
    expect([siem.code, siem.stdout]).toEqual([0, "imported 1 rules: CLI_PamFail\n"]);
    expect(siem.stderr).toBe("porchlight: skipped siemstress rule CLI_PamFail_1h: correlates other rules' hits (a siemstress meta rule)\n");
    const now = Date.now();
    const pam = [0, 1, 2].map((i) => `<38>1 ${new Date(now - 3000 + i * 1000).toISOString()} nas sshd 5${i} - - pam_unix(sshd:auth): authentication failure; ${S} rhost=192.0.2.7`);
    expect(JSON.parse(await ok(["send", "--json"], { input: pam.join("\n") }))).toMatchObject({ stored: 3, alerts: 1 });
    expect(ndjson(await ok(["alerts", "--rule", "CLI_PamFail"]))).toEqual([expect.objectContaining({ severity: "high", title: "Over 2 pam failures in 10 minutes", count: 3 })]);
    await ok(["rules", "delete", "CLI_PamFail"]);

    const missing = await run(["rules", "import", "nope.json"]);
    expect([missing.code, missing.stderr]).toEqual([3, "porchlight: nope.json: no such file\n"]);
    expect(await ok(["rules", "delete", "cli-e2e-tail"])).toBe("cli-e2e-tail deleted\n");
    expect((await run(["rules", "show", "cli-e2e-tail"])).code).toBe(3);
  });

  it("extractors: import (create, then replace by name), export, list, delete", async () => {
    const defs = [
      { name: "cli_vpn_user", pattern: "user=(?<vpn_user>\\w+)", program: "openvpn", host: null, enabled: true },
      { name: "cli_port", pattern: "port (?<cli_port>\\d+)", program: null, host: "nas", enabled: false },
    ];
    writeFileSync(join(tmp, "helpers.json"), JSON.stringify(defs));
    expect(await ok(["extractors", "import", "helpers.json"])).toBe("2 extractors created, 0 replaced\n");
    expect(await ok(["extractors", "import", "helpers.json"])).toBe("0 extractors created, 2 replaced\n");
    await ok(["extractors", "export", "exported.json"]);
    expect(JSON.parse(readFileSync(join(tmp, "exported.json"), "utf8"))).toEqual(expect.arrayContaining(defs));
    expect(ndjson(await ok(["extractors", "list"])).map((x) => x.name)).toEqual(expect.arrayContaining(["cli_vpn_user", "cli_port"]));
    // siemmanage --exporthelpers's format: sections of {var_name, reg_exp} with unnamed groups.
    writeFileSync(join(tmp, "siem-helpers.json"), JSON.stringify({ HELPERSAuth: [{ var_name: "cliusers", reg_exp: "Failed password for (\\S+) from " }] }));
    expect(await ok(["extractors", "import", "siem-helpers.json"])).toBe("1 extractors created, 0 replaced\n");
    const H = `clih${Date.now().toString(36)}`;
    await ok(["send"], { input: `<38>1 ${new Date().toISOString()} nas sshd 77 - - Failed password for ${H} from 192.0.2.1 port 22 ssh2\n` });
    const [labelled] = ndjson(await ok(["query", "--last", "1h", "--grep", H]));
    expect(labelled.labels).toMatchObject({ cliusers: H });
    expect(await ok(["extractors", "delete", "cliusers_1"])).toMatch(/deleted/);
    // A pattern the server refuses (here: two adjacent unbounded repetitions) is named with the reason.
    writeFileSync(join(tmp, "slow.json"), JSON.stringify({ HELPERSAuth: [{ var_name: "u", reg_exp: "for ([a-z-_]*\\.?[a-z-_]+) from" }] }));
    const slow = await run(["extractors", "import", "slow.json"]);
    expect(slow.code).toBe(1);
    expect(slow.stderr).toMatch(/^porchlight: \[0\] u_1: validation_failed: pattern is dangerously slow/);
    expect(await ok(["extractors", "delete", "cli_port"])).toMatch(/^cli_port \(x_\w+\) deleted/);
    expect((await run(["extractors", "delete", "cli_port"])).code).toBe(3);
  });

  it("tokens, sources with send --timezone, heartbeats, metrics, usage, relays, event and the api escape hatch", async () => {
    const created = JSON.parse(await ok(["tokens", "create", "cli reader", "--scope", "read", "--json"]));
    expect(created.token).toMatch(/^pl_/);
    expect(ndjson(await ok(["tokens", "list"])).map((t) => t.name)).toContain("cli reader");
    const reader = { PORCHLIGHT_TOKEN: created.token };
    expect(ndjson(await ok(["query", "--last", "2h", "--grep", M, "-n", "1"], { env: reader }))).toHaveLength(1);
    const forbidden = await run(["tokens", "list"], { env: reader });
    expect([forbidden.code, forbidden.stderr]).toEqual([1, "porchlight: forbidden: This token lacks the 'admin' scope (use a token with that scope)\n"]);
    expect(await ok(["tokens", "revoke", created.id])).toBe(`${created.id} revoked\n`);
    expect((await run(["query", "--last", "1h"], { env: reader })).stderr).toMatch(/^porchlight: unauthorized: /);

    const Z = `cliz${Date.now().toString(36)}`;
    await ok(["send", "--source", "192.0.2.9", "--timezone", "Europe/Berlin"], { input: `<38>Nov 22 10:00:00 tzhost app: ${Z}\n` });
    expect(JSON.parse(await ok(["sources", "show", "ip:192.0.2.9"]))).toMatchObject({ key: "ip:192.0.2.9", timezone: "Europe/Berlin" });
    expect(ndjson(await ok(["sources", "list"])).map((s) => s.key)).toContain("ip:192.0.2.9");
    // The year of an RFC 3164 line is inferred (up to a year back): search from long ago.
    const [tz] = ndjson(await ok(["query", "--grep", Z, "--from", "2020-01-01T00:00:00Z"]));
    expect(tz["@timestamp"]).toMatch(/-11-22T09:00:00\.000Z$/); // 10:00 in Berlin (UTC+1 in November)
    expect(tz.porchlight.source_ip).toBe("192.0.2.9");
    expect(await ok(["sources", "set", "host:tzhost", "--timezone", "Asia/Tokyo"])).toBe("host:tzhost: Asia/Tokyo\n");
    expect(await ok(["sources", "delete", "host:tzhost"])).toBe("host:tzhost deleted\n");

    expect(await ok(["heartbeat", "cli-backup", "--timeout", "26h"])).toMatch(/^cli-backup: next ping due by \S+ \(timeout 26h\)/);
    expect(await ok(["heartbeat", "cli-backup", "-q"])).toBe("");
    expect(ndjson(await ok(["heartbeats", "list"])).find((h) => h.name === "cli-backup")).toMatchObject({ source: "ping", state: "ok", timeout: "26h" });
    expect(await ok(["heartbeats", "delete", "cli-backup"])).toBe("cli-backup deleted\n");

    const counters = JSON.parse(await ok(["metrics", "--format", "json"]));
    expect(counters.stored).toBeGreaterThanOrEqual(12);
    expect(await ok(["metrics", "--prometheus"])).toMatch(/^porchlight_stored_total \d+$/m);
    expect(JSON.parse(await ok(["usage", "--json"]))).toMatchObject({ stored: counters.stored, rows_per_event: expect.any(Number) });
    expect(ndjson(await ok(["relays"])).map((r) => r.name)).toContain("porchlight-cli");

    const [one] = ndjson(await ok(["query", "--last", "2h", "--grep", M, "-n", "1"]));
    expect(JSON.parse(await ok(["event", one.id])).id).toBe(one.id);
    expect(JSON.parse(await ok(["api", "GET", "/v1/metrics"])).counters.stored).toBeGreaterThan(0);
    expect(JSON.parse(await ok(["api", "POST", "/v1/heartbeats/cli-api", "--data", '{"timeout": "1h"}']))).toMatchObject({ name: "cli-api", timeout: "1h" });
    expect(ndjson(await ok(["api", "get", "v1/events", "-q", "last=2h", "-q", `q=${M}`, "-q", "format=ndjson"]))).toHaveLength(9);
    const parsed = JSON.parse(await ok(["api", "POST", "/v1/parse", "--content-type", "text/plain", "--data", "@-"], { input: SSH[0] }));
    expect(parsed.events[0]).toMatchObject({ source: { ip: "203.0.113.0" }, process: { name: "sshd", pid: 800 } });
    expect((await run(["api", "POST", "/v1/parse", "--data", "not json"])).code).toBe(2);
    const nope = await run(["api", "GET", "/v1/nope"]);
    expect([nope.code, nope.stderr]).toEqual([3, "porchlight: not_found: No route for GET /v1/nope\n"]);
  });

  it("channels (secret from a file or standard input, never printed), test against a loopback ntfy, deliveries; alert --deliveries; blackouts", async () => {
    const ntfy = await startNtfyReceiver();
    try {
      writeFileSync(join(tmp, "ntfy-token"), "tk_cli_file_secret\n");
      const created = JSON.parse(await ok(["channels", "add", "cli phone", "--type", "ntfy", "--url", ntfy.url, "--topic", "cli-e2e", "--secret-file", "ntfy-token", "--min-severity", "high", "--repeat", "4h", "--json"]));
      expect(created).toMatchObject({ name: "cli phone", type: "ntfy", enabled: true, config: { url: ntfy.url, topic: "cli-e2e", token: "***" }, filter: { min_severity: "high" } });
      const id: string = created.id;
      // The secret goes in, never out: not in any listing or detail.
      const listed = await ok(["channels", "list"]);
      expect(ndjson(listed).find((c) => c.id === id)).toMatchObject({ name: "cli phone", config: { token: "***" } });
      const csv = parseCsv(await ok(["channels", "list", "--csv"]));
      expect(csv[0]).toEqual(["ID", "NAME", "TYPE", "ENABLED", "MIN SEVERITY", "REPEAT", "TARGET"]);
      expect(csv.find((r) => r[0] === id)?.slice(1)).toEqual(["cli phone", "ntfy", "yes", "high", "4h", `${ntfy.url}/cli-e2e`]);
      const shown = await ok(["channels", "show", id]);
      for (const text of [listed, shown]) expect(text).not.toContain("tk_cli_file_secret");
      // A new secret from standard input (as `pass show ... |` gives it); a mismatched option is a usage error.
      expect(await ok(["channels", "edit", id, "--secret-file", "-", "--tag", "cli"], { input: "tk_cli_stdin_secret\n" })).toBe(`${id} cli phone (ntfy): ${ntfy.url}/cli-e2e\n`);
      expect((await run(["channels", "edit", id, "--preset", "slack"])).code).toBe(2);
      expect((await run(["channels", "add", "tg", "--type", "telegram", "--chat-id", "42"])).stderr).toMatch(/^porchlight: a telegram channel needs its bot token/);

      expect(await ok(["channels", "test", id])).toMatch(/^sent: 200\b/);
      expect(ntfy.published.at(-1)).toMatchObject({ topic: "cli-e2e", title: "Porchlight test" });
      expect(ntfy.authorizations.at(-1)).toBe("Bearer tk_cli_stdin_secret");
      expect(ndjson(await ok(["channels", "deliveries", id]))).toEqual([expect.objectContaining({ channel_id: id, reason: "test", status: "sent", http_status: 200, attempts: 1 })]);
      // A receiver that is not there: the test says so and exits 1.
      const down = JSON.parse(await ok(["channels", "add", "cli down", "--type", "ntfy", "--url", `http://127.0.0.1:${await freePort()}`, "--topic", "x", "--json"]));
      const failed = await run(["channels", "test", down.id]);
      expect([failed.code, failed.stdout.startsWith("failed: "), failed.stderr]).toEqual([1, true, expect.stringMatching(/^porchlight: the test message was not accepted \(.*\)\n$/)]);
      await ok(["channels", "delete", down.id]);

      expect(await ok(["channels", "disable", id])).toBe(`${id} disabled\n`);
      expect(JSON.parse(await ok(["channels", "show", id])).enabled).toBe(false);
      expect(await ok(["channels", "enable", id])).toBe(`${id} enabled\n`);

      // An alert the channel wants: the Notifier delivers it, and `alert ID --deliveries` lists it.
      const N = `clin${Date.now().toString(36)}`;
      writeFileSync(join(tmp, "notify-rule.json"), JSON.stringify([{ id: "cli-e2e-notify", name: "CLI notify", type: "single", match: { message: { contains: N } }, severity: "high", tags: ["cli"], title: "Notify marker" }]));
      await ok(["rules", "import", "notify-rule.json"]);
      expect(JSON.parse(await ok(["send", "--json"], { input: `<38>1 ${new Date().toISOString()} nas app - - - ${N}\n` }))).toMatchObject({ alerts: 1 });
      const [alert] = ndjson(await ok(["alerts", "--rule", "cli-e2e-notify"]));
      // The Notifier's own alarm sends it (wrangler dev runs alarms): wait for the receiver, not a timer.
      await expect.poll(() => ntfy.published.some((p) => p.title === "Notify marker"), { timeout: 15_000 }).toBe(true);
      await expect.poll(async () => ndjson(await ok(["alert", alert.id, "--deliveries"])), { timeout: 15_000 }).toEqual([expect.objectContaining({ alert_id: alert.id, channel_id: id, reason: "new", status: "sent", http_status: 200 })]);
      const dcsv = parseCsv(await ok(["alert", alert.id, "--deliveries", "--csv"]));
      expect(dcsv[0]).toEqual(["CREATED", "REASON", "STATUS", "ATTEMPTS", "HTTP", "CHANNEL", "NEXT TRY", "ANSWER"]);
      expect(dcsv[1]?.slice(1, 6)).toEqual(["new", "sent", "1", "200", id]);
      expect(JSON.parse(await ok(["alert", alert.id])).deliveries).toHaveLength(1);
      await ok(["rules", "delete", "cli-e2e-notify"]);

      const night = JSON.parse(await ok(["blackouts", "add", "cli night", "--days", "mon-fri", "--from", "22:00", "--to", "07:00", "--timezone", "Europe/Berlin", "--channel", id, "--json"]));
      expect(night).toMatchObject({ name: "cli night", days: ["mon", "tue", "wed", "thu", "fri"], from: "22:00", to: "07:00", timezone: "Europe/Berlin", filter: { channels: [id] }, next_start: expect.any(String) });
      const now = await ok(["blackouts", "add", "cli maintenance", "--for", "1h"]);
      expect(now).toMatch(/^bo_[0-9a-f]{18} cli maintenance: active until \S+\n$/);
      const bos = ndjson(await ok(["blackouts", "list"]));
      expect(bos.map((b) => b.name).sort()).toEqual(["cli maintenance", "cli night"]);
      expect(bos.find((b) => b.name === "cli maintenance")).toMatchObject({ active: true });
      const bcsv = parseCsv(await ok(["blackouts", "list", "--csv"]));
      expect(bcsv.find((r) => r[0] === night.id)?.slice(1, 4)).toEqual(["cli night", "mon,tue,wed,thu,fri 22:00-07:00 Europe/Berlin", "no"]);
      for (const b of bos) expect(await ok(["blackouts", "delete", b.id])).toBe(`${b.id} deleted\n`);
      expect((await run(["blackouts", "delete", night.id])).code).toBe(3);
      expect((await run(["blackouts", "add", "x", "--for", "1h", "--days", "mon"])).code).toBe(2);

      expect(await ok(["channels", "delete", id])).toBe(`${id} deleted\n`);
      const gone = await run(["channels", "show", id]);
      expect([gone.code, gone.stderr]).toEqual([3, `porchlight: not_found: No channel "${id}"\n`]);
    } finally {
      await ntfy.close();
    }
  });

  it("devices, sessions and talkers from router lines; query --shost resolves a device name", async () => {
    const R = `clirt${Date.now().toString(36)}`;
    const t0 = Date.now() - 20 * 60_000;
    const line = (ms: number, app: string, msg: string) => `<14>1 ${new Date(ms).toISOString()} ${R} ${app} 100 - - ${msg}`;
    const flow = (start: number, end: number, proto: "tcp" | "udp", dst: string, sport: number, dport: number, outB: number, inB: number) => [
      line(start, "ulogd", `[NEW] ${proto} ${proto === "tcp" ? "6 120 SYN_SENT" : "17 30"} src=192.168.77.20 dst=${dst} sport=${sport} dport=${dport} [UNREPLIED] src=${dst} dst=203.0.113.5 sport=${dport} dport=${sport}`),
      line(end, "ulogd", `[DESTROY] ${proto} ${proto === "tcp" ? "6" : "17"} src=192.168.77.20 dst=${dst} sport=${sport} dport=${dport} packets=10 bytes=${outB} src=${dst} dst=203.0.113.5 sport=${dport} dport=${sport} packets=12 bytes=${inB} [ASSURED]`),
    ];
    const lines = [
      line(t0, "dnsmasq-dhcp", "DHCPACK(br-lan) 192.168.77.20 b8:27:eb:77:00:20 clipi"),
      line(t0 + 1000, "dnsmasq", "reply example.com is 93.184.215.14"),
      ...flow(t0 + 2000, t0 + 62_000, "tcp", "93.184.215.14", 41000, 443, 1500, 90_000),
      ...flow(t0 + 3000, t0 + 4000, "udp", "8.8.8.8", 41001, 53, 70, 120),
      line(t0 + 5000, "kernel", `${R} DROP IN=br-lan OUT=eth0 SRC=192.168.77.20 DST=198.51.100.9 LEN=60 PROTO=TCP SPT=41002 DPT=23`),
    ];
    expect(JSON.parse(await ok(["send", "--json"], { input: lines.join("\n") + "\n" }))).toMatchObject({ stored: lines.length });

    const dev = ndjson(await ok(["devices", "list"])).find((d) => d.hostname === "clipi");
    expect(dev).toMatchObject({ id: "d-b827eb770020", ips: ["192.168.77.20"], vendor: "Raspberry Pi Foundation" });
    expect(JSON.parse(await ok(["devices", "show", "clipi"]))).toMatchObject({ id: dev.id, mac: "B8-27-EB-77-00-20" });
    expect(await ok(["devices", "name", "clipi", "CLI Pi"])).toBe(`${dev.id}: named CLI Pi\n`);
    expect(await ok(["devices", "tag", "CLI Pi", "iot", "lab"])).toBe(`${dev.id}: tags iot, lab\n`);
    expect(await ok(["devices", "tag", dev.id, "lab", "--remove"])).toBe(`${dev.id}: tags iot\n`);
    expect(ndjson(await ok(["devices", "list", "--tag", "iot"])).map((d) => d.id)).toEqual([dev.id]);
    expect((await run(["devices", "show", "no-such-device"])).code).toBe(3);

    // Sessions: filters, every format, paging past one page; a device given by name.
    const all = ndjson(await ok(["sessions", "--router", R, "--last", "1h"]));
    expect(all.map((s) => s.destination.ip).sort()).toEqual(["8.8.8.8", "93.184.215.14"]);
    const paged = ndjson(await ok(["sessions", "--router", R, "--page-size", "1", "--all"]));
    expect(paged.map((s) => s.id)).toEqual(all.map((s) => s.id));
    expect(ndjson(await ok(["sessions", "--router", R, "--page-size", "1", "--limit", "1"])).map((s) => s.id)).toEqual([all[0].id]);
    expect(ndjson(await ok(["sessions", "--device", "CLI Pi", "--domain", "example.com"]))).toEqual([expect.objectContaining({ destination: expect.objectContaining({ ip: "93.184.215.14", domain: "example.com", bytes: 90_000 }) })]);
    expect(ndjson(await ok(["sessions", "--router", R, "--asn", "AS15169", "--port", "53"])).map((s) => s.destination.as.organization.name)).toEqual(["Google LLC"]);
    const scsv = parseCsv(await ok(["sessions", "--router", R, "--csv"]));
    const apiHeader = (await (await stack.api(`/v1/sessions?router=${R}&format=csv`, stack.admin)).text()).split("\r\n")[0]!.split(",");
    expect(scsv[0]).toEqual(apiHeader);
    const dnsRow = scsv.find((r) => r[9] === "8.8.8.8")!;
    expect([dnsRow[4], dnsRow[7], dnsRow[11], dnsRow[15], dnsRow[19], dnsRow[21]]).toEqual(["udp", "70", "120", "15169", dev.id, "destroy"]);
    expect((JSON.parse(await ok(["sessions", "--router", R, "--format", "json"])) as any[]).length).toBe(2);
    expect((await ok(["sessions", "--router", R, "--format", "{destination.ip}|{event.duration}"])).trim().split("\n").sort()).toEqual(["8.8.8.8|1000000000", "93.184.215.14|60000000000"]);
    expect((await run(["sessions", "--country", "USA"])).stderr).toMatch(/^porchlight: validation_failed: /);

    const dests = JSON.parse(await ok(["devices", "destinations", "CLI Pi", "--by", "country", "--format", "json"]));
    expect(dests).toEqual([expect.objectContaining({ key: "US", sessions: 2, bytes_out: 1570, bytes_in: 90_120 })]);
    expect(ndjson(await ok(["devices", "destinations", dev.id, "--by", "domain", "--last", "1d"])).map((b) => b.key)).toEqual(["example.com"]);
    const talkers = ndjson(await ok(["talkers", "--by", "asn", "--key", "AS15169"]));
    expect(talkers).toEqual([expect.objectContaining({ device: dev.id, device_name: "CLI Pi", key: 15169, sessions: 1 })]);
    const tcsv = parseCsv(await ok(["talkers", "--by", "country", "--key", "US", "--csv"]));
    expect(tcsv[0]).toEqual(["DEVICE", "NAME", "COUNTRY", "SESSIONS", "OUT", "IN", "FIRST SEEN", "LAST SEEN"]);
    expect(tcsv.find((r) => r[0] === dev.id)?.slice(1, 6)).toEqual(["CLI Pi", "US", "2", "1570", "90120"]);
    expect((await run(["talkers", "--by", "planet", "--key", "x"])).code).toBe(2);

    // --shost NAME: a device's addresses (said on stderr), else the logging host as before.
    const byDevice = await run(["query", "--last", "1h", "--grep", R, "--shost", "CLI Pi"]);
    expect(byDevice.code, byDevice.stderr).toBe(0);
    expect(ndjson(byDevice.stdout).map((e) => e.destination?.ip)).toEqual(["198.51.100.9"]);
    expect(byDevice.stderr).toBe(`porchlight: --shost CLI Pi: device ${dev.id} (CLI Pi): 192.168.77.20\n`);
    const byHost = await run(["query", "--last", "1h", "--grep", R, "--shost", R]);
    expect(ndjson(byHost.stdout)).toHaveLength(1);
    expect(byHost.stderr).toBe(`porchlight: --shost ${R}: no device of that name; filtering the logging host (host.hostname)\n`);
    expect(ndjson(await ok(["query", "--last", "1h", "--grep", R, "--rshost", "clipi"]))).toHaveLength(0);
    expect((await run(["query", "--last", "1h", "--dhost", "no-such-device"])).code).toBe(2);
    expect(await ok(["devices", "name", dev.id, "--clear"])).toBe(`${dev.id}: name cleared\n`);
  });

  it("login checks the token and writes a 0600 profile; --profile uses it; logout removes it", async () => {
    const env = { PORCHLIGHT_URL: undefined, PORCHLIGHT_TOKEN: undefined };
    const noServer = await run(["rules", "list"], { env });
    expect([noServer.code, noServer.stderr]).toEqual([2, "porchlight: no server configured: set PORCHLIGHT_URL and PORCHLIGHT_TOKEN, or run `porchlight login --url URL`\n"]);
    const r = await run(["login", "--url", stack.base, "--name", "e2e"], { env, input: `${stack.admin}\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("token scope: admin");
    const file = join(xdg, "porchlight", "config.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ default: "e2e", profiles: { e2e: { url: stack.base, token: stack.admin } } });
    expect(ndjson(await ok(["--profile", "e2e", "rules", "list"], { env })).length).toBeGreaterThan(0);
    expect(ndjson(await ok(["rules", "list"], { env })).length).toBeGreaterThan(0);
    expect(ndjson(await ok(["profiles"], { env }))).toEqual([{ name: "e2e", url: stack.base, default: true }]);
    const bad = await run(["login", "--url", stack.base, "--name", "bad"], { env, input: "pl_nosuchtoken1_abcdefghijklmnopqrstuvwxyz\n" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^porchlight: unauthorized: .*refused the token/);
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")).profiles)).toEqual(["e2e"]);
    await ok(["--profile", "e2e", "logout"], { env });
    expect(JSON.parse(readFileSync(file, "utf8")).profiles).toEqual({});
  });

  it("a bad token, an unreachable server, usage mistakes and unknown ids: one line, a script-worthy exit code, no stack trace", async () => {
    const bad = await run(["alerts"], { env: { PORCHLIGHT_TOKEN: "not-a-token" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe("porchlight: unauthorized: A valid token is required (Authorization: Bearer <token>) (the server refused the token: check PORCHLIGHT_TOKEN or run `porchlight login`)\n");
    const badTail = await run(["tail"], { env: { PORCHLIGHT_TOKEN: "not-a-token" } });
    expect(badTail.code).toBe(1);
    expect(badTail.stderr).toBe("porchlight: unauthorized: A valid token is required (Authorization: Bearer <token>) (the server refused the token: check PORCHLIGHT_TOKEN or run `porchlight login`)\n");

    const port = await freePort();
    const down = await run(["query", "--last", "5m"], { env: { PORCHLIGHT_URL: `http://127.0.0.1:${port}` } });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`porchlight: cannot reach the server at http://127.0.0.1:${port}: ECONNREFUSED (is it running? check PORCHLIGHT_URL or the profile's url)\n`);

    for (const args of [["query", "--bogus"], ["query", "--last", "5 minutes"], ["query", "--shost", "nas", "--shost", "10.0.0.1"], ["ack"], ["frobnicate"], ["completion", "fish"]]) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/^porchlight: /);
    }
    for (const args of [["alert", "al_nope"], ["event", "01M82BQVC8PFGS4YKFVE156FA9"], ["rules", "show", "nope"], ["heartbeats", "delete", "nope"], ["ack", "al_nope"]]) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(3);
      expect(r.stderr, args.join(" ")).toMatch(/^porchlight: not_found: /);
    }
    const validation = await run(["query", "--severity", "loud"]);
    expect(validation.code).toBe(1);
    expect(validation.stderr).toBe("porchlight: validation_failed: Parameter 'severity': a syslog severity: 0-7 or emerg, alert, crit, err, warning, notice, info, debug\n");
  });

  it("--help with examples, and a bash completion script that completes commands and options", async () => {
    const help = await ok(["--help"]);
    expect(help).toContain("Exit codes: 0 ok, 1 error");
    expect(await ok(["query", "--help"])).toMatch(/--rshost <HOST>[\s\S]*Examples:\n {2}\$ porchlight query --last 6h/);
    writeFileSync(join(tmp, "c.bash"), await ok(["completion", "bash"]));
    const complete = (words: string) =>
      spawnSync("bash", ["-c", `source c.bash; COMP_WORDS=(${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _porchlight; echo "\${COMPREPLY[*]}"`], { cwd: tmp, encoding: "utf8" }).stdout.trim();
    expect(complete("porchlight ru").split(" ")).toEqual(["rules"]);
    expect(complete("porchlight rules ''").split(" ")).toEqual(expect.arrayContaining(["list", "import", "export", "backtest"]));
    expect(complete("porchlight query --rs").split(" ")).toEqual(["--rshost", "--rsport"]);
    expect(complete("porchlight channels ''").split(" ")).toEqual(expect.arrayContaining(["list", "show", "add", "edit", "test", "enable", "disable", "delete", "deliveries"]));
    expect(complete("porchlight devices ''").split(" ")).toEqual(expect.arrayContaining(["list", "show", "name", "tag", "destinations"]));
    expect(complete("porchlight ta").split(" ")).toEqual(["tail", "talkers"]);
    expect(complete("porchlight sessions --co").split(" ")).toEqual(["--country"]);
  });

  it.skipIf(!haveZsh)("the zsh completion script loads in zsh", async () => {
    writeFileSync(join(tmp, "_porchlight"), await ok(["completion", "zsh"]));
    const z = spawnSync("zsh", ["-f", "-c", "autoload -U compinit && compinit -u -D && source ./_porchlight && complete -p porchlight"], { cwd: tmp, encoding: "utf8" });
    expect(z.status, z.stderr).toBe(0);
    expect(z.stdout).toContain("_porchlight");
  });
});
