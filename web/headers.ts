/**
 * The console's security headers as data (no Workers types, so Node tests and the build can read
 * them). The CSP allows no inline script or style (every script and style is an external file from
 * this origin), no framing, and connections only back to this origin (API and the /live WebSocket).
 * web/public/_headers applies the same set to static assets (a unit test keeps them equal).
 */
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
