/**
 * The sink's contract with the edge, against a real local receiver: retries with backoff on 500,
 * Retry-After on 429, dead letter on 400, the edge down and back (backlog drains, nothing lost,
 * /healthz turns unhealthy then healthy), and the spool-full policies with their counters.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createSocket } from "node:dgram";
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { bySeq, drained, metric, Receiver, Relay, relayArgs, tcpSend, tmp, waitFor } from "./helpers.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});
async function setup(extra: string[], components = ["tcp", "metrics"]) {
  const rx = await new Receiver().start();
  const spool = tmp();
  const relay = await new Relay(relayArgs(rx, spool, ["--tcp", "127.0.0.1:0", "--retry-base-ms", "50", "--retry-max-ms", "400", ...extra])).ready(components);
  cleanup.push(() => (relay.proc.exitCode === null ? relay.kill() : Promise.resolve()), () => rx.stop());
  return { rx, relay, spool };
}
/** Whether this process may mount a small tmpfs (root, and a sandbox that allows it): the disk-full recovery test needs one. */
const canMountTmpfs = (() => {
  if (process.getuid?.() !== 0) return false;
  const d = tmp("relay-tmpfs-probe-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", d], { stdio: "ignore" });
    execFileSync("umount", [d], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
})();
if (!canMountTmpfs) console.log("SKIPPED: cannot mount a tmpfs (needs root): the disk-full recovery test does not run");
const lines = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `<13>${prefix} ${i}\n`).join("");

describe("batching", () => {
  it("closes batches at --batch-lines, at --batch-bytes, and after --batch-wait-ms", async () => {
    const { rx, relay } = await setup(["--batch-lines", "100", "--batch-bytes", "16384", "--batch-wait-ms", "400", "--spool-fsync-ms", "5"]);
    // A backlog written at once: full batches by line count (short lines) ...
    await tcpSend(relay.port("tcp"), lines("n", 250));
    await waitFor(() => rx.lines.length === 250);
    expect(rx.requests.map((r) => r.lines)).toEqual([100, 100, 50]);
    // ... by bytes (long lines: ~1.1 KB each as NDJSON, so at most 15 fit in 16 KiB) ...
    rx.requests = [];
    await tcpSend(relay.port("tcp"), Array.from({ length: 20 }, (_, i) => `<13>b ${i} ${"x".repeat(1000)}\n`).join(""));
    await waitFor(() => rx.lines.length === 270);
    expect(Math.max(...rx.requests.map((r) => r.lines))).toBeLessThanOrEqual(15);
    // ... and a lone line waits for --batch-wait-ms: once it is spooled it is still not sent.
    rx.requests = [];
    const t0 = Date.now();
    await tcpSend(relay.port("tcp"), "<13>lonely\n");
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_spooled_total", { component: "tcp" }) === 271);
    expect(metric(await relay.metrics(), "porchlight_relay_received_total", { component: "https" })).toBe(270);
    expect(rx.lines.length).toBe(270);
    await waitFor(() => rx.lines.length === 271);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    expect(rx.gzipped).toBe(true);
  });
});

describe("delivery", () => {
  it("retries 500 with backoff, same Idempotency-Key, then stores once", async () => {
    const { rx, relay } = await setup([]);
    let fails = 3;
    rx.respond = () => (fails-- > 0 ? { status: 500, body: "boom" } : null);
    await tcpSend(relay.port("tcp"), lines("r500", 10));
    await waitFor(() => rx.lines.length === 10);
    expect(rx.requests.map((r) => r.status)).toEqual([500, 500, 500, 200]);
    expect(new Set(rx.requests.map((r) => r.key)).size).toBe(1);
    // Exponential with equal jitter: the waits are in [25,50], [50,100], [100,200] ms, so the third
    // is at least 100 ms and longer than the first; a constant backoff (≤ 50 ms each) fails both.
    const gaps = rx.requests.slice(1).map((r, i) => r.at - rx.requests[i]!.at);
    expect(gaps[2]!).toBeGreaterThanOrEqual(100);
    expect(gaps[2]!).toBeGreaterThan(gaps[0]!);
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_sent_total", { component: "https" }) === 10);
    const m = await relay.metrics();
    expect(metric(m, "porchlight_relay_retried_total", { component: "https" })).toBe(3);
    expect(metric(m, "porchlight_relay_errors_total", { component: "https", reason: "http_500" })).toBe(3);
  });

  it("honours Retry-After on 429 (longer than its own backoff)", async () => {
    const { rx, relay } = await setup([]);
    let n = 0;
    rx.respond = () => (n++ === 0 ? { status: 429, headers: { "retry-after": "1" } } : null);
    await tcpSend(relay.port("tcp"), lines("r429", 5));
    await waitFor(() => rx.lines.length === 5);
    expect(rx.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(rx.requests[1]!.at - rx.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(rx.requests[1]!.key).toBe(rx.requests[0]!.key);
  });

  it("400 moves the batch to the dead-letter folder, counts it, and delivery continues", async () => {
    const { rx, relay, spool } = await setup([]);
    rx.respond = (_req, ls) => (ls.some((l) => l.raw.includes("poison")) ? { status: 400, body: '{"error":{"code":"bad_request","message":"nope"}}' } : null);
    await tcpSend(relay.port("tcp"), lines("poison", 7));
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_rejected_total", { component: "https" }) === 7);
    await tcpSend(relay.port("tcp"), lines("fine", 3));
    await waitFor(() => rx.lines.length === 3);
    const dl = readdirSync(join(spool, "dead-letter"));
    const body = dl.find((f) => f.endsWith(".ndjson"))!;
    expect(readFileSync(join(spool, "dead-letter", body), "utf8").trim().split("\n").map((l) => JSON.parse(l).raw)).toEqual(lines("poison", 7).trim().split("\n"));
    expect(JSON.parse(readFileSync(join(spool, "dead-letter", body.replace(".ndjson", ".json")), "utf8"))).toMatchObject({ status: 400, lines: 7 });
    expect(relay.logs.some((l) => l.level === "error" && String(l.msg).includes("dead-letter"))).toBe(true);
    expect(metric(await relay.metrics(), "porchlight_relay_batches_total", { component: "https", outcome: "dead_letter" })).toBe(1);
  });

  it("a refused token (401) dead-letters and turns /healthz unhealthy", async () => {
    const rx = await new Receiver().start();
    const spool = tmp();
    const args = relayArgs(rx, spool, ["--tcp", "127.0.0.1:0", "--unhealthy-after-s", "1"]);
    args[args.indexOf("--token") + 1] = "pl_wrong_token";
    const relay = await new Relay(args).ready(["tcp", "metrics"]);
    cleanup.push(() => relay.kill(), () => rx.stop());
    await tcpSend(relay.port("tcp"), lines("unauth", 4));
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_rejected_total", { component: "https" }) === 4);
    expect(rx.requests.map((r) => r.status)).toEqual([401]);
    await waitFor(async () => (await fetch(`http://${relay.addresses.metrics}/healthz`)).status === 503, 5000);
    expect(readdirSync(join(spool, "dead-letter")).filter((f) => f.endsWith(".ndjson"))).toHaveLength(1);
  });

  it("edge down and back: /healthz fails then recovers, the backlog drains, nothing lost or doubled", async () => {
    const { rx, relay } = await setup(["--unhealthy-after-s", "1", "--retry-max-ms", "1000", "--batch-lines", "500"]);
    const port = Number(new URL(rx.url).port);
    await rx.stop();
    const total = 20_000;
    await tcpSend(relay.port("tcp"), lines("down", total));
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_spooled_total", { component: "tcp" }) === total);
    // Down long enough for /healthz to fail (--unhealthy-after-s 1) and for several retries.
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_errors_total", { component: "https", reason: "network" }) > 2);
    await waitFor(async () => (await fetch(`http://${relay.addresses.metrics}/healthz`)).status === 503);
    expect(metric(await relay.metrics(), "porchlight_relay_inflight_window")).toBe(1); // halved on each failure
    expect(metric(await relay.metrics(), "porchlight_relay_edge_up")).toBe(0);
    await rx.start(port);
    await waitFor(() => rx.lines.length === total, 30_000, () => `${rx.lines.length}/${total}`);
    expect(bySeq(rx.lines)).toEqual(lines("down", total).trim().split("\n"));
    expect(rx.duplicates).toBe(0);
    expect((await fetch(`http://${relay.addresses.metrics}/healthz`)).status).toBe(200);
  });
});

describe("pipelined delivery (--inflight)", () => {
  it("keeps --inflight batches in flight to a slow edge, never more", async () => {
    const { rx, relay } = await setup(["--inflight", "4", "--batch-lines", "100"]);
    rx.delayMs = 150; // slow but answering: the window must stay open
    await tcpSend(relay.port("tcp"), lines("slow", 2000));
    await waitFor(() => rx.lines.length === 2000, 30_000, () => `${rx.lines.length}/2000`);
    expect(rx.maxConcurrent).toBe(4);
    expect(metric(await relay.metrics(), "porchlight_relay_inflight_window")).toBe(4);
    expect(bySeq(rx.lines)).toEqual(lines("slow", 2000).trim().split("\n"));
    expect(rx.duplicates).toBe(0);
  });

  it("acknowledges in spool order: kill -9 with the first batch unanswered re-sends exactly it", async () => {
    const { rx, relay, spool } = await setup(["--inflight", "4", "--batch-lines", "100"]);
    // The edge holds the first batch (never answers it) and answers the others.
    let first = "";
    rx.gate = (key) => {
      if (first === "" || first === key) {
        first = key;
        return new Promise<void>(() => {});
      }
      return null;
    };
    await tcpSend(relay.port("tcp"), lines("order", 1000));
    await waitFor(() => rx.keys.size === 9, 10_000, () => `${rx.keys.size} batches answered`);
    expect(rx.concurrent).toBe(1); // the first is still held
    // The acknowledged position has not moved: the nine later batches are acknowledged out of turn.
    await waitFor(() => (JSON.parse(readFileSync(join(spool, "cursor.json"), "utf8")) as { cuts: { acked: boolean }[] }).cuts.filter((c) => c.acked).length === 9);
    const cursor = JSON.parse(readFileSync(join(spool, "cursor.json"), "utf8")) as { off: number; cuts: { start: number; acked: boolean }[] };
    expect(cursor.off).toBe(0);
    expect(cursor.cuts.map((c) => c.acked)).toEqual([false, ...Array(9).fill(true)]);
    const answered = [...rx.keys];
    await relay.kill("SIGKILL");

    rx.gate = null;
    const again = await new Relay(relayArgs(rx, spool, ["--tcp", "127.0.0.1:0", "--inflight", "4", "--batch-lines", "100"])).ready(["tcp", "metrics"]);
    cleanup.push(() => (again.proc.exitCode === null ? again.kill() : Promise.resolve()));
    await waitFor(() => rx.lines.length === 1000, 20_000, () => `${rx.lines.length}/1000`);
    await drained(again);
    const after = rx.requests.filter((r) => r.at >= again.startedAt);
    expect(after[0]!.key).toBe(first); // the unanswered batch first, with its key
    expect(after.filter((r) => answered.includes(r.key))).toEqual([]); // never the ones answered
    expect(bySeq(rx.lines)).toEqual(lines("order", 1000).trim().split("\n"));
    expect(rx.duplicates).toBe(0);
  });

  it("429 with Retry-After holds every batch back and halves the window; it grows back on success", async () => {
    const { rx, relay } = await setup(["--inflight", "4", "--batch-lines", "50"]);
    let refused = 0;
    rx.respond = () => (refused++ < 4 ? { status: 429, headers: { "retry-after": "1" } } : null);
    await tcpSend(relay.port("tcp"), lines("busy", 2000));
    await waitFor(() => rx.lines.length === 2000, 30_000, () => `${rx.lines.length}/2000`);
    // After the first 429 nothing new is sent for the second the edge asked for: every later
    // request was either already in flight (arrived with it) or comes a second later.
    const first = rx.requests.find((r) => r.status === 429)!;
    const later = rx.requests.filter((r) => r.at > first.at).map((r) => r.at - first.at);
    expect(later.filter((d) => d >= 50 && d < 950)).toEqual([]);
    expect(later.some((d) => d >= 950)).toBe(true);
    const m = await relay.metrics();
    expect(metric(m, "porchlight_relay_errors_total", { component: "https", reason: "http_429" })).toBe(4);
    // 40 batches answered 2xx after the refusals: the window regrew to its ceiling.
    expect(metric(m, "porchlight_relay_inflight_window")).toBe(4);
    expect(bySeq(rx.lines)).toEqual(lines("busy", 2000).trim().split("\n"));
  });
});

describe("shutdown (SIGTERM)", () => {
  it("flushes what it can, exits 0 within the timeout, keeps the rest spooled for the next start", async () => {
    const { rx, relay, spool } = await setup(["--shutdown-timeout-ms", "1500"]);
    await tcpSend(relay.port("tcp"), lines("before", 50));
    await waitFor(() => rx.lines.length === 50); // delivered while the edge is up
    rx.respond = () => ({ status: 503, body: "maintenance" });
    await tcpSend(relay.port("tcp"), lines("kept", 30));
    await waitFor(() => rx.requests.some((r) => r.status === 503));
    const attempts = rx.requests.length;
    expect(await relay.kill("SIGTERM")).toBe(0);
    // No waiting on a failing edge while shutting down: at most one more attempt, then exit.
    expect(rx.requests.length - attempts).toBeLessThanOrEqual(1);
    expect(relay.logs.find((l) => l.msg === "stopped")!.backlog_bytes).toBeGreaterThan(0);
    rx.respond = null;
    const again = await new Relay(relayArgs(rx, spool, ["--tcp", "127.0.0.1:0"])).ready(["tcp"]);
    cleanup.push(() => (again.proc.exitCode === null ? again.kill() : Promise.resolve()));
    await waitFor(() => rx.lines.length === 80);
    expect(rx.lines.slice(50).map((l) => l.raw)).toEqual(lines("kept", 30).trim().split("\n"));
  });
  it("exits promptly on SIGTERM while a TCP sender is paused on a full spool", async () => {
    const { rx, relay } = await setup(["--spool-max-bytes", "65536", "--shutdown-timeout-ms", "1000"]);
    rx.respond = () => ({ status: 503 });
    void tcpSend(relay.port("tcp"), lines("paused", 5000)).catch(() => {});
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_backpressure_total", { component: "tcp" }) > 0);
    expect(await relay.kill("SIGTERM")).toBe(0);
    expect(relay.logs.some((l) => l.msg === "stopped")).toBe(true);
  });
});

describe("spool full", () => {
  const edgeDown = () => ({ status: 503, body: "down" });
  const udpFlood = async (port: number, n: number) => {
    const s = createSocket("udp4");
    for (let i = 0; i < n; i++) {
      await new Promise<void>((r) => s.send(`<13>udp flood ${i} ${"p".repeat(60)}`, port, "127.0.0.1", () => r()));
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5)); // stay under the socket buffer
    }
    s.close();
  };
  /** A relay with a 64 KiB spool and the edge down, flooded with 2000 datagrams; its metrics after. */
  const floodWhileEdgeDown = async (extra: string[]) => {
    const { rx, relay } = await setup(["--udp", "127.0.0.1:0", "--spool-max-bytes", "65536", ...extra], ["udp", "metrics"]);
    rx.respond = edgeDown;
    await udpFlood(relay.port("udp"), 2000);
    let m = await relay.metrics();
    await waitFor(async () => ((m = await relay.metrics()), metric(m, "porchlight_relay_received_total", { component: "udp" }) >= 1990));
    return { rx, relay, m, received: metric(m, "porchlight_relay_received_total", { component: "udp" }) };
  };

  it("UDP drop-newest: messages beyond the bound are dropped and counted; the rest is delivered", async () => {
    const { rx, relay, m, received } = await floodWhileEdgeDown(["--udp-full-policy", "drop-newest"]);
    const dropped = metric(m, "porchlight_relay_dropped_total", { component: "udp", reason: "spool_full" });
    const kept = metric(m, "porchlight_relay_sent_total", { component: "udp" });
    expect(dropped).toBeGreaterThan(1000);
    expect(kept + dropped).toBe(received);
    expect(metric(m, "porchlight_relay_spool_bytes")).toBeLessThanOrEqual(65536);
    rx.respond = null;
    await waitFor(() => rx.lines.length === kept);
    expect(bySeq(rx.lines)[0]).toMatch(/^<13>udp flood 0 /); // the oldest were kept
  });

  it("UDP drop-oldest (default): oldest segments are deleted and counted; the newest messages survive", async () => {
    const { rx, m, received } = await floodWhileEdgeDown([]);
    const droppedOld = metric(m, "porchlight_relay_dropped_total", { component: "spool", reason: "full_drop_oldest" });
    expect(droppedOld).toBeGreaterThan(1000);
    expect(metric(m, "porchlight_relay_dropped_total", { component: "udp", reason: "spool_full" })).toBe(0);
    expect(metric(m, "porchlight_relay_spool_bytes")).toBeLessThanOrEqual(65536);
    rx.respond = null;
    // Every received message is either delivered or counted as dropped.
    await waitFor(() => rx.lines.length + droppedOld === received, 10_000, () => `${rx.lines.length} + ${droppedOld} != ${received}`);
    // The newest survive (a few of the last datagrams may be lost in the kernel, as counted above).
    expect(Number(/flood (\d+)/.exec(bySeq(rx.lines).at(-1)!)![1])).toBeGreaterThanOrEqual(1990);
    expect(rx.duplicates).toBe(0);
  });

  it("disk full (a real ENOSPC from /dev/full): the relay keeps running, /healthz and the metrics say so, what was spooled before is delivered, and it reopens the file until it can write again", async () => {
    // 64 KiB spool: 4 KiB segments. The next segment the relay will open is made a link to /dev/full,
    // where every write fails with ENOSPC, as on a full disk.
    const { rx, relay, spool } = await setup(["--spool-max-bytes", "65536"]);
    const segments = join(spool, "segments");
    const current = readdirSync(segments).sort().at(-1)!;
    const next = String(Number(current.slice(0, 12)) + 1).padStart(12, "0") + ".ndjson";
    expect(existsSync(join(segments, next))).toBe(false);
    symlinkSync("/dev/full", join(segments, next));
    const before = lines("on disk", 60); // ≈ 6 KiB: fills the current segment, so the relay moves on to the next
    await tcpSend(relay.port("tcp"), before);
    await waitFor(() => rx.lines.length === 60, 10_000, () => `${rx.lines.length}/60 delivered`);
    await tcpSend(relay.port("tcp"), lines("disk full", 5));
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_errors_total", { component: "spool", reason: "ENOSPC" }) > 0);
    const h = await fetch(`http://${relay.addresses.metrics}/healthz`);
    expect(h.status).toBe(503);
    expect(await h.json()).toMatchObject({ status: "unhealthy", spool_write_error: "ENOSPC" });
    expect(relay.logs.filter((l) => l.msg === "spool write failed; retrying every second (sources see the spool as full)")).toHaveLength(1);
    expect(relay.proc.exitCode).toBe(null);
    expect(bySeq(rx.lines)).toEqual(before.trim().split("\n"));
    // The failing file is not kept open: once the path is a writable file again, the next attempt
    // opens it and everything held in memory is written and delivered.
    unlinkSync(join(segments, next));
    await waitFor(() => rx.lines.length === 65, 10_000, () => `${rx.lines.length}/65 delivered`);
    await waitFor(async () => (await fetch(`http://${relay.addresses.metrics}/healthz`)).status === 200);
    expect(bySeq(rx.lines.slice(60))).toEqual(lines("disk full", 5).trim().split("\n"));
    expect(relay.logs.filter((l) => l.msg === "spool writes recovered")).toHaveLength(1);
  });

  it.skipIf(!canMountTmpfs)("disk full and freed again (an 8 MiB tmpfs): the relay recovers by itself and delivers everything spooled before, during and after", async () => {
    // A real filesystem that fills up: the spool on an 8 MiB tmpfs (room for the 2 MiB the relay holds in memory), filled by a file of the test's.
    const mnt = tmp("relay-tmpfs-");
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt]);
    cleanup.push(async () => {
      execFileSync("umount", ["-l", mnt]);
      rmSync(mnt, { recursive: true, force: true });
    });
    const rx = await new Receiver().start();
    const spool = join(mnt, "spool");
    const relay = await new Relay(relayArgs(rx, spool, ["--tcp", "127.0.0.1:0", "--retry-base-ms", "50", "--retry-max-ms", "400"])).ready(["tcp", "metrics"]);
    cleanup.push(() => (relay.proc.exitCode === null ? relay.kill() : Promise.resolve()), () => rx.stop());
    const health = async () => (await fetch(`http://${relay.addresses.metrics}/healthz`)).status;

    await tcpSend(relay.port("tcp"), lines("before", 100));
    await waitFor(() => rx.lines.length === 100);
    // Fill the disk to the last byte.
    const filler = join(mnt, "filler");
    const fd = openSync(filler, "w");
    try {
      for (;;) writeSync(fd, Buffer.alloc(4096, 120));
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC");
    } finally {
      closeSync(fd);
    }
    // Sent while the disk is full: held in memory, then the TCP connection is paused.
    const during = tcpSend(relay.port("tcp"), lines("during", 30_000));
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_errors_total", { component: "spool", reason: "ENOSPC" }) > 0);
    await waitFor(async () => (await health()) === 503);
    expect(rx.lines.length).toBe(100);
    // Space comes back: writes resume on their own, the paused connection is read again.
    unlinkSync(filler);
    await during;
    await waitFor(() => rx.lines.length === 30_100, 30_000, () => `${rx.lines.length}/30100`);
    await waitFor(async () => (await health()) === 200);
    await tcpSend(relay.port("tcp"), lines("after", 100));
    await waitFor(() => rx.lines.length === 30_200);
    expect(rx.lines.slice(0, 100).map((l) => l.raw)).toEqual(lines("before", 100).trim().split("\n"));
    expect(bySeq(rx.lines.slice(100, 30_100))).toEqual(lines("during", 30_000).trim().split("\n"));
    expect(bySeq(rx.lines.slice(30_100))).toEqual(lines("after", 100).trim().split("\n"));
    expect(rx.duplicates).toBe(0);
    expect(relay.logs.filter((l) => l.msg === "spool writes recovered")).toHaveLength(1);
  });

  it("TCP: reads pause (backpressure), nothing is dropped, everything arrives in order once the edge is back", async () => {
    const { rx, relay } = await setup(["--spool-max-bytes", "65536"]);
    rx.respond = edgeDown;
    const total = 5000;
    const sending = tcpSend(relay.port("tcp"), lines("bp", total));
    await waitFor(async () => metric(await relay.metrics(), "porchlight_relay_backpressure_total", { component: "tcp" }) > 0);
    const m = await relay.metrics();
    expect(metric(m, "porchlight_relay_spool_bytes")).toBeLessThanOrEqual(65536);
    expect(metric(m, "porchlight_relay_sent_total", { component: "tcp" })).toBeLessThan(total);
    rx.respond = null;
    await sending;
    await waitFor(() => rx.lines.length === total, 20_000, () => `${rx.lines.length}/${total}`);
    expect(bySeq(rx.lines)).toEqual(lines("bp", total).trim().split("\n"));
    expect(metric(await relay.metrics(), "porchlight_relay_dropped_total", { component: "tcp", reason: "spool_full" })).toBe(0);
  });
});
