/**
 * Network visibility (docs/network.md): `porchlight devices list|show|name|tag|destinations`,
 * `porchlight sessions` (conntrack sessions with the API's filters, paged like `query`) and
 * `porchlight talkers --by country --key CN` (which devices talked to a country, AS, domain or port).
 * A device is named by its id, the user's name for it or its DHCP hostname.
 */
import { seg } from "../client.js";
import { clientOf, collect, examples, formatOptions, intOption } from "../context.js";
import { deviceLabel, fetchDevices, findDevice, matchDevices } from "../devices.js";
import { UsageError } from "../errors.js";
import { writeJson } from "../files.js";
import { formatList, note, out, pc, pickFormat } from "../output.js";
import { listPages, pagingOptions } from "../paging.js";
import { timeParams } from "../query-options.js";
import { ago, parseLast } from "../time.js";

/** The sessions API's largest page (the events API's). */
const SESSIONS_MAX_PAGE = 5000;
const SESSIONS_DEFAULT_LIMIT = 100;
/** The destination aggregates' largest `limit`. */
const BUCKETS_MAX = 1000;
export const BY = ["country", "asn", "domain", "port"];

/** Bytes for people: 1.5 kB, 90.1 kB, 3.2 MB (decimal units). @param {unknown} n */
export function humanBytes(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "";
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB", "PB"];
  let v = n, i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** A session's length from ECS nanoseconds: 850ms, 42s, 5m12s, 2h03m. @param {unknown} ns */
export function humanDuration(ns) {
  if (typeof ns !== "number" || !Number.isFinite(ns)) return "";
  const ms = Math.round(ns / 1e6);
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** @param {any} s @param {"source" | "destination"} side */
const end = (s, side) => {
  const ip = s[side]?.ip ?? "";
  const port = s[side]?.port;
  return port === undefined ? ip : ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
};

/** @type {import("../output.js").Column[]} */
export const SESSION_TABLE = [
  { header: "START", path: "event.start", color: (s) => pc.dim(s) },
  { header: "DURATION", path: "event.duration", get: (s) => humanDuration(s.event?.duration) },
  { header: "DEVICE", path: "porchlight.session.device.id" },
  { header: "PROTO", path: "network.transport" },
  { header: "SOURCE", path: "source.ip", get: (s) => end(s, "source") },
  { header: "DESTINATION", path: "destination.ip", get: (s) => end(s, "destination") },
  { header: "CC", path: "destination.geo.country_iso_code" },
  { header: "OUT", path: "source.bytes", get: (s) => humanBytes(s.source?.bytes) },
  { header: "IN", path: "destination.bytes", get: (s) => humanBytes(s.destination?.bytes) },
  { header: "DOMAIN / AS", path: "destination.domain", get: (s) => s.destination?.domain ?? s.destination?.as?.organization?.name ?? (s.destination?.as?.number ? `AS${s.destination.as.number}` : "") },
];

/** CSV columns: the names and order of the API's own `format=csv`, as ECS paths of the session document. */
export const SESSION_CSV = [
  ["id", "id"], ["event.start", "event.start"], ["event.end", "event.end"], ["event.duration", "event.duration"], ["network.transport", "network.transport"],
  ["source.ip", "source.ip"], ["source.port", "source.port"], ["source.bytes", "source.bytes"], ["source.packets", "source.packets"],
  ["destination.ip", "destination.ip"], ["destination.port", "destination.port"], ["destination.bytes", "destination.bytes"], ["destination.packets", "destination.packets"],
  ["destination.domain", "destination.domain"], ["destination.geo.country_iso_code", "destination.geo.country_iso_code"], ["destination.as.number", "destination.as.number"],
  ["destination.as.organization.name", "destination.as.organization.name"], ["source.geo.country_iso_code", "source.geo.country_iso_code"], ["source.as.number", "source.as.number"],
  ["device", "porchlight.session.device.id"], ["observer.hostname", "observer.hostname"], ["end_reason", "porchlight.session.end_reason"],
].map(([header, path]) => ({ header: /** @type {string} */ (header), path: /** @type {string} */ (path) }));

/** The sessions API's filters: option → parameter. */
export const SESSION_FILTERS = [
  { flag: "device", param: "device", arg: "DEVICE", help: "a device: id, name or hostname" },
  { flag: "src-ip", param: "src_ip", arg: "IP", help: "source address or CIDR" },
  { flag: "dst-ip", param: "dst_ip", arg: "IP", help: "destination address or CIDR" },
  { flag: "cidr", param: "cidr", arg: "CIDR", help: "either end in this address or CIDR" },
  { flag: "country", param: "country", arg: "CC", help: "either end in this country (ISO code: US, DE)" },
  { flag: "asn", param: "asn", arg: "ASN", help: "either end in this AS (15169 or AS15169)" },
  { flag: "domain", param: "domain", arg: "DOMAIN", help: "the destination domain or a subdomain of it" },
  { flag: "port", param: "port", arg: "PORT", help: "either end's port, or a range 1000-2000" },
  { flag: "transport", param: "transport", arg: "PROTO", help: "tcp, udp, icmp..." },
  { flag: "router", param: "router", arg: "ROUTER", help: "the router (its syslog host)" },
];

/** @param {Record<string, any>} o @param {string} flag */
const valuesOf = (o, flag) => /** @type {string[] | undefined} */ (o[flag.replace(/-([a-z])/g, (_, c) => c.toUpperCase())]);

/**
 * `GET /v1/sessions` parameters of parsed options (device words already resolved to ids). Pure.
 * @param {Record<string, any>} opts @returns {Record<string, string[]>}
 */
export function buildSessionsQuery(opts) {
  /** @type {Record<string, string[]>} */
  const params = { ...timeParams(opts) };
  for (const f of SESSION_FILTERS) {
    const v = valuesOf(opts, f.flag);
    if (v?.length) params[f.param] = [...v];
  }
  return params;
}

/** A --by option. @param {string} v */
const byOption = (v) => {
  if (!BY.includes(v)) throw new UsageError(`--by '${v}': one of ${BY.join(", ")}`);
  return v;
};

/** @param {(b: any) => string} first @param {string} header @returns {import("../output.js").Column[]} */
const bucketColumns = (header, first) => [
  { header, path: "key", get: first },
  { header: "SESSIONS", path: "sessions" },
  { header: "OUT", path: "bytes_out", get: (b) => (process.stdout.isTTY ? humanBytes(b.bytes_out) : b.bytes_out) },
  { header: "IN", path: "bytes_in", get: (b) => (process.stdout.isTTY ? humanBytes(b.bytes_in) : b.bytes_in) },
  { header: "FIRST SEEN", path: "first_seen" },
  { header: "LAST SEEN", path: "last_seen" },
];

/** @param {import("commander").Command} program */
export function registerNetwork(program) {
  registerDevices(program);
  registerSessions(program);
  registerTalkers(program);
}

/** @param {import("commander").Command} program */
function registerDevices(program) {
  const devices = program.command("devices").description("The device inventory learned from DHCP, ARP, Wi-Fi and conntrack lines");

  const list = formatOptions(devices.command("list").description("Devices, newest first"))
    .option("--online", "only devices seen in the last 15 minutes")
    .option("--tag <tag>", "only devices with this tag (repeatable: any)", collect)
    .action(async (opts) => {
      let rows = (await fetchDevices(clientOf(list))) ?? [];
      if (opts.online) rows = rows.filter((d) => d.online);
      if (opts.tag?.length) rows = rows.filter((d) => /** @type {any} */ (d).tags?.some((/** @type {string} */ t) => opts.tag.includes(t)));
      const now = Date.now();
      await out(formatList(rows, [
        { header: "ID", path: "id" }, { header: "NAME", path: "name", max: 24 }, { header: "HOSTNAME", path: "hostname", max: 24 },
        { header: "IPS", path: "ips", max: 40 }, { header: "VENDOR", path: "vendor", max: 24 },
        { header: "ONLINE", path: "online", get: (d) => (d.online ? "yes" : "no"), color: (s) => (s.trim() === "yes" ? pc.green(s) : pc.dim(s)) },
        { header: "LAST SEEN", path: "last_seen", get: (d) => (process.stdout.isTTY ? ago(d.last_seen, now) : d.last_seen) },
        { header: "TAGS", path: "tags" },
      ], pickFormat(opts)));
    });
  examples(list, ["porchlight devices list", "porchlight devices list --online --tag iot", "porchlight devices list --format '{id} {ips} {vendor}'"]);

  const show = devices.command("show <device>").description("One device as JSON (by id, name or hostname)").action(async (word) => {
    const client = clientOf(show);
    const d = await findDevice(client, word);
    await writeJson(await client.get(`/v1/devices/${seg(d.id)}`), undefined);
  });
  examples(show, ["porchlight devices show d-b827eb123456", "porchlight devices show raspberrypi"]);

  const name = devices
    .command("name <device> [name]")
    .description("Give a device your own name (admin); nothing the network says overwrites it")
    .option("--clear", "remove the name")
    .action(async (word, newName, opts) => {
      if ((newName === undefined) === !opts.clear) throw new UsageError("give a NAME, or --clear");
      const client = clientOf(name);
      const d = await findDevice(client, word);
      const r = await client.json("PATCH", `/v1/devices/${seg(d.id)}`, { body: { name: opts.clear ? null : newName } });
      await out(`${r.id}: ${r.name ? `named ${r.name}` : "name cleared"}\n`);
    });
  examples(name, ["porchlight devices name d-b827eb123456 'Kitchen Pi'", "porchlight devices name raspberrypi 'Kitchen Pi'", "porchlight devices name 'Kitchen Pi' --clear"]);

  const tag = devices
    .command("tag <device> [tags...]")
    .description("Add tags to a device (admin); --remove takes them off, --set replaces them all")
    .option("--remove", "remove these tags instead")
    .option("--set", "replace the device's tags with these (none: clear them)")
    .action(async (word, tags, opts) => {
      if (opts.remove && opts.set) throw new UsageError("--remove and --set exclude each other");
      if (!tags.length && !opts.set) throw new UsageError("give at least one TAG (or --set with none to clear)");
      const client = clientOf(tag);
      const d = /** @type {any} */ (await findDevice(client, word));
      const cur = /** @type {string[]} */ (d.tags ?? []);
      const next = opts.set ? [...new Set(tags)] : opts.remove ? cur.filter((t) => !tags.includes(t)) : [...new Set([...cur, ...tags])];
      const r = await client.json("PATCH", `/v1/devices/${seg(d.id)}`, { body: { tags: next } });
      await out(`${r.id}: tags ${r.tags.length ? r.tags.join(", ") : "(none)"}\n`);
    });
  examples(tag, ["porchlight devices tag 'Living-room TV' iot media", "porchlight devices tag d-b827eb123456 iot --remove", "porchlight devices tag nas --set"]);

  const dest = formatOptions(devices.command("destinations <device>").description("Whom a device talked to: sessions and bytes per country, AS, domain or port, most bytes first"))
    .option("--by <what>", `${BY.join(", ")} (default country)`, byOption)
    .option("--last <duration>", "this far back: 24h, 7d (default 7d)")
    .option("-n, --limit <n>", `at most n rows (default 50, at most ${BUCKETS_MAX})`, intOption("--limit"))
    .action(async (word, opts) => {
      const client = clientOf(dest);
      const d = await findDevice(client, word);
      const by = opts.by ?? "country";
      const { buckets } = await client.get(`/v1/devices/${seg(d.id)}/destinations`, { by, last: opts.last === undefined ? undefined : parseLast(opts.last), limit: opts.limit });
      await out(formatList(buckets, bucketColumns(by.toUpperCase(), (b) => (by === "asn" ? `AS${b.key}` : String(b.key))), pickFormat(opts)));
    });
  examples(dest, [
    "porchlight devices destinations 'Living-room TV' --by country --last 7d",
    "porchlight devices destinations d-b827eb123456 --by domain --last 24h -n 20",
    "porchlight devices destinations nas --by asn --format json",
  ]);
}

/** @param {import("commander").Command} program */
function registerSessions(program) {
  const cmd = program
    .command("sessions")
    .description("Conntrack sessions (one per flow), newest first, with the sessions API's filters; paged like `query`")
    .option("--last <duration>", "sessions that started in the last 30s, 5m, 24h, 7d, 2w")
    .option("--range <start-finish>", "YYYYmmddHHMMSS-YYYYmmddHHMMSS (local time), or RFC3339..RFC3339")
    .option("--from <time>", "sessions that started at or after this time")
    .option("--to <time>", "sessions that started at or before this time");
  for (const f of SESSION_FILTERS) cmd.option(`--${f.flag} <${f.arg}>`, `${f.help} (repeatable: OR)`, collect);
  pagingOptions(cmd, { what: "sessions", defaultLimit: SESSIONS_DEFAULT_LIMIT, maxPage: SESSIONS_MAX_PAGE }, intOption).action(async (opts) => {
    const client = clientOf(cmd);
    if (opts.device?.length) {
      // A device id passes as is; a name or hostname becomes the id(s) of the devices it names.
      const devices = (await fetchDevices(client)) ?? [];
      opts.device = opts.device.flatMap((/** @type {string} */ w) => {
        const found = matchDevices(devices, w);
        if (!found.length) {
          if (/^(d-|ip-)/.test(w)) return [w];
          throw new UsageError(`--device '${w}': no device with that id, name or hostname (porchlight devices list)`);
        }
        if (found[0]?.id !== w) note(`porchlight: --device ${w}: ${found.map(deviceLabel).join(", ")}`);
        return found.map((d) => d.id);
      });
    }
    await listPages({
      client, path: "/v1/sessions", key: "sessions", params: buildSessionsQuery(opts), opts, what: "sessions",
      defaultLimit: SESSIONS_DEFAULT_LIMIT, maxPage: SESSIONS_MAX_PAGE, table: SESSION_TABLE, csv: SESSION_CSV,
    });
  });
  examples(cmd, [
    "porchlight sessions --last 1h",
    "porchlight sessions --device 'Living-room TV' --country CN --last 7d",
    "porchlight sessions --last 24h --domain googlevideo.com --csv > yt.csv",
    "porchlight sessions --all --last 7d --port 53 | jq -r .destination.ip | sort | uniq -c",
  ]);
}

/** @param {import("commander").Command} program */
function registerTalkers(program) {
  const cmd = formatOptions(program.command("talkers").description("Which devices talked to a country, an AS, a domain (or its subdomains) or a port: the reverse of `devices destinations`"))
    .requiredOption("--by <what>", BY.join(", "), byOption)
    .requiredOption("--key <value>", "the country code (CN), AS number (15169), domain or port")
    .option("--last <duration>", "this far back: 24h, 7d (default 7d)")
    .option("-n, --limit <n>", `at most n devices (default 50, at most ${BUCKETS_MAX})`, intOption("--limit"))
    .action(async (opts) => {
      const client = clientOf(cmd);
      const { buckets } = await client.get("/v1/destinations/devices", { by: opts.by, key: opts.key, last: opts.last === undefined ? undefined : parseLast(opts.last), limit: opts.limit });
      // The buckets name device ids; the inventory adds the names people know them by.
      const devices = buckets.length ? (await fetchDevices(client)) ?? [] : [];
      const byId = new Map(devices.map((d) => [d.id, d]));
      const rows = buckets.map((/** @type {any} */ b) => ({ ...b, device_name: byId.get(b.device)?.name ?? byId.get(b.device)?.hostname ?? null }));
      await out(formatList(rows, [{ header: "DEVICE", path: "device" }, { header: "NAME", path: "device_name", max: 24 }, ...bucketColumns(opts.by.toUpperCase(), (b) => String(b.key))], pickFormat(opts)));
    });
  examples(cmd, ["porchlight talkers --by country --key CN", "porchlight talkers --by asn --key AS15169 --last 24h", "porchlight talkers --by domain --key tiktokv.com --format json", "porchlight talkers --by port --key 23"]);
}
