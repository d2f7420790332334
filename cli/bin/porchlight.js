#!/usr/bin/env node
// The `porchlight` executable: plain ESM JavaScript (no build step), so it runs from a clone, from
// `npm install -g ./cli`, or as `npx porchlight` on Node >= 18.
import { main } from "../src/main.js";

process.exitCode = await main(process.argv);
