/**
 * Heartbeats page: each heartbeat with its state and a live countdown to its deadline; admins add one,
 * change its interval (saving pings it with the new timeout: POST /v1/heartbeats/:name) or delete it.
 */
import { api, listOf } from "./api.ts";
import { $, clear, duration, h, isAdmin, showMsg, timeEl, toMs } from "./dom.ts";

type Beat = { name: string; source?: string; state: string; last_beat?: string | number | null; deadline?: string | number | null; timeout?: string; timeout_ms?: number };

/** Late or missed beats first, then the nearest deadline. */
const rank = (b: Beat): number => (b.state === "ok" ? 1 : 0);

export function heartbeatsPage(): void {
  const list = $("#list")!;
  const empty = $("#empty")!;
  const form = $<HTMLFormElement>("#beat-form");

  form?.addEventListener("submit", async (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const name = String(fd.get("name") ?? "").trim();
    try {
      await api(`/v1/heartbeats/${encodeURIComponent(name)}`, { method: "POST", body: { timeout: String(fd.get("timeout") ?? "").trim(), severity: String(fd.get("severity") ?? "high") } });
      showMsg(`Saved ${name}: the next ping is due within its interval.`, "ok");
      form.reset();
      void load();
    } catch (e2) {
      showMsg(e2 instanceof Error ? e2.message : String(e2));
    }
  });

  /** Fills the form with a pinged heartbeat to change its interval. */
  function edit(b: Beat): void {
    if (!form) return;
    (form.elements.namedItem("name") as HTMLInputElement).value = b.name;
    (form.elements.namedItem("timeout") as HTMLInputElement).value = b.timeout ?? "";
    form.scrollIntoView({ block: "nearest" });
  }

  function tick(): void {
    for (const el of Array.from(list.querySelectorAll<HTMLElement>("[data-deadline]"))) {
      const left = Number(el.dataset.deadline) - Date.now();
      el.textContent = left >= 0 ? `due in ${duration(left)}` : `overdue by ${duration(-left)}`;
      el.classList.toggle("overdue", left < 0);
    }
  }

  async function load(): Promise<void> {
    try {
      const beats = listOf<Beat>(await api<unknown>("/v1/heartbeats"), "heartbeats");
      beats.sort((a, b) => rank(a) - rank(b) || (toMs(a.deadline) || Infinity) - (toMs(b.deadline) || Infinity));
      clear(list);
      for (const b of beats) {
        const dl = toMs(b.deadline);
        list.append(
          h("li", { class: `card beat st-${b.state}` },
            h("div", { class: "card-main" },
              h("span", { class: "title" }, b.name),
              h("div", { class: "meta" },
                h("span", { class: `status status-${b.state}` }, b.state),
                b.source ? h("span", { class: "tag" }, b.source) : null,
                b.timeout ? `every ${b.timeout}` : b.timeout_ms ? `every ${duration(b.timeout_ms)}` : "",
              ),
              h("div", { class: "meta" },
                b.last_beat ? h("span", {}, "last beat ", timeEl(b.last_beat)) : h("span", {}, "never beat"),
                Number.isFinite(dl) ? h("strong", { class: "countdown", "data-deadline": String(dl) }) : null,
              ),
              isAdmin() && b.source === "ping"
                ? h("div", { class: "actions" },
                    h("button", { type: "button", class: "btn", "aria-label": `Edit heartbeat ${b.name}`, onclick: () => edit(b) }, "Edit"),
                    h("button", { type: "button", class: "btn danger", "aria-label": `Delete heartbeat ${b.name}`, onclick: async () => {
                      if (!confirm(`Stop watching "${b.name}"?`)) return;
                      try {
                        await api(`/v1/heartbeats/${encodeURIComponent(b.name)}`, { method: "DELETE" });
                        void load();
                      } catch (e) {
                        showMsg(e instanceof Error ? e.message : String(e));
                      }
                    } }, "Delete"))
                : null,
            ),
          ),
        );
      }
      empty.hidden = beats.length > 0;
      tick();
    } catch (e) {
      showMsg(e instanceof Error ? e.message : String(e));
    }
  }
  setInterval(tick, 1000);
  setInterval(() => void load(), 60_000);
  void load();
}
