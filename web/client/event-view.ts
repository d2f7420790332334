/**
 * One event as a list item: a one-line summary that expands to the raw line and the parsed ECS fields
 * side by side. Values of filterable fields are buttons that filter the Events page by that value.
 */
import { h } from "./dom.ts";

export type EventDoc = Record<string, unknown> & { id?: string; "@timestamp"?: string; raw?: string; message?: string };

/** ECS field → GET /v1/events filter parameter (the filters the API has). */
export const FIELD_PARAM: Record<string, string> = {
  "host.hostname": "host",
  "host.name": "host",
  "process.name": "program",
  "event.dataset": "dataset",
  "source.ip": "src_ip",
  "destination.ip": "dst_ip",
  "source.port": "src_port",
  "destination.port": "dst_port",
  "network.transport": "protocol",
  "user.name": "user",
  "event.action": "action",
  "event.outcome": "outcome",
};

/** Flattens nested ECS objects to dotted paths; arrays become comma-separated text. */
export function flatten(doc: Record<string, unknown>, prefix = "", out: [string, string][] = []): [string, string][] {
  for (const [k, v] of Object.entries(doc)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (key === "raw" || v === null || v === undefined) continue;
    if (typeof v === "object" && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out.push([key, Array.isArray(v) ? v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ") : String(v)]);
  }
  return out;
}

function get(doc: Record<string, unknown>, path: string): string {
  let cur: unknown = doc;
  for (const part of path.split(".")) {
    if (!cur || typeof cur !== "object") return "";
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur === null || cur === undefined ? "" : String(cur);
}

export function eventItem(ev: EventDoc, onFilter?: (param: string, value: string) => void): HTMLLIElement {
  const ts = ev["@timestamp"] ?? "";
  const msg = ev.message ?? get(ev, "event.original") ?? ev.raw ?? "";
  const body = h("div", { class: "ev-body", hidden: true });
  const head = h(
    "button",
    {
      type: "button",
      class: "ev-head",
      "aria-expanded": "false",
      onclick: () => {
        body.hidden = !body.hidden;
        head.setAttribute("aria-expanded", String(!body.hidden));
      },
    },
    h("time", { datetime: ts }, ts ? new Date(ts).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" }) : ""),
    h("span", { class: "ev-host" }, get(ev, "host.hostname")),
    h("span", { class: "ev-prog" }, get(ev, "process.name") || get(ev, "event.dataset")),
    h("span", { class: "ev-msg" }, String(msg)),
  );
  const fields = h("dl", { class: "fields" });
  for (const [k, v] of flatten(ev)) {
    const param = FIELD_PARAM[k];
    fields.append(
      h("dt", {}, k),
      h(
        "dd",
        {},
        param && onFilter
          ? h("button", { type: "button", class: "fv", "data-param": param, title: `Filter by ${k} = ${v}`, onclick: () => onFilter(param, v) }, v)
          : param
            ? h("a", { class: "fv", href: `/events?${new URLSearchParams({ [param]: v, last: "24h" })}` }, v)
            : v,
      ),
    );
  }
  body.append(
    h("section", { class: "raw", "aria-label": "Raw line" }, h("h3", {}, "Raw"), h("pre", {}, ev.raw ?? "")),
    h("section", { class: "parsed", "aria-label": "Parsed fields" }, h("h3", {}, "Parsed"), fields),
  );
  return h("li", { class: "event", "data-id": ev.id ?? "" }, head, body);
}
