/**
 * Events page: the filters of GET /v1/events kept in the URL (repeatable, negatable `not_<field>`),
 * time presets, cursor "load more", tap a field value to filter by it.
 */
import { api, ApiError } from "./api.ts";
import { $, clear, h, params, setParams, showMsg } from "./dom.ts";
import { eventItem, type EventDoc } from "./event-view.ts";

/** Events per page. */
const PAGE = 50;
/** Parameters that are not filters (not shown as chips). */
const NOT_FILTERS = new Set(["limit", "cursor", "format"]);

export function eventsPage(): void {
  const form = $<HTMLFormElement>("#filters")!;
  const list = $("#list")!;
  const more = $<HTMLButtonElement>("#more")!;
  const chips = $("#chips")!;
  const empty = $("#empty")!;
  const cost = $("#cost")!;
  let cursor: string | null = null;

  function fillForm(): void {
    const p = params();
    if (!p.has("last") && !p.has("from")) p.set("last", "24h");
    const last = form.querySelector<HTMLSelectElement>("select[name=last]")!;
    if (!p.has("last") && !last.querySelector('option[value=""]')) last.append(h("option", { value: "" }, "Custom range"));
    for (const el of Array.from(form.elements) as HTMLInputElement[]) if (el.name) el.value = p.get(el.name) ?? "";
    // Keep the extra filters folded on a phone unless one of them is in use.
    const more = form.querySelector("details");
    if (more && (matchMedia("(min-width: 700px)").matches || Array.from(more.querySelectorAll<HTMLInputElement>("[name]")).some((el) => el.value))) more.open = true;
    clear(chips);
    for (const [k, v] of p) {
      if (NOT_FILTERS.has(k)) continue;
      chips.append(
        h("button", { type: "button", class: "chip", "aria-label": `Remove filter ${k} ${v}`, onclick: () => {
          const q = params();
          const rest = q.getAll(k).filter((x) => x !== v);
          q.delete(k);
          for (const x of rest) q.append(k, x);
          setParams(q);
          void reload();
        } }, `${k.replace(/^not_/, "≠ ")}${k.startsWith("not_") ? "" : ":"} ${v} ✕`),
      );
    }
  }

  function query(): URLSearchParams {
    const p = params();
    if (!p.has("last") && !p.has("from")) p.set("last", "24h");
    p.set("limit", String(PAGE));
    if (cursor) p.set("cursor", cursor);
    return p;
  }

  /** Loads started; an answer to an older one than the latest is dropped (a slow first page must not replace a newer search). */
  let loads = 0;
  async function load(append: boolean): Promise<void> {
    more.disabled = true;
    const mine = ++loads;
    try {
      let rowsRead: string | null = null;
      const r = await api<{ events: EventDoc[]; next_cursor?: string | null }>(`/v1/events?${query()}`, { headers: (h) => (rowsRead = h.get("x-porchlight-rows-read")) });
      if (mine !== loads) return;
      // What the search cost in billed D1 rows (per-hour summaries keep rare searches cheap: docs/operations.md).
      cost.textContent = rowsRead === null ? "" : `${Number(rowsRead).toLocaleString()} rows read`;
      cost.hidden = rowsRead === null;
      if (!append) clear(list);
      for (const ev of r.events ?? []) list.append(eventItem(ev, filterBy));
      cursor = r.next_cursor ?? null;
      more.hidden = !cursor;
      empty.hidden = list.children.length > 0;
      showMsg("");
    } catch (e) {
      showMsg(e instanceof ApiError ? e.message : String(e));
    } finally {
      more.disabled = false;
    }
  }

  function reload(): Promise<void> {
    cursor = null;
    fillForm();
    return load(false);
  }

  function filterBy(param: string, value: string): void {
    const q = params();
    q.set(param, value);
    setParams(q);
    void reload();
    window.scrollTo({ top: 0 });
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = params();
    // The form edits single values; repeated or negated filters set by taps and chips are kept.
    for (const el of Array.from(form.elements) as HTMLInputElement[]) {
      if (!el.name) continue;
      q.delete(el.name);
      if (el.value.trim()) q.set(el.name, el.value.trim());
    }
    if (q.has("last")) {
      q.delete("from");
      q.delete("to");
    }
    setParams(q);
    void reload();
  });
  form.querySelector("select[name=last]")?.addEventListener("change", () => form.requestSubmit());
  more.addEventListener("click", () => void load(true));
  void reload();
}
