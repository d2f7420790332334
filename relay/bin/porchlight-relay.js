#!/usr/bin/env node
// Launcher for the `porchlight-relay` bin, plain JavaScript for Node >= 18.
// - Node that strips TypeScript (22.18+, 24) next to the sources: runs relay/main.ts itself, so a build
//   never shadows the code being edited.
// - Otherwise runs relay/dist (the container and the npm package ship only that). In the repository,
//   dist is built by `npm ci` (the `prepare` script) and rebuilt here when a source is newer than it
//   or it is missing (`npm ci --ignore-scripts`).
import { existsSync, statSync } from "node:fs";

// Node 18 lacks AbortSignal.any (20.3); the HTTPS sink combines its stop signal with a timeout.
if (typeof AbortSignal.any !== "function") {
  AbortSignal.any = (signals) => {
    const c = new AbortController();
    for (const s of signals) {
      if (s.aborted) {
        c.abort(s.reason);
        break;
      }
      s.addEventListener("abort", () => c.abort(s.reason), { once: true, signal: c.signal });
    }
    return c.signal;
  };
}

const src = new URL("../main.ts", import.meta.url);
const dist = new URL("../dist/main.js", import.meta.url);

if (existsSync(src) && process.features.typescript) await import(src.href);
else {
  if (existsSync(src)) {
    const { build, sources, RELAY_DIR } = await import("../build.js");
    const built = existsSync(dist) ? statSync(dist).mtimeMs : -1;
    const stale = built < 0 || sources().some((f) => statSync(new URL(`../${f}`, import.meta.url)).mtimeMs > built);
    if (stale) {
      process.stderr.write(`porchlight-relay: ${built < 0 ? "building" : "rebuilding"} ${RELAY_DIR}/dist from the TypeScript sources\n`);
      build();
    }
  }
  if (!existsSync(dist)) {
    process.stderr.write("porchlight-relay: relay/dist/main.js is missing; run `npm run build` in relay/ (Node >= 22.13) or `npm ci` in the repository\n");
    process.exit(2);
  }
  await import(dist.href);
}
