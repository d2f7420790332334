/**
 * `npm test`: the three tiers in order — unit (Node: parsers, rules logic, conformance, relay),
 * workers (workerd: D1, Durable Objects, the HTTP API), e2e (wrangler dev, sockets, Chromium) —
 * then one closing line `N passed, N failed, N skipped` summed over the tiers.
 * Extra arguments are passed to vitest (e.g. `npm test -- parse`).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const tiers = (process.env.PORCHLIGHT_TEST_TIERS ?? "unit,workers,e2e").split(",");
const extra = process.argv.slice(2);
const out = mkdtempSync(join(tmpdir(), "porchlight-test-"));
let passed = 0, failed = 0, skipped = 0, exitCode = 0;

for (const tier of tiers) {
  const report = join(out, `${tier}.json`);
  console.log(`\n=== ${tier} tests ===`);
  const r = spawnSync(
    process.execPath,
    ["node_modules/vitest/vitest.mjs", "run", "--config", `vitest.${tier}.config.ts`, "--reporter=default", "--reporter=json", `--outputFile.json=${report}`, "--passWithNoTests", ...extra],
    { stdio: "inherit", env: process.env },
  );
  if (r.status !== 0) exitCode = 1;
  if (existsSync(report)) {
    const j = JSON.parse(readFileSync(report, "utf8")) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numTodoTests: number };
    passed += j.numPassedTests;
    failed += j.numFailedTests;
    skipped += j.numPendingTests + j.numTodoTests;
  } else if (r.status !== 0) {
    failed += 1; // the tier did not even report (config or startup failure)
  }
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(exitCode);
