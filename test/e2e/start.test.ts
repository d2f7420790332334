/**
 * `npm start` end to end: real wrangler dev with local D1 in a temp PERSIST_DIR, the real relay on a free
 * port, a line sent with `logger` over UDP, found again through GET /v1/events. Everything started here is
 * one process group, stopped at the end.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveCorpus, readCorpusJson } from "../conformance/corpora.ts";
import { startStack, type Stack } from "./stack.ts";

/** `root` and every process below it (parent links from /proc/<pid>/stat). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  for (const queue = [root]; queue.length; ) {
    const pid = queue.pop()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

let stack: Stack;
let port: number;
let relayPort: number;
let ADMIN: string;
const waitFor = (re: RegExp, ms: number) => stack.waitFor(re, ms);
const api = (path: string, token: string, init: RequestInit = {}) => stack.api(path, token, init);

beforeAll(async () => {
  stack = await startStack();
  ({ port, relayPort, admin: ADMIN } = stack);
});

afterAll(async () => {
  await stack?.stop();
});

describe("npm start", () => {
  it("prints the URL and tokens, and a line sent to the relay with logger is searchable", async () => {
    expect(stack.output()).toContain(`URL:          http://127.0.0.1:${port}`);
    expect(stack.output()).toContain(`admin token:  ${ADMIN}`);
    const ingestToken = (await waitFor(/ingest token: (pl_\S+)/, 1000))[1]!;

    // The ingest token can ingest but not read.
    expect((await api("/v1/events", ingestToken)).status).toBe(403);

    const marker = `hello-from-e2e-${Date.now()}`;
    if (/relay: syslog on udp\+tcp/.test(stack.output())) {
      const r = spawnSync("logger", ["-n", "127.0.0.1", "-P", String(relayPort), "-d", marker]);
      expect(r.status).toBe(0);
    } else {
      console.log("relay not available: posting the line directly to /v1/ingest");
      const res = await api("/v1/ingest", ingestToken, { method: "POST", body: `<13>Nov 22 10:00:00 e2e test: ${marker}\n`, headers: { "content-type": "text/plain" } });
      expect(res.status).toBe(200);
    }
    let found: any[] = [];
    for (let i = 0; i < 60 && found.length === 0; i++) {
      const res = await api(`/v1/events?q=${marker}&last=1h`, ADMIN);
      expect(res.status).toBe(200);
      found = ((await res.json()) as { events: any[] }).events;
      if (found.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    expect(found, stack.output().slice(-4000)).toHaveLength(1);
    expect(found[0].raw).toContain(marker);
  });

  it("puts no token on the command line of any process it started (/proc/*/cmdline of its process tree)", async () => {
    const ingestToken = (await waitFor(/ingest token: (pl_\S+)/, 1000))[1]!;
    const secrets = [ADMIN, ingestToken, ingestToken.split("_").pop()!];
    const tree = processTree(stack.pid);
    const cmdlines = tree.map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      } catch {
        return ""; // exited meanwhile
      }
    });
    // The tree really holds what `npm start` runs: wrangler, workerd and the relay.
    expect(cmdlines.some((c) => /wrangler/.test(c)), cmdlines.join("\n")).toBe(true);
    expect(cmdlines.some((c) => /workerd/.test(c)), cmdlines.join("\n")).toBe(true);
    if (/relay: syslog on udp\+tcp/.test(stack.output())) expect(cmdlines.some((c) => /relay\/main\.ts/.test(c)), cmdlines.join("\n")).toBe(true);
    for (const c of cmdlines) for (const s of secrets) expect(c.includes(s), `a token in argv: ${c}`).toBe(false);
    console.log(`${tree.length} processes under npm start, no token in any argv`);
  });

  it("ingests every input line of the syslog corpora (valid and malformed) without an error, losing none", async () => {
    type Case = { input?: string | null; input_b64?: string | null };
    const inputs: Buffer[] = [];
    const add = (cases: Case[]) => {
      for (const c of cases) inputs.push(c.input_b64 ? Buffer.from(c.input_b64, "base64") : Buffer.from(c.input ?? "", "utf8"));
    };
    if (haveCorpus("go-syslog-influxdata")) {
      add(readCorpusJson<Case[]>("go-syslog-influxdata", "rfc5424_cases.json"));
      add(readCorpusJson<Case[]>("go-syslog-influxdata", "rfc3164_cases.json"));
    }
    if (haveCorpus("rsyslog-parsertests")) add(readCorpusJson<{ per_message_cases: Case[] }>("rsyslog-parsertests", "rsyslog_parser_cases.json").per_message_cases);
    if (haveCorpus("syslog-ng-msgparse")) add(readCorpusJson<Case[]>("syslog-ng-msgparse", "syslogng_msgparse_cases.json"));
    if (haveCorpus("nsyslog-parser-tests")) add(readCorpusJson<Case[]>("nsyslog-parser-tests", "nsyslog_parser_cases.json"));
    if (inputs.length === 0) return;

    // NDJSON keeps each case whole (some contain newlines); invalid UTF-8 arrives as U+FFFD.
    const nd = inputs.map((b) => JSON.stringify({ raw: b.toString("utf8"), transport: "udp" })).join("\n");
    const res = await api("/v1/ingest", ADMIN, { method: "POST", body: nd, headers: { "content-type": "application/x-ndjson", "idempotency-key": "corpora-ndjson" } });
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.errors).toEqual([]);
    expect(body.accepted + body.empty).toBe(inputs.length);
    expect(body.stored).toBe(body.accepted);

    // The raw bytes as text/plain (split into lines by the edge): still a 200, everything non-empty stored.
    const plain = await api("/v1/ingest", ADMIN, { method: "POST", body: Buffer.concat(inputs.flatMap((b) => [b, Buffer.from("\n")])), headers: { "content-type": "text/plain" } });
    const pb = (await plain.json()) as any;
    expect(plain.status, JSON.stringify(pb)).toBe(200);
    expect(pb.stored).toBe(pb.accepted);
    console.log(`corpora through ingest: ${inputs.length} cases, ${body.accepted} stored, ${body.parse_errors} unparsed (kept as raw)`);
  });
});
