/**
 * Alerts page (home): open alerts first, severity colours, duplicate count, age, one-tap lifecycle
 * actions, filters kept in the URL; live updates through the /live WebSocket (LiveHub).
 */
import { api, listOf, ApiError } from "./api.ts";
import { $, age, clear, h, isAdmin, params, setParams, showMsg, toMs, timeEl } from "./dom.ts";
import { connectLive } from "./live.ts";
import type { AlertJson } from "../../workers/api-types.ts";

/** An alert as the API returns it (the Worker's own type: workers/api-types.ts). */
export type Alert = AlertJson;

const STATUS_ORDER: Record<string, number> = { open: 0, ack: 1, shelved: 2, closed: 3, expired: 4 };
const SEV_ORDER: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3, informational: 4 };
/** How long a shelve from the one-tap button lasts. */
export const SHELVE_FOR = "1h";

export function sortAlerts(a: Alert[]): Alert[] {
  return a.sort(
    (x, y) =>
      (STATUS_ORDER[x.status] ?? 9) - (STATUS_ORDER[y.status] ?? 9) ||
      (SEV_ORDER[x.severity] ?? 9) - (SEV_ORDER[y.severity] ?? 9) ||
      toMs(y.last_seen) - toMs(x.last_seen),
  );
}

/** Runs a lifecycle action; returns the updated alert or shows the API's error. */
export async function alertAction(id: string, action: string, note?: string): Promise<Alert | null> {
  const body: Record<string, unknown> = {};
  if (note) body.note = note;
  if (action === "shelve") body.duration = SHELVE_FOR;
  try {
    const r = await api<{ alert?: Alert } & Alert>(`/v1/alerts/${encodeURIComponent(id)}/${action}`, { method: "POST", body });
    showMsg("");
    return r.alert ?? r;
  } catch (e) {
    showMsg(e instanceof ApiError ? e.message : String(e));
    return null;
  }
}

/** The buttons valid for an alert's status (the API checks again). */
export function actionsFor(status: string): [string, string][] {
  const out: [string, string][] = [];
  if (status === "open" || status === "shelved") out.push(["ack", "Ack"]);
  if (status === "ack") out.push(["unack", "Unack"]);
  if (status === "open" || status === "ack") out.push(["shelve", `Shelve ${SHELVE_FOR}`]);
  if (status !== "closed") out.push(["close", "Close"]);
  if (status === "closed" || status === "expired") out.push(["reopen", "Reopen"]);
  return out;
}

export function sevBadge(sev: string): HTMLElement {
  return h("span", { class: `sev sev-${sev}` }, sev === "informational" ? "info" : sev);
}

function card(a: Alert, fresh: boolean, reload: () => void): HTMLLIElement {
  const actions = isAdmin()
    ? h(
        "div",
        { class: "actions" },
        ...actionsFor(a.status).map(([act, label]) =>
          h(
            "button",
            {
              type: "button",
              class: `btn act-${act}`,
              "aria-label": `${label}: ${a.title}`,
              onclick: async (e: Event) => {
                (e.currentTarget as HTMLButtonElement).disabled = true;
                if (await alertAction(a.id, act)) reload();
                else (e.currentTarget as HTMLButtonElement).disabled = false;
              },
            },
            label,
          ),
        ),
      )
    : null;
  return h(
    "li",
    { class: `card alert sevbar-${a.severity} st-${a.status}${fresh ? " fresh" : ""}`, "data-id": a.id, "data-status": a.status },
    h(
      "div",
      { class: "card-main" },
      h("a", { class: "title", href: `/alerts/${encodeURIComponent(a.id)}` }, a.title),
      h(
        "div",
        { class: "meta" },
        sevBadge(a.severity),
        h("span", { class: `status status-${a.status}` }, a.status),
        a.duplicate_count > 0 ? h("span", { class: "dup", title: `${a.duplicate_count} duplicates` }, `×${a.duplicate_count + 1}`) : null,
        h("span", { class: "res" }, a.resource),
        timeEl(a.last_seen, `${age(a.last_seen)} ago`),
      ),
    ),
    actions,
  );
}

function query(p: URLSearchParams): string {
  const q = new URLSearchParams();
  const status = p.get("status") ?? "active";
  if (status === "active") for (const s of ["open", "ack", "shelved"]) q.append("status", s);
  else if (status !== "all") q.append("status", status);
  for (const k of ["severity", "rule"]) {
    const v = p.get(k);
    if (v) q.append(k, v);
  }
  q.set("limit", "200");
  return q.toString();
}

export function alertsPage(): void {
  const form = $<HTMLFormElement>("#filters")!;
  const list = $("#list")!;
  const empty = $("#empty")!;
  const p = params();
  for (const el of Array.from(form.elements) as HTMLInputElement[]) {
    if (el.name && p.get(el.name)) el.value = p.get(el.name)!;
  }
  let known: Set<string> | null = null;
  let loading = false;
  let again = false;

  async function load(): Promise<void> {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const body = await api<unknown>(`/v1/alerts?${query(params())}`);
      const alerts = sortAlerts(listOf<Alert>(body, "alerts"));
      clear(list);
      for (const a of alerts) list.append(card(a, known !== null && !known.has(a.id), () => void load()));
      known = new Set(alerts.map((a) => a.id));
      empty.hidden = alerts.length > 0;
      document.title = `${alerts.filter((a) => a.status === "open").length ? `(${alerts.filter((a) => a.status === "open").length}) ` : ""}Alerts · Porchlight`;
    } catch (e) {
      showMsg(e instanceof Error ? e.message : String(e));
    } finally {
      loading = false;
      if (again) {
        again = false;
        void load();
      }
    }
  }

  form.addEventListener("change", () => {
    const q = new URLSearchParams();
    for (const el of Array.from(form.elements) as HTMLInputElement[]) if (el.name && el.value) q.set(el.name, el.value);
    if (q.get("status") === "active") q.delete("status");
    setParams(q);
    void load();
  });
  form.addEventListener("submit", (e) => e.preventDefault());
  // Ages on the cards drift; refresh them every 30 s without a request.
  setInterval(() => {
    for (const t of Array.from(list.querySelectorAll<HTMLTimeElement>("time"))) t.textContent = `${age(t.dateTime)} ago`;
  }, 30_000);
  void load();
  connectLive($("#live"), () => void load());
  // Rule ids for the filter's suggestions (best effort: the filter works without them).
  api<unknown>("/v1/rules")
    .then((r) => {
      const dl = $("#rule-list");
      for (const rule of listOf<{ id: string; name?: string }>(r, "rules")) dl?.append(h("option", { value: rule.id }, rule.name ?? rule.id));
    })
    .catch(() => {});
}
