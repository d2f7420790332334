/**
 * The HTTP client every command uses: bearer auth, query strings with repeated keys, the API's
 * `{"error": {code, message}}` turned into an ApiError, and a network failure turned into one clear
 * line naming the server (never a stack trace).
 */
import { ApiError, CliError } from "./errors.js";

/** Per-request timeout, ms (an ingest of 5000 lines or a 10,000-row regex scan answers well within it). */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * @typedef {Record<string, string | number | boolean | undefined | null | (string | number)[]>} Query
 * @typedef {{ query?: Query, body?: unknown, text?: string | Buffer, contentType?: string, headers?: Record<string, string>, timeoutMs?: number }} RequestOptions
 */

/** URLSearchParams from an object; arrays repeat the key, empty values are left out. @param {Query} [query] */
export function toSearchParams(query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "" || v === false) continue;
    for (const one of Array.isArray(v) ? v : [v]) params.append(k, String(one));
  }
  return params;
}

/** Why a fetch failed, from undici's cause chain (ECONNREFUSED, ENOTFOUND, a TLS error...). @param {unknown} e */
function networkReason(e) {
  /** @type {any} */
  let err = e;
  for (let i = 0; i < 4 && err; i++) {
    if (err.name === "TimeoutError") return "timed out";
    if (typeof err.code === "string" && err.code !== "UND_ERR_SOCKET") return err.code + (err.message && !String(err.message).includes(err.code) ? ` (${err.message})` : "");
    err = err.cause;
  }
  // No code (undici's "bad port", an invalid header): the innermost message says the most.
  /** @type {any} */
  const inner = /** @type {any} */ (e)?.cause ?? e;
  return inner instanceof Error ? inner.message : String(e);
}

export class Client {
  /** @param {{ url: string, token: string }} server */
  constructor(server) {
    this.url = server.url;
    this.token = server.token;
  }

  /**
   * One request; the Response when it is 2xx, else an ApiError.
   * @param {string} method
   * @param {string} path starting with /
   * @param {RequestOptions} [opts]
   * @returns {Promise<Response>}
   */
  async raw(method, path, opts = {}) {
    const params = toSearchParams(opts.query);
    const url = `${this.url}${path}${params.toString() ? `${path.includes("?") ? "&" : "?"}${params}` : ""}`;
    /** @type {Record<string, string>} */
    const headers = { accept: "application/json", "user-agent": "porchlight-cli", ...opts.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    /** @type {string | Uint8Array | undefined} */
    let body;
    if (opts.text !== undefined) {
      body = opts.text;
      headers["content-type"] = opts.contentType ?? "text/plain; charset=utf-8";
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    let res;
    try {
      res = await fetch(url, { method, headers, body: /** @type {BodyInit | undefined} */ (body), signal: AbortSignal.timeout(opts.timeoutMs ?? REQUEST_TIMEOUT_MS) });
    } catch (e) {
      throw new CliError(`cannot reach the server at ${this.url}: ${networkReason(e)} (is it running? check PORCHLIGHT_URL or the profile's url)`);
    }
    if (res.ok) return res;
    throw await apiError(res);
  }

  /**
   * A request whose answer is JSON (or empty: null).
   * @param {string} method @param {string} path @param {RequestOptions} [opts]
   * @returns {Promise<any>}
   */
  async json(method, path, opts) {
    const res = await this.raw(method, path, opts);
    const text = await res.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new CliError(`${method} ${path}: the server answered ${res.status} with something that is not JSON (is ${this.url} a Porchlight?)`);
    }
  }

  /** @param {string} path @param {Query} [query] */
  get(path, query) {
    return this.json("GET", path, { query });
  }
}

/** The ApiError of a non-2xx answer; a body that is not the API's error shape still gives a clear line. @param {Response} res */
export async function apiError(res) {
  const text = await res.text().catch(() => "");
  try {
    const e = JSON.parse(text)?.error;
    if (e && typeof e.code === "string") return new ApiError(res.status, e.code, String(e.message ?? ""), e.details);
  } catch {
    // not JSON: a proxy's page, an old server
  }
  const snippet = text.replace(/\s+/g, " ").trim().slice(0, 120);
  return new ApiError(res.status, `http_${res.status}`, `${res.statusText || "error"}${snippet ? `: ${snippet}` : ""}`);
}

/** Path segment escaping for ids and names in URLs. @param {string} s */
export const seg = (s) => encodeURIComponent(s);
