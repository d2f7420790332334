/**
 * `porchlight query` (siemquery): events through `GET /v1/events`, following `next_cursor` page by
 * page until --limit events are out; `porchlight event ID`: one event.
 */
import { seg } from "../client.js";
import { clientOf, collect, examples, intOption } from "../context.js";
import { resolveHostOptions } from "../devices.js";
import { listPages, pagingOptions } from "../paging.js";
import { FILTERS, buildEventsQuery, passesClientFilters } from "../query-options.js";
import { out, pc } from "../output.js";

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
  pagingOptions(cmd, { what: "events", defaultLimit: DEFAULT_LIMIT, maxPage: EVENTS_MAX_PAGE }, intOption)
    .option("--scan <n>", `with --pid/--rpid: read at most n events (default ${DEFAULT_SCAN})`, intOption("--scan"))
    .action(async (opts) => {
      const client = clientOf(cmd);
      await resolveHostOptions(client, opts);
      const query = buildEventsQuery(opts);
      const filtering = query.clientFilters.length > 0;
      await listPages({
        client, path: "/v1/events", key: "events", params: query.params, opts, what: "events",
        defaultLimit: DEFAULT_LIMIT, maxPage: EVENTS_MAX_PAGE, table: EVENT_TABLE, csv: EVENT_CSV,
        keep: filtering ? (e) => passesClientFilters(e, query.clientFilters) : undefined,
        scanMax: opts.scan ?? DEFAULT_SCAN,
      });
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
