/**
 * Running the bench Worker (bench/workerd/entry.ts) under a bare `workerd serve`, shared by
 * bench/workerd.bench.ts (CPU per request from /proc) and bench/workerd/profile.ts (a CPU profile):
 * wrangler's own workerd binary, the production compatibility settings, the bundle as a deploy makes it,
 * and the config written from bench/workerd/workerd.capnp.
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer, type AddressInfo } from "node:net";
import { join, resolve } from "node:path";

export const root = resolve(import.meta.dirname, "../..");

/** wrangler's own workerd (the one `wrangler dev` runs and a deploy targets), found through wrangler's package. */
export function workerdBinary(): { bin: string; version: string; dir: string } {
  const fromWrangler = createRequire(join(root, "node_modules/wrangler/package.json"));
  const pkgPath = fromWrangler.resolve("workerd/package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { version: string };
  const { default: bin } = fromWrangler("workerd") as { default: string };
  return { bin, version: pkg.version, dir: resolve(pkgPath, "..") };
}

/** compatibility_date and compatibility_flags of the production Worker (root wrangler.toml). */
export function productionCompat(): { date: string; flags: string[] } {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error("wrangler.toml: no compatibility_date");
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "";
  return { date, flags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) };
}

/**
 * Bundles a bench entry (default the ingest one) of the checkout at `from` (this one by default) as
 * `wrangler deploy` would, into `dir`/`name`; returns the module's file name relative to `dir`.
 */
export function bundle(dir: string, compat: { date: string; flags: string[] }, opts: { entry?: string; from?: string; name?: string } = {}): string {
  const { entry = "bench/workerd/entry.ts", from = root, name = "out" } = opts;
  const config = join(dir, `wrangler-${name}.json`);
  writeFileSync(config, JSON.stringify({ name: "porchlight-bench", main: join(from, entry), compatibility_date: compat.date, compatibility_flags: compat.flags }));
  const out = join(dir, name);
  const r = spawnSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out, "--config", config], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${r.stdout}\n${r.stderr}`);
  const modules = readdirSync(out).filter((f) => /\.m?js$/.test(f));
  if (modules.length !== 1) throw new Error(`expected one bundled module in ${out}, got ${modules.join(", ")}`);
  return join(name, modules[0]!);
}

/** A port free right now on 127.0.0.1 (the OS picks it; workerd binds it a moment later). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** Writes a workerd config from a template (default bench/workerd/workerd.capnp); `extra` fills further {{fields}}. */
export function writeConfig(dir: string, name: string, module: string, address: string, compat: { date: string; flags: string[] }, template = "bench/workerd/workerd.capnp", extra: Record<string, string> = {}): string {
  const fields: Record<string, string> = {
    ...extra,
    address,
    module,
    compatibilityDate: compat.date,
    compatibilityFlags: compat.flags.map((f) => JSON.stringify(f)).join(", "),
  };
  const text = readFileSync(join(root, template), "utf8");
  const config = join(dir, name);
  writeFileSync(config, text.replace(/\{\{(\w+)\}\}/g, (_, k: string) => fields[k] ?? `{{${k}}}`));
  return config;
}

