/**
 * The bench Worker of bench/workerd.bench.ts: runs the production code of the Worker-side ingest path
 * on the posted body inside real workerd, one route per scenario, so that the workerd process's CPU per
 * request is the figure to compare with the Workers CPU limit. Only the I/O (D1 round trips, Durable
 * Object RPCs) is left out: Workers bill CPU time excluding I/O waits.
 *
 * Routes (POST; every answer is a small JSON summary that the runner checks and prints):
 * - `/empty`: reads the body and nothing else (the per-request baseline: HTTP, body, response).
 * - `/ingest`: readIngestBody (Content-Type and Content-Encoding as sent: text/plain or NDJSON, gzip)
 *   → prepareBatch → network extraction (workers/network/extract.ts, with each router's NetworkState
 *   payload, as workers/network/payload.ts builds it, structuredClone'd as its RPC stand-in) → insertEventStatements
 *   and the search summary parts (workers/store/summaries.ts) → the hourly rollups written
 *   with the batch record → the D1 binding's request encoding → planBatch of the default rule pack: what
 *   POST /v1/ingest runs, minus I/O. Not included: the R2 archive (see `archive=1`) and the usage
 *   ledger's one small write.
 * - `/evaluate?stateful=N`: the same ingest, then everything evaluateBatch does in the Worker with the
 *   default pack's enabled rules plus bench thresholds up to N enabled stateful rules (N = 10 is the
 *   rule set of bench/evaluate.bench.ts): planBatch, one RPC payload per (rule, shard) call, one
 *   returned firing per call rendered by toAlertInputs.
 * - `&archive=1` (with /evaluate): also what ingest does for the R2 archive when the ARCHIVE bucket is
 *   bound (the root wrangler.toml binds it): a copy of the request body read as it arrived and the
 *   objects' metadata (workers/archive-objects.ts); the R2 write itself is I/O.
 *
 * The rule sets are compiled once per isolate, as workers/rules/plan.ts ruleSets caches them.
 */
import pack from "../../workers/rules/default-pack.json" with { type: "json" };
import { prepareBatch } from "../../workers/ingest/batch.ts";
import { readIngestBody } from "../../workers/ingest/body.ts";
import { DEFAULT_CONTEXT } from "../../workers/parse/index.ts";
import { buildRuleSets, planBatch, toAlertInputs, type ApplyResult, type RuleSets } from "../../workers/rules/plan.ts";
import type { Firing } from "../../workers/rules/types.ts";
import { packMatches } from "../../workers/rules/packed.ts";
import { insertEventStatements } from "../../workers/store/store.ts";
import { extractNetwork } from "../../workers/network/extract.ts";
import { networkRpcBatch } from "../../workers/network/payload.ts";
import { DEFAULT_TIMEOUTS } from "../../workers/network/sessions.ts";
import { rollupsOf } from "../../workers/store/rollups.ts";
import { summariesOf, summaryStatements } from "../../workers/store/summaries.ts";
import { archiveObjects } from "../../workers/archive-objects.ts";
import { benchRules, STATEFUL } from "../fixtures.ts";

const setsByStateful = new Map<number, RuleSets>();
function setsFor(stateful: number): RuleSets {
  let sets = setsByStateful.get(stateful);
  if (!sets) setsByStateful.set(stateful, (sets = buildRuleSets(benchRules(pack as unknown[], stateful))));
  return sets;
}

let batches = 0;

/** POST /v1/ingest's CPU work up to rule evaluation; returns the batch key and events for planning. */
async function ingest(req: Request) {
  const body = await readIngestBody(req);
  const batchKey = `bench-${batches++}`;
  const batch = prepareBatch(body.text, body.kind, { ctx: DEFAULT_CONTEXT, batchKey, nowMs: Date.now() });
  // Network visibility: flows, passive DNS and device sightings per router, one RPC payload each.
  let netPayloads = 0;
  for (const b of extractNetwork(batch.events).routers.values()) netPayloads += structuredClone(networkRpcBatch(batchKey, b, DEFAULT_TIMEOUTS)).router === b.router ? 1 : 0;
  // The events' INSERT and, in the same statement batch, their hours' search summary parts.
  const statements = [...insertEventStatements(batch.rows), ...summaryStatements(summariesOf(batch.rows))];
  const rollups = JSON.stringify(rollupsOf(batch.rows));
  // The D1 binding JSON-encodes each batch request inside the Worker (workerd's d1-api `_send`), which
  // re-escapes our JSON parameter: Worker CPU too.
  const d1Bytes = JSON.stringify(statements.map((st) => ({ sql: st.sql, params: st.params }))).length + rollups.length;
  return { batchKey, batch, summary: { kind: body.kind, netPayloads, accepted: batch.accepted, parseErrors: batch.parseErrors, statements: statements.length, d1Bytes } };
}

/**
 * evaluateBatch's Worker-side CPU for one batch, without its I/O. Each RuleState.apply RPC V8-serializes
 * its arguments in the Worker (the matches packed as columns, as evaluate.ts sends them); structuredClone stands in for that and also deserializes them (the
 * object's CPU in reality), so this is an upper bound. Each object answers with one firing, which the
 * Worker deserializes (structuredClone again) and renders as bench/evaluate.bench.ts does.
 */
function evaluate(sets: RuleSets, batchKey: string, events: Parameters<typeof planBatch>[2]) {
  const plan = planBatch(sets, batchKey, events);
  let inputs = plan.inputs.length;
  let matched = 0;
  const rulesMatched = new Set<string>();
  for (const call of plan.calls) {
    structuredClone([batchKey, call.rule, call.version, packMatches(call.events)]);
    const last = call.events[call.events.length - 1]!;
    const firing: Firing = { id: `f-${batchKey}-${call.name}`, ruleId: call.rule.id, action: "raise", group: {}, count: call.events.length, eventIds: [last.id], at: last.ts, vars: { ...last.fields, count: call.events.length } };
    const reply = structuredClone<ApplyResult>({ firings: [firing], replayed: false, late: 0 });
    inputs += toAlertInputs(call.rule, reply.firings).length;
    matched += call.events.length;
    rulesMatched.add(call.rule.id);
  }
  const stateful = sets.alerting.rules.filter(({ rule }) => STATEFUL.has(rule.type)).length;
  return { calls: plan.calls.length, matched, statefulEnabled: stateful, statefulMatching: rulesMatched.size, alertInputs: inputs };
}

export default {
  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method !== "POST") return new Response("POST only", { status: 405 });
    try {
      if (url.pathname === "/empty") return Response.json({ bytes: (await req.arrayBuffer()).byteLength });
      if (url.pathname === "/ingest") {
        const { batchKey, batch, summary } = await ingest(req);
        const plan = planBatch(setsFor(0), batchKey, batch.events);
        return Response.json({ ...summary, calls: plan.calls.length });
      }
      if (url.pathname === "/evaluate") {
        const sets = setsFor(Number(url.searchParams.get("stateful") ?? 10));
        const copy = url.searchParams.get("archive") === "1" ? req.clone() : null;
        const { batchKey, batch, summary } = await ingest(req);
        const evaluated = evaluate(sets, batchKey, batch.events);
        let archived = 0;
        if (copy) {
          const bytes = await copy.arrayBuffer();
          const meta = { kind: summary.kind, gzip: req.headers.get("content-encoding") === "gzip", batchKey, nowMs: Date.now(), clientIp: null };
          for (const o of archiveObjects("bench-relay", meta, batch.rows)) archived += o.ref === null ? bytes.byteLength : 0;
        }
        return Response.json({ ...summary, ...evaluated, archived });
      }
      return new Response("no such scenario", { status: 404 });
    } catch (err) {
      return new Response(String((err as Error)?.stack ?? err), { status: 500 });
    }
  },
};
