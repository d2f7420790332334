/**
 * Response headers of the console. The CSP allows no inline script or style (every script and style is
 * an external file from this origin), no framing, and connections only back to this origin (API and
 * the /live WebSocket). The same set is applied to static assets by web/public/_headers.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../workers/auth.ts";

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "worker-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": CSP,
  "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
  // Not no-referrer: with it Chromium sends `Origin: null` on form POSTs, which the login and CSRF origin checks must refuse.
  "Referrer-Policy": "strict-origin-when-cross-origin",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
  "Cross-Origin-Opener-Policy": "same-origin",
};

export function applySecurityHeaders(headers: Headers, opts: { noStore?: boolean } = {}): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!headers.has(k)) headers.set(k, v);
  // Pages and API answers carry private data and a CSRF token: never store them in any cache.
  if (opts.noStore && !headers.has("Cache-Control")) headers.set("Cache-Control", "no-store");
}

/** Middleware for the web routes (pages, login, logout): security headers, no caching. */
export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  // A 101 WebSocket upgrade response has immutable headers.
  if (c.res.status === 101) return;
  applySecurityHeaders(c.res.headers, { noStore: true });
};
