/**
 * `npm start`: the whole of Porchlight on this machine. Applies the D1 migrations locally, runs the
 * Worker (API, web view, Durable Objects, D1 on local disk) with `wrangler dev`, makes sure an ingest
 * token exists, loads the default rule pack, starts a local relay on UDP+TCP, and prints how to use it.
 *
 * Environment: PORT (8787), PERSIST_DIR (.wrangler/state), ADMIN_TOKEN (default: generated once and
 * kept in .dev.vars; so are NOTIFY_KEY and the Web Push VAPID keys), RELAY_PORT (5514; 0 disables the relay), PORCHLIGHT_STATE_DIR (.porchlight: the
 * remembered ingest token and the relay spool). SIGINT/SIGTERM are forwarded to the children.
 * Tokens reach wrangler and the relay through files and the environment, never their command lines.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PORT = Number(process.env.PORT ?? 8787);
const PERSIST_DIR = resolve(root, process.env.PERSIST_DIR ?? ".wrangler/state");
const RELAY_PORT = Number(process.env.RELAY_PORT ?? 5514);
const STATE_DIR = resolve(root, process.env.PORCHLIGHT_STATE_DIR ?? ".porchlight");
const WRANGLER = join(root, "node_modules", ".bin", "wrangler");
const URL_BASE = `http://127.0.0.1:${PORT}`;
/** How long wrangler dev may take to answer /healthz, ms (first start bundles and boots workerd). */
const READY_TIMEOUT_MS = 90_000;
/** How long the relay may take to bind its sockets, ms. */
const RELAY_READY_TIMEOUT_MS = 15_000;

const log = (msg: string) => console.log(`porchlight: ${msg}`);
const children: ChildProcess[] = [];

function fail(msg: string): never {
  console.error(`porchlight: ${msg}`);
  for (const c of children) c.kill("SIGTERM");
  process.exit(1);
}

// --- Dev secrets (.dev.vars)

/** The value of `name` in .dev.vars; when absent, `make()` is written there once (mode 0600) and returned. */
function devVar(name: string, make: () => string, what: string): string {
  const file = join(root, ".dev.vars");
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const m = new RegExp(`^${name}\\s*=\\s*"?([^"\\n]+)"?\\s*$`, "m").exec(text);
  if (m) return m[1]!;
  const value = make();
  writeFileSync(file, `${text}${text && !text.endsWith("\n") ? "\n" : ""}${name}="${value}"\n`, { mode: 0o600 });
  log(`generated ${what} and kept it in .dev.vars`);
  return value;
}

function adminToken(): string {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  return devVar("ADMIN_TOKEN", () => `adm_${randomBytes(24).toString("base64url")}`, "an admin token");
}

/**
 * Notification secrets, generated once (wrangler dev reads .dev.vars): NOTIFY_KEY seals channel secrets
 * and signs action links; the VAPID pair identifies this server to push services (regenerating it would
 * orphan every phone's push subscription). In production: `wrangler secret put` each of them.
 */
function notifySecrets(): void {
  devVar("NOTIFY_KEY", () => randomBytes(32).toString("base64url"), "NOTIFY_KEY (seals notification secrets)");
  const file = join(root, ".dev.vars");
  if (existsSync(file) && /^VAPID_PRIVATE_KEY\s*=/m.test(readFileSync(file, "utf8"))) return;
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" });
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-65);
  devVar("VAPID_PUBLIC_KEY", () => Buffer.from(raw).toString("base64url"), "a Web Push VAPID key pair");
  devVar("VAPID_PRIVATE_KEY", () => jwk.d!, "the VAPID private key");
}

/**
 * wrangler flags that give the Worker the admin token without putting it on a command line (where `ps`
 * shows it to every local user). Without ADMIN_TOKEN in the environment the token is in .dev.vars,
 * which wrangler dev reads by itself: no flag. With it, the token goes into a file only this user can
 * read, passed with --env-file after .dev.vars (later files win; with --env-file, wrangler reads only
 * the files named, so .dev.vars is named too, keeping any other secret it holds).
 */
function adminEnvFiles(admin: string): string[] {
  if (!process.env.ADMIN_TOKEN) return [];
  mkdirSync(STATE_DIR, { recursive: true });
  const file = join(STATE_DIR, "admin.env");
  writeFileSync(file, `ADMIN_TOKEN=${JSON.stringify(admin)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an older file keeps its mode through writeFileSync
  const devVars = join(root, ".dev.vars");
  return [...(existsSync(devVars) ? ["--env-file", devVars] : []), "--env-file", file];
}

// --- HTTP helpers

async function call(path: string, token: string, init: RequestInit = {}): Promise<Response> {
  return fetch(URL_BASE + path, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers as Record<string, string> | undefined) },
  });
}

async function waitReady(wrangler: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (wrangler.exitCode !== null) fail(`wrangler dev exited with code ${wrangler.exitCode}`);
    try {
      const res = await fetch(`${URL_BASE}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  fail(`the Worker did not answer ${URL_BASE}/healthz within ${READY_TIMEOUT_MS / 1000} s`);
}

/** The remembered ingest token when it still exists in this database, else a new one. */
async function ingestToken(admin: string): Promise<string> {
  const file = join(STATE_DIR, "ingest-token");
  const remembered = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
  if (remembered) {
    const res = await call("/v1/tokens", admin);
    if (!res.ok) fail(`GET /v1/tokens answered ${res.status}: ${await res.text()}`);
    const { tokens } = (await res.json()) as { tokens: { id: string }[] };
    const id = remembered.split("_")[1];
    if (tokens.some((t) => t.id === id)) return remembered;
    log("the remembered ingest token was revoked (or belongs to another database): creating a new one");
  }
  const res = await call("/v1/tokens", admin, { method: "POST", body: JSON.stringify({ name: "local relay", scopes: ["ingest"] }) });
  if (res.status !== 201) fail(`POST /v1/tokens answered ${res.status}: ${await res.text()}`);
  const { token } = (await res.json()) as { token: string };
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(file, token + "\n", { mode: 0o600 });
  return token;
}

async function importDefaultRules(admin: string): Promise<void> {
  const pack = join(root, "workers", "rules", "default-pack.json");
  if (!existsSync(pack)) return;
  const res = await call("/v1/rules/import?existing=keep", admin, { method: "POST", body: readFileSync(pack, "utf8") });
  if (res.status === 404) log("rules API not available yet (404): default rule pack not loaded");
  else if (!res.ok) log(`loading the default rule pack failed: ${res.status} ${(await res.text()).slice(0, 300)}`);
  else log("default rule pack loaded");
}

// --- Main

async function main(): Promise<void> {
  const admin = adminToken();
  notifySecrets();
  mkdirSync(PERSIST_DIR, { recursive: true });

  log(`applying D1 migrations (state in ${PERSIST_DIR})`);
  const migrate = spawnSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", PERSIST_DIR], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, CI: "true" },
  });
  if (migrate.status !== 0) fail("applying the D1 migrations failed");

  const wrangler = spawn(
    WRANGLER,
    ["dev", "--port", String(PORT), "--ip", "127.0.0.1", "--persist-to", PERSIST_DIR, ...adminEnvFiles(admin), "--var", `PUBLIC_URL:${URL_BASE}`,
      "--show-interactive-dev-session=false", "--inspector-port", "0"],
    { cwd: root, stdio: ["ignore", "inherit", "inherit"], env: process.env },
  );
  children.push(wrangler);
  wrangler.on("exit", (code, signal) => {
    log(`wrangler dev stopped (${signal ?? code})`);
    for (const c of children) if (c !== wrangler && c.exitCode === null) c.kill("SIGTERM");
    process.exitCode = code ?? 0;
  });

  await waitReady(wrangler);
  const ingest = await ingestToken(admin);
  await importDefaultRules(admin);

  let relayLine = "relay: disabled (RELAY_PORT=0)";
  if (RELAY_PORT !== 0) {
    const main = join(root, "relay", "main.ts");
    if (!existsSync(main)) {
      relayLine = "relay: not built yet (relay/main.ts is missing); post lines to /v1/ingest directly";
    } else {
      // The ingest token through the environment (PORCHLIGHT_TOKEN), never argv.
      const relay = spawn(
        process.execPath,
        [main, "--endpoint", URL_BASE, "--udp", `127.0.0.1:${RELAY_PORT}`, "--tcp", `127.0.0.1:${RELAY_PORT}`, "--spool", join(STATE_DIR, "spool")],
        { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PORCHLIGHT_TOKEN: ingest } },
      );
      children.push(relay);
      relay.on("exit", (code, signal) => log(`relay stopped (${signal ?? code})`));
      // "ready" is printed only once the relay's sockets are bound, so a line sent right after is not lost.
      await new Promise<void>((ok) => {
        let seen = "";
        const timer = setTimeout(() => {
          log(`the relay did not report "relay started" within ${RELAY_READY_TIMEOUT_MS / 1000} s`);
          ok();
        }, RELAY_READY_TIMEOUT_MS);
        // The relay logs JSON lines to stderr (and may print to stdout): forward both, watch both.
        const watch = (out: NodeJS.WriteStream) => (d: Buffer) => {
          out.write(d);
          if (seen !== "done") {
            seen += d.toString();
            if (seen.includes('"relay started"')) {
              seen = "done";
              clearTimeout(timer);
              ok();
            }
          }
        };
        relay.stdout!.on("data", watch(process.stdout));
        relay.stderr!.on("data", watch(process.stderr));
        relay.on("exit", () => { clearTimeout(timer); ok(); });
      });
      relayLine = `relay: syslog on udp+tcp 127.0.0.1:${RELAY_PORT}; try: logger -n 127.0.0.1 -P ${RELAY_PORT} "hello"`;
    }
  }

  console.log(
    [
      "",
      "Porchlight is running",
      `  URL:          ${URL_BASE}`,
      `  admin token:  ${admin}`,
      `  ingest token: ${ingest}`,
      `  ${relayLine}`,
      `  search:       curl -H "Authorization: Bearer ${admin}" "${URL_BASE}/v1/events?last=15m"`,
      "",
    ].join("\n"),
  );
  console.log("porchlight: ready");
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    for (const c of children) if (c.exitCode === null) c.kill(sig);
    // Give the children a moment to flush (the relay keeps undelivered lines in its spool).
    setTimeout(() => process.exit(0), 10_000).unref();
  });
}

main().catch((err) => fail(String(err?.stack ?? err)));
