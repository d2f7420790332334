/**
 * `porchlight api METHOD PATH [--data JSON]`: any API route, for routes this version of the command
 * line has no command for yet (new servers add APIs first). The answer's body goes to stdout as is
 * (JSON pretty-printed on a terminal); a non-2xx answer is an error with its code and message.
 */
import { clientOf, collect, examples } from "../context.js";
import { UsageError } from "../errors.js";
import { readText } from "../files.js";
import { out } from "../output.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/** `--data`: text, `@file`, or `@-` for stdin; JSON unless a content type says otherwise. @param {string} data @param {boolean} json */
function readData(data, json) {
  const text = data === "@-" ? readText("-") : data.startsWith("@") ? readText(data.slice(1)) : data;
  if (!json) return text;
  try {
    JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--data is not JSON: ${/** @type {Error} */ (e).message}`);
  }
  return text;
}

/** @param {import("commander").Command} program */
export function registerApi(program) {
  const cmd = program
    .command("api <method> <path>")
    .description("Call any API route and print its answer (the escape hatch for routes without a command)")
    .option("-d, --data <body>", "request body: JSON text, @FILE, or @- for stdin")
    .option("-q, --query <key=value>", "query parameter (repeatable)", collect)
    .option("--content-type <type>", "send --data as this type, unchecked (default: application/json, checked to be JSON)")
    .action(async (method, path, opts) => {
      const m = String(method).toUpperCase();
      if (!METHODS.includes(m)) throw new UsageError(`method '${method}': one of ${METHODS.join(", ")}`);
      const p = path.startsWith("/") ? path : `/${path}`;
      /** @type {Record<string, string[]>} */
      const query = {};
      for (const kv of opts.query ?? []) {
        const i = kv.indexOf("=");
        if (i < 1) throw new UsageError(`--query '${kv}': expected key=value`);
        (query[kv.slice(0, i)] ??= []).push(kv.slice(i + 1));
      }
      const contentType = opts.contentType ?? "application/json";
      const data = opts.data === undefined ? undefined : readData(opts.data, opts.contentType === undefined);
      const res = await clientOf(cmd).raw(m, p, { query, ...(data === undefined ? {} : { text: data, contentType }) });
      const text = await res.text();
      if (process.stdout.isTTY && /json/.test(res.headers.get("content-type") ?? "") && text) {
        try {
          await out(JSON.stringify(JSON.parse(text), null, 2) + "\n");
          return;
        } catch {
          // print as received
        }
      }
      await out(text && !text.endsWith("\n") ? text + "\n" : text);
    });
  examples(cmd, [
    "porchlight api GET /v1/metrics",
    "porchlight api GET /v1/events -q last=1h -q dataset=sshd -q format=ndjson",
    `porchlight api POST /v1/tokens --data '{"name": "nas relay", "scopes": ["ingest"]}'`,
    "porchlight api PUT /v1/rules/ssh-brute-force --data @rule.json",
    "porchlight api DELETE /v1/heartbeats/old-backup",
    "porchlight api POST /v1/parse --content-type text/plain --data @sample.log",
  ]);
}
