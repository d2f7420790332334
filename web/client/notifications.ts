/**
 * Settings → Notifications: channels (add, edit, test, enable/disable, delete), one-tap Web Push for
 * this phone, and blackouts with their next start. Everything goes through /v1/channels, /v1/push and
 * /v1/blackouts; secrets come back redacted ("***"), and sending "***" back keeps the stored value.
 */
import { api, listOf } from "./api.ts";
import { $, clear, h, isAdmin, showMsg, timeEl } from "./dom.ts";

type Channel = {
  id: string;
  name: string;
  type: string;
  enabled: boolean;
  config: Record<string, string>;
  filter: { min_severity?: string; rules: string[]; tags: string[] };
  repeat: string | null;
  daily_digest: { at: string; timezone: string } | null;
};
type Blackout = { id: string; name: string; days?: string[]; from?: string; to?: string; timezone?: string; start?: string; end?: string; active: boolean; active_until: string | null; next_start: string | null };

const err = (e: unknown) => showMsg(e instanceof Error ? e.message : String(e));

/** base64url → bytes (the VAPID public key for PushManager.subscribe). */
function b64urlBytes(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** The type's config from the form's fields (empty ones left out, so PATCH keeps stored secrets). */
function configOf(fd: FormData, type: string): Record<string, string> {
  const pick = (pairs: [string, string][]) => Object.fromEntries(pairs.map(([k, f]) => [k, String(fd.get(f) ?? "").trim()]).filter(([, v]) => v !== ""));
  if (type === "ntfy") return pick([["url", "ntfy_url"], ["topic", "topic"], ["token", "token"]]);
  if (type === "telegram") return pick([["bot_token", "bot_token"], ["chat_id", "chat_id"]]);
  if (type === "webhook") return pick([["url", "webhook_url"], ["secret", "secret"], ["preset", "preset"]]);
  if (type === "email") return pick([["to", "to"]]);
  return {};
}

export function notificationsSection(): void {
  const form = $<HTMLFormElement>("#channel-form");
  const typeSel = form?.querySelector<HTMLSelectElement>('select[name="type"]');

  function showFields(): void {
    for (const el of Array.from((form ?? document).querySelectorAll<HTMLElement>(".cfg"))) el.hidden = !el.classList.contains(`cfg-${typeSel?.value}`);
  }
  typeSel?.addEventListener("change", showFields);
  showFields();

  function edit(c: Channel): void {
    if (!form) return;
    form.reset();
    const set = (n: string, v: string | undefined) => {
      const el = form.elements.namedItem(n) as HTMLInputElement | HTMLSelectElement | null;
      if (el && v !== undefined) el.value = v;
    };
    set("id", c.id);
    set("name", c.name);
    set("type", c.type);
    if (typeSel) typeSel.disabled = true;
    set("ntfy_url", c.type === "ntfy" ? c.config.url : undefined);
    set("topic", c.config.topic);
    set("chat_id", c.config.chat_id);
    set("webhook_url", c.type === "webhook" ? c.config.url : undefined);
    set("preset", c.config.preset ?? "");
    set("to", c.config.to);
    set("min_severity", c.filter.min_severity ?? "");
    set("repeat", c.repeat ?? "");
    set("daily_at", c.daily_digest?.at ?? "");
    showFields();
    form.scrollIntoView({ block: "nearest" });
  }

  async function loadChannels(): Promise<void> {
    const ul = $("#channels");
    if (!ul) return;
    try {
      const channels = listOf<Channel>(await api<unknown>("/v1/channels"), "channels");
      clear(ul);
      for (const c of channels) {
        const act = (label: string, run: () => Promise<void>, cls = "btn") =>
          isAdmin() ? h("button", { type: "button", class: cls, "aria-label": `${label} ${c.name}`, onclick: () => void run().catch(err) }, label) : null;
        ul.append(
          h("li", { class: `row channel${c.enabled ? "" : " disabled"}`, "data-channel": c.id },
            h("div", {}, h("strong", {}, c.name), " ", h("span", { class: "tag" }, c.type), c.enabled ? "" : h("span", { class: "tag" }, "off"),
              h("div", { class: "hint" }, c.filter.min_severity ? `${c.filter.min_severity} and up` : "any severity", c.repeat ? ` · repeats after ${c.repeat}` : "", c.daily_digest ? ` · daily digest at ${c.daily_digest.at}` : "")),
            act("Test", async () => {
              const r = await api<{ ok: boolean; status: number | null; answer: string }>(`/v1/channels/${c.id}/test`, { method: "POST" });
              showMsg(r.ok ? `Test sent to ${c.name} (${r.status}).` : `Test failed (${r.status ?? "no answer"}): ${r.answer}`, r.ok ? "ok" : "error");
            }),
            act(c.enabled ? "Disable" : "Enable", async () => {
              await api(`/v1/channels/${c.id}`, { method: "PATCH", body: { enabled: !c.enabled } });
              void loadChannels();
            }),
            c.type === "webpush" ? null : act("Edit", async () => edit(c)),
            act("Delete", async () => {
              if (!confirm(`Delete channel "${c.name}"?`)) return;
              await api(`/v1/channels/${c.id}`, { method: "DELETE" });
              void loadChannels();
            }, "btn danger"),
          ),
        );
      }
      if (!channels.length) ul.append(h("li", { class: "empty" }, "No channels yet: alerts wait in the list until someone looks."));
    } catch (e) {
      err(e);
    }
  }

  form?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const id = String(fd.get("id") ?? "");
    const type = typeSel?.value ?? "ntfy";
    const minSeverity = String(fd.get("min_severity") ?? "");
    const repeat = String(fd.get("repeat") ?? "").trim();
    const dailyAt = String(fd.get("daily_at") ?? "");
    const body = {
      name: String(fd.get("name") ?? "").trim(),
      config: configOf(fd, type),
      filter: { ...(minSeverity ? { min_severity: minSeverity } : {}), rules: [], tags: [] },
      repeat: repeat || null,
      // The digest's time is this browser's local time.
      daily_digest: dailyAt ? { at: dailyAt, timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" } : null,
    };
    try {
      if (id) await api(`/v1/channels/${id}`, { method: "PATCH", body });
      else await api("/v1/channels", { method: "POST", body: { ...body, type } });
      showMsg(`Saved ${body.name}.`, "ok");
      form.reset();
      if (typeSel) typeSel.disabled = false;
      showFields();
      void loadChannels();
    } catch (e2) {
      err(e2);
    }
  });

  $("#push-enable")?.addEventListener("click", async () => {
    try {
      if (!("serviceWorker" in navigator) || !("PushManager" in window)) throw new Error("This browser cannot receive push notifications (on iPhone: add Porchlight to the home screen first).");
      if ((await Notification.requestPermission()) !== "granted") throw new Error("Notifications are blocked for this site.");
      const { public_key } = await api<{ public_key: string }>("/v1/push/key");
      const reg = await navigator.serviceWorker.ready;
      const sub = (await reg.pushManager.getSubscription()) ?? (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlBytes(public_key) as BufferSource }));
      await api("/v1/push/subscriptions", { method: "POST", body: { subscription: sub.toJSON(), name: `Push: ${navigator.platform || "this phone"}` } });
      showMsg("Push enabled on this device.", "ok");
      void loadChannels();
    } catch (e) {
      err(e);
    }
  });

  async function loadBlackouts(): Promise<void> {
    const ul = $("#blackouts");
    if (!ul) return;
    try {
      const list = listOf<Blackout>(await api<unknown>("/v1/blackouts"), "blackouts");
      clear(ul);
      for (const b of list) {
        ul.append(
          h("li", { class: "row" },
            h("div", {}, h("strong", {}, b.name), " ", b.active ? h("span", { class: "tag" }, "active") : null,
              h("div", { class: "hint" }, b.days ? `${b.from}–${b.to} ${b.timezone ?? "UTC"} (${b.days.join(", ")})` : `${b.start} – ${b.end}`,
                b.active && b.active_until ? h("span", {}, " · until ", timeEl(b.active_until)) : "",
                b.next_start ? h("span", {}, " · next start ", timeEl(b.next_start)) : "")),
            isAdmin()
              ? h("button", { type: "button", class: "btn danger", "aria-label": `Delete blackout ${b.name}`, onclick: async () => {
                  await api(`/v1/blackouts/${b.id}`, { method: "DELETE" }).catch(err);
                  void loadBlackouts();
                } }, "Delete")
              : null,
          ),
        );
      }
      if (!list.length) ul.append(h("li", { class: "empty" }, "No blackouts."));
    } catch (e) {
      err(e);
    }
  }

  $<HTMLFormElement>("#blackout-form")?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.currentTarget as HTMLFormElement;
    const fd = new FormData(f);
    const tz = String(fd.get("timezone") ?? "").trim() || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    try {
      await api("/v1/blackouts", { method: "POST", body: { name: String(fd.get("name") ?? "").trim(), days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], from: String(fd.get("from")), to: String(fd.get("to")), timezone: tz } });
      f.reset();
      void loadBlackouts();
    } catch (e2) {
      err(e2);
    }
  });

  void loadChannels();
  void loadBlackouts();
}
