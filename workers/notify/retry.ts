/**
 * The retry policy of deliveries, pure: which answers are worth another try, how long to wait
 * (exponential backoff with jitter, or the receiver's Retry-After) and how many tries in all.
 * The Notifier applies it; tests check its bounds in Node.
 */

/** What one attempt of a delivery came to. */
export type SendOutcome =
  | { ok: true; status: number; answer: string }
  | { ok: false; status: number | null; answer: string; retryable: boolean; retryAfterMs: number | null };

/** Attempts per delivery, the first included. With BACKOFF_BASE_MS: about 5 s, 10 s, 20 s, 40 s, 80 s between them. */
export const MAX_ATTEMPTS = 6;
export const BACKOFF_BASE_MS = 5_000;
export const BACKOFF_MAX_MS = 15 * 60_000;
/** Longest Retry-After honoured, ms (a longer one is capped: the delivery's attempts stay bounded in time). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Retry-After as seconds or an HTTP date → ms from `now`; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.min(Math.max(0, t - now), MAX_RETRY_AFTER_MS) : null;
}

/** 2xx ok; 408, 429 and 5xx retryable; any other status permanent (a 4xx will not get better by retrying). */
export function classify(status: number, answer: string, retryAfter: number | null): SendOutcome {
  if (status >= 200 && status < 300) return { ok: true, status, answer };
  const retryable = status === 408 || status === 429 || status >= 500;
  return { ok: false, status, answer, retryable, retryAfterMs: retryable ? retryAfter : null };
}

/** Delay before attempt `attempt + 1` (attempt >= 1), ms: exponential with jitter in [d/2, d], or the receiver's Retry-After. */
export function retryDelay(attempt: number, retryAfter: number | null, random: () => number = Math.random): number {
  if (retryAfter !== null) return Math.max(retryAfter, 1000);
  const d = Math.min(BACKOFF_BASE_MS * 2 ** (attempt - 1), BACKOFF_MAX_MS);
  return Math.round(d / 2 + random() * (d / 2));
}
