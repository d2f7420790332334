/**
 * The root package-lock.json is complete: every dependency and optional dependency of every locked
 * package resolves to a locked entry the way Node resolves it (nearest node_modules upward). npm on
 * Linux drops the other platforms' optional packages (workerd-darwin-64, …) when `npm install` runs
 * over a node_modules that lacks them; `npm ci` then refuses the lockfile on every machine ("Missing:
 * @cloudflare/workerd-darwin-64@… from lock file"). This test catches that before CI's `npm ci` does.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

type Entry = { version?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
const lock = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package-lock.json"), "utf8")) as {
  lockfileVersion: number;
  packages: Record<string, Entry>;
};

/** The lockfile key Node would load `name` from when required by the package at key `from`. */
function resolveKey(packages: Record<string, Entry>, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (key in packages) return key;
    if (!dir) return undefined;
    const up = dir.lastIndexOf("/node_modules/");
    dir = up < 0 ? "" : dir.slice(0, up);
  }
}

/** Every `needed -> by` pair whose dependency has no locked entry. */
function missing(packages: Record<string, Entry>): string[] {
  const out: string[] = [];
  for (const [key, entry] of Object.entries(packages)) {
    // The root ("") and installed packages; linked folders (workspaces, file: deps) lock their own.
    if (key !== "" && !key.startsWith("node_modules/")) continue;
    for (const deps of [entry.dependencies, entry.optionalDependencies]) {
      for (const name of Object.keys(deps ?? {})) if (!resolveKey(packages, key, name)) out.push(`${name} -> ${key || "(root)"}`);
    }
  }
  return out;
}

describe("package-lock.json", () => {
  it("is a lockfile v3", () => {
    expect(lock.lockfileVersion).toBe(3);
  });

  it("locks every platform's optional packages (npm ci passes on any OS)", () => {
    expect(missing(lock.packages)).toEqual([]);
    // The packages whose absence broke `npm ci` (issue 10), spelled out.
    const workerds = Object.keys(lock.packages).filter((k) => /(^|\/)node_modules\/workerd$/.test(k));
    expect(workerds.length).toBeGreaterThan(0);
    for (const w of workerds) {
      for (const platform of ["darwin-64", "darwin-arm64", "linux-64", "linux-arm64", "windows-64"]) {
        expect(resolveKey(lock.packages, w, `@cloudflare/workerd-${platform}`), `${w} -> workerd-${platform}`).toBeDefined();
      }
    }
  });

  it("the check finds a dropped platform package", () => {
    const pruned = Object.fromEntries(Object.entries(lock.packages).filter(([k]) => !k.endsWith("/@cloudflare/workerd-darwin-64")));
    expect(missing(pruned).some((m) => m.startsWith("@cloudflare/workerd-darwin-64 -> "))).toBe(true);
  });
});
