/*
 * Porchlight service worker: the app shell (styles, script, icons, offline page) works offline; data
 * never comes from a cache. Pages and /v1 answers are private and carry a CSRF token, so they are
 * never stored: a page request that fails shows /offline.html, an API request that fails gets a JSON
 * 503 {"error":{"code":"offline"}} that the client shows as its "offline" state.
 * VERSION is stamped by web/build.ts from a hash of the shell.
 */
const VERSION = "0f26f62107a6";
const CACHE = `porchlight-shell-${VERSION}`;
const SHELL = [
  "/offline.html",
  "/styles.css",
  "/app.js",
  "/manifest.webmanifest",
  "/icons/icon.svg",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/uplot.min.js",
  "/uplot.min.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("porchlight-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

const offlineJson = () =>
  new Response(JSON.stringify({ error: { code: "offline", message: "You are offline: this data needs a connection." } }), {
    status: 503,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/v1/")) {
    event.respondWith(fetch(req).catch(offlineJson));
    return;
  }
  if (req.mode === "navigate") {
    event.respondWith(
      fetch(req).catch(async () => (await caches.match("/offline.html")) || new Response("Offline", { status: 503, headers: { "content-type": "text/plain" } })),
    );
    return;
  }
  if (req.method === "GET" && SHELL.includes(url.pathname)) {
    // Stale-while-revalidate: instant from cache, refreshed in the background for the next load.
    event.respondWith(
      caches.open(CACHE).then(async (c) => {
        const hit = await c.match(req);
        const fresh = fetch(req)
          .then((res) => {
            if (res.ok) c.put(req, res.clone());
            return res;
          })
          .catch(() => hit);
        return hit || fresh;
      }),
    );
  }
});
