/**
 * Output for humans and pipes: an aligned table (cli-table3, colours by picocolors, which turn
 * themselves off for pipes, NO_COLOR and --no-color) on a terminal, NDJSON when piped, or what
 * `--format` names: table, json, ndjson, csv, or a template like '{@timestamp} {source.ip} {message}'.
 */
import Table from "cli-table3";
import picocolors from "picocolors";
import { UsageError } from "./errors.js";

/**
 * Colours only when stdout is a terminal: picocolors alone also colours pipes when CI is set, which
 * would put escape codes into what a script reads. NO_COLOR and --no-color turn them off anyway.
 */
export const pc = picocolors.createColors(picocolors.isColorSupported && Boolean(process.stdout.isTTY));

/**
 * @typedef {{ header: string, path: string, get?: (row: any) => unknown, max?: number, color?: (s: string, row: any) => string }} Column
 * @typedef {"table" | "json" | "ndjson" | "csv" | { template: string }} Format
 */

export const FORMATS = ["table", "json", "ndjson", "csv"];

/**
 * The format asked for: --format, else --csv, else a table on a terminal and NDJSON in a pipe.
 * @param {{ format?: string, csv?: boolean }} opts @param {boolean} [tty]
 * @returns {Format}
 */
export function pickFormat(opts, tty = Boolean(process.stdout.isTTY)) {
  if (opts.format !== undefined) {
    if (opts.format.includes("{")) return { template: opts.format };
    if (!FORMATS.includes(opts.format)) throw new UsageError(`--format '${opts.format}': one of ${FORMATS.join(", ")}, or a template like '{@timestamp} {message}'`);
    return /** @type {Format} */ (opts.format);
  }
  if (opts.csv) return "csv";
  return tty ? "table" : "ndjson";
}

/** A dotted path into an object; a key that itself has dots ("@timestamp") is tried whole first. @param {any} obj @param {string} path */
export function getPath(obj, path) {
  if (obj == null) return undefined;
  if (Object.hasOwn(obj, path)) return obj[path];
  let v = obj;
  for (const part of path.split(".")) {
    if (v == null || typeof v !== "object") return undefined;
    v = v[part];
  }
  return v;
}

/** A column's value in a row. @param {any} row @param {Column} c */
export const columnValue = (row, c) => (c.get ? c.get(row) : getPath(row, c.path));

/** A value as one line of text (arrays joined by commas, objects as JSON). @param {unknown} v @returns {string} */
export function cellText(v) {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map(cellText).join(",");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v).replace(/[\r\n\t]+/g, " ");
}

/** RFC 4180 CSV cell. @param {unknown} v */
export function csvCell(v) {
  const s = v === undefined || v === null ? "" : Array.isArray(v) || typeof v === "object" ? cellText(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** @param {readonly Column[]} columns */
export const csvHeader = (columns) => columns.map((c) => csvCell(c.header)).join(",") + "\r\n";
/** @param {any} row @param {readonly Column[]} columns */
export const csvRow = (row, columns) => columns.map((c) => csvCell(columnValue(row, c))).join(",") + "\r\n";

/** Fills `{path}` placeholders; `{{` and `}}` are literal braces. @param {string} template @param {any} row */
export function fillTemplate(template, row) {
  return template.replace(/\{\{|\}\}|\{([^{}]+)\}/g, (m, path) => (m === "{{" ? "{" : m === "}}" ? "}" : cellText(getPath(row, path.trim()))));
}

/** @param {string} s @param {number} max */
const clip = (s, max) => (s.length > max ? s.slice(0, Math.max(1, max - 1)) + "…" : s);

/**
 * An aligned, borderless table; the last column is clipped to the terminal's width.
 * @param {readonly any[]} rows @param {readonly Column[]} columns @param {number} [width]
 */
export function renderTable(rows, columns, width = process.stdout.columns || 160) {
  const texts = rows.map((r) => columns.map((c) => clip(cellText(columnValue(r, c)), c.max ?? 200)));
  // Fit the last column to what the others leave (2 spaces between columns).
  const widths = columns.map((c, i) => Math.max(c.header.length, ...texts.map((t) => (t[i] ?? "").length)));
  const others = widths.slice(0, -1).reduce((a, b) => a + b + 2, 0);
  const lastMax = Math.max(20, width - others - 1);
  const table = new Table({
    head: columns.map((c) => pc.bold(c.header)),
    chars: { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "  " },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
  for (const [i, t] of texts.entries()) {
    table.push(t.map((s, j) => {
      const text = j === columns.length - 1 ? clip(s, lastMax) : s;
      const color = columns[j]?.color;
      return color ? color(text, rows[i]) : text;
    }));
  }
  return rows.length ? table.toString().split("\n").map((l) => l.trimEnd()).join("\n") + "\n" : "";
}

/**
 * Writes a whole list in the chosen format.
 * @param {readonly any[]} rows @param {readonly Column[]} columns @param {Format} format
 */
export function formatList(rows, columns, format) {
  if (format === "json") return JSON.stringify(rows, null, 2) + "\n";
  if (format === "ndjson") return rows.map((r) => JSON.stringify(r) + "\n").join("");
  if (format === "csv") return csvHeader(columns) + rows.map((r) => csvRow(r, columns)).join("");
  if (typeof format === "object") return rows.map((r) => fillTemplate(format.template, r) + "\n").join("");
  return renderTable(rows, columns);
}

/** Severity colours shared by alerts and tail. @param {string} s */
export function severityColor(s) {
  const v = s.trim();
  if (v === "critical") return pc.red(pc.bold(s));
  if (v === "high") return pc.red(s);
  if (v === "medium") return pc.yellow(s);
  if (v === "low") return pc.cyan(s);
  return pc.dim(s);
}

/** Writes to stdout, waiting when the pipe is full (large exports into a slow reader). @param {string} text */
export function out(text) {
  if (!text) return Promise.resolve();
  return /** @type {Promise<void>} */ (new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once("drain", () => resolve());
  }));
}

/** A one-line note for humans on stderr (never mixed into data on stdout). @param {string} text */
export function note(text) {
  process.stderr.write(text + "\n");
}

/**
 * A progress bar on stderr, drawn only on a terminal; `done()` ends the line.
 * @param {string} label @param {number} total @param {{ isTTY?: boolean, write(s: string): unknown }} [stream]
 */
export function progressBar(label, total, stream = process.stderr) {
  const tty = Boolean(stream.isTTY);
  let last = 0;
  /** @param {number} n */
  const draw = (n) => {
    const width = 30;
    const frac = total > 0 ? Math.min(1, n / total) : 1;
    const filled = Math.round(frac * width);
    stream.write(`\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${n}/${total}`);
  };
  return {
    /** @param {number} n */
    update(n) {
      const now = Date.now();
      // At most ~10 redraws a second: a redraw per batch is plenty, but tiny batches come fast.
      if (!tty || (now - last < 100 && n < total)) return;
      last = now;
      draw(n);
    },
    done() {
      if (tty) {
        draw(total);
        stream.write("\n");
      }
    },
  };
}
