/**
 * The relay's container, built and run for real: relay/Dockerfile is built with podman from relay/
 * alone, on a base image made here (this Node binary plus the shared libraries it loads, imported with
 * `podman import`: no registry can be pulled from), in podman storage of its own under a temp folder.
 * `podman run` cannot work in this sandbox (crun cannot set rlimits/cgroups), so the relay runs from
 * the image's exported file system with chroot, as the image's user, with the image's entrypoint and
 * environment; syslog sent to it over TCP and UDP arrives at a local edge. Needs root and podman
 * (.ci/run installs it); skipped with a message otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { Receiver, Relay, ROOT, tcpSend, tmp, TOKEN, waitFor } from "./helpers.ts";

const CHROOT = "/usr/sbin/chroot";
const why = (() => {
  if (spawnSync("podman", ["--version"]).status !== 0) return "podman is not installed (apt-get install podman)";
  if (process.getuid?.() !== 0) return "not root (chroot and podman's own storage need it)";
  if (!existsSync(CHROOT)) return `${CHROOT} is missing`;
  if (spawnSync("ldd", ["--version"]).status !== 0) return "ldd is missing (needed to find Node's shared libraries)";
  return null;
})();
if (why) console.log(`SKIPPED: relay container test: ${why}`);

interface ImageConfig { User: string; Env: string[]; Entrypoint: string[]; WorkingDir: string; Volumes?: Record<string, unknown> }

describe.skipIf(why !== null)("relay container (podman build, run from the image's file system)", () => {
  const dir = tmp("relay-container-");
  const podman = (...args: string[]) =>
    execFileSync("podman", ["--root", join(dir, "storage"), "--runroot", join(dir, "run"), ...args], { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "pipe"] });
  const tag = "localhost/porchlight-relay:test";
  const base = "localhost/porchlight-test-node:local";
  const rootfs = join(dir, "rootfs");
  let config: ImageConfig;
  let healthcheck: { Test: string[] } | null;
  let rx: Receiver;
  let relay: Relay | undefined;

  beforeAll(async () => {
    // The base: Node at /usr/local/bin/node (as in the official images) and what `ldd` says it loads.
    const baseFs = join(dir, "base");
    for (const d of ["usr/local/bin", "tmp", "etc"]) mkdirSync(join(baseFs, d), { recursive: true });
    execFileSync("cp", [process.execPath, join(baseFs, "usr/local/bin/node")]);
    for (const lib of execFileSync("ldd", [process.execPath], { encoding: "utf8" }).matchAll(/(\/\S+) \(0x/g)) {
      mkdirSync(join(baseFs, lib[1]!, ".."), { recursive: true });
      execFileSync("cp", ["-L", lib[1]!, join(baseFs, lib[1]!)]);
    }
    execFileSync("chmod", ["1777", join(baseFs, "tmp")]);
    writeFileSync(join(dir, "base.tar"), execFileSync("tar", ["-C", baseFs, "-c", "."], { maxBuffer: 1 << 30 }));
    podman("import", "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", join(dir, "base.tar"), base);

    const t0 = Date.now();
    podman("build", "--isolation", "chroot", "--format", "docker", "--build-arg", `NODE_IMAGE=${base}`, "-t", tag, join(ROOT, "relay"));
    const size = (img: string) => Number(podman("image", "inspect", "--format", "{{.Size}}", img).trim());
    const [imageBytes, baseBytes] = [size(tag), size(base)];
    console.log(
      `relay image: ${(imageBytes / 1e6).toFixed(1)} MB = base ${(baseBytes / 1e6).toFixed(1)} MB (Node ${process.version} + its libraries) + ` +
        `${((imageBytes - baseBytes) / 1e3).toFixed(0)} kB of relay; built in ${Date.now() - t0} ms`,
    );
    const [inspect] = JSON.parse(podman("image", "inspect", tag)) as [{ Config: ImageConfig; Healthcheck?: { Test: string[] } }];
    config = inspect.Config;
    healthcheck = inspect.Healthcheck ?? null;

    // The image's file system, writable (the spool volume lives in it).
    podman("create", "--name", "relay-fs", tag);
    mkdirSync(rootfs);
    podman("export", "-o", join(dir, "fs.tar"), "relay-fs");
    execFileSync("tar", ["-x", "-C", rootfs, "-f", join(dir, "fs.tar")]);
    rx = await new Receiver().start();
  }, 180_000);

  afterAll(async () => {
    if (relay && relay.proc.exitCode === null) await relay.kill();
    await rx?.stop();
    try {
      podman("rm", "-a", "-f");
      podman("rmi", "-a", "-f");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("holds only the relay package: launcher, JavaScript, package.json; no sources, no node_modules", () => {
    const app = join(rootfs, "app");
    expect(existsSync(join(app, "bin", "porchlight-relay.js"))).toBe(true);
    expect(existsSync(join(app, "dist", "main.js"))).toBe(true);
    expect(existsSync(join(app, "dist", "sources", "tcp.js"))).toBe(true);
    for (const absent of ["main.ts", "build.js", "node_modules", "dist/main.ts"]) expect(existsSync(join(app, absent)), absent).toBe(false);
  });

  it("runs as an unprivileged user that owns the spool volume", () => {
    expect(config.User).toBe("1000:1000");
    expect(Object.keys(config.Volumes ?? {})).toEqual(["/var/lib/porchlight-relay"]);
    const st = statSync(join(rootfs, "var/lib/porchlight-relay"));
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
  });

  it("delivers TCP and UDP syslog to the edge, and its HEALTHCHECK passes", async () => {
    const env = Object.fromEntries(config.Env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
    expect(env.PORCHLIGHT_SPOOL).toBe("/var/lib/porchlight-relay");
    const [user, group] = config.User.split(":");
    const metricsPort = await new Promise<number>((ok) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as AddressInfo;
        srv.close(() => ok(port));
      });
    });
    // The image's environment, with the listeners moved to free loopback ports (the chroot shares this
    // machine's network), the edge URL as a user gives it in relay.env, the token as a Docker secret.
    mkdirSync(join(rootfs, "run/secrets"), { recursive: true });
    writeFileSync(join(rootfs, "run/secrets/porchlight_token"), TOKEN + "\n", { mode: 0o444 });
    relay = await new Relay([], {
      command: [CHROOT, `--userspec=${user}:${group}`, rootfs, ...config.Entrypoint],
      env: { ...env, PORCHLIGHT_URL: rx.url, PORCHLIGHT_TOKEN_FILE: "/run/secrets/porchlight_token", PORCHLIGHT_UDP: "127.0.0.1:0", PORCHLIGHT_TCP: "127.0.0.1:0", PORCHLIGHT_METRICS: `127.0.0.1:${metricsPort}`, PORCHLIGHT_NAME: "nas" },
    }).ready(["tcp", "udp", "metrics"]);

    await tcpSend(relay.port("tcp"), Array.from({ length: 100 }, (_, i) => `<134>Nov 22 10:00:00 nas app: container tcp ${i}\n`).join(""));
    const s = createSocket("udp4");
    await new Promise<void>((r) => s.send("<134>Nov 22 10:00:00 nas app: container udp", relay!.port("udp"), "127.0.0.1", () => r()));
    s.close();
    await waitFor(() => rx.lines.length === 101, 20_000, () => `delivered ${rx.lines.length} of 101: ${relay!.stderr.slice(-2000)}`);
    expect(rx.lines.filter((l) => l.transport === "tcp").map((l) => l.raw)).toEqual(Array.from({ length: 100 }, (_, i) => `<134>Nov 22 10:00:00 nas app: container tcp ${i}`));
    expect(rx.requests.every((r) => r.relay === "nas")).toBe(true);

    // The spool was written in the image's volume, as the unprivileged user.
    expect(statSync(join(rootfs, "var/lib/porchlight-relay/segments")).uid).toBe(1000);

    // HEALTHCHECK (exec form, no wget or shell in the image needed) against the running relay.
    const test = healthcheck?.Test ?? [];
    expect(test[0]).toBe("CMD");
    const hc = spawnSync(CHROOT, [`--userspec=${user}:${group}`, rootfs, ...test.slice(1)], { env: { ...env, PORCHLIGHT_METRICS: `127.0.0.1:${metricsPort}` } });
    expect(hc.status, hc.stderr?.toString()).toBe(0);

    expect(await relay.kill("SIGTERM")).toBe(0);
  });
});
