#!/usr/bin/env node
// Launcher for the `porchlight-relay` bin. In the repository it runs the TypeScript source (Node
// 22.18+/24 strip types natively), so a stale build can never shadow the code being edited; in the
// container, which ships only compiled JS, it runs relay/dist (built by `npm run relay:build`).
import { existsSync } from "node:fs";

const src = new URL("../main.ts", import.meta.url);
const dist = new URL("../dist/main.js", import.meta.url);
const canStrip = Boolean(process.features.typescript);
if (existsSync(src) && canStrip) await import(src.href);
else if (existsSync(dist)) await import(dist.href);
else {
  process.stderr.write("porchlight-relay: this Node cannot run TypeScript directly; run `npm run relay:build` first (or use Node >= 22.18)\n");
  process.exit(2);
}
