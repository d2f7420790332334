/**
 * Alerts: `porchlight alerts` (the list with the API's filters, following its cursor to --limit),
 * `porchlight alert ID` (detail with history and source events), and the lifecycle actions
 * `ack|unack|shelve|close|reopen ID [--note]` (admin scope).
 */
import { seg } from "../client.js";
import { clientOf, collect, examples, formatOptions, intOption } from "../context.js";
import { UsageError } from "../errors.js";
import { formatList, out, pickFormat, severityColor, pc } from "../output.js";
import { ago } from "../time.js";

/** The API's largest page of alerts. */
const ALERTS_MAX_PAGE = 500;
const FILTERS = ["status", "severity", "rule", "resource"];

/** @param {number} now @returns {import("../output.js").Column[]} */
export const alertColumns = (now) => [
  { header: "ID", path: "id" },
  { header: "SEVERITY", path: "severity", color: (s) => severityColor(s) },
  { header: "STATUS", path: "status" },
  { header: "LAST SEEN", path: "last_seen", get: (a) => (process.stdout.isTTY ? ago(a.last_seen, now) : a.last_seen) },
  { header: "DUP", path: "duplicate_count" },
  { header: "RULE", path: "rule_id", max: 32 },
  { header: "RESOURCE", path: "resource", max: 32 },
  { header: "TITLE", path: "title" },
];

/** @param {import("commander").Command} program */
export function registerAlerts(program) {
  const list = program.command("alerts").description("List alerts, newest last_seen first (the rule hits of siemquery)");
  for (const f of FILTERS) {
    list.option(`--${f} <value>`, `${f} (repeatable or comma-separated)`, collect);
    list.option(`--not-${f} <value>`, `not this ${f}`, collect);
  }
  formatOptions(list)
    .option("--since <time>", "last seen since: RFC 3339, or a duration back from now like 24h")
    .option("-n, --limit <n>", "at most n alerts (default 50)", intOption("--limit"))
    .option("--all", "every matching alert")
    .action(async (opts) => {
      const client = clientOf(list);
      /** @type {Record<string, string[] | string | undefined>} */
      const query = { since: opts.since };
      for (const f of FILTERS) {
        query[f] = opts[f];
        query[`not_${f}`] = opts[`not${f[0]?.toUpperCase()}${f.slice(1)}`];
      }
      const limit = opts.all ? Infinity : opts.limit ?? 50;
      if (limit === 0) throw new UsageError("--limit 0 prints nothing; use --all for every alert");
      /** @type {any[]} */
      const rows = [];
      /** @type {string | undefined} */
      let cursor;
      do {
        const page = await client.get("/v1/alerts", { ...query, limit: Math.min(ALERTS_MAX_PAGE, limit - rows.length), cursor });
        rows.push(...page.alerts);
        cursor = page.cursor ?? undefined;
      } while (cursor && rows.length < limit);
      await out(formatList(rows, alertColumns(Date.now()), pickFormat(opts)));
    });
  examples(list, [
    "porchlight alerts",
    "porchlight alerts --status open,ack --severity high --severity critical",
    "porchlight alerts --since 24h --not-rule heartbeat:ping --format json",
  ]);

  const show = program
    .command("alert <id>")
    .description("Show one alert with its history and source events (JSON)")
    .action(async (id) => {
      await out(JSON.stringify(await clientOf(show).get(`/v1/alerts/${seg(id)}`), null, 2) + "\n");
    });
  examples(show, ["porchlight alert al_3f2a9c0e1b7d4a6f8e2c1b0a"]);

  for (const [action, what] of /** @type {const} */ ([
    ["ack", "Acknowledge an alert (it stays acked on repeats unless its severity rises)"],
    ["unack", "Take back an acknowledgement"],
    ["shelve", "Shelve an alert for a while (default 2h): repeats stay quiet until then"],
    ["close", "Close an alert (a new firing reopens it)"],
    ["reopen", "Reopen a closed, expired, acked or shelved alert"],
  ])) {
    const cmd = program.command(`${action} <id>`).description(`${what} (admin scope)`).option("--note <text>", "a note for the alert's history");
    if (action === "shelve") cmd.option("--duration <duration>", "how long: 30m, 2h, 7d");
    cmd.action(async (id, opts) => {
      /** @type {Record<string, string>} */
      const body = {};
      if (opts.note !== undefined) body.note = opts.note;
      if (opts.duration !== undefined) body.duration = opts.duration;
      const a = await clientOf(cmd).json("POST", `/v1/alerts/${seg(id)}/${action}`, { body });
      await out(`${a.id} ${pc.bold(a.status)}${a.shelved_until ? ` until ${a.shelved_until}` : ""}: ${a.title}\n`);
    });
    examples(cmd, [`porchlight ${action} al_3f2a9c0e1b7d4a6f8e2c1b0a${action === "shelve" ? " --duration 8h" : ""} --note "looked at it"`]);
  }
}
