/**
 * `npm run deploy` offline: the plan it runs for a fresh clone and for an account that has everything,
 * how it edits wrangler.toml, and the real `wrangler deploy --dry-run` bundling the Worker with the
 * repository's wrangler.toml (no account, no network).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { WORKERS_FREE_SCRIPT_GZIP_BYTES } from "../../workers/constants.ts";
import { deployPlan, describeStep, readToml, withDatabaseId, type DeployState } from "../../scripts/deploy.ts";

const root = resolve(import.meta.dirname, "../..");
const toml = readFileSync(join(root, "wrangler.toml"), "utf8");

const fresh: DeployState = {
  databaseName: "porchlight",
  configuredDatabaseId: "00000000-0000-0000-0000-000000000000",
  databases: {},
  bucketName: "porchlight-archive",
  buckets: [],
  secrets: [],
  envSecrets: {},
  archiveDays: 365,
};

describe("npm run deploy: the plan", () => {
  it("creates everything a fresh clone lacks, in order, then migrates, deploys and makes the ingest token", () => {
    expect(deployPlan(fresh).map(describeStep)).toEqual([
      "wrangler d1 create porchlight",
      "write database_id = <from d1-create> into wrangler.toml",
      "wrangler r2 bucket create porchlight-archive",
      "wrangler r2 bucket lifecycle add porchlight-archive archive-expiry raw/ --expire-days 365 --force",
      "wrangler secret put ADMIN_TOKEN   (value asked for, on stdin)",
      "wrangler secret put NOTIFY_KEY   (value generated, on stdin)",
      "wrangler secret put VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY   (a new P-256 pair, on stdin)",
      "wrangler d1 migrations apply DB --remote",
      "wrangler deploy",
      "POST /v1/tokens {name: relay, scopes: [ingest]} with the admin token; print the URL and the token",
    ]);
  });

  it("creates nothing that exists; reuses a database of the same name; puts libSQL secrets only when given", () => {
    const id = "0123abcd-0000-4000-8000-000000000000";
    const kinds = (s: DeployState) => deployPlan(s).map((st) => st.kind);
    expect(kinds({ ...fresh, configuredDatabaseId: id, databases: { porchlight: id }, buckets: ["porchlight-archive"], secrets: ["ADMIN_TOKEN", "NOTIFY_KEY", "VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"] })).toEqual(["r2-lifecycle", "migrate", "deploy", "ingest-token"]);
    expect(deployPlan({ ...fresh, databases: { porchlight: id } })[0]).toEqual({ kind: "toml-database-id", id });
    const libsql = deployPlan({ ...fresh, envSecrets: { ADMIN_TOKEN: "x", LIBSQL_URL: "libsql://home.turso.io", LIBSQL_AUTH_TOKEN: "t" } });
    expect(libsql.filter((s) => s.kind === "secret-put")).toEqual([
      { kind: "secret-put", name: "ADMIN_TOKEN", source: "env" },
      { kind: "secret-put", name: "NOTIFY_KEY", source: "generate" },
      { kind: "secret-put", name: "LIBSQL_URL", source: "env" },
      { kind: "secret-put", name: "LIBSQL_AUTH_TOKEN", source: "env" },
    ]);
    expect(kinds({ ...fresh, bucketName: null })).not.toContain("r2-create");
  });

  it("reads and edits the repository's wrangler.toml", () => {
    expect(readToml(toml)).toEqual({ databaseName: "porchlight", databaseId: "00000000-0000-0000-0000-000000000000", bucketName: "porchlight-archive" });
    const edited = withDatabaseId(toml, "0123abcd-0000-4000-8000-000000000000");
    expect(readToml(edited).databaseId).toBe("0123abcd-0000-4000-8000-000000000000");
    expect(edited.replace("0123abcd-0000-4000-8000-000000000000", "00000000-0000-0000-0000-000000000000")).toBe(toml);
  });

  it("bundles the Worker with `wrangler deploy --dry-run` (D1, R2, Durable Objects, cron all accepted)", () => {
    const out = mkdtempSync(join(tmpdir(), "porchlight-dry-"));
    try {
      const r = spawnSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], { cwd: root, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } });
      const text = `${r.stdout}${r.stderr}`;
      expect(r.status, text).toBe(0);
      expect(text).toMatch(/--dry-run: exiting now/);
      expect(text).toMatch(/env\.ARCHIVE \(porchlight-archive\)/);
      expect(text).toMatch(/env\.DB \(porchlight\)/);
      expect(readFileSync(join(out, "index.js"), "utf8")).toContain("/v1/retention/run");
      // Well inside the Free plan's script size: the network tables are static assets, not script.
      const gzipKiB = Number(/Total Upload: [\d.]+ KiB \/ gzip: ([\d.]+) KiB/.exec(text)?.[1]);
      expect(gzipKiB * 1024).toBeLessThan(WORKERS_FREE_SCRIPT_GZIP_BYTES / 3);
      expect(text).toMatch(/Read \d+ files from the assets directory/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
