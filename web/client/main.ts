/**
 * Entry of the console's client (bundled by web/build.ts into web/public/app.js): runs the current
 * page's module (body[data-page]) and registers the service worker (installable app, offline shell).
 */
import { setOffline } from "./api.ts";
import { alertsPage } from "./alerts.ts";
import { alertDetailPage } from "./alert-detail.ts";
import { eventsPage } from "./events.ts";
import { rulesPage } from "./rules.ts";
import { heartbeatsPage } from "./heartbeats.ts";
import { overviewPage } from "./overview.ts";
import { settingsPage } from "./settings.ts";
import { devicePage, devicesPage } from "./devices.ts";
import { usagePage } from "./usage.ts";

const PAGES: Record<string, () => void> = {
  alerts: alertsPage,
  alert: alertDetailPage,
  events: eventsPage,
  rules: rulesPage,
  heartbeats: heartbeatsPage,
  overview: overviewPage,
  settings: settingsPage,
  devices: devicesPage,
  device: devicePage,
  usage: usagePage,
};

PAGES[document.body.dataset.page ?? ""]?.();

window.addEventListener("offline", () => setOffline(true));
window.addEventListener("online", () => setOffline(false));
if (!navigator.onLine) setOffline(true);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    // Not fatal: the console works without offline support (e.g. private browsing).
  });
}
