/** Applies the console's security headers (web/headers.ts) to pages, login/logout and API answers. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../workers/auth.ts";
import { SECURITY_HEADERS } from "./headers.ts";

export { CSP, SECURITY_HEADERS } from "./headers.ts";

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
