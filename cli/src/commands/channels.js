/**
 * Notifications (docs/notifications.md): `porchlight channels list|show|add|edit|test|enable|disable|
 * delete|deliveries` and `porchlight blackouts list|add|delete`. A channel's secret (ntfy token, webhook
 * HMAC secret, Telegram bot token) comes from --secret, --secret-file or a prompt without echo, and is
 * never printed: the API answers it as `***`. Push subscriptions have no list route: a webpush channel's
 * `show` gives their count.
 */
import { seg } from "../client.js";
import { clientOf, collect, examples, formatOptions, intOption } from "../context.js";
import { CliError, UsageError } from "../errors.js";
import { readText, writeJson } from "../files.js";
import { formatList, out, pc, pickFormat, severityColor } from "../output.js";
import { readSecret } from "../secret.js";
import { lastMs, parseTime } from "../time.js";

export const CHANNEL_TYPES = ["ntfy", "webhook", "telegram", "email", "webpush"];
/** The config field each type keeps its one secret in (the webhook's URL is redacted too, but given with --url). */
export const SECRET_FIELD = /** @type {Record<string, string>} */ ({ ntfy: "token", webhook: "secret", telegram: "bot_token" });
export const SEVERITIES = ["informational", "low", "medium", "high", "critical"];
export const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
/** The deliveries route's largest `limit`. */
const DELIVERIES_MAX = 500;

/** Config options: flag → config field, and the types it belongs to. */
const CONFIG_OPTIONS = [
  { flag: "url", field: "url", arg: "URL", types: ["ntfy", "webhook"], help: "ntfy: the server (default https://ntfy.sh); webhook: the URL to POST to (kept secret)" },
  { flag: "topic", field: "topic", arg: "TOPIC", types: ["ntfy"], help: "ntfy: the topic" },
  { flag: "preset", field: "preset", arg: "PRESET", types: ["webhook"], help: "webhook: discord, slack, matrix or gotify" },
  { flag: "chat-id", field: "chat_id", arg: "ID", types: ["telegram"], help: "telegram: the chat id or @channelname" },
  { flag: "api-base", field: "api_base", arg: "URL", types: ["telegram"], help: "telegram: the Bot API's base URL (default https://api.telegram.org)" },
  { flag: "to", field: "to", arg: "ADDRESS", types: ["email"], help: "email: the (verified) recipient" },
  { flag: "sender", field: "from", arg: "ADDRESS", types: ["email"], help: "email: the sender (default NOTIFY_EMAIL_FROM)" },
];

/** @param {string} flag */
const attr = (flag) => flag.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

/**
 * The body of `POST /v1/channels` (type given) or `PATCH /v1/channels/:id` (type of the stored channel,
 * `current` its filter) from parsed options and the secret read. Pure; refuses options of another type.
 * @param {Record<string, any>} opts @param {{ type: string, secret?: string, current?: { filter?: Record<string, unknown> }, create: boolean }} c
 * @returns {Record<string, any>}
 */
export function channelBody(opts, c) {
  if (!CHANNEL_TYPES.includes(c.type)) throw new UsageError(`--type '${c.type}': one of ${CHANNEL_TYPES.join(", ")}`);
  /** @type {Record<string, any>} */
  const body = {};
  /** @type {Record<string, any>} */
  const config = {};
  for (const o of CONFIG_OPTIONS) {
    const v = opts[attr(o.flag)];
    if (v === undefined) continue;
    if (!o.types.includes(c.type)) throw new UsageError(`--${o.flag} is for ${o.types.join("/")} channels, not ${c.type}`);
    config[o.field] = v;
  }
  const secretField = SECRET_FIELD[c.type];
  if (c.secret !== undefined || opts.clearSecret) {
    if (!secretField) throw new UsageError(`a ${c.type} channel has no secret`);
    if (opts.clearSecret && c.secret !== undefined) throw new UsageError("--clear-secret and a secret exclude each other");
    config[secretField] = opts.clearSecret ? null : c.secret;
  }
  if (c.create && secretField === "bot_token" && config.bot_token === undefined) throw new UsageError("a telegram channel needs its bot token: --secret-file FILE, --ask-secret or --secret TOKEN");
  if (c.create || Object.keys(config).length) body.config = config;
  if (opts.name !== undefined) body.name = opts.name;
  if (c.create) body.type = c.type;
  if (opts.disabled) body.enabled = false;

  /** @type {Record<string, any>} */
  const filter = {};
  if (opts.minSeverity !== undefined) {
    if (opts.minSeverity !== "any" && !SEVERITIES.includes(opts.minSeverity)) throw new UsageError(`--min-severity '${opts.minSeverity}': one of ${SEVERITIES.join(", ")}, or any`);
    filter.min_severity = opts.minSeverity === "any" ? undefined : opts.minSeverity;
  }
  if (opts.rule) filter.rules = opts.rule.flatMap(splitList);
  if (opts.tag) filter.tags = opts.tag.flatMap(splitList);
  if (Object.keys(filter).length) {
    // The API replaces the whole filter: keep the parts not given.
    const merged = { ...(c.current?.filter ?? {}), ...filter };
    if (merged.min_severity === undefined || merged.min_severity === null) delete merged.min_severity;
    body.filter = merged;
  }
  if (opts.repeat !== undefined) body.repeat = opts.repeat === "never" ? null : opts.repeat;
  if (opts.onClose !== undefined) body.on_close = opts.onClose;
  if (opts.blackoutDigest !== undefined) body.blackout_digest = opts.blackoutDigest;
  if (opts.dailyDigest === false) body.daily_digest = null;
  else if (opts.dailyDigest !== undefined) {
    if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(opts.dailyDigest)) throw new UsageError(`--daily-digest '${opts.dailyDigest}': a time HH:MM (24 h)`);
    body.daily_digest = { at: opts.dailyDigest, timezone: opts.timezone ?? "UTC" };
  } else if (opts.timezone !== undefined) throw new UsageError("--timezone goes with --daily-digest HH:MM");
  if (!c.create && !Object.keys(body).length) throw new UsageError("nothing to change: give an option (see --help)");
  return body;
}

/** "a,b" and repeated options alike. @param {string} s */
const splitList = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);

/**
 * The body of `POST /v1/blackouts`: one-off (`--start/--end`, or `--for` from now) or recurring
 * (`--days`, `--from`, `--to`, `--timezone`). Pure: `now` in ms.
 * @param {string} name @param {Record<string, any>} opts @param {number} now @returns {Record<string, any>}
 */
export function blackoutBody(name, opts, now) {
  /** @type {Record<string, any>} */
  const body = { name };
  const oneOff = opts.start !== undefined || opts.end !== undefined || opts.for !== undefined;
  const recurring = opts.days !== undefined || opts.from !== undefined || opts.to !== undefined;
  if (oneOff && recurring) throw new UsageError("a blackout is one-off (--start/--end or --for) or recurring (--days --from --to), not both");
  if (!oneOff && !recurring) throw new UsageError("give --start and --end (or --for 2h) for a one-off blackout, or --days, --from and --to for a recurring one");
  if (oneOff) {
    if (opts.timezone !== undefined) throw new UsageError("--timezone is for recurring blackouts (one-off times carry their own zone)");
    if (opts.for !== undefined) {
      if (opts.end !== undefined) throw new UsageError("--for and --end exclude each other");
      const length = lastMs(opts.for, "--for");
      const start = opts.start === undefined ? now : parseTime(opts.start, "--start");
      body.start = new Date(start).toISOString();
      body.end = new Date(start + length).toISOString();
    } else {
      if (opts.start === undefined || opts.end === undefined) throw new UsageError("a one-off blackout needs --start and --end (or --for)");
      body.start = new Date(parseTime(opts.start, "--start")).toISOString();
      body.end = new Date(parseTime(opts.end, "--end")).toISOString();
    }
  } else {
    if (opts.from === undefined || opts.to === undefined) throw new UsageError("a recurring blackout needs --from HH:MM and --to HH:MM");
    for (const [flag, v] of [["--from", opts.from], ["--to", opts.to]]) {
      if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(v)) throw new UsageError(`${flag} '${v}': a wall time HH:MM (24 h)`);
    }
    const days = opts.days === undefined || opts.days === "daily" ? [...DAYS] : expandDays(opts.days);
    body.days = days;
    body.from = opts.from;
    body.to = opts.to;
    body.timezone = opts.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
  }
  /** @type {Record<string, string[]>} */
  const filter = {};
  if (opts.channel) filter.channels = opts.channel.flatMap(splitList);
  if (opts.rule) filter.rules = opts.rule.flatMap(splitList);
  if (opts.tag) filter.tags = opts.tag.flatMap(splitList);
  if (Object.keys(filter).length) body.filter = filter;
  return body;
}

/** "mon-fri", "sat,sun", "weekdays", "weekends" → day names in the API's order. @param {string} text */
export function expandDays(text) {
  /** @type {Set<string>} */
  const set = new Set();
  for (const part of splitList(text.toLowerCase())) {
    if (part === "weekdays") ["mon", "tue", "wed", "thu", "fri"].forEach((d) => set.add(d));
    else if (part === "weekends") ["sat", "sun"].forEach((d) => set.add(d));
    else if (part === "daily") DAYS.forEach((d) => set.add(d));
    else {
      const m = /^([a-z]{3})(?:-([a-z]{3}))?$/.exec(part);
      const a = m ? DAYS.indexOf(m[1] ?? "") : -1;
      const b = m?.[2] ? DAYS.indexOf(m[2]) : a;
      if (a < 0 || b < 0) throw new UsageError(`--days '${text}': days like mon,tue or mon-fri, weekdays, weekends, daily`);
      for (let i = a; ; i = (i + 1) % 7) {
        set.add(/** @type {string} */ (DAYS[i]));
        if (i === b) break;
      }
    }
  }
  return DAYS.filter((d) => set.has(d));
}

/** What a channel sends to, for the table (secrets are already `***`). @param {any} ch */
const target = (ch) => {
  const c = ch.config ?? {};
  if (ch.type === "ntfy") return `${c.url ?? ""}/${c.topic ?? ""}`;
  if (ch.type === "webhook") return `${c.url ?? ""}${c.preset ? ` (${c.preset})` : ""}`;
  if (ch.type === "telegram") return `chat ${c.chat_id ?? ""}`;
  if (ch.type === "email") return c.to ?? "";
  if (ch.type === "webpush") return ch.subscriptions === undefined ? "phones" : `${ch.subscriptions} phones`;
  return "";
};

/** @type {import("../output.js").Column[]} */
export const DELIVERY_COLUMNS = [
  { header: "CREATED", path: "created_at", color: (s) => pc.dim(s) },
  { header: "REASON", path: "reason" },
  { header: "STATUS", path: "status", color: (s) => (s.trim() === "sent" ? pc.green(s) : s.trim() === "failed" ? pc.red(s) : s) },
  { header: "ATTEMPTS", path: "attempts" },
  { header: "HTTP", path: "http_status" },
  { header: "CHANNEL", path: "channel_id", get: (d) => d.channel_name ?? d.channel_id },
  { header: "ALERT", path: "alert_id" },
  { header: "NEXT TRY", path: "next_attempt_at" },
  { header: "ANSWER", path: "answer" },
];

/** Options shared by `channels add` and `channels edit`. @param {import("commander").Command} cmd */
function channelOptions(cmd) {
  for (const o of CONFIG_OPTIONS) cmd.option(`--${o.flag} <${o.arg}>`, o.help);
  return cmd
    .option("--secret <value>", "the channel's secret (ntfy token, webhook HMAC secret, telegram bot token); visible in `ps`: prefer the next two")
    .option("--secret-file <file>", "read the secret from FILE ('-': standard input)")
    .option("--ask-secret", "prompt for the secret (typed without echo)")
    .option("--min-severity <sev>", `notify from this severity up: ${SEVERITIES.join(", ")} (any: all)`)
    .option("--rule <id>", "only alerts of these rules (repeatable or comma-separated)", collect)
    .option("--tag <tag>", "only alerts with any of these tags (repeatable or comma-separated)", collect)
    .option("--repeat <duration>", "notify a repeating alert again after this long (4h), or never")
    .option("--on-close", "also notify when an alert closes")
    .option("--no-on-close", "do not notify closes")
    .option("--blackout-digest", "send one digest of what a blackout held back, at its end (default)")
    .option("--no-blackout-digest", "keep held alerts held")
    .option("--daily-digest <HH:MM>", "one message a day at this local time listing the last 24 h of alerts")
    .option("--no-daily-digest", "no daily digest")
    .option("--timezone <zone>", "the daily digest's IANA zone (default UTC)")
    .option("--json", "print the whole answer as JSON");
}

/** @param {any} ch */
const channelLine = (ch) => `${ch.id} ${ch.name} (${ch.type}${ch.enabled ? "" : ", disabled"}): ${target(ch)}\n`;

/** @param {import("commander").Command} program */
export function registerChannels(program) {
  const channels = program.command("channels").description("Notification channels: ntfy, webhooks (Discord, Slack, Matrix, Gotify), Telegram, e-mail, Web Push");

  const list = formatOptions(channels.command("list").description("List channels (secrets show as ***)")).action(async (opts) => {
    const { channels: rows } = await clientOf(list).get("/v1/channels");
    await out(formatList(rows, [
      { header: "ID", path: "id" }, { header: "NAME", path: "name", max: 24 }, { header: "TYPE", path: "type" },
      { header: "ENABLED", path: "enabled", get: (c) => (c.enabled ? "yes" : "no") },
      { header: "MIN SEVERITY", path: "filter.min_severity", color: (s) => severityColor(s) },
      { header: "REPEAT", path: "repeat" }, { header: "TARGET", path: "config", get: target },
    ], pickFormat(opts)));
  });
  examples(list, ["porchlight channels list", "porchlight channels list --format json"]);

  const show = channels.command("show <id>").description("One channel as JSON (a webpush channel adds its number of subscribed phones)").action(async (id) => {
    await writeJson(await clientOf(show).get(`/v1/channels/${seg(id)}`), undefined);
  });
  examples(show, ["porchlight channels show ch_0123456789abcdef01"]);

  const add = channelOptions(channels.command("add <name>").description("Add a channel (admin)"))
    .requiredOption("--type <type>", CHANNEL_TYPES.join(", "))
    .option("--disabled", "create it disabled")
    .action(async (name, opts) => {
      const secret = await readSecret(opts, `${SECRET_FIELD[opts.type] ?? "secret"} for ${name}`, readText);
      const body = channelBody({ ...opts, name }, { type: opts.type, secret, create: true });
      const ch = await clientOf(add).json("POST", "/v1/channels", { body });
      await out(opts.json ? JSON.stringify(ch) + "\n" : channelLine(ch));
    });
  examples(add, [
    "porchlight channels add phone --type ntfy --topic porchlight-anna --secret-file ~/.ntfy-token --min-severity medium",
    "porchlight channels add discord --type webhook --preset discord --url \"$(cat ~/.discord-hook)\" --repeat 4h",
    "porchlight channels add tg --type telegram --chat-id 123456789 --ask-secret",
    "pass show porchlight/ntfy | porchlight channels add nas-alerts --type ntfy --url https://ntfy.example.org --topic nas --secret-file -",
    "porchlight channels add mail --type email --to me@example.org --daily-digest 08:00 --timezone Europe/Berlin",
  ]);

  const edit = channelOptions(channels.command("edit <id>").description("Change a channel (admin): only what is given; the stored secret stays unless replaced"))
    .option("--name <name>", "rename it")
    .option("--clear-secret", "remove the optional secret (ntfy token, webhook secret)")
    .action(async (id, opts) => {
      const client = clientOf(edit);
      const cur = await client.get(`/v1/channels/${seg(id)}`);
      const secret = await readSecret(opts, `${SECRET_FIELD[cur.type] ?? "secret"} for ${cur.name}`, readText);
      const body = channelBody(opts, { type: cur.type, secret, current: cur, create: false });
      const ch = await client.json("PATCH", `/v1/channels/${seg(id)}`, { body });
      await out(opts.json ? JSON.stringify(ch) + "\n" : channelLine(ch));
    });
  examples(edit, ["porchlight channels edit ch_0123456789abcdef01 --min-severity high --repeat never", "porchlight channels edit ch_0123456789abcdef01 --ask-secret", "porchlight channels edit ch_0123456789abcdef01 --no-daily-digest"]);

  const test = channels
    .command("test <id>")
    .description("Send a test message now and show the receiver's answer (exit 1 when it refused)")
    .option("--json", "print the whole answer as JSON")
    .action(async (id, opts) => {
      const r = await clientOf(test).json("POST", `/v1/channels/${seg(id)}/test`);
      if (opts.json) await out(JSON.stringify(r) + "\n");
      else await out(`${r.ok ? "sent" : "failed"}: ${r.status ?? "no answer"}${r.answer ? ` ${String(r.answer).replace(/\s+/g, " ").slice(0, 200)}` : ""}\n`);
      if (!r.ok) throw new CliError(`the test message was not accepted (${r.status ?? "no answer"}${r.retryable ? ", retryable" : ""})`);
    });
  examples(test, ["porchlight channels test ch_0123456789abcdef01"]);

  for (const [action, enabled] of /** @type {const} */ ([["enable", true], ["disable", false]])) {
    const cmd = channels.command(`${action} <id>`).description(`${action === "enable" ? "Enable" : "Disable"} a channel (admin)`).action(async (id) => {
      const ch = await clientOf(cmd).json("PATCH", `/v1/channels/${seg(id)}`, { body: { enabled } });
      await out(`${ch.id} ${enabled ? "enabled" : "disabled"}\n`);
    });
    examples(cmd, [`porchlight channels ${action} ch_0123456789abcdef01`]);
  }

  const del = channels.command("delete <id>").description("Delete a channel (admin); its queued deliveries are dropped").action(async (id) => {
    await clientOf(del).json("DELETE", `/v1/channels/${seg(id)}`);
    await out(`${id} deleted\n`);
  });
  examples(del, ["porchlight channels delete ch_0123456789abcdef01"]);

  const deliveries = formatOptions(channels.command("deliveries <id>").description("A channel's deliveries, newest first: reason, status, attempts, the receiver's answer"))
    .option("-n, --limit <n>", `at most n (default 100, at most ${DELIVERIES_MAX})`, intOption("--limit"))
    .action(async (id, opts) => {
      const { deliveries: rows } = await clientOf(deliveries).get(`/v1/channels/${seg(id)}/deliveries`, { limit: opts.limit });
      await out(formatList(rows, DELIVERY_COLUMNS.filter((c) => c.header !== "CHANNEL"), pickFormat(opts)));
    });
  examples(deliveries, ["porchlight channels deliveries ch_0123456789abcdef01", "porchlight channels deliveries ch_0123456789abcdef01 --format json | jq '.[] | select(.status == \"failed\")'"]);

  registerBlackouts(program);
}

/** @param {import("commander").Command} program */
function registerBlackouts(program) {
  const blackouts = program.command("blackouts").description("Quiet windows: alerts are stored as usual, their notifications held (and sent as one digest at the end)");

  const list = formatOptions(blackouts.command("list").description("Blackouts, with whether each is active and its next start")).action(async (opts) => {
    const { blackouts: rows } = await clientOf(list).get("/v1/blackouts");
    await out(formatList(rows, [
      { header: "ID", path: "id" }, { header: "NAME", path: "name", max: 24 },
      { header: "WHEN", path: "days", get: (b) => (b.days ? `${b.days.join(",")} ${b.from}-${b.to} ${b.timezone}` : `${b.start}..${b.end}`) },
      { header: "ACTIVE", path: "active", get: (b) => (b.active ? `until ${b.active_until}` : "no") },
      { header: "NEXT START", path: "next_start" },
      { header: "FILTER", path: "filter", get: (b) => Object.entries(b.filter ?? {}).filter(([, v]) => Array.isArray(v) && v.length).map(([k, v]) => `${k}=${v.join(",")}`).join(" ") },
    ], pickFormat(opts)));
  });
  examples(list, ["porchlight blackouts list"]);

  const add = blackouts
    .command("add <name>")
    .description("Add a one-off (--start/--end or --for) or recurring (--days --from --to) blackout (admin)")
    .option("--start <time>", "one-off: start (RFC 3339 or YYYYmmddHHMMSS local; default now with --for)")
    .option("--end <time>", "one-off: end")
    .option("--for <duration>", "one-off: from --start (or now) for 30m, 2h, 3d")
    .option("--days <days>", "recurring: mon,tue or mon-fri, weekdays, weekends, daily (default daily)")
    .option("--from <HH:MM>", "recurring: local start time")
    .option("--to <HH:MM>", "recurring: local end time (before --from: the window crosses midnight)")
    .option("--timezone <zone>", "recurring: IANA zone of --from/--to (default this machine's)")
    .option("--channel <id>", "only these channels (repeatable; default all)", collect)
    .option("--rule <id>", "only alerts of these rules (repeatable)", collect)
    .option("--tag <tag>", "only alerts with these tags (repeatable)", collect)
    .option("--json", "print the whole answer as JSON")
    .action(async (name, opts) => {
      const b = await clientOf(add).json("POST", "/v1/blackouts", { body: blackoutBody(name, opts, Date.now()) });
      await out(opts.json ? JSON.stringify(b) + "\n" : `${b.id} ${b.name}: ${b.active ? `active until ${b.active_until}` : `next start ${b.next_start ?? "never"}`}\n`);
    });
  examples(add, [
    "porchlight blackouts add night --days daily --from 22:00 --to 07:00 --timezone Europe/Berlin",
    "porchlight blackouts add weekend --days sat,sun --from 00:00 --to 23:59 --channel ch_0123456789abcdef01",
    "porchlight blackouts add maintenance --for 2h --rule router-down",
    "porchlight blackouts add holiday --start 2026-12-24T00:00:00Z --end 2026-12-27T00:00:00Z",
  ]);

  const del = blackouts.command("delete <id>").description("Delete a blackout (admin)").action(async (id) => {
    await clientOf(del).json("DELETE", `/v1/blackouts/${seg(id)}`);
    await out(`${id} deleted\n`);
  });
  examples(del, ["porchlight blackouts delete bo_0123456789abcdef01"]);
}
