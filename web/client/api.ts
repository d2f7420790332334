/**
 * The console's only way to data: the same /v1 API as every client. The session cookie authenticates;
 * state-changing calls carry the page's CSRF token. A network failure (or the service worker's offline
 * answer) puts the page in a visible "offline" state instead of failing silently.
 */
import { $ } from "./dom.ts";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const csrf = (): string => document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? "";

export function setOffline(off: boolean): void {
  const n = $("#net");
  document.body.classList.toggle("offline", off);
  if (n) n.textContent = off ? "Offline: showing no live data" : "";
}

/** `body` is sent as JSON; `text` (a rule file) as it is, with `contentType`. */
export async function api<T>(path: string, opts: { method?: string; body?: unknown; text?: string; contentType?: string; headers?: (h: Headers) => void } = {}): Promise<T> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrf();
  if (opts.text !== undefined) headers["content-type"] = opts.contentType ?? "text/plain; charset=utf-8";
  else if (opts.body !== undefined) headers["content-type"] = "application/json";
  const payload = opts.text ?? (opts.body === undefined ? null : JSON.stringify(opts.body));
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: "same-origin", cache: "no-store" });
  } catch {
    setOffline(true);
    throw new ApiError(0, "offline", "You are offline: this data needs a connection.");
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const err = (body as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)?.error;
  if (res.status === 503 && err?.code === "offline") {
    setOffline(true);
    throw new ApiError(0, "offline", err.message ?? "Offline");
  }
  setOffline(false);
  if (res.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, "unauthorized", "Session ended: log in again.");
  }
  if (!res.ok) {
    const msg = err?.message ?? `HTTP ${res.status}`;
    throw new ApiError(res.status, err?.code ?? "error", res.status === 403 && !err?.message ? "Not allowed with this session (read-only?)" : msg, err?.details);
  }
  opts.headers?.(res.headers);
  return body as T;
}

/** A list from an answer that is either an array or `{<key>: [...]}`. */
export function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  const v = (body as Record<string, unknown> | null)?.[key];
  return Array.isArray(v) ? (v as T[]) : [];
}
