/*
 * Porchlight service worker: the app shell (styles, script, icons, offline page) works offline; data
 * never comes from a cache. Pages and /v1 answers are private and carry a CSRF token, so they are
 * never stored: a page request that fails shows /offline.html, an API request that fails gets a JSON
 * 503 {"error":{"code":"offline"}} that the client shows as its "offline" state.
 * Notifications (issue 11): a `push` carries the JSON of workers/notify/send.ts pushData (title, body,
 * url, ack_url, alert_id, tag, severity) and shows a notification with "Ack" and "Open" actions; "Ack"
 * POSTs the one-time signed link (no session needed), a tap or "Open" focuses or opens the alert page.
 * VERSION is stamped by web/build.ts from a hash of the shell.
 */
const VERSION = "f1985c1b6df3";
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

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { title: "Porchlight", body: event.data ? event.data.text() : "" };
  }
  const actions = [];
  if (data.ack_url) actions.push({ action: "ack", title: "Ack" });
  actions.push({ action: "open", title: "Open" });
  event.waitUntil(
    self.registration.showNotification(data.title || "Porchlight alert", {
      body: data.body || "",
      tag: data.tag || undefined,
      icon: "/icons/icon-192.png",
      badge: "/icons/icon-192.png",
      requireInteraction: data.severity === "critical",
      data: { url: data.url || "/", ack_url: data.ack_url || null },
      actions,
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  const n = event.notification;
  const { url, ack_url: ackUrl } = n.data || {};
  n.close();
  if (event.action === "ack" && ackUrl) {
    event.waitUntil(
      fetch(ackUrl, { method: "POST" })
        .then((res) => (res.ok ? null : self.registration.showNotification("Porchlight: could not acknowledge", { body: `The link answered ${res.status}; open the alert instead.`, data: { url } })))
        .catch(() => self.registration.showNotification("Porchlight: offline", { body: "The alert was not acknowledged.", data: { url } })),
    );
    return;
  }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((wins) => {
      const target = new URL(url || "/", self.location.origin).href;
      for (const w of wins) if (w.url === target && "focus" in w) return w.focus();
      return self.clients.openWindow(target);
    }),
  );
});
