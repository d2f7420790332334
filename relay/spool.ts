/**
 * The durable on-disk spool between sources and the sink. Messages are appended as ready-to-send
 * NDJSON lines to numbered segment files; the sink reads batches back as byte ranges of one
 * segment, several of them in flight at once. Acknowledgement is ordered: a batch answered 2xx (or
 * dead-lettered) out of turn is remembered as acknowledged, and the acknowledged position advances
 * over the unbroken prefix of acknowledged batches only.
 *
 * Layout of the spool directory:
 *   id                 random spool id, created once (part of every Idempotency-Key)
 *   segments/<n>.ndjson  segment n; a process never appends to a segment it did not create
 *   cursor.json        {seg, off, cuts}: acknowledged position, and the batches cut after it, in
 *                      order, each in flight or acknowledged out of turn (`acked`)
 *   files.json         offsets of followed files (owned by sources/file.ts)
 *   dead-letter/       batches the edge rejected permanently
 *
 * Durability (group commit): append() queues the line; it is write()n to the segment within one
 * event-loop turn, and fdatasync()ed every `fsyncMs`. Hence:
 *   - kill -9 of the relay loses only lines appended in the last event-loop turn (the data is in
 *     the kernel page cache once written); TCP data still in kernel socket buffers is lost too, as
 *     with any plain-TCP syslog receiver (RFC 6587 has no application acknowledgement).
 *   - power loss loses at most the last `fsyncMs` of appended lines (plus whatever the disk lies about).
 * Invariants: batch ranges never span segments; a batch's range [start,end) is persisted in
 * cursor.json (fsync + rename) BEFORE it is sent, and its acknowledgement is persisted too, so
 * after a crash exactly the unacknowledged ranges are re-sent, in spool order, with the same
 * Idempotency-Key `<spoolId>-<seg>-<start>-<end>`, and the edge stores each once. A segment is
 * deleted once every byte of it was cut and acknowledged.
 * Bound: segments total ≤ maxBytes; when full, append() refuses (sources pause or drop) and
 * dropOldest() can delete the oldest segment (UDP's default policy), counting the lines it held.
 */
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, unlinkSync, writeFileSync, writeSync, close, existsSync } from "node:fs";
import { open as openAsync, rename, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { wakeableSleep } from "./timer.ts";

export interface SpoolOptions {
  dir: string;
  maxBytes: number;
  fsyncMs: number;
  log: Logger;
  metrics: Metrics;
  /** Segment size, bytes; default maxBytes/16 clamped to [4 KiB, 16 MiB], so drop-oldest frees ≤ 1/16. */
  segmentBytes?: number;
}

export interface Batch {
  key: string;
  seg: number;
  start: number;
  end: number;
  lines: number;
  /** Valid until the next nextBatch() call (the spool reuses its read buffer). */
  body: Buffer;
  cutAt: number; // wall time ms
}

/** A batch's range, cut after the acknowledged position; `acked` once answered out of turn. */
interface Cut {
  seg: number;
  start: number;
  end: number;
  acked: boolean;
}

/** cursor.json. `cut` is the one-batch layout of earlier versions, read as `cuts: [cut]`. */
interface Cursor {
  seg: number;
  off: number;
  cuts?: Cut[];
  cut?: { seg: number; start: number; end: number } | null;
}

interface Pos {
  seg: number;
  off: number;
}

const SEG_RE = /^(\d{12})\.ndjson$/;
const segName = (n: number) => `${String(n).padStart(12, "0")}.ndjson`;
const NL = 10;
/** How much of the previous process's newest spooled data is kept for takeStartupTail(), bytes. */
const STARTUP_TAIL_BYTES = 512 * 1024;

function fdatasyncP(fd: number): Promise<void> {
  return new Promise((res, rej) => fdatasync(fd, (e) => (e ? rej(e) : res())));
}

export class Spool {
  readonly id: string;
  readonly dir: string;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  private segDir: string;
  private log: Logger;
  private metrics: Metrics;
  /** Segment sizes on disk (written bytes), by segment number, ascending keys. */
  private sizes = new Map<number, number>();
  private totalBytes = 0;

  // --- writer state
  private wSeg: number;
  private wFd: number;
  private wLines = 0; // lines written to wSeg
  /** Lines appended but not yet written, encoded in place: one reused buffer, no per-write garbage. */
  private wbuf = Buffer.allocUnsafeSlow(2 << 20);
  private pendingBytes = 0;
  private pendingLines = 0;
  /** Lines per source: queued, written, and covered by a completed fsync (reported as spooled_total). */
  private pendingBy = new Map<string, number>();
  private writtenBy = new Map<string, number>();
  private durableBy = new Map<string, number>();
  /** The error of the failing segment writes (ENOSPC, EIO…), null while writes succeed: /healthz reports it. */
  writeError: string | null = null;
  private writeScheduled = false;
  private appended = 0; // lines ever accepted by append() in this process
  private written = 0; // lines written to a segment file
  private durable = 0; // lines covered by a completed fdatasync
  private unsyncedFds: number[] = []; // sealed segments still to fsync then close
  private dirty = false;
  private syncing = false;
  private syncWaiters: { target: number; resolve: () => void }[] = [];
  private spaceWaiters: (() => void)[] = [];
  private fsyncTimer: NodeJS.Timeout;

  // --- reader state
  /** Everything before this position is acknowledged (persisted as cursor.json's seg/off). */
  private acked: Pos;
  /** Batches cut after `acked`, in spool order: in flight, or acknowledged out of turn. */
  private cuts: Cut[] = [];
  /** Persisted cuts of an earlier process still to re-send, oldest first (members of `cuts`). */
  private replay: Cut[] = [];
  /** Where the next fresh batch starts: the end of the last cut, or `acked`. */
  private read: Pos;
  private rFd: number | null = null;
  private rFdSeg = -1;
  private wLinesConsumed = 0; // lines of wSeg already cut into batches
  private firstSeenAt = 0; // when data was first seen at the current read position (ms)
  private dataWaiter: (() => void) | null = null;
  private closed = false;

  constructor(o: SpoolOptions) {
    this.dir = o.dir;
    this.log = o.log;
    this.metrics = o.metrics;
    this.maxBytes = o.maxBytes;
    this.segmentBytes = o.segmentBytes ?? Math.max(4096, Math.min(16 * 1024 * 1024, Math.floor(o.maxBytes / 16)));
    this.segDir = join(o.dir, "segments");
    mkdirSync(this.segDir, { recursive: true });
    mkdirSync(join(o.dir, "dead-letter"), { recursive: true });
    const idPath = join(o.dir, "id");
    if (!existsSync(idPath)) writeFileSync(idPath, randomBytes(6).toString("hex") + "\n", { flush: true });
    this.id = readFileSync(idPath, "utf8").trim();

    const nums = readdirSync(this.segDir)
      .map((f) => SEG_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const cursor = this.loadCursor(nums[0] ?? 1);
    this.acked = { seg: cursor.seg, off: cursor.off };
    for (const n of nums) {
      if (n < cursor.seg) {
        unlinkSync(join(this.segDir, segName(n))); // fully acknowledged before a crash
        continue;
      }
      const size = statSync(join(this.segDir, segName(n))).size;
      this.sizes.set(n, size);
      this.totalBytes += size;
    }
    // Never append to a segment written by an earlier process: its tail may be torn.
    this.wSeg = Math.max(cursor.seg, (nums[nums.length - 1] ?? 0) + 1);
    this.startupTail = this.readTail(nums.filter((n) => this.sizes.has(n)), STARTUP_TAIL_BYTES);
    this.wFd = this.openSegment(this.wSeg);
    this.cuts = (cursor.cuts ?? (cursor.cut ? [{ ...cursor.cut, acked: false }] : [])).filter((c) => this.sizes.has(c.seg));
    this.replay = this.cuts.filter((c) => !c.acked);
    const last = this.cuts[this.cuts.length - 1];
    this.read = last ? { seg: last.seg, off: last.end } : { ...this.acked };
    if (this.sizes.size === 1) {
      // Nothing backlogged.
      this.acked = { seg: this.wSeg, off: 0 };
      this.read = { seg: this.wSeg, off: 0 };
      this.cuts = [];
      this.replay = [];
    }
    this.fsyncTimer = setInterval(() => void this.syncNow(), o.fsyncMs);
    this.fsyncTimer.unref();
    this.gauges();
    if (this.totalBytes > 0) this.log.info("spool backlog found", { bytes: this.totalBytes, segments: this.sizes.size - 1, acked: this.acked, resend: this.replay.length });
  }

  /**
   * The last lines (≤ `bytes`) the previous process wrote, oldest first, read before anything can
   * delete their segments: the RELP source compares a reconnecting sender's re-sends with them.
   * Taken once (the memory is released).
   */
  takeStartupTail(): string[] {
    const t = this.startupTail;
    this.startupTail = [];
    return t;
  }
  private startupTail: string[];

  private readTail(segs: number[], bytes: number): string[] {
    const chunks: Buffer[] = [];
    let whole = true; // the read starts at a line boundary (the start of a segment)
    for (let i = segs.length - 1; i >= 0 && bytes > 0; i--) {
      const size = this.sizes.get(segs[i]!)!;
      const len = Math.min(size, bytes);
      const fd = openSync(join(this.segDir, segName(segs[i]!)), "r");
      try {
        const buf = Buffer.allocUnsafe(len);
        let got = 0;
        while (got < len) {
          const n = readSync(fd, buf, got, len - got, size - len + got);
          if (n === 0) break;
          got += n;
        }
        chunks.unshift(buf.subarray(0, got));
        whole = len === size;
      } finally {
        closeSync(fd);
      }
      bytes -= len;
    }
    const lines = Buffer.concat(chunks).toString("utf8").split("\n");
    // The first line may be cut by the byte bound and the last may be torn: both are dropped.
    return lines.slice(whole ? 0 : 1, -1).filter(Boolean);
  }

  private loadCursor(first: number): Cursor {
    try {
      const c = JSON.parse(readFileSync(join(this.dir, "cursor.json"), "utf8")) as Cursor;
      if (Number.isSafeInteger(c.seg) && Number.isSafeInteger(c.off)) return c;
    } catch {
      /* no cursor yet: start at the first segment */
    }
    return { seg: first, off: 0, cut: null };
  }

  private async saveCursor(): Promise<void> {
    const tmp = join(this.dir, "cursor.json.tmp");
    const cursor: Cursor = { seg: this.acked.seg, off: this.acked.off, cuts: this.cuts.map(({ seg, start, end, acked }) => ({ seg, start, end, acked })) };
    const fh = await openAsync(tmp, "w");
    try {
      await fh.writeFile(JSON.stringify(cursor));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, "cursor.json"));
  }

  private persistQueued: Promise<void> | null = null;
  private persistChain: Promise<void> = Promise.resolve();

  /**
   * Persists the reader state. Saves run one at a time (they share cursor.json.tmp); a call made
   * while one is queued joins it, and each save writes the state as it is when the save starts.
   */
  private persist(): Promise<void> {
    if (this.persistQueued) return this.persistQueued;
    const p = this.persistChain.then(() => {
      this.persistQueued = null;
      return this.saveCursor();
    });
    this.persistQueued = p;
    this.persistChain = p.catch(() => {});
    return p;
  }

  private openSegment(n: number): number {
    const fd = openSync(join(this.segDir, segName(n)), "a");
    this.sizes.set(n, 0);
    // The new directory entry must survive power loss too.
    const dfd = openSync(this.segDir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    return fd;
  }

  private gauges(): void {
    this.metrics.set("porchlight_relay_spool_bytes", {}, this.totalBytes + this.pendingBytes, "Bytes held in the spool (segments on disk plus not yet written).");
    this.metrics.set("porchlight_relay_spool_segments", {}, this.sizes.size, "Segment files in the spool.");
    this.metrics.set("porchlight_relay_spool_max_bytes", {}, this.maxBytes, "Configured spool bound.");
  }

  // ===================================================================== Writer

  /** True when `bytes` more would not fit. */
  full(bytes = 1): boolean {
    return this.totalBytes + this.pendingBytes + bytes > this.maxBytes;
  }

  /**
   * Queues one NDJSON line (ending in \n) from `source` (for the per-source `spooled_total`).
   * Returns false, keeping nothing, when the spool is full.
   */
  append(line: string, source: string): boolean {
    const bytes = Buffer.byteLength(line);
    if (this.closed || this.full(bytes)) return false;
    if (this.pendingBytes + bytes > this.wbuf.length) {
      this.writePending();
      if (this.pendingBytes + bytes > this.wbuf.length) {
        // Still no room: the disk refuses writes (counted in writePending) — behave as full.
        if (this.pendingBytes > 0) return false;
        this.wbuf = Buffer.allocUnsafeSlow(bytes); // one line longer than the buffer
      }
    }
    this.pendingBytes += this.wbuf.write(line, this.pendingBytes);
    this.pendingLines++;
    this.pendingBy.set(source, (this.pendingBy.get(source) ?? 0) + 1);
    this.appended++;
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(() => this.writePending());
    }
    return true;
  }

  /**
   * Writes queued lines to the current segment (page cache); fsync happens in syncNow(). If the
   * disk refuses (ENOSPC, EIO), what was not written stays queued and is retried every second;
   * meanwhile append() reports the spool as full, so sources pause or drop by their policy.
   */
  writePending(): void {
    this.writeScheduled = false;
    if (this.pendingLines === 0) return;
    if (this.reopenSegment) this.reopen();
    let off = 0;
    let failed: unknown = null;
    try {
      while (off < this.pendingBytes) off += writeSync(this.wFd, this.wbuf, off, this.pendingBytes - off);
    } catch (e) {
      failed = e;
    }
    let lines = failed ? 0 : this.pendingLines;
    let recovered = false;
    if (failed) {
      // Keep what was written up to the last whole line; a partial line is cut off the file (best
      // effort) and written again whole after the segment is reopened.
      const whole = off > 0 ? this.wbuf.lastIndexOf(NL, off - 1) + 1 : 0;
      if (whole < off) {
        try {
          ftruncateSync(this.wFd, this.sizes.get(this.wSeg)! + whole);
        } catch {
          /* not a regular file: nothing to cut */
        }
      }
      for (let i = this.wbuf.indexOf(NL); i !== -1 && i < whole; i = this.wbuf.indexOf(NL, i + 1)) lines++;
      off = whole;
      this.pendingLines -= lines;
      this.reopenSegment = true;
      this.wbuf.copy(this.wbuf, 0, off, this.pendingBytes);
      this.pendingBytes -= off;
      if (this.writeError === null) {
        this.writeError = (failed as NodeJS.ErrnoException).code ?? String(failed);
        this.log.error("spool write failed; retrying every second (sources see the spool as full)", { error: String(failed) });
      }
      this.metrics.inc("porchlight_relay_errors_total", { component: "spool", reason: (failed as NodeJS.ErrnoException).code ?? "write" });
      if (!this.writeScheduled) {
        this.writeScheduled = true;
        setTimeout(() => this.writePending(), 1000).unref();
      }
    } else {
      recovered = this.writeError !== null;
      if (recovered) this.log.info("spool writes recovered", { error: this.writeError });
      this.writeError = null;
      this.pendingBytes = 0;
      this.pendingLines = 0;
      for (const [k, n] of this.pendingBy) this.writtenBy.set(k, (this.writtenBy.get(k) ?? 0) + n);
      this.pendingBy.clear();
    }
    this.sizes.set(this.wSeg, this.sizes.get(this.wSeg)! + off);
    this.totalBytes += off;
    this.wLines += lines;
    this.written += lines;
    if (off > 0) this.dirty = true;
    if (!failed && this.sizes.get(this.wSeg)! >= this.segmentBytes) this.roll();
    this.gauges();
    this.wakeReader();
    // Sources paused on a failing disk wait for space: writes working again is space again.
    if (recovered) this.freed();
  }

  /**
   * After a failed write the segment file is closed and opened again by its path before the next
   * attempt: a file that failed for good (a dead descriptor, a path that was replaced) is not kept
   * open.
   */
  private reopen(): void {
    let fd: number;
    try {
      fd = openSync(join(this.segDir, segName(this.wSeg)), "a");
    } catch {
      return; // try the old descriptor once more; the next failure reopens again
    }
    this.reopenSegment = false;
    // Flush what the old descriptor wrote, then let it go (once per failed attempt: no leak).
    try {
      fdatasyncSync(this.wFd);
    } catch {
      /* the failing file: its error was counted already */
    }
    closeSync(this.wFd);
    this.wFd = fd;
    if (this.rFdSeg === this.wSeg && this.rFd !== null) {
      closeSync(this.rFd);
      this.rFd = null;
      this.rFdSeg = -1;
    }
  }
  private reopenSegment = false;

  private roll(): void {
    let fd: number;
    try {
      fd = this.openSegment(this.wSeg + 1);
    } catch (e) {
      // Keep appending to the current segment; the next write tries again.
      this.metrics.inc("porchlight_relay_errors_total", { component: "spool", reason: (e as NodeJS.ErrnoException).code ?? "open" });
      this.sizes.delete(this.wSeg + 1);
      return;
    }
    this.unsyncedFds.push(this.wFd);
    this.wSeg++;
    this.wFd = fd;
    this.wLines = 0;
    this.wLinesConsumed = 0;
  }

  /** Group commit: fdatasync everything written so far; wakes sync() waiters. */
  async syncNow(): Promise<void> {
    if (this.syncing || !this.dirty) return;
    this.syncing = true;
    this.dirty = false;
    const target = this.written;
    const byNow = new Map(this.writtenBy);
    const fds = [...this.unsyncedFds, this.wFd];
    const sealed = this.unsyncedFds.length;
    this.unsyncedFds = [];
    try {
      await Promise.all(fds.map(fdatasyncP));
    } catch (e) {
      this.metrics.inc("porchlight_relay_errors_total", { component: "spool", reason: "fsync" });
      this.log.error("spool fsync failed", { error: String(e) });
    }
    for (const fd of fds.slice(0, sealed)) close(fd, () => {});
    for (const [source, n] of byNow) {
      this.metrics.inc("porchlight_relay_spooled_total", { component: source }, n - (this.durableBy.get(source) ?? 0), "Lines appended to the spool and fsynced, per source.");
      this.durableBy.set(source, n);
    }
    this.durable = target;
    this.syncing = false;
    this.syncWaiters = this.syncWaiters.filter((w) => (w.target <= this.durable ? (w.resolve(), false) : true));
    if (this.dirty && this.syncWaiters.length) void this.syncNow();
  }

  /** Resolves once every line appended so far is fsynced. */
  sync(): Promise<void> {
    const target = this.appended;
    if (target <= this.durable) return Promise.resolve();
    this.writePending();
    return new Promise((resolve) => {
      this.syncWaiters.push({ target, resolve });
      void this.syncNow();
    });
  }

  /**
   * Resolves when space was freed (a segment was deleted). Never resolves once the spool is closed:
   * a paused source then simply stays paused while the process exits.
   */
  whenSpace(): Promise<void> {
    if (this.closed) return new Promise(() => {});
    return new Promise((r) => this.spaceWaiters.push(r));
  }

  private freed(): void {
    this.gauges();
    const w = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const r of w) r();
  }

  /**
   * Makes room by deleting the oldest segment (never the one being written). Returns the number of
   * lines dropped, or -1 when there was nothing to drop (only the current segment holds data).
   * Lines of a batch already in flight are not counted: they are still delivered (its body was
   * read when it was cut). Persisted batches not yet re-sent are dropped with the segment.
   */
  dropOldest(): number {
    const oldest = [...this.sizes.keys()].filter((n) => n !== this.wSeg).sort((a, b) => a - b)[0];
    if (oldest === undefined) return -1;
    const path = join(this.segDir, segName(oldest));
    const lost = this.replay.filter((c) => c.seg === oldest);
    let dropped = this.read.seg === oldest ? countLines(path, this.read.off) : 0;
    for (const c of lost) dropped += countLines(path, c.start, c.end);
    unlinkSync(path);
    this.totalBytes -= this.sizes.get(oldest)!;
    this.sizes.delete(oldest);
    if (lost.length) {
      this.replay = this.replay.filter((c) => c.seg !== oldest);
      for (const c of lost) c.acked = true;
    }
    if (this.read.seg === oldest) this.advanceRead();
    this.settle();
    void this.persist().catch(() => {}); // best effort: a stale cursor only names a vanished segment
    this.metrics.inc("porchlight_relay_dropped_total", { component: "spool", reason: "full_drop_oldest" }, dropped);
    this.log.warn("spool full: dropped the oldest segment", { segment: oldest, lines: dropped });
    this.freed();
    return dropped;
  }

  // ===================================================================== Reader

  private wakeReader(): void {
    const w = this.dataWaiter;
    this.dataWaiter = null;
    w?.();
  }

  private async waitData(ms: number): Promise<void> {
    const z = wakeableSleep(ms);
    this.dataWaiter = z.wake;
    await z.done;
    this.dataWaiter = null;
  }

  private readFd(seg: number): number {
    if (this.rFdSeg !== seg) {
      if (this.rFd !== null) closeSync(this.rFd);
      this.rFd = openSync(join(this.segDir, segName(seg)), "r");
      this.rFdSeg = seg;
    }
    return this.rFd!;
  }

  /** One read buffer, reused for every batch: a batch's body is only used until the next nextBatch(). */
  private readBuf = Buffer.allocUnsafeSlow(1 << 20);

  private readRange(seg: number, start: number, len: number): Buffer {
    if (this.readBuf.length < len) this.readBuf = Buffer.allocUnsafeSlow(len);
    const buf = this.readBuf;
    const fd = this.readFd(seg);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  }

  /** Moves the read position to the start of the next segment (the current one is cut or gone). */
  private advanceRead(): void {
    const seg = this.read.seg;
    if (this.rFdSeg === seg && this.rFd !== null) {
      closeSync(this.rFd);
      this.rFd = null;
      this.rFdSeg = -1;
    }
    const next = [...this.sizes.keys()].filter((n) => n > seg).sort((a, b) => a - b)[0] ?? this.wSeg;
    this.read = { seg: next, off: 0 };
    this.firstSeenAt = 0;
    this.settle();
  }

  /**
   * Moves the acknowledged position over the leading acknowledged batches, then deletes the
   * segments wholly before both it and the read position (every byte cut and acknowledged).
   */
  private settle(): void {
    while (this.cuts.length && this.cuts[0]!.acked) {
      const c = this.cuts.shift()!;
      this.acked = { seg: c.seg, off: c.end };
    }
    if (this.cuts.length === 0 && this.read.seg > this.acked.seg) this.acked = { seg: this.read.seg, off: 0 };
    else if (this.cuts.length && this.cuts[0]!.seg > this.acked.seg) this.acked = { seg: this.cuts[0]!.seg, off: 0 };
    let freed = false;
    for (const n of [...this.sizes.keys()]) {
      if (n >= this.acked.seg || n === this.wSeg) continue;
      try {
        unlinkSync(join(this.segDir, segName(n)));
      } catch {
        /* already gone */
      }
      this.totalBytes -= this.sizes.get(n)!;
      this.sizes.delete(n);
      freed = true;
    }
    if (freed) this.freed();
  }

  /**
   * The next batch, waiting for lines as needed: closes at `maxLines`, `maxBytes`, or when the first
   * waiting line is `waitMs` old; a backlog (sealed segment) is cut at once. Resolves null once
   * `stop()` was called and `drain` is false, or when stopped and nothing is left.
   * The returned range is persisted before this resolves.
   */
  async nextBatch(maxLines: number, maxBytes: number, waitMs: number): Promise<Batch | null> {
    for (;;) {
      if (this.closed) return null;
      const again = this.replay.shift();
      if (again) {
        // A batch an earlier process cut and did not see acknowledged: the same range, the same key.
        const body = this.readRange(again.seg, again.start, again.end - again.start);
        let lines = 0;
        for (let i = body.indexOf(NL); i !== -1; i = body.indexOf(NL, i + 1)) lines++;
        if (body.length !== again.end - again.start) {
          // Power loss shortened the segment below a persisted cut: send what survived.
          this.log.warn("spool segment shorter than a persisted batch", { segment: again.seg, expected: again.end, have: again.start + body.length });
        }
        this.metrics.inc("porchlight_relay_received_total", { component: "https" }, lines);
        return { key: `${this.id}-${again.seg}-${again.start}-${again.end}`, seg: again.seg, start: again.start, end: again.end, lines, body, cutAt: Date.now() };
      }
      const seg = this.read.seg;
      if (seg !== this.wSeg && !this.sizes.has(seg)) {
        this.advanceRead(); // deleted by drop-oldest
        continue;
      }
      const sealed = seg !== this.wSeg;
      const size = this.sizes.get(seg)!;
      const available = size - this.read.off;
      if (available <= 0) {
        if (sealed) {
          this.advanceRead();
          continue;
        }
        if (this.stopping) return null;
        await this.waitData(1000);
        continue;
      }
      if (!sealed && !this.stopping) {
        const now = Date.now();
        if (this.firstSeenAt === 0) this.firstSeenAt = now;
        const ready = available >= maxBytes || this.wLines - this.wLinesConsumed >= maxLines || now - this.firstSeenAt >= waitMs;
        if (!ready) {
          await this.waitData(this.firstSeenAt + waitMs - now);
          continue;
        }
      }
      let buf = this.readRange(seg, this.read.off, Math.min(available, maxBytes));
      let end = 0;
      let lines = 0;
      for (let i = buf.indexOf(NL); i !== -1 && lines < maxLines; i = buf.indexOf(NL, i + 1)) {
        lines++;
        end = i + 1;
      }
      if (lines === 0) {
        // One line longer than maxBytes (escaping can grow a message): send it alone.
        buf = this.readRange(seg, this.read.off, available);
        const i = buf.indexOf(NL);
        if (i === -1) {
          if (sealed) {
            // A torn tail (power loss mid-write): nothing after it can be read.
            this.metrics.inc("porchlight_relay_errors_total", { component: "spool", reason: "torn_tail" });
            this.log.warn("spool segment ends in a partial line; skipped", { segment: seg, bytes: buf.length });
            this.advanceRead();
          } else await this.waitData(50);
          continue;
        }
        end = i + 1;
        lines = 1;
      }
      const body = buf.subarray(0, end);
      const start = this.read.off;
      const cut: Cut = { seg, start, end: start + end, acked: false };
      this.cuts.push(cut);
      this.read = { seg, off: cut.end };
      if (seg === this.wSeg) this.wLinesConsumed += lines;
      try {
        await this.persist();
      } catch (e) {
        // Not persisted, so not sent: take the cut back (it is the last one; nextBatch runs alone).
        this.cuts.pop();
        this.read = { seg, off: start };
        if (seg === this.wSeg) this.wLinesConsumed -= lines;
        throw e;
      }
      this.firstSeenAt = 0;
      this.metrics.inc("porchlight_relay_received_total", { component: "https" }, lines);
      return { key: `${this.id}-${seg}-${start}-${cut.end}`, seg, start, end: cut.end, lines, body, cutAt: Date.now() };
    }
  }

  /**
   * The batch was delivered (2xx) or dead-lettered. Its range leaves the spool once every batch
   * before it did too; the state is persisted before this resolves, so a crash after it never
   * re-sends the batch.
   */
  async ack(b: Batch): Promise<void> {
    const c = this.cuts.find((x) => x.seg === b.seg && x.start === b.start);
    if (!c) return; // stale (its segment was dropped meanwhile)
    c.acked = true;
    this.settle();
    this.gauges();
    await this.persist();
  }

  /** Batches cut after the acknowledged position (in flight, to re-send, or acknowledged out of turn). */
  cutSpan(): number {
    return this.cuts.length;
  }

  private stopping = false;

  /** After stop(), nextBatch cuts whatever is there at once and returns null when empty. */
  stop(): void {
    this.stopping = true;
    this.wakeReader();
  }

  /** Backlog in bytes not yet acknowledged. */
  backlogBytes(): number {
    let b = this.pendingBytes;
    for (const [n, s] of this.sizes) b += n === this.acked.seg ? s - this.acked.off : n > this.acked.seg ? s : 0;
    for (const c of this.cuts) if (c.acked) b -= c.end - c.start;
    return b;
  }

  async close(): Promise<void> {
    this.writePending();
    this.dirty = true;
    while (this.syncing) await new Promise((r) => setTimeout(r, 5));
    await this.syncNow();
    clearInterval(this.fsyncTimer);
    this.closed = true;
    await this.persist();
    closeSync(this.wFd);
    if (this.rFd !== null) closeSync(this.rFd);
    this.wakeReader();
  }

  /** Writes a rejected batch (`body`: its NDJSON; b.body may be reused by then) to dead-letter/<key>.ndjson with a .json note beside it, fsynced. */
  async deadLetter(b: Batch, body: Buffer, note: Record<string, unknown>): Promise<string> {
    const base = join(this.dir, "dead-letter", b.key);
    await writeFile(base + ".ndjson", body, { flush: true });
    await writeFile(base + ".json", JSON.stringify({ key: b.key, lines: b.lines, at: new Date().toISOString(), ...note }, null, 2) + "\n", { flush: true });
    return base + ".ndjson";
  }
}

/** Counts \n in a file in [from, to), streaming in 1 MiB reads (memory stays bounded). */
function countLines(path: string, from: number, to = Infinity): number {
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  try {
    for (let pos = from; pos < to; ) {
      const got = readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos);
      if (got === 0) break;
      for (let i = buf.indexOf(NL); i !== -1 && i < got; i = buf.indexOf(NL, i + 1)) n++;
      pos += got;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}
