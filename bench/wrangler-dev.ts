/**
 * The real Worker under `wrangler dev` for the benches that need D1 and Durable Objects: migrations
 * applied to a fresh temp persist dir (or a given one, kept), a free 127.0.0.1 port, `--var`s, readiness by /healthz, and a
 * stop that ends the process group (wrangler and its workerd) and removes the dir.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

export async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** `persistTo`: an existing persist dir to use (and keep) instead of a fresh temp one. */
export async function startWranglerDev(vars: Record<string, string | ((base: string) => string)>, persistTo?: string): Promise<{ base: string; stop: () => Promise<void> }> {
  const dir = persistTo ?? mkdtempSync(join(tmpdir(), "porchlight-bench-"));
  const wranglerBin = join(root, "node_modules/.bin/wrangler");
  const mig = spawnSync(wranglerBin, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", dir], { cwd: root, stdio: "ignore", env: { ...process.env, CI: "true" } });
  if (mig.status !== 0) throw new Error("migrations failed");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${typeof v === "function" ? v(base) : v}`]);
  const dev = spawn(wranglerBin, ["dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", dir, ...varArgs,
    "--show-interactive-dev-session=false", "--inspector-port", "0", "--log-level", "error"], { cwd: root, stdio: "ignore", detached: true });
  const stop = async () => {
    if (dev.pid) process.kill(-dev.pid, "SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    if (!persistTo) rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    if (i > 300) {
      await stop();
      throw new Error("wrangler dev did not start");
    }
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch { /* starting */ }
    await new Promise((r) => setTimeout(r, 300));
  }
  return { base, stop };
}
