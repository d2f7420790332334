/**
 * `porchlight query` (siemquery): events through `GET /v1/events`, following `next_cursor` page by
 * page until --limit events are out; `porchlight event ID`: one event.
 */
import { writeFileSync } from "node:fs";
import { seg } from "../client.js";
import { clientOf, collect, examples, formatOptions, intOption } from "../context.js";
import { UsageError } from "../errors.js";
import { FILTERS, buildEventsQuery, passesClientFilters } from "../query-options.js";
import { csvHeader, csvRow, fillTemplate, formatList, note, out, pickFormat, pc } from "../output.js";

/** The API's largest page. */
export const EVENTS_MAX_PAGE = 5000;
/** Default number of events printed. */
export const DEFAULT_LIMIT = 100;
/** Most events read while a client-side filter (--pid) discards some, unless --scan says otherwise. */
export const DEFAULT_SCAN = 50_000;

/** @param {any} e @param {"source" | "destination"} side */
const endpoint = (e, side) => {
  const ip = e[side]?.ip;
  const port = e[side]?.port;
  if (!ip) return port === undefined ? "" : `:${port}`;
  return port === undefined ? ip : ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
};

/** @type {import("../output.js").Column[]} */
export const EVENT_TABLE = [
  { header: "TIME", path: "@timestamp", color: (s) => pc.dim(s) },
  { header: "HOST", path: "host.hostname", max: 24 },
  { header: "PROCESS", path: "process.name", get: (e) => (e.process?.name ? `${e.process.name}${e.process.pid !== undefined ? `[${e.process.pid}]` : ""}` : e.event?.dataset ?? ""), max: 24 },
  { header: "SOURCE", path: "source.ip", get: (e) => endpoint(e, "source") },
  { header: "DESTINATION", path: "destination.ip", get: (e) => endpoint(e, "destination") },
  { header: "ACTION", path: "event.action", max: 16 },
  { header: "MESSAGE", path: "message" },
];

/** CSV columns: the same names and order as the API's own `format=csv`. */
export const EVENT_CSV = [
  "id", "@timestamp", "received_at", "host.hostname", "process.name", "event.dataset", "source.ip", "source.port",
  "destination.ip", "destination.port", "network.transport", "user.name", "event.action", "event.outcome",
  "log.syslog.severity.code", "message", "raw",
].map((path) => ({ header: path, path }));

/** @param {import("commander").Command} program */
export function registerQuery(program) {
  const cmd = program
    .command("query")
    .description("Search events (siemquery): newest first, with siemquery's options and the events API's filters");
  cmd
    .option("--last <duration>", "events of the last 30s, 5m, 24h, 7d, 2w")
    .option("--range <start-finish>", "YYYYmmddHHMMSS-YYYYmmddHHMMSS (local time), or RFC3339..RFC3339")
    .option("--from <time>", "events at or after this time (RFC 3339 or YYYYmmddHHMMSS)")
    .option("--to <time>", "events at or before this time");
  for (const f of FILTERS) {
    cmd.option(`--${f.flag} <${f.arg}>`, `${f.help} (repeatable: OR)`, collect);
    cmd.option(`--${f.neg} <${f.arg}>`, `not ${f.flag} (repeatable)`, collect);
  }
  formatOptions(cmd)
    .option("--json <file>", "write the events to FILE as a JSON array (siemquery --json)")
    .option("-n, --limit <n>", `print at most n events (default ${DEFAULT_LIMIT})`, intOption("--limit"))
    .option("--all", "every matching event (follows every page)")
    .option("--page-size <n>", `events per API request (1-${EVENTS_MAX_PAGE})`, intOption("--page-size"))
    .option("--scan <n>", `with --pid/--rpid: read at most n events (default ${DEFAULT_SCAN})`, intOption("--scan"))
    .option("--cursor <id>", "continue a search where a previous one stopped (the API's next_cursor)")
    .action(async (opts) => {
      const client = clientOf(cmd);
      const query = buildEventsQuery(opts);
      const limit = opts.all ? Infinity : opts.limit ?? DEFAULT_LIMIT;
      if (limit === 0) throw new UsageError("--limit 0 prints nothing; use --all for every event");
      const filtering = query.clientFilters.length > 0;
      const pageSize = opts.pageSize ?? Math.min(filtering ? 1000 : limit, EVENTS_MAX_PAGE);
      if (pageSize < 1 || pageSize > EVENTS_MAX_PAGE) throw new UsageError(`--page-size: 1-${EVENTS_MAX_PAGE}`);
      const scanMax = opts.scan ?? DEFAULT_SCAN;
      const format = opts.json ? "json" : pickFormat(opts);
      const streaming = !opts.json && format !== "table" && format !== "json";
      /** @type {any[]} */
      const kept = [];
      let printed = 0, read = 0;
      /** @type {string | null} */
      let cursor = opts.cursor ?? null;
      if (streaming && format === "csv") await out(csvHeader(EVENT_CSV));
      for (;;) {
        const page = await client.get("/v1/events", { ...query.params, limit: Math.min(pageSize, filtering ? pageSize : limit - printed), cursor: cursor ?? undefined });
        let chunk = "";
        for (const e of page.events) {
          read++;
          if (!passesClientFilters(e, query.clientFilters)) continue;
          printed++;
          if (!streaming) kept.push(e);
          else if (format === "csv") chunk += csvRow(e, EVENT_CSV);
          else if (format === "ndjson") chunk += JSON.stringify(e) + "\n";
          else if (typeof format === "object") chunk += fillTemplate(format.template, e) + "\n";
          if (printed >= limit) break;
        }
        await out(chunk);
        cursor = page.next_cursor;
        if (!cursor || printed >= limit) break;
        if (filtering && read >= scanMax) {
          note(`porchlight: stopped after reading ${read} events (--scan ${scanMax}); continue with --cursor ${cursor}, or raise --scan`);
          break;
        }
      }
      if (opts.json) {
        writeFileSync(opts.json, JSON.stringify(kept, null, 2) + "\n");
        note(`${printed} events written to ${opts.json}`);
      } else if (!streaming) {
        await out(formatList(kept, format === "table" ? EVENT_TABLE : EVENT_CSV, format));
        if (format === "table" && process.stdout.isTTY) note(pc.dim(`${printed} events${cursor && printed >= limit ? ` (more: raise --limit, use --all, or --cursor ${cursor})` : ""}`));
      }
    });
  examples(cmd, [
    "porchlight query --last 6h",
    "porchlight query --last 20m --process sshd --process systemd-logind --grep fail",
    "porchlight query --range 20261122020000-20261122050000 --grep fail",
    "porchlight query --last 1d --shost 10.0.0.0/8 --rdport 53 --protocol udp",
    "porchlight query --last 7d --dataset sshd --outcome failure --format '{@timestamp} {source.ip} {user.name}'",
    "porchlight query --last 24h --json events.json",
    "porchlight query --all --last 7d | jq -r .source.ip | sort | uniq -c",
  ]);

  const one = program
    .command("event <id>")
    .description("Show one event (GET /v1/events/:id) as JSON")
    .action(async (id) => {
      await out(JSON.stringify(await clientOf(one).get(`/v1/events/${seg(id)}`), null, 2) + "\n");
    });
  examples(one, ["porchlight event 01M82BQVC8PFGS4YKFVE156FA9"]);
}
