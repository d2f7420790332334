/**
 * A real `npm start` stack for end-to-end tests: wrangler dev with local D1 in a temp PERSIST_DIR,
 * the default rule pack, an ingest token, and (unless RELAY_PORT is 0) the relay, all on free ports
 * of 127.0.0.1. Everything started is one process group, stopped by `stop()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");

/** A port nothing listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

export interface Stack {
  base: string;
  port: number;
  relayPort: number;
  admin: string;
  dir: string;
  /** The pid of `npm start` (the root of the process tree it runs). */
  pid: number;
  /** Everything npm start printed so far. */
  output(): string;
  /** Resolves with the first match of `re` in the output; fails when npm start exits or after `ms`. */
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray>;
  /** fetch of an API path with a bearer token. */
  api(path: string, token: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

/** Starts `npm start` and resolves once it printed "porchlight: ready". */
export async function startStack(opts: { relay?: boolean; readyMs?: number } = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "porchlight-start-"));
  const port = await freePort();
  const relayPort = opts.relay === false ? 0 : await freePort();
  const admin = "e2e-admin-token-" + Math.random().toString(36).slice(2);
  let output = "";
  const child: ChildProcess = spawn("npm", ["start"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PORT: String(port),
      RELAY_PORT: String(relayPort),
      PERSIST_DIR: join(dir, "state"),
      PORCHLIGHT_STATE_DIR: join(dir, "porchlight"),
      ADMIN_TOKEN: admin,
    },
  });
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));

  const waitFor = (re: RegExp, ms: number): Promise<RegExpMatchArray> =>
    new Promise((ok, fail) => {
      const started = Date.now();
      const tick = () => {
        const m = re.exec(output);
        if (m) return ok(m);
        if (child.exitCode !== null) return fail(new Error(`npm start exited (${child.exitCode}):\n${output.slice(-3000)}`));
        if (Date.now() - started > ms) return fail(new Error(`timed out waiting for ${re}:\n${output.slice(-3000)}`));
        setTimeout(tick, 200);
      };
      tick();
    });

  const stop = async () => {
    if (child.pid && child.exitCode === null) {
      process.kill(-child.pid, "SIGTERM");
      await new Promise((r) => {
        child.on("exit", r);
        setTimeout(r, 15_000);
      });
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const base = `http://127.0.0.1:${port}`;
  const stack: Stack = {
    base, port, relayPort, admin, dir, waitFor, stop,
    pid: child.pid!,
    output: () => output,
    api: (path, token, init = {}) => fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as object) } }),
  };
  try {
    await waitFor(/porchlight: ready/, opts.readyMs ?? 110_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return stack;
}
