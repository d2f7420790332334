/**
 * The listing loop of `query` and `sessions`: pages of a cursor-paged API route (`{<key>: [...],
 * next_cursor}`), followed until --limit rows are out, printed as they come in the streaming formats
 * (ndjson, csv, a template) and at the end for a table or a JSON array.
 */
import { writeFileSync } from "node:fs";
import { UsageError } from "./errors.js";
import { csvHeader, csvRow, fillTemplate, formatList, note, out, pickFormat, pc } from "./output.js";

/**
 * Adds the paging and output options of a listing command.
 * @param {import("commander").Command} cmd @param {{ what: string, defaultLimit: number, maxPage: number }} o
 * @param {(name: string) => (v: string) => number} intOption
 */
export function pagingOptions(cmd, o, intOption) {
  return cmd
    .option("--format <format>", "table, json, ndjson, csv, or a template like '{@timestamp} {message}' (default: table on a terminal, ndjson in a pipe)")
    .option("--csv", "same as --format csv")
    .option("--json <file>", `write the ${o.what} to FILE as a JSON array`)
    .option("-n, --limit <n>", `print at most n ${o.what} (default ${o.defaultLimit})`, intOption("--limit"))
    .option("--all", `every matching one (follows every page)`)
    .option("--page-size <n>", `${o.what} per API request (1-${o.maxPage})`, intOption("--page-size"))
    .option("--cursor <id>", "continue where a previous listing stopped (the API's next_cursor)");
}

/**
 * Reads pages and prints rows.
 * @param {{
 *   client: import("./client.js").Client, path: string, key: string, params: Record<string, unknown>,
 *   opts: Record<string, any>, what: string, defaultLimit: number, maxPage: number,
 *   table: import("./output.js").Column[], csv: import("./output.js").Column[],
 *   keep?: (row: any) => boolean, scanMax?: number,
 * }} o
 */
export async function listPages(o) {
  const { client, opts } = o;
  const limit = opts.all ? Infinity : opts.limit ?? o.defaultLimit;
  if (limit === 0) throw new UsageError(`--limit 0 prints nothing; use --all for every one of the ${o.what}`);
  const filtering = o.keep !== undefined;
  const pageSize = opts.pageSize ?? Math.min(filtering ? 1000 : limit, o.maxPage);
  if (pageSize < 1 || pageSize > o.maxPage) throw new UsageError(`--page-size: 1-${o.maxPage}`);
  const format = opts.json ? "json" : pickFormat(opts);
  const streaming = !opts.json && format !== "table" && format !== "json";
  /** @type {any[]} */
  const kept = [];
  let printed = 0, read = 0;
  /** @type {string | null} */
  let cursor = opts.cursor ?? null;
  if (streaming && format === "csv") await out(csvHeader(o.csv));
  for (;;) {
    const page = await client.get(o.path, { ...o.params, limit: Math.min(pageSize, filtering ? pageSize : limit - printed), cursor: cursor ?? undefined });
    let chunk = "";
    for (const row of page[o.key]) {
      read++;
      if (o.keep && !o.keep(row)) continue;
      printed++;
      if (!streaming) kept.push(row);
      else if (format === "csv") chunk += csvRow(row, o.csv);
      else if (format === "ndjson") chunk += JSON.stringify(row) + "\n";
      else if (typeof format === "object") chunk += fillTemplate(format.template, row) + "\n";
      if (printed >= limit) break;
    }
    await out(chunk);
    cursor = page.next_cursor;
    if (!cursor || printed >= limit) break;
    if (filtering && o.scanMax !== undefined && read >= o.scanMax) {
      note(`porchlight: stopped after reading ${read} ${o.what} (--scan ${o.scanMax}); continue with --cursor ${cursor}, or raise --scan`);
      break;
    }
  }
  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify(kept, null, 2) + "\n");
    note(`${printed} ${o.what} written to ${opts.json}`);
  } else if (!streaming) {
    await out(formatList(kept, format === "table" ? o.table : o.csv, format));
    if (format === "table" && process.stdout.isTTY) note(pc.dim(`${printed} ${o.what}${cursor && printed >= limit ? ` (more: raise --limit, use --all, or --cursor ${cursor})` : ""}`));
  }
}
