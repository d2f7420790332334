/**
 * `porchlight send [FILE...]` (siemparse): lines from files or standard input to `POST /v1/ingest`
 * as NDJSON batches; `porchlight replay FILE`: a historical file whose events keep their own times.
 *
 * Batches are gzip-compressed and stay under the API's limits (5000 lines, 1 MiB decompressed; a
 * line over 64 KiB is cut and flagged truncated, as the edge would). A batch is retried with the same Idempotency-Key on 503 or a network
 * failure (ingest is idempotent per key, so a retry never stores a line twice).
 *
 * Replay: the server's own parsers read each line's time (`POST /v1/parse`, with the file's
 * modification time as the receive time RFC 3164's missing year is inferred against); each line is
 * then ingested with `received_at` = that time, so the stored receive time, year inference and rule
 * windows follow the file, not the moment of the replay. Its batch keys hash the batch's content,
 * so replaying the same file again stores nothing twice.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { createInterface } from "node:readline";
import { seg } from "../client.js";
import { clientOf, examples, intOption } from "../context.js";
import { ApiError, CliError, EXIT, UsageError } from "../errors.js";
import { isIpOrCidr } from "../query-options.js";
import { note, out, progressBar } from "../output.js";
import { parseTime } from "../time.js";

/** The API's limits (workers/constants.ts): lines and bytes per request, bytes per line. */
export const MAX_LINES = 5000;
export const MAX_BODY_BYTES = 1_048_576;
export const MAX_LINE_BYTES = 65_536;
/**
 * Body bytes (decompressed) a batch stays within: a batch is closed before a record would pass it,
 * and one record is at most ≈ 6 × MAX_LINE_BYTES of JSON (\u escapes), so a body is always under
 * MAX_BODY_BYTES.
 */
const BATCH_BYTES = 900_000;
/** Attempts per batch and the first backoff, ms (doubling). */
const ATTEMPTS = 4;
const BACKOFF_MS = 1000;

/**
 * @typedef {{ raw: string, transport: string, source_ip?: string, received_at?: string, truncated?: boolean }} Line
 * @typedef {{ accepted: number, stored: number, parse_errors: number, alerts: number, duplicates: number, batches: number }} Totals
 */

/** Cuts a line longer than the API keeps, on a character boundary. @param {string} raw */
export function cutLine(raw) {
  if (Buffer.byteLength(raw) <= MAX_LINE_BYTES) return { raw, truncated: false };
  let s = Buffer.from(raw).subarray(0, MAX_LINE_BYTES).toString("utf8");
  if (s.endsWith("\uFFFD")) s = s.slice(0, -1);
  return { raw: s, truncated: true };
}

/**
 * Groups records into batches under the API's limits.
 * @param {AsyncIterable<Line>} lines @returns {AsyncGenerator<Line[]>}
 */
export async function* batches(lines, maxLines = MAX_LINES, maxBytes = BATCH_BYTES) {
  /** @type {Line[]} */
  let batch = [];
  let bytes = 0;
  for await (const line of lines) {
    const size = Buffer.byteLength(JSON.stringify(line)) + 1;
    if (batch.length && (batch.length >= maxLines || bytes + size > maxBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(line);
    bytes += size;
  }
  if (batch.length) yield batch;
}

/**
 * Non-empty lines of a file ("-" for stdin) as records; `onBytes` reports bytes read (progress).
 * @param {string} file @param {{ transport: string, sourceIp?: string }} opts @param {(n: number) => void} [onBytes]
 * @returns {AsyncGenerator<Line>}
 */
export async function* readLines(file, opts, onBytes) {
  const stream = file === "-" ? process.stdin : createReadStream(file);
  if (onBytes) {
    let n = 0;
    stream.on("data", (d) => onBytes((n += d.length)));
  }
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const text of rl) {
      if (text.trim() === "") continue;
      const { raw, truncated } = cutLine(text);
      /** @type {Line} */
      const line = { raw, transport: opts.transport };
      if (opts.sourceIp) line.source_ip = opts.sourceIp;
      if (truncated) line.truncated = true;
      yield line;
    }
  } catch (e) {
    const err = /** @type {NodeJS.ErrnoException} */ (e);
    if (err.code === "ENOENT") throw new CliError(`${file}: no such file`, EXIT.NOT_FOUND);
    throw new CliError(`${file}: ${err.message}`);
  }
}

/** @param {Line[]} batch */
const ndjson = (batch) => batch.map((l) => JSON.stringify(l)).join("\n") + "\n";

/**
 * POSTs one batch, retrying with the same key when the answer says to (503) or the network failed.
 * @param {import("../client.js").Client} client @param {string} path @param {string} body @param {string} key
 */
async function postBatch(client, path, body, key) {
  // Log lines compress ~10x; the API's limits apply to the decompressed body, which batches() bounds.
  const gzipped = gzipSync(body);
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.json("POST", path, { text: gzipped, contentType: "application/x-ndjson", headers: { "idempotency-key": key, "content-encoding": "gzip" } });
    } catch (e) {
      const retryable = e instanceof ApiError ? e.status === 503 || e.status === 429 : e instanceof CliError;
      if (!retryable || attempt >= ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** (attempt - 1)));
    }
  }
}

/** @param {Totals} t @param {any} r */
function addUp(t, r) {
  t.batches++;
  t.accepted += r.accepted ?? 0;
  t.stored += r.stored ?? 0;
  t.parse_errors += r.parse_errors ?? 0;
  t.alerts += r.alerts ?? 0;
  if (r.duplicate) t.duplicates += r.accepted ?? 0;
}

/** `--source`: an address (sent as each line's sender, settings key ip:ADDR) or host:NAME. @param {string | undefined} source */
export function sourceOf(source) {
  if (source === undefined) return {};
  if (/^host:.+/.test(source)) return { key: source };
  const ip = source.replace(/^ip:/, "");
  if (!isIpOrCidr(ip) || ip.includes("/")) throw new UsageError(`--source '${source}': an IP address (the sender) or host:NAME`);
  return { key: `ip:${ip}`, sourceIp: ip };
}

/** Sets the source's time zone before sending (`--timezone`). @param {import("../client.js").Client} client @param {string | undefined} key @param {string | undefined} tz */
async function applyTimezone(client, key, tz) {
  if (tz === undefined) return;
  if (!key) throw new UsageError("--timezone needs --source (the address or host:NAME whose lines carry no zone)");
  await client.json("PUT", `/v1/sources/${seg(key)}`, { body: { timezone: tz } });
  note(`source ${key}: time zone ${tz}`);
}

/** @param {Totals} t @param {boolean} json */
async function report(t, json) {
  if (json) await out(JSON.stringify(t) + "\n");
  else note(`sent ${t.accepted} lines in ${t.batches} batches: ${t.stored} stored, ${t.parse_errors} unparsed (kept raw), ${t.alerts} alert changes${t.duplicates ? `, ${t.duplicates} already sent before` : ""}`);
}

/** The options send and replay share. @param {import("commander").Command} cmd */
const ingestOptions = (cmd) =>
  cmd
    .option("--source <address|host:NAME>", "the sender of these lines: an IP (stored as porchlight.source_ip) or host:NAME")
    .option("--timezone <zone>", "IANA time zone of the source's RFC 3164 timestamps (sets it on the server; needs --source and admin)")
    .option("--batch-lines <n>", `lines per request (1-${MAX_LINES})`, intOption("--batch-lines"))
    .option("--json", "print the totals as JSON on stdout");

const newTotals = () => ({ accepted: 0, stored: 0, parse_errors: 0, alerts: 0, duplicates: 0, batches: 0 });

/** @param {import("commander").Command} program */
export function registerSend(program) {
  const send = program
    .command("send [files...]")
    .description("Send log lines from files or standard input (siemparse); each line becomes an event");
  ingestOptions(send).action(async (files, opts) => {
      const client = clientOf(send);
      const src = sourceOf(opts.source);
      await applyTimezone(client, src.key, opts.timezone);
      const maxLines = Math.min(opts.batchLines ?? MAX_LINES, MAX_LINES);
      const run = randomUUID();
      const totals = newTotals();
      for (const file of files.length ? files : ["-"]) {
        const transport = file === "-" ? "stdin" : "file";
        for await (const batch of batches(readLines(file, { transport, sourceIp: src.sourceIp }), maxLines)) {
          addUp(totals, await postBatch(client, "/v1/ingest", ndjson(batch), `cli-send-${run}-${totals.batches}`));
        }
      }
      await report(totals, Boolean(opts.json));
    });
  examples(send, [
    "porchlight send /var/log/auth.log",
    "journalctl -o short -n 1000 | porchlight send --source host:nas",
    "porchlight send --source 192.168.1.1 --timezone Europe/Berlin router.log",
  ]);

  const replay = program
    .command("replay <file>")
    .description("Send a historical log file keeping its timestamps (needs read and ingest scopes), with a progress bar")
    .option("--received-at <time>", "when the file was written, for RFC 3164's missing year (default: the file's modification time)");
  ingestOptions(replay).action(async (file, opts) => {
      const client = clientOf(replay);
      const src = sourceOf(opts.source);
      let size;
      try {
        size = statSync(file).size;
      } catch {
        throw new CliError(`${file}: no such file`, EXIT.NOT_FOUND);
      }
      await applyTimezone(client, src.key, opts.timezone);
      const reference = new Date(opts.receivedAt !== undefined ? parseTime(opts.receivedAt, "--received-at") : statSync(file).mtimeMs).toISOString();
      const maxLines = Math.min(opts.batchLines ?? MAX_LINES, MAX_LINES);
      const bar = progressBar(`replay ${file}`, size);
      const totals = newTotals();
      for await (const batch of batches(readLines(file, { transport: "file", sourceIp: src.sourceIp }, (n) => bar.update(n)), maxLines)) {
        // The server's parsers say when each line happened (same order, blank lines already dropped).
        const parsed = await postBatch(client, "/v1/parse", ndjson(batch.map((l) => ({ ...l, received_at: reference }))), `cli-parse-${totals.batches}`);
        let last = reference;
        const timed = batch.map((l, i) => {
          const ts = parsed.events?.[i]?.["@timestamp"];
          if (typeof ts === "string") last = ts;
          return { ...l, received_at: last };
        });
        const body = ndjson(timed);
        const key = `cli-replay-${createHash("sha256").update(body).digest("base64url").slice(0, 43)}`;
        addUp(totals, await postBatch(client, "/v1/ingest", body, key));
      }
      bar.done();
      await report(totals, Boolean(opts.json));
    });
  examples(replay, [
    "porchlight replay /var/log/auth.log.1",
    "porchlight replay --received-at 2026-01-01T00:00:00Z --source host:router old-router.log",
  ]);
}
