/**
 * Rules page: list, enable/disable, edit the JSON with the API's validation errors shown inline next to
 * the editor, and a backtest that lists the alerts the rule would have raised over a chosen range.
 */
import { api, listOf, ApiError } from "./api.ts";
import { $, clear, h, isAdmin, showMsg, timeEl } from "./dom.ts";
import { sevBadge } from "./alerts.ts";
import type { BacktestAlert, BacktestResult } from "../../workers/api-types.ts";

type Rule = Record<string, unknown> & { id: string; name?: string; type?: string; enabled?: boolean; severity?: string };

const RANGE_MS: Record<string, number> = { "1h": 3.6e6, "6h": 2.16e7, "24h": 8.64e7, "7d": 6.048e8, "30d": 2.592e9 };

const TEMPLATE = {
  id: "my-rule",
  name: "My rule",
  type: "threshold",
  enabled: true,
  match: { "event.category": "authentication", "event.outcome": "failure" },
  group_by: ["source.ip"],
  threshold: 5,
  window: "60s",
  severity: "medium",
  title: "Failed logins from {{source.ip}}",
  text: "{{count}} failures in {{window}}",
};

/** A readable message from an API validation error (message plus the field it names, if any). */
export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e);
  const d = e.details ?? {};
  const field = typeof d.field === "string" ? d.field : typeof d.path === "string" ? d.path : "";
  const issues = Array.isArray(d.issues) ? (d.issues as { path?: unknown; message?: string }[]).map((i) => `${Array.isArray(i.path) ? i.path.join(".") : String(i.path ?? "")}: ${i.message ?? ""}`) : [];
  return [e.message, field && !e.message.includes(field) ? `(field: ${field})` : "", ...issues].filter(Boolean).join("\n");
}

function editor(initial: unknown, onSave: (def: unknown) => Promise<void>, onCancel: () => void): HTMLElement {
  const id = `ed-${Math.random().toString(36).slice(2)}`;
  const ta = h("textarea", { id, class: "json", rows: 14, spellcheck: false, autocapitalize: "off", "aria-describedby": `${id}-err` }) as HTMLTextAreaElement;
  ta.value = JSON.stringify(initial, null, 2);
  const err = h("pre", { id: `${id}-err`, class: "field-error", role: "alert", hidden: true });
  const save = h("button", { type: "button", class: "btn primary" }, "Save");
  save.addEventListener("click", async () => {
    let def: unknown;
    try {
      def = JSON.parse(ta.value);
    } catch (e) {
      err.textContent = `Not valid JSON: ${(e as Error).message}`;
      err.hidden = false;
      ta.setAttribute("aria-invalid", "true");
      return;
    }
    save.disabled = true;
    try {
      await onSave(def);
      err.hidden = true;
      ta.removeAttribute("aria-invalid");
    } catch (e) {
      err.textContent = errorText(e);
      err.hidden = false;
      ta.setAttribute("aria-invalid", "true");
      ta.focus();
    } finally {
      save.disabled = false;
    }
  });
  return h("div", { class: "editor" }, h("label", { for: id }, "Rule JSON"), ta, err, h("div", { class: "actions" }, save, h("button", { type: "button", class: "btn", onclick: onCancel }, "Cancel")));
}

async function backtest(rule: Rule, out: HTMLElement): Promise<void> {
  const range = $<HTMLSelectElement>("#bt-range")?.value ?? "24h";
  const to = Date.now();
  const from = to - (RANGE_MS[range] ?? RANGE_MS["24h"]!);
  clear(out);
  out.hidden = false;
  out.append(h("p", { class: "hint" }, `Backtesting over the last ${range}…`));
  try {
    const r = await api<BacktestResult>("/v1/rules/backtest", {
      method: "POST",
      body: { rule, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
    });
    const alerts: BacktestAlert[] = listOf<BacktestAlert>(r, "alerts");
    const scanned = r?.scanned;
    clear(out);
    out.append(h("p", { class: "hint", role: "status" }, `${alerts.length} alert${alerts.length === 1 ? "" : "s"} over the last ${range}${scanned !== undefined ? ` (${scanned} events replayed)` : ""}.${r?.late ? ` ${r.late} matches came later than the rule's lateness and were not counted.` : ""}`));
    const ul = h("ul", { class: "rows" });
    for (const a of alerts) ul.append(h("li", {}, sevBadge(a.severity), " ", a.title, a.count ? ` (${a.count})` : "", " ", a.last_seen ? timeEl(a.last_seen) : null));
    out.append(ul);
  } catch (e) {
    clear(out);
    out.append(h("pre", { class: "field-error", role: "alert" }, errorText(e)));
  }
}

type ImportKind = "crowdsec" | "sigma" | "sec" | "json";
interface ImportAnswer {
  imported?: number;
  ids?: string[];
  refused?: { rule: string; field: string; reason: string }[];
}

/** The importer a file needs, from its extension and (YAML) its keys — as the CLI decides (cli/src/commands/rules.js importKind). */
export function importKindOf(name: string, text: string): ImportKind | undefined {
  const ext = /\.[^.]+$/.exec(name.toLowerCase())?.[0] ?? "";
  if (ext === ".json") return "json";
  if (ext === ".sec" || ext === ".conf" || ext === ".rules") return "sec";
  if (ext === ".yaml" || ext === ".yml" || ext === "") {
    if (/^detection:/m.test(text) && /^logsource:/m.test(text)) return "sigma";
    if (/^type:\s*\w+/m.test(text) || /^filter:/m.test(text)) return "crowdsec";
    if (/^type=/im.test(text)) return "sec";
    if (/^\s*[[{]/.test(text)) return "json";
  }
  return undefined;
}

function importForm(onDone: () => void): void {
  const form = $<HTMLFormElement>("#import-form");
  if (!form) return;
  const file = $<HTMLInputElement>("#import-file")!;
  const text = $<HTMLTextAreaElement>("#import-text")!;
  const type = $<HTMLSelectElement>("#import-type")!;
  const result = $("#import-result")!;
  const section = $("#import")!;
  const toggle = $("#import-rules");
  toggle?.addEventListener("click", () => {
    section.hidden = !section.hidden;
    toggle.setAttribute("aria-expanded", String(!section.hidden));
    if (!section.hidden) file.focus();
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(result);
    const f = file.files?.[0];
    const body = f ? await f.text() : text.value;
    if (!body.trim()) return void result.append(h("p", { class: "field-error", role: "alert" }, "Choose a file or paste the rules."));
    const kind = type.value !== "auto" ? (type.value as ImportKind) : importKindOf(f?.name ?? "", body);
    if (!kind) return void result.append(h("p", { class: "field-error", role: "alert" }, "Cannot tell the format from the file: choose it under Format."));
    try {
      const r = kind === "json"
        ? await api<ImportAnswer>("/v1/rules/import", { method: "POST", body: JSON.parse(body) as unknown })
        : await api<ImportAnswer>(`/v1/rules/import/${kind}${kind === "sec" && f ? `?prefix=${encodeURIComponent(f.name.replace(/\.[^.]+$/, ""))}` : ""}`, { method: "POST", text: body, contentType: kind === "sec" ? "text/plain; charset=utf-8" : "application/yaml" });
      showRefusals(result, r.refused ?? []);
      result.prepend(h("p", { class: "hint", role: "status" }, `Imported ${r.imported ?? 0} rule${r.imported === 1 ? "" : "s"}${r.ids?.length ? `: ${r.ids.join(", ")}` : ""}.`));
      onDone();
    } catch (err) {
      const refused = err instanceof ApiError && Array.isArray(err.details?.refused) ? (err.details.refused as ImportAnswer["refused"])! : [];
      result.append(h("pre", { class: "field-error", role: "alert" }, err instanceof SyntaxError ? `Not valid JSON: ${err.message}` : errorText(err)));
      showRefusals(result, refused);
    }
  });
}

function showRefusals(out: HTMLElement, refused: NonNullable<ImportAnswer["refused"]>): void {
  if (!refused.length) return;
  const ul = h("ul", { class: "rows refused", "aria-label": "Refused rules" });
  for (const r of refused) ul.append(h("li", {}, h("strong", {}, r.rule), r.field ? h("code", {}, ` ${r.field}`) : null, `: ${r.reason}`));
  out.append(h("p", { class: "hint" }, `Refused ${refused.length}:`), ul);
}

export function rulesPage(): void {
  const list = $("#list")!;
  const empty = $("#empty")!;

  function card(rule: Rule): HTMLLIElement {
    const li = h("li", { class: "card rule", id: rule.id, "data-id": rule.id });
    const slot = h("div", { class: "slot" });
    const bt = h("div", { class: "backtest", hidden: true, "aria-live": "polite" });
    const toggleId = `en-${rule.id}`;
    const toggle = h("input", { type: "checkbox", id: toggleId, class: "switch", role: "switch", disabled: !isAdmin() }) as HTMLInputElement;
    toggle.checked = rule.enabled !== false;
    toggle.addEventListener("change", async () => {
      try {
        await api(`/v1/rules/${encodeURIComponent(rule.id)}`, { method: "PATCH", body: { enabled: toggle.checked } });
        rule.enabled = toggle.checked;
        li.classList.toggle("disabled", !toggle.checked);
        showMsg("");
      } catch (e) {
        toggle.checked = !toggle.checked;
        showMsg(errorText(e));
      }
    });
    li.classList.toggle("disabled", rule.enabled === false);
    // A rule with a lateness shows how many matches came too late to count (never dropped silently).
    const lateTag = h("span", { class: "tag late", hidden: true });
    if (rule.lateness !== undefined) {
      void api<{ late_events?: number }>(`/v1/rules/${encodeURIComponent(rule.id)}`).then((r) => {
        lateTag.textContent = `${r.late_events ?? 0} late`;
        lateTag.title = `Matches that arrived more than ${String(rule.lateness)} behind their group since the rule last changed: not counted`;
        lateTag.hidden = false;
      }, () => undefined);
    }
    li.append(
      h("div", { class: "card-main" },
        h("span", { class: "title" }, String(rule.name ?? rule.id)),
        h("div", { class: "meta" }, rule.severity ? sevBadge(String(rule.severity)) : null, h("span", { class: "tag" }, String(rule.type ?? "")), h("code", {}, rule.id), lateTag),
      ),
      h("div", { class: "actions" },
        h("label", { class: "switch-label", for: toggleId }, toggle, h("span", {}, "Enabled")),
        isAdmin() ? h("button", { type: "button", class: "btn", onclick: () => {
          clear(slot);
          slot.append(editor(rule, async (def) => {
            const saved = await api<Rule>(`/v1/rules/${encodeURIComponent(rule.id)}`, { method: "PUT", body: def });
            showMsg(`Saved ${rule.id}.`, "ok");
            li.replaceWith(card((saved as { rule?: Rule }).rule ?? saved ?? (def as Rule)));
          }, () => clear(slot)));
          slot.querySelector("textarea")?.focus();
        } }, "Edit") : null,
        h("button", { type: "button", class: "btn", onclick: () => void backtest(rule, bt) }, "Backtest"),
      ),
      slot,
      bt,
    );
    return li;
  }

  async function load(): Promise<void> {
    try {
      const rules = listOf<Rule>(await api<unknown>("/v1/rules"), "rules");
      clear(list);
      for (const r of rules) list.append(card(r));
      empty.hidden = rules.length > 0;
      if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
    } catch (e) {
      showMsg(errorText(e));
    }
  }

  $("#new-rule")?.addEventListener("click", () => {
    const li = h("li", { class: "card rule new" });
    li.append(editor(TEMPLATE, async (def) => {
      await api("/v1/rules", { method: "POST", body: def });
      showMsg("Rule created.", "ok");
      void load();
    }, () => li.remove()));
    list.prepend(li);
    li.querySelector("textarea")?.focus();
  });
  importForm(() => void load());
  void load();
}
