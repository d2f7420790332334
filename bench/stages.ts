/**
 * Quick Node timing of the ingest stages the workerd bench includes after prepareBatch: network
 * extraction (and its payloads' structuredClone, the RPC stand-in) and the hourly rollups (and their
 * JSON), fast path against its plain reference, and the search summary parts (and their encoding), on
 * generateCorpus(1000). Milliseconds per call, mean
 * over 300 calls after 50 warm-up calls. `sh scripts/node.sh bench/stages.ts`. A figure to iterate on;
 * the Worker CPU figure is bench/workerd.bench.ts's.
 */
import { prepareBatch } from "../workers/ingest/batch.ts";
import { DEFAULT_CONTEXT } from "../workers/parse/index.ts";
import { extractNetwork, extractNetworkReference, type NetworkExtract } from "../workers/network/extract.ts";
import { rollupsOf, rollupsOfReference } from "../workers/store/rollups.ts";
import { summaryStatements, summariesOf } from "../workers/store/summaries.ts";
import { generateCorpus } from "./corpus.ts";

const text = generateCorpus(1000).join("\n");
const batch = prepareBatch(text, "text", { ctx: DEFAULT_CONTEXT, batchKey: "k", nowMs: Date.now() });

function ms(f: () => unknown, n = 300): string {
  for (let i = 0; i < 50; i++) f();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return ((performance.now() - t0) / n).toFixed(3);
}
const cloned = (x: NetworkExtract) => {
  let n = 0;
  for (const b of x.routers.values()) n += structuredClone(b).sightings.length;
  return n;
};

for (const [name, f] of [
  ["extractNetwork", () => extractNetwork(batch.events)],
  ["extractNetworkReference", () => extractNetworkReference(batch.events)],
  ["extractNetwork + clone", () => cloned(extractNetwork(batch.events))],
  ["extractNetworkReference + clone", () => cloned(extractNetworkReference(batch.events))],
  ["rollupsOf + JSON", () => JSON.stringify(rollupsOf(batch.rows))],
  ["rollupsOfReference + JSON", () => JSON.stringify(rollupsOfReference(batch.rows))],
  ["summariesOf + encoding", () => summaryStatements(summariesOf(batch.rows))],
] as const) console.log(name.padEnd(34), ms(f), "ms");
