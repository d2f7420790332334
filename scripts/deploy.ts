/**
 * `npm run deploy`: from a fresh clone to a working deployment in one command. Looks at what the
 * Cloudflare account already has (wrangler whoami, d1 list, r2 bucket list, secret list), then creates
 * the D1 database (and writes its id into wrangler.toml), the R2 archive bucket with its lifecycle rule
 * and the missing secrets, applies the D1 migrations remotely, deploys, makes sure the relay has an
 * ingest token and prints the URL and that token.
 *
 * Secrets come from the environment (ADMIN_TOKEN, NOTIFY_KEY, LIBSQL_URL, LIBSQL_AUTH_TOKEN); ADMIN_TOKEN
 * is otherwise asked for on a terminal (or generated and shown once), NOTIFY_KEY and the Web Push VAPID
 * pair are generated. They reach wrangler on stdin, never a command line.
 *
 *   npm run deploy                 do it
 *   npm run deploy -- --plan       print the steps it would run for this account, change nothing
 *   npm run deploy -- --dry-run    also bundle the Worker with `wrangler deploy --dry-run` (offline)
 *
 * ARCHIVE_DAYS (default 365) is the archive bucket's lifecycle: objects older than that are deleted.
 */
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const WRANGLER = join(root, "node_modules", ".bin", "wrangler");
const TOML = join(root, "wrangler.toml");
const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";

// --- The plan (pure: tested in test/unit/deploy-plan.test.ts)

/** What the account and the clone have, as the look-ups found it. */
export interface DeployState {
  databaseName: string;
  /** database_id in wrangler.toml (the placeholder on a fresh clone). */
  configuredDatabaseId: string;
  /** Databases of the account by name → id. */
  databases: Record<string, string>;
  bucketName: string | null;
  buckets: string[];
  secrets: string[];
  /** Secret values available from the environment. */
  envSecrets: Record<string, string | undefined>;
  archiveDays: number;
}

export type Step =
  | { kind: "d1-create"; name: string }
  | { kind: "toml-database-id"; id: string | "<from d1-create>" }
  | { kind: "r2-create"; name: string }
  | { kind: "r2-lifecycle"; name: string; days: number }
  | { kind: "secret-put"; name: string; source: "env" | "ask" | "generate" }
  | { kind: "vapid" }
  | { kind: "migrate" }
  | { kind: "deploy" }
  | { kind: "ingest-token" };

/** ADMIN_TOKEN: the bootstrap admin token; NOTIFY_KEY: seals notification secrets, signs action links. */
const REQUIRED_SECRETS = ["ADMIN_TOKEN", "NOTIFY_KEY"];
const OPTIONAL_SECRETS = ["LIBSQL_URL", "LIBSQL_AUTH_TOKEN"];

export function deployPlan(s: DeployState): Step[] {
  const steps: Step[] = [];
  const existing = s.databases[s.databaseName];
  if (s.configuredDatabaseId === PLACEHOLDER_ID || !Object.values(s.databases).includes(s.configuredDatabaseId)) {
    if (existing) steps.push({ kind: "toml-database-id", id: existing });
    else steps.push({ kind: "d1-create", name: s.databaseName }, { kind: "toml-database-id", id: "<from d1-create>" });
  }
  if (s.bucketName) {
    if (!s.buckets.includes(s.bucketName)) steps.push({ kind: "r2-create", name: s.bucketName });
    steps.push({ kind: "r2-lifecycle", name: s.bucketName, days: s.archiveDays });
  }
  for (const name of REQUIRED_SECRETS) {
    if (s.secrets.includes(name) && !s.envSecrets[name]) continue;
    steps.push({ kind: "secret-put", name, source: s.envSecrets[name] ? "env" : name === "ADMIN_TOKEN" ? "ask" : "generate" });
  }
  // The Web Push key pair, once: a new pair would orphan every phone's push subscription.
  if (!s.secrets.includes("VAPID_PRIVATE_KEY")) steps.push({ kind: "vapid" });
  // libSQL only when asked for: its URL in the environment (the token then too, if set).
  for (const name of OPTIONAL_SECRETS) if (s.envSecrets[name]) steps.push({ kind: "secret-put", name, source: "env" });
  steps.push({ kind: "migrate" }, { kind: "deploy" }, { kind: "ingest-token" });
  return steps;
}

export function describeStep(st: Step): string {
  switch (st.kind) {
    case "d1-create": return `wrangler d1 create ${st.name}`;
    case "toml-database-id": return `write database_id = ${st.id} into wrangler.toml`;
    case "r2-create": return `wrangler r2 bucket create ${st.name}`;
    case "r2-lifecycle": return `wrangler r2 bucket lifecycle add ${st.name} archive-expiry raw/ --expire-days ${st.days} --force`;
    case "secret-put": return `wrangler secret put ${st.name}   (value ${st.source === "env" ? "from the environment" : st.source === "ask" ? "asked for" : "generated"}, on stdin)`;
    case "vapid": return "wrangler secret put VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY   (a new P-256 pair, on stdin)";
    case "migrate": return "wrangler d1 migrations apply DB --remote";
    case "deploy": return "wrangler deploy";
    case "ingest-token": return "POST /v1/tokens {name: relay, scopes: [ingest]} with the admin token; print the URL and the token";
  }
}

/** database_name, database_id and the R2 bucket name as wrangler.toml has them. */
export function readToml(text: string): { databaseName: string; databaseId: string; bucketName: string | null } {
  const db = /\[\[d1_databases\]\][^[]*?database_name\s*=\s*"([^"]+)"[^[]*?database_id\s*=\s*"([^"]+)"/s.exec(text);
  const r2 = /\[\[r2_buckets\]\][^[]*?bucket_name\s*=\s*"([^"]+)"/s.exec(text);
  if (!db) throw new Error("wrangler.toml has no [[d1_databases]] with database_name and database_id");
  return { databaseName: db[1]!, databaseId: db[2]!, bucketName: r2 ? r2[1]! : null };
}

export const withDatabaseId = (text: string, id: string): string => text.replace(/(\[\[d1_databases\]\][^[]*?database_id\s*=\s*")[^"]+(")/s, `$1${id}$2`);

// --- Running wrangler

function wrangler(args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(WRANGLER, args, { cwd: root, input, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function must(args: string[], input?: string): string {
  const r = wrangler(args, input);
  if (!r.ok) {
    console.error(`deploy: wrangler ${args.join(" ")} failed:\n${r.out}`);
    process.exit(1);
  }
  return r.out;
}

function jsonOf<T>(out: string): T {
  const start = out.search(/[[{]/);
  return JSON.parse(out.slice(start)) as T;
}

async function lookUp(): Promise<DeployState> {
  const toml = readToml(readFileSync(TOML, "utf8"));
  const dbs = jsonOf<{ name: string; uuid: string }[]>(must(["d1", "list", "--json"]));
  const buckets = [...must(["r2", "bucket", "list"]).matchAll(/^name:\s+(\S+)/gm)].map((m) => m[1]!);
  const secretsOut = wrangler(["secret", "list", "--format", "json"]);
  const secrets = secretsOut.ok ? jsonOf<{ name: string }[]>(secretsOut.out).map((s) => s.name) : []; // no Worker yet
  return {
    databaseName: toml.databaseName,
    configuredDatabaseId: toml.databaseId,
    databases: Object.fromEntries(dbs.map((d) => [d.name, d.uuid])),
    bucketName: toml.bucketName,
    buckets,
    secrets,
    envSecrets: Object.fromEntries([...REQUIRED_SECRETS, ...OPTIONAL_SECRETS].map((n) => [n, process.env[n]])),
    archiveDays: Number(process.env.ARCHIVE_DAYS ?? 365),
  };
}

/** The secret's value and whether it was generated here (then it is shown once). */
async function secretValue(name: string, source: "env" | "ask" | "generate"): Promise<{ value: string; generated: boolean }> {
  if (source === "env") return { value: process.env[name]!, generated: false };
  if (process.stdin.isTTY && source === "ask") {
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const v = (await rl.question(`${name} (empty: generate one): `)).trim();
    rl.close();
    if (v) return { value: v, generated: false };
  }
  const value = name === "ADMIN_TOKEN" ? `adm_${randomBytes(24).toString("base64url")}` : randomBytes(32).toString("base64url");
  return { value, generated: true };
}

async function run(steps: Step[]): Promise<void> {
  let adminToken = process.env.ADMIN_TOKEN;
  let url = "";
  for (const st of steps) {
    console.log(`deploy: ${describeStep(st)}`);
    switch (st.kind) {
      case "d1-create": {
        const out = must(["d1", "create", st.name]);
        const id = /"?database_id"?\s*[=:]\s*"([0-9a-f-]{36})"/.exec(out)?.[1];
        if (!id) throw new Error(`no database_id in:\n${out}`);
        writeFileSync(TOML, withDatabaseId(readFileSync(TOML, "utf8"), id));
        break;
      }
      case "toml-database-id":
        if (st.id !== "<from d1-create>") writeFileSync(TOML, withDatabaseId(readFileSync(TOML, "utf8"), st.id));
        break;
      case "r2-create":
        must(["r2", "bucket", "create", st.name]);
        break;
      case "r2-lifecycle": {
        // A rerun finds the rule in place: report and go on.
        const r = wrangler(["r2", "bucket", "lifecycle", "add", st.name, "archive-expiry", "raw/", "--expire-days", String(st.days), "--force"]);
        if (!r.ok) console.log(`deploy: lifecycle rule not added (already there?): ${r.out.trim().split("\n").pop()}`);
        break;
      }
      case "secret-put": {
        const { value, generated } = await secretValue(st.name, st.source);
        if (st.name === "ADMIN_TOKEN") {
          adminToken = value;
          if (generated) console.log(`deploy: generated ADMIN_TOKEN ${value} (keep it: it is shown once)`);
        }
        must(["secret", "put", st.name], value);
        break;
      }
      case "vapid": {
        const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        must(["secret", "put", "VAPID_PUBLIC_KEY"], Buffer.from(publicKey.export({ format: "der", type: "spki" }).subarray(-65)).toString("base64url"));
        must(["secret", "put", "VAPID_PRIVATE_KEY"], privateKey.export({ format: "jwk" }).d!);
        break;
      }
      case "migrate":
        must(["d1", "migrations", "apply", "DB", "--remote"]);
        break;
      case "deploy":
        url = /https:\/\/\S+\.workers\.dev/.exec(must(["deploy"]))?.[0] ?? "";
        break;
      case "ingest-token": {
        if (!url || !adminToken) {
          console.log("deploy: no URL or admin token at hand: create the relay's token with POST /v1/tokens (README)");
          break;
        }
        const res = await fetch(`${url}/v1/tokens`, { method: "POST", headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ name: "relay", scopes: ["ingest"] }) });
        const body = (await res.json()) as { token?: string };
        console.log(`\nURL:          ${url}\ningest token: ${body.token ?? `(not created: HTTP ${res.status})`}`);
        break;
      }
    }
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--dry-run")) {
    const out = must(["deploy", "--dry-run", "--outdir", join(root, ".wrangler", "deploy-dry-run")]);
    console.log(out.trim());
  }
  if (args.includes("--dry-run") && !args.includes("--plan")) return;
  const state = await lookUp();
  const steps = deployPlan(state);
  if (args.includes("--plan")) {
    for (const st of steps) console.log(describeStep(st));
    return;
  }
  await run(steps);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
