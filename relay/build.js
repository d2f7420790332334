#!/usr/bin/env node
// Builds the relay's TypeScript (relay/**/*.ts) into plain JavaScript in relay/dist, the code that runs
// on Node >= 18 (bin/porchlight-relay.js loads it). Plain JavaScript itself so that it runs anywhere
// the relay runs, with no dependency of its own:
// - inside the repository it runs the project's TypeScript compiler (tsconfig.build.json), found in
//   a node_modules above this folder (the root's `npm ci` runs this from its `prepare` script);
// - on its own (the container's build stage, a copy of relay/) it uses Node's built-in type stripper
//   (node:module stripTypeScriptTypes, Node >= 22.13). The sources only use erasable syntax
//   (erasableSyntaxOnly in tsconfig.base.json), so both give the same program; relative `.ts`
//   import specifiers become `.js` either way (rewriteRelativeImportExtensions).
// Runs from the root's `prepare` (npm ci) and this package's `prepack` (npm pack). Usage: node build.js [--strip]
// (--strip: use Node's stripper even where tsc is present)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as nodeModule from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const RELAY_DIR = dirname(fileURLToPath(import.meta.url));
export const DIST = join(RELAY_DIR, "dist");
/** Folders under relay/ that hold no relay source. */
const SKIP = new Set(["dist", "node_modules", "bin"]);

/** The relay's TypeScript sources, relative to relay/ (the set tsconfig.build.json includes). */
export function sources(dir = RELAY_DIR) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (!SKIP.has(name)) out.push(...sources(path));
    } else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(relative(RELAY_DIR, path));
  }
  return out;
}

/** tsc from the nearest node_modules above relay/, or null. */
function findTsc() {
  for (let dir = RELAY_DIR; ; dir = dirname(dir)) {
    const tsc = join(dir, "node_modules", "typescript", "bin", "tsc");
    if (existsSync(tsc)) return tsc;
    if (dirname(dir) === dir) return null;
  }
}

/** `from "./x.ts"`, `import("../y.ts")`, `export … from "./z.ts"`: relative specifiers only. */
const TS_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g;

function stripAll() {
  const strip = nodeModule.stripTypeScriptTypes;
  if (typeof strip !== "function") {
    throw new Error(`porchlight-relay build: Node ${process.version} has no TypeScript stripper and no TypeScript compiler was found above ${RELAY_DIR}; build with Node >= 22.13 or from the repository after npm ci`);
  }
  // The stripper is flagged experimental; its one warning says nothing to someone building.
  const emit = process.emitWarning;
  process.emitWarning = (w, ...rest) => (String(typeof w === "string" ? w : w?.message).includes("stripTypeScriptTypes") ? undefined : emit.call(process, w, ...rest));
  try {
    for (const file of sources()) {
      const js = strip(readFileSync(join(RELAY_DIR, file), "utf8"), { mode: "strip" }).replace(TS_SPECIFIER, "$1$2$3.js$2");
      const out = join(DIST, file.replace(/\.ts$/, ".js"));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, js);
    }
  } finally {
    process.emitWarning = emit;
  }
}

/** Rebuilds relay/dist from scratch; returns which compiler did it. */
export function build({ forceStrip = false } = {}) {
  rmSync(DIST, { recursive: true, force: true });
  const tsc = forceStrip ? null : findTsc();
  if (tsc) {
    try {
      execFileSync(process.execPath, [tsc, "-p", join(RELAY_DIR, "tsconfig.build.json")], { stdio: "inherit" });
    } catch (e) {
      // tsc still emits on type errors; those are `npm run typecheck`'s to report, and failing here
      // would fail `npm ci`. Only a build that produced nothing is an error.
      if (!existsSync(join(DIST, "main.js"))) throw e;
      process.stderr.write("porchlight-relay build: tsc reported type errors (see above; npm run typecheck); the JavaScript was emitted\n");
    }
    return "tsc";
  }
  stripAll();
  return "node:module stripTypeScriptTypes";
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const how = build({ forceStrip: process.argv.includes("--strip") });
  process.stdout.write(`porchlight-relay: built ${sources().length} files into ${relative(process.cwd(), DIST) || "."} with ${how}\n`);
}
