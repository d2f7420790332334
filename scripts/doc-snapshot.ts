/**
 * Snapshot of what ingest stores for a fixed input: every line of every file under the corpora
 * (`../shared/corpora` or PORCHLIGHT_CORPORA) and the bench's generated corpus, as text/plain and as the
 * relay's NDJSON, through prepareBatch with a fixed receive time and batch key; one JSON line per event
 * (the event, then its row as the store gets it). For refactors that must not change parser output:
 * run it before and after and compare the files (`cmp`).
 *
 * `node scripts/doc-snapshot.ts <out.jsonl>`
 */
import { createWriteStream, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { DEFAULT_CONTEXT } from "../workers/parse/index.ts";
import { prepareBatch } from "../workers/ingest/batch.ts";
import { generateCorpus, relayNdjson } from "../bench/corpus.ts";
import { record } from "../relay/sources/source.ts";

const corpora = resolve(process.env.PORCHLIGHT_CORPORA ?? join(import.meta.dirname, "../../shared/corpora"));
const out = createWriteStream(process.argv[2] ?? "/dev/stdout");
const NOW = Date.UTC(2026, 0, 8, 12, 0, 0);
const BATCH = 1000;

function files(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function emit(name: string, text: string, kind: "text" | "ndjson"): void {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i += BATCH) {
    const body = lines.slice(i, i + BATCH).join("\n");
    const b = prepareBatch(body, kind, { ctx: DEFAULT_CONTEXT, batchKey: `${name}:${i}`, nowMs: NOW, clientIp: "192.0.2.1" });
    for (let k = 0; k < b.events.length; k++) out.write(JSON.stringify([name, shown(b.events[k]), b.rows[k]]) + "\n");
    out.write(JSON.stringify([name, "errors", b.errors, b.parseErrors, b.empty]) + "\n");
  }
}

/** The event with its times as RFC 3339 text (how the API shows it), whether the event carries them as ms or as text. */
function shown(e: unknown): unknown {
  const o = { ...(e as Record<string, unknown>) };
  for (const k of ["@timestamp", "received_at"]) if (typeof o[k] === "number") o[k] = new Date(o[k] as number).toISOString();
  return o;
}

let n = 0;
for (const f of files(corpora)) {
  const buf = readFileSync(f);
  if (buf.includes(0) || buf.length > 4_000_000) continue;
  emit(relative(corpora, f), buf.toString("utf8"), "text");
  n++;
}
const generated = generateCorpus(5000, 7);
emit("generated", generated.join("\n"), "text");
emit("generated.ndjson", relayNdjson(generated, NOW), "ndjson");
// Lines the relay cut (truncated: true), and a few that are no envelope.
emit("cut.ndjson", generated.slice(0, 200).map((l, i) => (i % 7 === 3 ? l : record(Buffer.from(l), "192.168.1.2", "tcp", true).replace(/"received_at":"[^"]*"/, `"received_at":"${new Date(NOW + i).toISOString()}"`))).join(""), "ndjson");
out.end(() => console.error(`${n} corpus files and the generated corpus written`));
