/** Alert detail page: the alert, its lifecycle actions with a note, history and notes, source events. */
import { api, ApiError } from "./api.ts";
import { $, clear, fmtTime, h, isAdmin, showMsg, toMs, timeEl } from "./dom.ts";
import { actionsFor, alertAction, sevBadge, type Alert } from "./alerts.ts";
import { eventItem, type EventDoc } from "./event-view.ts";
import { IP_RE, whoIsInto } from "./devices.ts";

/** Minutes of context on each side of an alert for "events around it". */
const AROUND_MIN = 10;
/** Most source events read one by one when the alert's embedded ones are incomplete. */
const MAX_FETCHED_EVENTS = 20;

export function alertDetailPage(): void {
  const id = decodeURIComponent(location.pathname.split("/")[2] ?? "");
  const box = $("#alert")!;
  const hist = $("#history")!;
  const evs = $("#events")!;
  const dels = $("#deliveries");
  /** Channel names by id, for the delivery log (read once per page). */
  let channelNames: Map<string, string> | null = null;

  function render(a: Alert, events: EventDoc[]): void {
    document.title = `${a.title} · Porchlight`;
    $("h1")!.textContent = a.title;
    const note = h("textarea", { id: "note", name: "note", rows: 2, maxlength: 2000, placeholder: "Optional note" });
    clear(box);
    box.append(
      h("div", { class: `card alert sevbar-${a.severity} st-${a.status}` },
        h("div", { class: "meta" }, sevBadge(a.severity), h("span", { class: `status status-${a.status}` }, a.status),
          a.duplicate_count ? h("span", { class: "dup" }, `×${a.duplicate_count + 1}`) : null),
        h("p", { class: "text" }, a.text),
        h("dl", { class: "kv" },
          h("dt", {}, "Rule"), h("dd", {}, h("a", { href: `/rules#${encodeURIComponent(a.rule_id)}` }, a.rule_id)),
          h("dt", {}, "Resource"), h("dd", {}, a.resource),
          ...Object.entries(a.group ?? {}).flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-ip": IP_RE.test(v) ? v : null }, v)]),
          h("dt", {}, "Matches"), h("dd", {}, String(a.count)),
          h("dt", {}, "First seen"), h("dd", {}, timeEl(a.first_seen)),
          h("dt", {}, "Last seen"), h("dd", {}, timeEl(a.last_seen)),
          a.previous_severity ? h("dt", {}, "Previous severity") : null,
          a.previous_severity ? h("dd", {}, a.previous_severity) : null,
          a.shelved_until ? h("dt", {}, "Shelved until") : null,
          a.shelved_until ? h("dd", {}, timeEl(a.shelved_until)) : null,
        ),
        isAdmin()
          ? h("div", { class: "note-box" },
              h("label", { for: "note" }, "Note"), note,
              h("div", { class: "actions" },
                ...actionsFor(a.status).map(([act, label]) =>
                  h("button", { type: "button", class: `btn act-${act}`, onclick: async () => {
                    const r = await alertAction(a.id, act, note.value.trim() || undefined);
                    if (r) void load();
                  } }, label))))
          : null,
      ),
    );
    // Who each address is (country, organisation, domain, device name): docs/network.md.
    void whoIsInto(box, a.resource, a.last_seen);
    clear(hist);
    for (const e of [...(a.history ?? [])].reverse()) {
      hist.append(h("li", {}, timeEl(e.at, fmtTime(e.at)), " ", h("strong", {}, e.action), e.status ? ` → ${e.status}` : "", ` by ${e.who}`, e.note ? h("p", { class: "note" }, e.note) : null));
    }
    if (!hist.children.length) hist.append(h("li", { class: "empty" }, "No history yet."));
    if (dels) {
      // The delivery log: each notification with its channel, reason, state and the receiver's last answer.
      clear(dels);
      for (const d of a.deliveries ?? []) {
        dels.append(h("li", { class: `row delivery st-${d.status}` },
          h("div", {}, h("strong", {}, d.reason), " ", h("span", { class: `status status-${d.status}` }, d.status), ` via ${channelNames?.get(d.channel_id) ?? d.channel_id}`,
            h("div", { class: "hint" }, timeEl(d.updated_at, fmtTime(d.updated_at)), ` · ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}`, d.http_status ? ` · HTTP ${d.http_status}` : "",
              d.next_attempt_at ? h("span", {}, " · next try ", timeEl(d.next_attempt_at)) : "",
              d.status === "held" ? " · held by a blackout, in its digest at the end" : "",
              d.status === "failed" && d.answer ? ` · ${d.answer.slice(0, 200)}` : ""))));
      }
      if (!dels.children.length) dels.append(h("li", { class: "empty" }, "No notification was sent for this alert."));
    }
    const from = new Date(toMs(a.first_seen) - AROUND_MIN * 60_000).toISOString();
    const to = new Date(toMs(a.last_seen) + AROUND_MIN * 60_000).toISOString();
    $<HTMLAnchorElement>("#around")!.href = `/events?${new URLSearchParams({ from, to })}`;
    clear(evs);
    for (const ev of events) evs.append(eventItem(ev));
    if (!events.length) evs.append(h("li", { class: "empty" }, "No source events stored (they may have aged out)."));
  }

  async function load(): Promise<void> {
    try {
      const r = await api<{ alert?: Alert; events?: EventDoc[] } & Alert>(`/v1/alerts/${encodeURIComponent(id)}`);
      const a = r.alert ?? r;
      let events = r.events ?? (a as unknown as { events?: EventDoc[] }).events ?? [];
      // Embedded events without their raw line or time are incomplete: read them one by one from
      // GET /v1/events/:id (bounded), which returns the whole event.
      if (events.some((e) => e.raw === undefined || e["@timestamp"] === undefined) && a.event_ids?.length) {
        const ids = a.event_ids.slice(-MAX_FETCHED_EVENTS);
        const full = await Promise.all(ids.map((eid) => api<EventDoc>(`/v1/events/${encodeURIComponent(eid)}`).catch(() => null)));
        events = full.filter((e): e is EventDoc => e !== null);
      }
      if (!channelNames && a.deliveries?.length) {
        const list = await api<{ channels?: { id: string; name: string }[] }>("/v1/channels").catch(() => ({ channels: [] }));
        channelNames = new Map((list.channels ?? []).map((c) => [c.id, c.name]));
      }
      render(a, events);
    } catch (e) {
      showMsg(e instanceof ApiError && e.status === 404 ? "No such alert." : e instanceof Error ? e.message : String(e));
    }
  }
  void load();
}
