/**
 * The RELP source: its framing (unit), the protocol against a hand-driven client on a real socket
 * (open offers, `rsp 200 OK` only once the message is fsynced in the spool, close, serverclose on
 * SIGTERM, errors), and Debian's real rsyslog (omrelp) as the sender with the relay killed -9
 * mid-stream and restarted on the same spool: every line reaches the edge exactly once.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { encodeRelpFrame, parseOffers, RelpDecoder, RelpFramingError, type RelpFrame } from "../../relay/framing/relp.ts";
import { helpText } from "../../relay/config.ts";
import { freePort, metric, Receiver, Relay, relayArgs, tmp, waitFor } from "./helpers.ts";

const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});

describe("RELP framing", () => {
  it("decodes frames split anywhere, with and without data", () => {
    const wire = Buffer.concat([encodeRelpFrame(1, "open", "relp_version=0\ncommands=syslog"), encodeRelpFrame(2, "syslog", "<13>hi\nthere"), encodeRelpFrame(3, "close")]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const d = new RelpDecoder(1024);
      const frames = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      expect(frames.map((f) => [f.txnr, f.command, f.data.toString(), f.truncated])).toEqual([
        [1, "open", "relp_version=0\ncommands=syslog", false],
        [2, "syslog", "<13>hi\nthere", false],
        [3, "close", "", false],
      ]);
    }
    expect(encodeRelpFrame(0, "serverclose").toString()).toBe("0 serverclose 0\n");
    expect(encodeRelpFrame(7, "rsp", "200 OK").toString()).toBe("7 rsp 6 200 OK\n");
  });

  it("truncates DATA beyond maxBytes and keeps framing", () => {
    const d = new RelpDecoder(4);
    const f = d.push(Buffer.concat([encodeRelpFrame(1, "syslog", "abcdefgh"), encodeRelpFrame(2, "syslog", "ok")]));
    expect(f.map((x) => [x.data.toString(), x.truncated])).toEqual([["abcd", true], ["ok", false]]);
  });

  it.each([
    ["x open 0\n", "digit"],
    ["1 op3n 0\n", "COMMAND"],
    ["1 syslog 3 abcX", "trailer"],
    ["1 syslog 5\n", "no data"],
    ["1234567890 syslog 0\n", "SP after TXNR"],
  ])("rejects %j", (wire, why) => {
    expect(() => new RelpDecoder(64).push(Buffer.from(wire))).toThrow(RelpFramingError);
    expect(() => new RelpDecoder(64).push(Buffer.from(wire))).toThrow(why);
  });

  it("parses offers", () => {
    expect([...parseOffers(Buffer.from("relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog"))]).toEqual([
      ["relp_version", ["0"]],
      ["relp_software", ["librelp", "1.11.0", "http://librelp.adiscon.com"]],
      ["commands", ["syslog"]],
    ]);
  });
});

/** A RELP client driven by hand: sends frames, collects every frame the relay sends back. */
class Client {
  socket: Socket;
  frames: RelpFrame[] = [];
  closed: Promise<void>;
  private decoder = new RelpDecoder(1 << 20);
  private waiters: (() => void)[] = [];
  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.on("data", (c: Buffer) => {
      this.frames.push(...this.decoder.push(c));
      for (const w of this.waiters.splice(0)) w();
    });
    this.socket.on("error", () => {});
    this.closed = new Promise((r) => this.socket.on("close", () => r()));
  }
  send(txnr: number, command: string, data = ""): void {
    this.socket.write(encodeRelpFrame(txnr, command, data));
  }
  /** Resolves once `n` frames have arrived in total. */
  async until(n: number): Promise<RelpFrame[]> {
    while (this.frames.length < n) await new Promise<void>((r) => this.waiters.push(r));
    return this.frames;
  }
}

/** A local edge and a relay with a RELP listener on a free port. */
async function relpRelay(extra: string[] = []) {
  const rx = await new Receiver().start();
  cleanup.push(() => rx.stop());
  const relay = await new Relay(relayArgs(rx, tmp(), ["--relp", "127.0.0.1:0", ...extra])).ready(["relp", "metrics"]);
  cleanup.push(() => (relay.proc.exitCode === null ? relay.kill() : null));
  return { rx, relay };
}

describe("RELP protocol", () => {
  const OPEN = "relp_version=0\nrelp_software=test,1\ncommands=syslog";

  it("open, syslog answered only once fsynced, close; SIGTERM sends serverclose", async () => {
    const { rx, relay } = await relpRelay(["--spool-fsync-ms", "200"]);
    const c = new Client(relay.port("relp"));
    c.send(1, "open", OPEN);
    const [open] = await c.until(1);
    expect(open!.command).toBe("rsp");
    expect(open!.txnr).toBe(1);
    const offers = open!.data.toString();
    expect(offers.startsWith("200 OK\n")).toBe(true);
    expect(parseOffers(Buffer.from(offers.slice(7))).get("commands")).toEqual(["syslog"]);
    expect(parseOffers(Buffer.from(offers.slice(7))).get("relp_version")).toEqual(["0"]);

    for (let i = 2; i <= 101; i++) c.send(i, "syslog", `<13>relp msg ${i}`);
    const frames = await c.until(101);
    // Each 200 OK came after the message was fsynced: the spooled counter already covers them all.
    const spooledAtAck = metric(await relay.metrics(), "porchlight_relay_spooled_total", { component: "relp" });
    expect(spooledAtAck).toBe(100);
    expect(frames.slice(1).map((f) => `${f.txnr} ${f.command} ${f.data}`)).toEqual(Array.from({ length: 100 }, (_, i) => `${i + 2} rsp 200 OK`));
    await waitFor(() => rx.lines.length === 100);
    expect(rx.lines.map((l) => l.raw)).toEqual(Array.from({ length: 100 }, (_, i) => `<13>relp msg ${i + 2}`));
    expect(rx.lines.every((l) => l.transport === "relp" && l.source_ip === "127.0.0.1")).toBe(true);

    c.send(102, "close");
    await c.closed;
    expect(c.frames.at(-1)!.txnr).toBe(102);
    expect(c.frames.at(-1)!.data.length).toBe(0);

    // A second session stays open; SIGTERM sends it the serverclose hint before closing.
    const d = new Client(relay.port("relp"));
    d.send(1, "open", OPEN);
    await d.until(1);
    d.send(2, "syslog", "<13>before shutdown");
    await d.until(2);
    expect(await relay.kill("SIGTERM")).toBe(0);
    await d.closed;
    expect(d.frames.map((f) => `${f.txnr} ${f.command}`)).toEqual(["1 rsp", "2 rsp", "0 serverclose"]);
    expect(rx.lines.at(-1)!.raw).toBe("<13>before shutdown");
  });

  it("PORCHLIGHT_RELP is the environment form of --relp, and --help lists it", async () => {
    const rx = await new Receiver().start();
    cleanup.push(() => rx.stop());
    const args = relayArgs(rx, tmp());
    const relay = await new Relay(args, { env: { PORCHLIGHT_RELP: "127.0.0.1:0" } }).ready(["relp"]);
    cleanup.push(() => (relay.proc.exitCode === null ? relay.kill() : null));
    const c = new Client(relay.port("relp"));
    c.send(1, "open", OPEN);
    c.send(2, "syslog", "<13>via env");
    await c.until(2);
    await waitFor(() => rx.lines.some((l) => l.raw === "<13>via env"));
    expect(helpText()).toContain("--relp HOST:PORT");
    expect(helpText()).toContain("[PORCHLIGHT_RELP]");
  });

  it("a command before open, a client without syslog, and a framing error end the session, counted", async () => {
    const { rx, relay } = await relpRelay();
    const a = new Client(relay.port("relp"));
    a.send(1, "syslog", "<13>too early");
    await a.closed;
    expect(a.frames.map((f) => f.data.toString())).toEqual(["500 session not open"]);
    const b = new Client(relay.port("relp"));
    b.send(1, "open", "relp_version=0\ncommands=eventlog");
    await b.closed;
    expect(b.frames.map((f) => f.data.toString())).toEqual(["500 required command not supported by client"]);
    const c = new Client(relay.port("relp"));
    c.socket.write("1 open 3 abc!garbage");
    await c.closed;
    const m = await relay.metrics();
    expect(metric(m, "porchlight_relay_errors_total", { component: "relp", reason: "protocol" })).toBe(2);
    expect(metric(m, "porchlight_relay_errors_total", { component: "relp", reason: "malformed_frame" })).toBe(1);
    expect(metric(m, "porchlight_relay_received_total", { component: "relp" })).toBe(0);
    expect(relay.proc.exitCode).toBeNull();
  });

  it("a reconnecting client's re-sends of messages already spooled are acknowledged, not stored again", async () => {
    const { rx, relay } = await relpRelay();
    const a = new Client(relay.port("relp"));
    a.send(1, "open", OPEN);
    for (let i = 0; i < 10; i++) a.send(i + 2, "syslog", `<13>seq ${i}`);
    await a.until(11);
    a.socket.destroy(); // the connection breaks: the client cannot know which answers it missed
    await a.closed;
    // It re-sends its last 4 messages (answers lost), then new ones; a message equal to an old one
    // but not in re-send position (seq 0) is new traffic and is stored.
    const b = new Client(relay.port("relp"));
    b.send(1, "open", OPEN);
    const again = ["<13>seq 6", "<13>seq 7", "<13>seq 8", "<13>seq 9", "<13>seq 10", "<13>seq 0"];
    again.forEach((m, i) => b.send(i + 2, "syslog", m));
    await b.until(7);
    expect(b.frames.slice(1).every((f) => f.data.toString() === "200 OK")).toBe(true);
    await waitFor(() => rx.lines.length === 12);
    expect(rx.lines.map((l) => l.raw)).toEqual([...Array.from({ length: 11 }, (_, i) => `<13>seq ${i}`), "<13>seq 0"]);
    const m = await relay.metrics();
    expect(metric(m, "porchlight_relay_dropped_total", { component: "relp", reason: "resent_duplicate" })).toBe(4);
    expect(metric(m, "porchlight_relay_received_total", { component: "relp" })).toBe(16);
    expect(metric(m, "porchlight_relay_sent_total", { component: "relp" })).toBe(12);
  });
});

// ------------------------------------------------------------------------- rsyslog (omrelp) as the sender

const RSYSLOGD = "/usr/sbin/rsyslogd";
const OMRELP = ["/usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so", "/usr/lib/aarch64-linux-gnu/rsyslog/omrelp.so", "/usr/lib/rsyslog/omrelp.so"];
const haveRsyslog = existsSync(RSYSLOGD) && OMRELP.some((p) => existsSync(p));
if (!haveRsyslog) console.log("SKIPPED: rsyslog with RELP (apt-get install rsyslog rsyslog-relp) is not installed: the omrelp kill -9 test does not run");

describe.skipIf(!haveRsyslog)("rsyslog omrelp → relay, kill -9 mid-stream", () => {
  it("0 lost, 0 stored twice", { timeout: 90_000 }, async () => {
    const TOTAL = 20_000;
    const CHUNK = 2000;
    const dir = tmp("relay-rsyslog-");
    mkdirSync(join(dir, "work"));
    const input = join(dir, "in.log");
    writeFileSync(input, "");
    const rx = await new Receiver().start();
    cleanup.push(() => rx.stop());
    const port = await freePort();
    const spool = join(dir, "spool");
    const args = relayArgs(rx, spool, ["--relp", `127.0.0.1:${port}`, "--batch-lines", "1000"]);
    let relay = await new Relay(args).ready(["relp", "metrics"]);
    cleanup.push(() => (relay.proc.exitCode === null ? relay.kill() : null));

    // rsyslog in the foreground with its own config, pid file and work directory: imfile reads the
    // test's file, omrelp forwards with a window larger than rsyslog's 256-message batches (see
    // docs/relay.md) and retries every second while the relay is down.
    writeFileSync(
      join(dir, "rsyslog.conf"),
      `global(workDirectory="${dir}/work")
module(load="imfile")
module(load="omrelp")
input(type="imfile" file="${input}" tag="relptest:" ruleset="fwd" freshStartTail="off")
ruleset(name="fwd") {
  action(type="omrelp" target="127.0.0.1" port="${port}" template="RSYSLOG_ForwardFormat" windowSize="1024"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}
`,
    );
    const rsyslog: ChildProcess = spawn(RSYSLOGD, ["-n", "-f", join(dir, "rsyslog.conf"), "-i", join(dir, "rsyslog.pid")], { stdio: ["ignore", "pipe", "pipe"] });
    let rsyslogOut = "";
    rsyslog.stdout!.on("data", (c: Buffer) => (rsyslogOut += c.toString()));
    rsyslog.stderr!.on("data", (c: Buffer) => (rsyslogOut += c.toString()));
    const rsyslogExit = new Promise((r) => rsyslog.on("exit", r));
    cleanup.push(async () => {
      if (rsyslog.exitCode === null) {
        rsyslog.kill("SIGTERM");
        await rsyslogExit;
      }
    });

    // The writer appends the stream chunk by chunk; once the relay has taken a third of it, the
    // relay is killed -9 while the writer goes on and rsyslog has messages in flight.
    const line = (i: number) => `relp-seq ${String(i).padStart(6, "0")}\n`;
    let receivedAtKill = -1;
    for (let i = 0; i < TOTAL; i += CHUNK) {
      appendFileSync(input, Array.from({ length: CHUNK }, (_, k) => line(i + k)).join(""));
      if (receivedAtKill < 0) {
        const got = metric(await relay.metrics(), "porchlight_relay_received_total", { component: "relp" });
        if (got >= TOTAL / 3) {
          relay.proc.kill("SIGKILL");
          await relay.exit;
          receivedAtKill = got;
        }
      }
      await new Promise((r) => setTimeout(r, 2)); // a steady stream rather than one burst (sender pacing)
    }
    if (receivedAtKill < 0) {
      // The writer outran the relay: kill it once it has taken a third, the rest still in rsyslog.
      await waitFor(async () => (receivedAtKill = metric(await relay.metrics(), "porchlight_relay_received_total", { component: "relp" })) >= TOTAL / 3, 30_000, () => rsyslogOut);
      relay.proc.kill("SIGKILL");
      await relay.exit;
    }
    expect(receivedAtKill).toBeLessThan(TOTAL);
    const deliveredAtKill = rx.lines.length;
    appendFileSync(input, "relp-seq END\n"); // written last: rsyslog sends in order, re-sends first

    relay = await new Relay(args).ready(["relp", "metrics"]);
    await waitFor(() => rx.lines.some((l) => l.raw.endsWith("relp-seq END")), 60_000, () => `${rx.lines.length} lines at the edge; rsyslog: ${rsyslogOut.slice(-1000)}`);
    // The spool drains whatever the sentinel overtook (it is in spool order, so nothing is left).
    await waitFor(async () => ((await (await fetch(`http://${relay.addresses.metrics}/healthz`)).json()) as { backlog_bytes: number }).backlog_bytes === 0);

    const seen = new Map<string, number>();
    for (const l of rx.lines) {
      const m = /relp-seq (\d{6}|END)$/.exec(l.raw);
      expect(m, l.raw).not.toBeNull();
      seen.set(m![1]!, (seen.get(m![1]!) ?? 0) + 1);
    }
    const lost = Array.from({ length: TOTAL }, (_, i) => String(i).padStart(6, "0")).filter((k) => !seen.has(k));
    const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
    expect(lost).toEqual([]);
    expect(twice).toEqual([]);
    expect(rx.lines.length).toBe(TOTAL + 1);
    const m = await relay.metrics();
    const skipped = metric(m, "porchlight_relay_dropped_total", { component: "relp", reason: "resent_duplicate" });
    console.log(`rsyslog omrelp kill -9: ${receivedAtKill} received before the kill, ${deliveredAtKill} at the edge then; after restart ${skipped} re-sent messages recognised as already spooled; ${TOTAL} lines stored once each`);
  });
});
