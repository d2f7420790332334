/**
 * --token-file (PORCHLIGHT_TOKEN_FILE): the ingest token read from a file, e.g. a Docker secret, so that
 * it never has to be on a command line. Exactly one of --token and --token-file; a clear error otherwise.
 */
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig, type RelayConfig } from "../../relay/config.ts";
import { tmp } from "./helpers.ts";

const base = ["--endpoint", "http://127.0.0.1:8787", "--udp", "127.0.0.1:5514"];
const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig([...base, ...argv], env) as RelayConfig;

describe("--token-file", () => {
  const dir = tmp("relay-token-");
  const file = join(dir, "token");
  writeFileSync(file, "pl_abc_secret\n");

  it("reads the token from the file (flag or PORCHLIGHT_TOKEN_FILE), trailing newline ignored", () => {
    expect(load(["--token-file", file]).token).toBe("pl_abc_secret");
    expect(load([], { PORCHLIGHT_TOKEN_FILE: file }).token).toBe("pl_abc_secret");
  });

  it.each([
    [["--token", "t", "--token-file", file], {}, /--token and --token-file both given/],
    [[], { PORCHLIGHT_TOKEN: "t", PORCHLIGHT_TOKEN_FILE: file }, /both given/],
    [[], {}, /--token or --token-file is required/],
    [["--token-file", join(dir, "missing")], {}, /--token-file: cannot read .*ENOENT/],
  ])("rejects %j %j", (argv, env, msg) => {
    expect(() => load(argv, env)).toThrow(ConfigError);
    expect(() => load(argv, env)).toThrow(msg);
  });

  it("rejects an empty file and one with more than the token", () => {
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n");
    expect(() => load(["--token-file", empty])).toThrow(/must hold the token alone/);
    const two = join(dir, "two");
    writeFileSync(two, "PORCHLIGHT_TOKEN=pl_x\nother\n");
    expect(() => load(["--token-file", two])).toThrow(/must hold the token alone/);
  });
});
