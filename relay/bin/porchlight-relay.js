#!/usr/bin/env node
// Launcher for the `porchlight-relay` bin: runs the compiled relay (relay/dist, built by
// `npm run relay:build`, as in the container) when present, else the TypeScript source directly
// (Node >= 22.18 / 24 strips types natively).
import { existsSync } from "node:fs";

const dist = new URL("../dist/main.js", import.meta.url);
await import(existsSync(dist) ? dist.href : new URL("../main.ts", import.meta.url).href);
