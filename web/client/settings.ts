/** Settings page: tokens (create, revoke), notifications (web/client/notifications.ts), per-source timezones and clock warnings, address lists, retention, relays seen. */
import { api, listOf } from "./api.ts";
import { $, age, clear, h, isAdmin, showMsg, timeEl } from "./dom.ts";
import { notificationsSection } from "./notifications.ts";

type Token = { id: string; name: string; scopes: string[]; created_at?: string | number; last_used_at?: string | number | null };
type Source = { key: string; timezone: string; updated_at?: string | number };
type ClockWarning = { key: string; warning: string; suggested_timezone: string | null; offset_hours: number | null };
type AddressList = { name: string; count: number; updated_at: number };
type Retention = { default: string | null; datasets: Record<string, string>; sessions?: string };
type RetentionRun = { deleted: Record<string, number>; deleted_by_table: Record<string, number>; deleted_total: number; complete: boolean };
type Relay = { name: string; last_seen: string; last_ip: string | null; batches: number; lines: number; bytes: number };

const ZONES = ["UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney"];

function fmtBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`;
}

export function settingsPage(): void {
  const err = (e: unknown) => showMsg(e instanceof Error ? e.message : String(e));

  /** Fills a list from an API listing: one row per item, or the empty text. */
  async function fillList<T>(sel: string, path: string, key: string, row: (item: T) => HTMLElement, emptyText: string): Promise<void> {
    const ul = $(sel)!;
    try {
      const items = listOf<T>(await api<unknown>(path), key);
      clear(ul);
      for (const item of items) ul.append(row(item));
      if (!items.length) ul.append(h("li", { class: "empty" }, emptyText));
    } catch (e) {
      err(e);
    }
  }

  const loadTokens = (): Promise<void> =>
    !isAdmin() ? Promise.resolve() : fillList<Token>("#tokens", "/v1/tokens", "tokens", (t) =>
      h("li", { class: "row" },
        h("div", {}, h("strong", {}, t.name), " ", h("span", { class: "tag" }, t.scopes.join(", ")), h("div", { class: "hint" }, `id ${t.id}`, t.last_used_at ? ` · used ${age(t.last_used_at)} ago` : " · never used")),
        h("button", { type: "button", class: "btn danger", "aria-label": `Revoke token ${t.name}`, onclick: async () => {
          if (!confirm(`Revoke token "${t.name}"? Clients and sessions using it stop working at once.`)) return;
          try {
            await api(`/v1/tokens/${encodeURIComponent(t.id)}`, { method: "DELETE" });
            showMsg(`Revoked ${t.name}.`, "ok");
            void loadTokens();
          } catch (e) {
            err(e);
          }
        } }, "Revoke"),
      ), "No tokens yet.");

  const loadSources = async (): Promise<void> => {
    await fillList<Source>("#sources", "/v1/sources", "sources", (s) =>
      h("li", { class: "row" }, h("span", {}, h("strong", {}, s.key), " "), h("span", { class: "tag" }, s.timezone)), "All sources use UTC.");
    // A source whose clock is a whole number of hours off: a time-zone mistake, with the zone to set.
    const warn = $("#clock-warnings");
    if (!warn) return;
    try {
      const body = await api<{ warnings?: ClockWarning[] }>("/v1/sources");
      clear(warn);
      for (const w of body.warnings ?? []) {
        warn.append(h("li", { class: "row warning", role: "alert" },
          h("div", {}, h("strong", {}, w.key), " ", w.warning),
          isAdmin() && w.suggested_timezone ? h("button", { type: "button", class: "btn primary", onclick: async () => {
            try {
              await api(`/v1/sources/${encodeURIComponent(w.key)}`, { method: "PUT", body: { timezone: w.suggested_timezone } });
              showMsg(`${w.key} now read as ${w.suggested_timezone}.`, "ok");
              void loadSources();
            } catch (e) {
              err(e);
            }
          } }, `Set ${w.suggested_timezone}`) : null));
      }
    } catch (e) {
      err(e);
    }
  };

  const loadRelays = (): Promise<void> =>
    fillList<Relay>("#relays", "/v1/relays", "relays", (r) =>
      h("li", { class: "row" },
        h("div", {}, h("strong", {}, r.name), r.last_ip ? ` (${r.last_ip})` : "",
          h("div", { class: "hint" }, "last seen ", timeEl(r.last_seen, `${age(r.last_seen)} ago`), ` · ${r.lines} lines in ${r.batches} batches · ${fmtBytes(r.bytes)}`)),
      ), "No relay has sent anything yet.");

  $<HTMLFormElement>("#token-form")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.currentTarget as HTMLFormElement;
    const fd = new FormData(f);
    const scopes = fd.getAll("scopes").map(String);
    try {
      const r = await api<{ token: string; id?: string; name?: string }>("/v1/tokens", { method: "POST", body: { name: String(fd.get("name") ?? ""), scopes } });
      const box = $("#new-token")!;
      const code = h("code", { class: "token" }, r.token);
      clear(box);
      box.append(h("p", {}, "Copy this token now: it is shown only once."), code,
        h("button", { type: "button", class: "btn", onclick: () => void navigator.clipboard?.writeText(r.token).then(() => showMsg("Copied.", "ok")) }, "Copy"));
      box.hidden = false;
      f.reset();
      void loadTokens();
    } catch (e2) {
      err(e2);
    }
  });

  const dl = $("#tz-list");
  const zones = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? ZONES;
  for (const z of zones) dl?.append(h("option", { value: z }));
  $<HTMLFormElement>("#tz-form")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget as HTMLFormElement);
    const raw = String(fd.get("key") ?? "").trim();
    const key = /^(host|ip):/.test(raw) ? raw : /^[\d.:a-fA-F]+$/.test(raw) && /[.:]/.test(raw) ? `ip:${raw}` : `host:${raw}`;
    try {
      await api(`/v1/sources/${encodeURIComponent(key)}`, { method: "PUT", body: { timezone: String(fd.get("timezone") ?? "").trim() } });
      showMsg(`Timezone saved for ${key}.`, "ok");
      void loadSources();
    } catch (e2) {
      err(e2);
    }
  });

  const loadLists = (): Promise<void> =>
    fillList<AddressList>("#lists", "/v1/lists", "lists", (l) =>
      h("li", { class: "row" },
        h("div", {}, h("strong", {}, l.name), " ", h("span", { class: "tag" }, `${l.count} entries`), h("div", { class: "hint" }, "updated ", timeEl(l.updated_at, `${age(l.updated_at)} ago`))),
        isAdmin() ? h("button", { type: "button", class: "btn danger", "aria-label": `Delete list ${l.name}`, onclick: async () => {
          if (!confirm(`Delete list "${l.name}"? Rules reading it then match nothing.`)) return;
          try {
            await api(`/v1/lists/${encodeURIComponent(l.name)}`, { method: "DELETE" });
            showMsg(`Deleted ${l.name}.`, "ok");
            void loadLists();
          } catch (e) {
            err(e);
          }
        } }, "Delete") : null,
      ), "No address lists yet.");

  $<HTMLFormElement>("#list-form")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget as HTMLFormElement);
    const name = String(fd.get("name") ?? "").trim();
    try {
      const r = await api<{ count: number }>(`/v1/lists/${encodeURIComponent(name)}`, { method: "PUT", text: String(fd.get("entries") ?? "") });
      showMsg(`Saved ${name}: ${r.count} entries.`, "ok");
      void loadLists();
    } catch (e2) {
      err(e2);
    }
  });

  const loadRetention = async (): Promise<void> => {
    try {
      const p = await api<Retention>("/v1/retention");
      const ul = $("#retention-policy")!;
      clear(ul);
      const row = (what: string, keep: string) => h("li", { class: "row" }, h("span", {}, what), h("span", { class: "tag" }, keep));
      ul.append(row("Events", p.default ?? "forever"));
      for (const [d, keep] of Object.entries(p.datasets)) ul.append(row(`Events of ${d}`, keep));
      ul.append(row("Network sessions", p.sessions ?? (p.default && p.default !== "archive" ? `${p.default} (as events)` : "forever")));
      const f = $<HTMLFormElement>("#retention-form");
      if (f) {
        (f.elements.namedItem("default") as HTMLInputElement).value = p.default ?? "";
        (f.elements.namedItem("sessions") as HTMLInputElement).value = p.sessions ?? "";
        (f.elements.namedItem("datasets") as HTMLTextAreaElement).value = Object.entries(p.datasets).map(([d, k]) => `${d} ${k}`).join("\n");
      }
    } catch (e) {
      err(e);
    }
  };

  $<HTMLFormElement>("#retention-form")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget as HTMLFormElement);
    const datasets: Record<string, string> = {};
    // "iptables 7d", "iptables=7d" or "iptables: 7d"; the API validates names and durations.
    for (const line of String(fd.get("datasets") ?? "").split("\n")) {
      const [name, keep] = line.trim().split(/\s*[=:\s]\s*/);
      if (name) datasets[name] = keep ?? "";
    }
    const def = String(fd.get("default") ?? "").trim();
    const sessions = String(fd.get("sessions") ?? "").trim();
    try {
      await api("/v1/retention", { method: "PUT", body: { default: def || null, datasets, ...(sessions ? { sessions } : {}) } });
      showMsg("Retention saved: the next sweep applies it.", "ok");
      void loadRetention();
    } catch (e2) {
      err(e2);
    }
  });

  $("#retention-run")?.addEventListener("click", async () => {
    try {
      const r = await api<RetentionRun>("/v1/retention/run", { method: "POST" });
      const by = Object.entries(r.deleted).map(([d, n]) => `${d} ${n}`).join(", ");
      const report = $("#retention-report")!;
      report.textContent = `Deleted ${r.deleted_by_table.events ?? 0} events${by ? ` (${by})` : ""} and ${r.deleted_by_table.flow_sessions ?? 0} network sessions.${r.complete ? "" : " More to delete: the cron continues."}`;
      report.hidden = false;
    } catch (e) {
      err(e);
    }
  });

  void loadTokens();
  notificationsSection();
  void loadSources();
  void loadLists();
  void loadRetention();
  void loadRelays();
}
