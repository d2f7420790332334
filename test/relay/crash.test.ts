/**
 * kill -9 in the middle of a 100,000-message TCP stream, while batches are in flight, then restart
 * on the same spool: the receiver (which dedupes by Idempotency-Key, like the edge) ends with every
 * message exactly once. Plain TCP syslog has no application acknowledgement, so what the relay had
 * not yet written when killed is lost from that connection; because the spool preserves stream
 * order, what survives must be an unbroken prefix of the stream (in any arrival order: batches are
 * delivered several at a time) covering at least everything the relay reported as spooled
 * (fsynced) before the kill. The sender then resumes after that prefix, as a sender with its own
 * queue would.
 */
import { afterAll, expect, it } from "vitest";
import { connect } from "node:net";
import { bySeq, drained, Receiver, Relay, relayArgs, tmp, waitFor, metric } from "./helpers.ts";

const TOTAL = 100_000;
const msg = (i: number) => `<13>crash ${String(i).padStart(6, "0")} ${"x".repeat(40)}\n`;
const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const f of cleanup) await f();
});

/** Streams messages [from, to) on one connection; stops quietly if the connection breaks. */
function stream(port: number, from: number, to: number, pace: number, onProgress: (i: number) => Promise<void> | void): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let i = from;
    let broken = false;
    s.on("error", () => (broken = true));
    s.on("close", () => resolve(i));
    s.on("connect", async () => {
      while (i < to && !broken) {
        let chunk = "";
        const end = Math.min(to, i + 500);
        for (; i < end; i++) chunk += msg(i);
        if (!s.write(chunk)) await new Promise((r) => { s.once("drain", r); s.once("close", r); });
        await onProgress(i);
        if (pace) await new Promise((r) => setTimeout(r, pace)); // a steady stream, not one burst
      }
      s.end();
    });
  });
}

it("kill -9 mid-stream and restart: every message delivered exactly once", { timeout: 90_000 }, async () => {
  const rx = await new Receiver().start();
  rx.delayMs = 15; // batches are in flight most of the time
  cleanup.push(() => rx.stop());
  const spool = tmp();
  const args = relayArgs(rx, spool, ["--tcp", "127.0.0.1:0", "--batch-lines", "1000"]);
  const a = await new Relay(args).ready(["tcp", "metrics"]);
  cleanup.push(() => (a.proc.exitCode === null ? a.kill() : null));

  // The sender streams without pausing; a watcher kills the relay once half the stream is written
  // and batches are being delivered, so data is in flight on the socket, in memory and to the edge.
  let spooledBeforeKill = -1;
  let sent = 0;
  const sending = stream(a.port("tcp"), 0, TOTAL, 5, (i) => {
    sent = i;
  });
  await waitFor(() => sent >= TOTAL / 2 && rx.lines.length >= 5000, 30_000, () => `sent ${sent}, delivered ${rx.lines.length}`);
  spooledBeforeKill = metric(await a.metrics(), "porchlight_relay_spooled_total", { component: "tcp" });
  a.proc.kill("SIGKILL");
  const sentBeforeBreak = await sending;
  expect(sentBeforeBreak).toBeLessThan(TOTAL);
  expect(spooledBeforeKill).toBeLessThan(TOTAL);
  expect(await a.exit).toBeNull(); // killed by signal
  expect(spooledBeforeKill).toBeGreaterThan(5000);
  const deliveredBeforeRestart = rx.lines.length;
  expect(deliveredBeforeRestart).toBeLessThan(TOTAL);

  const b = await new Relay(args).ready(["tcp", "metrics"]);
  cleanup.push(() => (b.proc.exitCode === null ? b.kill() : null));
  expect(b.logs.some((l) => l.msg === "spool backlog found")).toBe(true);
  // Drain the backlog A left behind.
  await drained(b);
  expect(metric(await b.metrics(), "porchlight_relay_batches_total", { component: "https", outcome: "delivered" })).toBeGreaterThan(0);
  const survived = rx.lines.length;
  // An unbroken prefix of the stream, each message once, at least what was fsynced before the kill.
  expect(survived).toBeGreaterThanOrEqual(spooledBeforeKill);
  const prefix = Array.from({ length: survived }, (_, i) => msg(i).trimEnd());
  expect(bySeq(rx.lines)).toEqual(prefix);
  // The sender resumes after what the edge has.
  rx.delayMs = 0;
  await stream(b.port("tcp"), survived, TOTAL, 0, () => {});
  await waitFor(async () => metric(await b.metrics(), "porchlight_relay_spooled_total", { component: "tcp" }) === TOTAL - survived, 60_000);
  await drained(b, 60_000);
  expect(rx.lines.length).toBe(TOTAL);
  expect(bySeq(rx.lines)).toEqual(Array.from({ length: TOTAL }, (_, i) => msg(i).trimEnd()));
  console.log(`kill -9 test: ${sentBeforeBreak} written by the sender before the connection broke, ${spooledBeforeKill} spooled before kill, ${deliveredBeforeRestart} delivered before restart, ${survived} survived, ${rx.duplicates} batches re-sent with a known key`);
});
