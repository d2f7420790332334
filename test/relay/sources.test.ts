/**
 * Each source and framing end to end: the relay runs as a child process (`node relay/main.ts`),
 * senders use real sockets on loopback (and util-linux `logger`), and a local receiver plays the
 * edge. Also: invalid configuration exits 2 with one message.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { appendFileSync, copyFileSync, readFileSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { drained, metric, Receiver, Relay, relayArgs, ROOT, tcpSend, tmp, TOKEN, waitFor } from "./helpers.ts";

let rx: Receiver;
const relays: Relay[] = [];
const start = (args: string[], components: string[], opts?: { stdin?: boolean }) => {
  const r = new Relay(args, opts);
  relays.push(r);
  return components.length ? r.ready(components) : Promise.resolve(r);
};
const raws = () => rx.lines.map((l) => l.raw);

beforeAll(async () => {
  rx = await new Receiver().start();
});
afterAll(async () => {
  await Promise.all(relays.map((r) => (r.proc.exitCode === null ? r.kill() : null)));
  await rx.stop();
});

describe("network sources", () => {
  let relay: Relay;
  beforeAll(async () => {
    relay = await start(relayArgs(rx, tmp(), ["--udp", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--max-message-bytes", "1024"]), ["udp", "tcp", "metrics"]);
  });

  it("UDP: one datagram is one message, with source address and transport", async () => {
    const s = createSocket("udp4");
    for (const m of ["<13>udp one", "<13>udp two\n", "<13>multi\nline datagram"]) await new Promise<void>((r) => s.send(m, relay.port("udp"), "127.0.0.1", () => r()));
    s.close();
    await waitFor(() => raws().includes("<13>multi\nline datagram"));
    const got = rx.lines.filter((l) => l.transport === "udp");
    expect(got.map((l) => l.raw)).toEqual(["<13>udp one", "<13>udp two", "<13>multi\nline datagram"]);
    expect(got.every((l) => l.source_ip === "127.0.0.1" && !Number.isNaN(Date.parse(l.received_at)))).toBe(true);
  });

  it("TCP newline and octet-counting framing, from util-linux logger too", async () => {
    await tcpSend(relay.port("tcp"), ["<13>nl one\r\n<13>nl ", "two\n<13>nl three"]);
    const oc = ["<13>oc one", "<13>oc with\nnewline"].map((m) => `${Buffer.byteLength(m)} ${m}`).join("");
    await tcpSend(relay.port("tcp"), [oc.slice(0, 7), oc.slice(7)]);
    execFileSync("logger", ["-n", "127.0.0.1", "-P", String(relay.port("tcp")), "-T", "--octet-count", "logger octet tcp"]);
    execFileSync("logger", ["-n", "127.0.0.1", "-P", String(relay.port("udp")), "-d", "logger plain udp"]);
    await waitFor(() => raws().some((r) => r.endsWith("logger octet tcp")) && raws().some((r) => r.endsWith("logger plain udp")));
    await waitFor(() => raws().includes("<13>oc with\nnewline"));
    expect(raws()).toEqual(expect.arrayContaining(["<13>nl one", "<13>nl two", "<13>nl three", "<13>oc one", "<13>oc with\nnewline"]));
  });

  it("truncates over-long messages (TCP and UDP), flags and counts them", async () => {
    await tcpSend(relay.port("tcp"), `<13>${"L".repeat(5000)}\n<13>after long\n`);
    const s = createSocket("udp4");
    await new Promise<void>((r) => s.send(`<13>${"U".repeat(3000)}`, relay.port("udp"), "127.0.0.1", () => r()));
    s.close();
    await waitFor(() => raws().includes("<13>after long") && rx.lines.some((l) => l.raw.startsWith("<13>UUU")));
    const long = rx.lines.filter((l) => l.truncated);
    expect(long.map((l) => [l.transport, Buffer.byteLength(l.raw)])).toEqual(expect.arrayContaining([["tcp", 1024], ["udp", 1024]]));
    const m = await relay.metrics();
    expect(metric(m, "porchlight_relay_truncated_total", { component: "tcp" })).toBe(1);
    expect(metric(m, "porchlight_relay_truncated_total", { component: "udp" })).toBe(1);
  });

  it("survives malformed frames and binary garbage; the connection closes cleanly or continues", async () => {
    const garbage = Buffer.alloc(20_000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 256;
    await tcpSend(relay.port("tcp"), ["5 <13>a", "99999999999999 <13>bad count\n", "x12 nope\n", "7 <13>ok1"]);
    await tcpSend(relay.port("tcp"), garbage);
    await tcpSend(relay.port("tcp"), ["0 zero length\n", "4294967296 huge\n"]);
    await tcpSend(relay.port("tcp"), "<13>still alive\n");
    await waitFor(() => raws().includes("<13>still alive"));
    expect(raws()).toEqual(expect.arrayContaining(["<13>a", "<13>ok1"]));
    expect(relay.proc.exitCode).toBeNull();
    const m = await relay.metrics();
    expect(metric(m, "porchlight_relay_errors_total", { component: "tcp", reason: "malformed_frame" })).toBeGreaterThan(0);
    for (const l of rx.lines) expect(Buffer.byteLength(l.raw)).toBeLessThanOrEqual(1024 * 3); // utf8 replacement chars may triple bytes
  });

  it("counts per source and for the sink; the relay name goes in X-Porchlight-Relay", async () => {
    const m = await relay.metrics();
    const sent = metric(m, "porchlight_relay_sent_total", { component: "tcp" }) + metric(m, "porchlight_relay_sent_total", { component: "udp" });
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_sent_total", { component: "https" }) >= sent);
    const after = await relay.metrics();
    for (const component of ["tcp", "udp"]) {
      expect(metric(after, "porchlight_relay_spooled_total", { component })).toBe(metric(after, "porchlight_relay_sent_total", { component }));
    }
    expect(rx.requests[0]!.relay).toBeTruthy();
    const h = await fetch(`http://${relay.addresses.metrics}/healthz`);
    expect(h.status).toBe(200);
  });
});

describe("IPv6", () => {
  it("listens on [::1] for UDP and TCP and reports IPv6 source addresses", async () => {
    const r = await start(relayArgs(rx, tmp(), ["--udp", "[::1]:0", "--tcp", "[::1]:0"]), ["udp", "tcp"]);
    expect(r.addresses.tcp).toMatch(/^\[::1\]:\d+$/);
    execFileSync("logger", ["-n", "::1", "-P", String(r.port("udp")), "-d", "v6 over udp"]);
    execFileSync("logger", ["-n", "::1", "-P", String(r.port("tcp")), "-T", "v6 over tcp"]);
    await waitFor(() => raws().filter((x) => x.endsWith(" v6 over udp") || x.endsWith(" v6 over tcp")).length === 2);
    expect(rx.lines.filter((l) => l.raw.includes(" v6 over ")).map((l) => l.source_ip)).toEqual(["::1", "::1"]);
  });
});

describe("TLS (RFC 5425)", () => {
  const dir = tmp("relay-tls-");
  const ssl = (...a: string[]) => execFileSync("openssl", a, { cwd: dir, stdio: "pipe" });
  beforeAll(() => {
    const key = (n: string) => ssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${n}.key`);
    key("ca");
    ssl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=porchlight test CA");
    writeFileSync(join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    for (const n of ["server", "client"]) {
      key(n);
      ssl("req", "-new", "-key", `${n}.key`, "-out", `${n}.csr`, "-subj", `/CN=${n}`);
      ssl("x509", "-req", "-in", `${n}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${n}.crt`, "-days", "2", "-extfile", "ext.cnf");
    }
  });
  const f = (n: string) => readFileSync(join(dir, n));
  const send = (port: number, text: string, withCert: boolean) =>
    new Promise<string>((resolve) => {
      const s = tlsConnect({ host: "127.0.0.1", port, ca: f("ca.crt"), ...(withCert ? { cert: f("client.crt"), key: f("client.key") } : {}) }, () => {
        s.end(text);
      });
      s.on("error", (e) => resolve(`error: ${e.message}`));
      s.on("close", () => resolve("closed"));
      s.resume();
    });

  it("accepts clients without a certificate when no CA is configured", async () => {
    const r = await start(relayArgs(rx, tmp(), ["--tls", "127.0.0.1:0", "--tls-cert", join(dir, "server.crt"), "--tls-key", join(dir, "server.key")]), ["tls"]);
    await send(r.port("tls"), "25 <13>tls octet no client", false);
    await waitFor(() => raws().includes("<13>tls octet no client"));
    expect(rx.lines.find((l) => l.raw === "<13>tls octet no client")!.transport).toBe("tls");
  });

  it("with --tls-ca requires a client certificate signed by the CA (mutual TLS)", async () => {
    const r = await start(relayArgs(rx, tmp(), ["--tls", "127.0.0.1:0", "--tls-cert", join(dir, "server.crt"), "--tls-key", join(dir, "server.key"), "--tls-ca", join(dir, "ca.crt")]), ["tls", "metrics"]);
    await send(r.port("tls"), "<13>mtls without cert\n", false);
    await send(r.port("tls"), "<13>mtls with cert\n", true);
    await waitFor(() => raws().includes("<13>mtls with cert"));
    await waitFor(async () => metric(await r.metrics(), "porchlight_relay_errors_total", { component: "tls", reason: "handshake" }) === 1);
    expect(raws()).not.toContain("<13>mtls without cert");
  });
});

describe("files and stdin", () => {
  it("follows a file through rename and copytruncate rotation, and remembers its offset across restarts", async () => {
    const d = tmp("relay-file-");
    const log = join(d, "app.log");
    const spool = tmp();
    writeFileSync(log, "old line before start\n");
    const args = relayArgs(rx, spool, ["--file", log, "--file-poll-ms", "30"]);
    let r = await start(args, ["metrics"]);
    await waitFor(() => r.logs.some((l) => l.msg === "following file"));
    const seen = (s: string) => () => raws().includes(s);
    appendFileSync(log, "f1\nf2\npartial");
    await waitFor(seen("f2"));
    appendFileSync(log, " line done\n");
    await waitFor(seen("partial line done"));
    // Rotation by rename: the rest of the old file, then the new file from its start.
    appendFileSync(log, "f3 before rename\n");
    renameSync(log, log + ".1");
    appendFileSync(log + ".1", "f4 late write to old file\n");
    writeFileSync(log, "f5 new file\n");
    await waitFor(seen("f5 new file"));
    // Copytruncate: copy, truncate in place, the writer continues at offset 0.
    appendFileSync(log, "f6\nf7 a longer line to make the file longer\n");
    await waitFor(seen("f7 a longer line to make the file longer"));
    copyFileSync(log, log + ".2");
    truncateSync(log, 0);
    appendFileSync(log, "f8\n");
    await waitFor(seen("f8"));
    const m = await r.metrics();
    expect(metric(m, "porchlight_relay_file_rotations_total", { kind: "rename" })).toBe(1);
    expect(metric(m, "porchlight_relay_file_rotations_total", { kind: "truncate" })).toBe(1);
    expect(await r.kill("SIGTERM")).toBe(0);
    // Written while the relay is down: read after restart, nothing before it repeated.
    appendFileSync(log, "f9 while down\n");
    r = await start(args, ["metrics"]);
    await waitFor(seen("f9 while down"));
    await drained(r); // nothing more will arrive
    const fileLines = rx.lines.filter((l) => l.transport === "file").map((l) => l.raw);
    expect(fileLines).toEqual(["f1", "f2", "partial line done", "f3 before rename", "f4 late write to old file", "f5 new file", "f6", "f7 a longer line to make the file longer", "f8", "f9 while down"]);
    await r.kill("SIGTERM");
  });

  it("--file-start beginning reads existing content", async () => {
    const d = tmp("relay-file-");
    const log = join(d, "b.log");
    writeFileSync(log, "b1 existing\nb2 existing\n");
    const r = await start(relayArgs(rx, tmp(), ["--file", log, "--file-start", "beginning", "--file-poll-ms", "30"]), ["metrics"]);
    await waitFor(() => raws().includes("b2 existing"));
    await drained(r);
    expect(rx.lines.filter((l) => l.raw.startsWith("b") && l.raw.endsWith(" existing")).map((l) => [l.raw, l.transport])).toEqual([
      ["b1 existing", "file"],
      ["b2 existing", "file"],
    ]);
    expect(metric(await r.metrics(), "porchlight_relay_received_total", { component: "file" })).toBe(2);
  });

  it("stdin: lines are delivered and the relay exits 0 at end of input", async () => {
    const r = await start(relayArgs(rx, tmp(), ["--stdin"]), [], { stdin: true });
    r.proc.stdin!.end("<13>stdin one\n<13>stdin two");
    expect(await r.exit).toBe(0);
    expect(raws()).toEqual(expect.arrayContaining(["<13>stdin one", "<13>stdin two"]));
    expect(rx.lines.find((l) => l.raw === "<13>stdin two")!.transport).toBe("stdin");
  });
});

describe("configuration errors", () => {
  it.each([
    [["--token", TOKEN, "--udp", "127.0.0.1:0"], "--endpoint is required"],
    [["--endpoint", "ftp://x", "--token", TOKEN, "--udp", "127.0.0.1:0"], "must be http:// or https://"],
    [["--endpoint", "http://x", "--token", TOKEN, "--tls", "127.0.0.1:0", "--tls-cert", "/nonexistent.crt", "--tls-key", "/nonexistent.key"], "cannot read /nonexistent.crt"],
    [["--config", "/nonexistent.json"], "cannot read /nonexistent.json"],
  ])("%j exits 2 with one message", (argv, msg) => {
    const r = spawnSync(process.execPath, ["relay/main.ts", ...argv], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(msg);
  });

  it("a JSON config file says the same as the flags, and --help works through the bin launcher", () => {
    const cfg = join(tmp(), "relay.json");
    writeFileSync(cfg, JSON.stringify({ endpoint: "http://x", token: "t", udp: "127.0.0.1:0", "batch-lines": 99999 }));
    const r = spawnSync(process.execPath, ["relay/main.ts", "--config", cfg], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--batch-lines (config file): must be at most 5000");
    const h = spawnSync(process.execPath, ["relay/bin/porchlight-relay.js", "--help"], { cwd: ROOT, encoding: "utf8" });
    expect(h.status).toBe(0);
    expect(h.stdout).toContain("--spool-max-bytes");
  });
});
