/**
 * Follows files like `tail -F`: polls every --file-poll-ms; survives rotation by rename (the old
 * file is read to its end, then the new file from its start) and by copytruncate (a file shorter
 * than our offset is read again from 0). A file seen for the first time starts at its end or
 * beginning (--file-start); afterwards the offset of each path (with its inode) is kept in
 * `<spool>/files.json`, written only after the lines before that offset were fsynced into the
 * spool — so a restart neither skips lines nor, except after a kill -9 between those two steps,
 * repeats them. While the spool is full the file simply stops advancing.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NewlineDecoder, type Frame } from "../framing/newline.ts";
import { appendFrames, countReceived, initCounters, type Source, type SourceContext } from "./source.ts";

interface Saved {
  ino: number;
  offset: number; // bytes, at a line boundary
}

interface Followed {
  path: string;
  fd: number | null;
  ino: number;
  offset: number; // next byte to read
  dec: NewlineDecoder;
  pendingBytes: number; // bytes read but not yet forming a complete line
}

const CHUNK = 256 * 1024;

export function followFiles(ctx: SourceContext, paths: string[], start: "end" | "beginning", pollMs: number, spoolDir: string): Source {
  initCounters(ctx.metrics, "file");
  const statePath = join(spoolDir, "files.json");
  let saved: Record<string, Saved> = {};
  try {
    saved = JSON.parse(readFileSync(statePath, "utf8")) as Record<string, Saved>;
  } catch {
    /* first run */
  }
  const files: Followed[] = paths.map((path) => ({ path, fd: null, ino: 0, offset: 0, dec: new NewlineDecoder(ctx.maxMessageBytes), pendingBytes: 0 }));
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let lastSaved = JSON.stringify(saved);

  const open = (f: Followed, firstTime: boolean): void => {
    let fd: number;
    try {
      fd = openSync(f.path, "r");
    } catch {
      return; // not there (yet): tail -F waits
    }
    const st = fstatSync(fd);
    f.fd = fd;
    f.ino = st.ino;
    const s = saved[f.path];
    if (s && s.ino === st.ino && s.offset <= st.size) f.offset = s.offset;
    else f.offset = firstTime && !s && start === "end" ? st.size : 0;
    f.pendingBytes = 0;
    ctx.log.info("following file", { component: "file", path: f.path, offset: f.offset });
  };

  const closeFd = (f: Followed): void => {
    if (f.fd !== null) closeSync(f.fd);
    f.fd = null;
  };

  /** Reads what is new; false when the spool filled up (stop advancing until space). */
  const drain = async (f: Followed): Promise<boolean> => {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = readSync(f.fd!, buf, 0, CHUNK, f.offset + f.pendingBytes);
      if (n === 0) return true;
      const frames: Frame[] = [];
      // Copy: frames may reference buf, which the next read reuses.
      f.dec.push(Buffer.from(buf.subarray(0, n)), frames);
      let left = appendFrames(ctx, "file", frames, null);
      while (left.length) {
        if (stopped) return false;
        await ctx.spool.whenSpace();
        left = appendFrames(ctx, "file", left, null);
      }
      countReceived(ctx, "file", frames);
      // Offset advances to the last complete line; the partial tail is re-read after a restart.
      const consumed = f.pendingBytes + n;
      const lastNl = buf.subarray(0, n).lastIndexOf(10);
      if (lastNl === -1) f.pendingBytes = consumed;
      else {
        f.offset += f.pendingBytes + lastNl + 1;
        f.pendingBytes = n - lastNl - 1;
      }
    }
  };

  const poll = async (firstTime: boolean): Promise<void> => {
    for (const f of files) {
      if (stopped) break;
      try {
        if (f.fd === null) open(f, firstTime);
        if (f.fd === null) continue;
        await drain(f);
        let st: ReturnType<typeof statSync> | null = null;
        try {
          st = statSync(f.path);
        } catch {
          st = null; // renamed away, new file not created yet: keep the old one open
        }
        if (st && st.ino !== f.ino) {
          // Rotated by rename: the old file was read to its end above; flush a last partial line.
          await drain(f);
          const frames: Frame[] = [];
          f.dec.end(frames);
          countReceived(ctx, "file", frames);
          let left = appendFrames(ctx, "file", frames, null);
          while (left.length && !stopped) {
            await ctx.spool.whenSpace();
            left = appendFrames(ctx, "file", left, null);
          }
          ctx.metrics.inc("porchlight_relay_file_rotations_total", { kind: "rename" }, 1, "File rotations seen.");
          ctx.log.info("file rotated (rename)", { component: "file", path: f.path });
          closeFd(f);
          delete saved[f.path];
          open(f, false);
          if (f.fd !== null) await drain(f);
        } else if (st && st.size < f.offset + f.pendingBytes) {
          ctx.metrics.inc("porchlight_relay_file_rotations_total", { kind: "truncate" }, 1, "File rotations seen.");
          ctx.log.info("file truncated (copytruncate)", { component: "file", path: f.path });
          f.offset = 0;
          f.pendingBytes = 0;
          f.dec = new NewlineDecoder(ctx.maxMessageBytes);
          await drain(f);
        }
        saved[f.path] = { ino: f.ino, offset: f.offset };
      } catch (e) {
        ctx.metrics.inc("porchlight_relay_errors_total", { component: "file", reason: (e as NodeJS.ErrnoException).code ?? "read" });
        ctx.log.warn("file read failed", { component: "file", path: f.path, error: (e as Error).message });
        closeFd(f);
      }
    }
    const text = JSON.stringify(saved);
    if (text !== lastSaved) {
      await ctx.spool.sync(); // offsets only cover lines that are durable in the spool
      await writeFile(statePath + ".tmp", text, { flush: true });
      await rename(statePath + ".tmp", statePath);
      lastSaved = text;
    }
  };

  let current: Promise<void> = Promise.resolve();
  const loop = (firstTime: boolean): void => {
    current = poll(firstTime);
    void current.finally(() => {
      if (!stopped) timer = setTimeout(() => loop(false), pollMs);
    });
  };
  loop(true);

  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      // Let a poll in progress finish its read (it gives up waiting for spool space once stopped).
      await Promise.race([current, new Promise((r) => setTimeout(r, 1000))]);
      for (const f of files) closeFd(f);
    },
  };
}
