/**
 * `porchlight metrics` (the pipeline counters, or Prometheus text), `porchlight usage` (what D1 was
 * billed for ingest: rows written per stored event) and `porchlight relays`.
 */
import { clientOf, examples, formatOptions } from "../context.js";
import { formatList, out, pickFormat } from "../output.js";

/** @param {import("commander").Command} program */
export function registerMetrics(program) {
  const metrics = formatOptions(program.command("metrics").description("Pipeline counters: received, stored, parse errors, alerts, ..."))
    .option("--prometheus", "the Prometheus text exposition")
    .action(async (opts) => {
      const client = clientOf(metrics);
      if (opts.prometheus) {
        await out(await (await client.raw("GET", "/v1/metrics", { query: { format: "prometheus" } })).text());
        return;
      }
      const { counters } = await client.get("/v1/metrics");
      const format = pickFormat(opts);
      if (format === "json") return out(JSON.stringify(counters, null, 2) + "\n");
      const rows = Object.entries(counters).map(([name, value]) => ({ name, value }));
      await out(formatList(rows, [{ header: "COUNTER", path: "name" }, { header: "VALUE", path: "value" }], format));
    });
  examples(metrics, ["porchlight metrics", "porchlight metrics --prometheus", "porchlight metrics --format json | jq .stored"]);

  const usage = program
    .command("usage")
    .description("What ingest costs in D1: events stored, rows written, rows per event")
    .option("--json", "as JSON")
    .action(async (opts) => {
      const { counters, relays } = await clientOf(usage).get("/v1/metrics");
      const stored = Number(counters.stored ?? 0), rows = Number(counters.rows_written ?? 0);
      const u = { stored, rows_written: rows, rows_per_event: stored ? Math.round((rows / stored) * 1000) / 1000 : null, received: counters.received ?? 0, relays: relays.length };
      if (opts.json) return out(JSON.stringify(u) + "\n");
      await out(`events stored   ${u.stored}\nrows written    ${u.rows_written}\nrows per event  ${u.rows_per_event ?? "-"}\nlines received  ${u.received}\nrelays seen     ${u.relays}\n`);
    });
  examples(usage, ["porchlight usage"]);

  const relays = formatOptions(program.command("relays").description("Relays (and other senders) seen at ingest")).action(async (opts) => {
    const { relays: rows } = await clientOf(relays).get("/v1/relays");
    await out(formatList(rows, [
      { header: "NAME", path: "name" }, { header: "LAST SEEN", path: "last_seen" }, { header: "IP", path: "last_ip" },
      { header: "BATCHES", path: "batches" }, { header: "LINES", path: "lines" }, { header: "BYTES", path: "bytes" },
    ], pickFormat(opts)));
  });
  examples(relays, ["porchlight relays"]);
}
