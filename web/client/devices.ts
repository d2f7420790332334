/**
 * Devices (the inventory: new first, online dots, vendor, the user's names) and a device's page
 * (countries and organisations as ranked bars, domains, bytes per hour over the week with night hours
 * shaded, its alerts; rename and tag for admin sessions). Reads /v1/devices and its aggregates only.
 */
import { api, listOf } from "./api.ts";
import { $, age, append, clear, h, isAdmin, showMsg, timeEl, toMs } from "./dom.ts";
import { sevBadge, type Alert } from "./alerts.ts";
import type { ApiDevice } from "../../workers/api-types.ts";

/** The API's device (GET /v1/devices), the same type the Worker returns. */
export type Device = ApiDevice;

interface Bucket {
  key: string | number;
  sessions: number;
  bytes_out: number;
  bytes_in: number;
}

/** A device's name for people: the user's, else its hostname, else its vendor and MAC, else its address. */
export const deviceLabel = (d: Device): string => d.name ?? d.hostname ?? (d.vendor ? `${d.vendor} ${d.mac?.slice(-5) ?? ""}` : d.mac ?? d.ips[0] ?? d.id);

function bytes(n: number): string {
  const u = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${u[i]}`;
}

const NEW_MS = 24 * 3_600_000;

export function devicesPage(): void {
  const list = $("#devices")!;
  async function load(): Promise<void> {
    try {
      const devices = listOf<Device>(await api<unknown>("/v1/devices"), "devices");
      clear(list);
      for (const d of devices) {
        const fresh = Date.now() - toMs(d.first_seen) < NEW_MS;
        list.append(
          h("li", { class: "card device" },
            h("span", { class: `dot ${d.online ? "on" : "off"}`, title: d.online ? "online" : "offline", "aria-label": d.online ? "online" : "offline" }),
            h("div", { class: "card-main" },
              h("a", { class: "title", href: `/devices/${encodeURIComponent(d.id)}` }, deviceLabel(d)),
              h("div", { class: "meta" },
                d.learned ? h("span", { class: "tag", title: "seen in the router's first hour: learned with the inventory" }, "learned") : fresh ? h("span", { class: "tag new" }, "new") : null,
                d.vendor ? h("span", {}, d.vendor) : d.randomized_mac ? h("span", { class: "tag" }, "private MAC") : null,
                d.ips[0] ? h("span", {}, d.ips[0]) : null,
                ...d.tags.map((t) => h("span", { class: "tag" }, t)),
              ),
              h("div", { class: "meta" }, "first seen ", timeEl(d.first_seen, age(d.first_seen)), " · last ", timeEl(d.last_seen, age(d.last_seen))),
            ),
          ),
        );
      }
      $("#empty")!.hidden = devices.length > 0;
    } catch (e) {
      showMsg(e instanceof Error ? e.message : String(e));
    }
  }
  setInterval(() => void load(), 60_000);
  void load();
}

function bars(el: Element, buckets: Bucket[], label: (b: Bucket) => string, href?: (b: Bucket) => string): void {
  clear(el);
  const max = Math.max(1, ...buckets.map((b) => b.bytes_out + b.bytes_in));
  for (const b of buckets.slice(0, 10)) {
    const total = b.bytes_out + b.bytes_in;
    const bar = h("span", { class: "bar", "aria-hidden": "true" });
    // CSSOM, not a style attribute: the CSP forbids inline styles.
    bar.style.width = `${Math.max(2, Math.round((total / max) * 100))}%`;
    el.append(
      h("li", {},
        href ? h("a", { href: href(b) }, label(b)) : h("span", {}, label(b)),
        h("span", { class: "n" }, `${bytes(total)} · ${b.sessions} sessions`),
        bar,
      ),
    );
  }
  if (!buckets.length) el.append(h("li", { class: "empty" }, "Nothing in the last 7 days."));
}

/** Bytes per hour as SVG bars; hours from 22:00 to 06:00 (the viewer's local time) shaded. */
function hourly(el: Element, hours: { hour: number; bytes_out: number; bytes_in: number }[]): void {
  clear(el);
  const end = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
  const start = end - 7 * 24 * 3_600_000;
  const n = 7 * 24, w = 2, H = 80;
  const by = new Map(hours.map((x) => [x.hour, x.bytes_out + x.bytes_in]));
  const max = Math.max(1, ...by.values());
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${n * w} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", "hours");
  for (let i = 0; i < n; i++) {
    const t = start + i * 3_600_000;
    const hr = new Date(t).getHours();
    if (hr >= 22 || hr < 6) {
      const r = document.createElementNS(ns, "rect");
      r.setAttribute("x", String(i * w));
      r.setAttribute("y", "0");
      r.setAttribute("width", String(w));
      r.setAttribute("height", String(H));
      r.setAttribute("class", "night");
      svg.append(r);
    }
    const v = by.get(t) ?? 0;
    if (!v) continue;
    const bh = Math.max(1, (v / max) * H);
    const r = document.createElementNS(ns, "rect");
    r.setAttribute("x", String(i * w));
    r.setAttribute("y", String(H - bh));
    r.setAttribute("width", String(w));
    r.setAttribute("height", String(bh));
    r.setAttribute("class", "vol");
    const title = document.createElementNS(ns, "title");
    title.textContent = `${new Date(t).toLocaleString()}: ${bytes(v)}`;
    r.append(title);
    svg.append(r);
  }
  el.append(svg);
}

export function devicePage(): void {
  const id = decodeURIComponent(location.pathname.split("/")[2] ?? "");
  const box = $("#device")!;
  const base = `/v1/devices/${encodeURIComponent(id)}`;

  function render(d: Device): void {
    document.title = `${deviceLabel(d)} · Porchlight`;
    $("h1")!.textContent = deviceLabel(d);
    clear(box);
    const name = h("input", { name: "name", value: d.name ?? "", maxlength: 64, placeholder: "Living-room TV", autocomplete: "off" });
    const tags = h("input", { name: "tags", value: d.tags.join(" "), placeholder: "iot camera", autocomplete: "off" });
    box.append(
      h("div", { class: "card" },
        h("dl", { class: "kv" },
          h("dt", {}, "Status"), h("dd", {}, h("span", { class: `dot ${d.online ? "on" : "off"}` }), d.online ? " online" : " offline"),
          h("dt", {}, "MAC"), h("dd", {}, d.mac ?? "—", d.randomized_mac ? " (private, randomized)" : ""),
          h("dt", {}, "Vendor"), h("dd", {}, d.vendor ?? "—"),
          h("dt", {}, "Hostname"), h("dd", {}, d.hostname ?? "—"),
          h("dt", {}, "Addresses"), h("dd", {}, d.ips.join(", ") || "—"),
          h("dt", {}, "First seen"), h("dd", {}, timeEl(d.first_seen)),
          h("dt", {}, "Last seen"), h("dd", {}, timeEl(d.last_seen)),
        ),
        isAdmin()
          ? h("form", { class: "filters", onsubmit: async (ev: Event) => {
              ev.preventDefault();
              try {
                const body = { name: name.value.trim() || null, tags: tags.value.split(/[\s,]+/).filter(Boolean) };
                render(await api<Device>(base, { method: "PATCH", body }));
                showMsg("Saved", "ok");
              } catch (e) {
                showMsg(e instanceof Error ? e.message : String(e));
              }
            } },
              h("label", { class: "field" }, h("span", {}, "Name"), name),
              h("label", { class: "field" }, h("span", {}, "Tags"), tags),
              h("button", { type: "submit", class: "btn primary" }, "Save"))
          : null,
      ),
    );
  }

  async function load(): Promise<void> {
    try {
      const d = await api<Device>(base);
      render(d);
      const [countries, orgs, domains, hours, alerts] = await Promise.all([
        api<{ buckets: Bucket[] }>(`${base}/destinations?by=country&last=7d`),
        api<{ buckets: (Bucket & { key: number })[] }>(`${base}/destinations?by=asn&last=7d`),
        api<{ buckets: Bucket[] }>(`${base}/destinations?by=domain&last=7d`),
        api<{ hours: { hour: number; bytes_out: number; bytes_in: number }[] }>(`${base}/hourly?last=7d`),
        api<unknown>("/v1/alerts?limit=200"),
      ]);
      bars($("#countries")!, countries.buckets, (b) => String(b.key));
      bars($("#orgs")!, orgs.buckets, (b) => `AS${b.key}`);
      bars($("#domains")!, domains.buckets, (b) => String(b.key));
      hourly($("#hourly")!, hours.hours);
      // Firewall drops and rejects of packets it sent (by its current addresses).
      if (d.ips.length) {
        const q = new URLSearchParams({ last: "7d", limit: "1000" });
        for (const ip of d.ips) q.append("src_ip", ip);
        q.append("action", "drop");
        q.append("action", "reject");
        const blocked = listOf<unknown>(await api<unknown>(`/v1/events?${q}`), "events").length;
        const p = $("#blocked")!;
        clear(p);
        q.delete("limit");
        append(p, blocked ? h("a", { href: `/events?${q}` }, `${blocked >= 1000 ? "1000+" : blocked} blocked`) : "None.");
      }
      // Alerts naming one of its addresses or MACs (in the group or the text).
      const needles = [...d.ips, d.mac ?? "", d.hostname ?? ""].filter(Boolean);
      const mine = listOf<Alert>(alerts, "alerts").filter((a) => needles.some((n) => a.text.includes(n) || a.title.includes(n) || Object.values(a.group ?? {}).includes(n)));
      const list = $("#alerts")!;
      clear(list);
      for (const a of mine) list.append(h("li", {}, sevBadge(a.severity), h("a", { href: `/alerts/${encodeURIComponent(a.id)}` }, a.title), timeEl(a.last_seen, age(a.last_seen))));
      if (!mine.length) list.append(h("li", { class: "empty" }, "No alerts about this device."));
    } catch (e) {
      showMsg(e instanceof Error ? e.message : String(e));
    }
  }
  void load();
}

/** An IPv4 or IPv6 address as alert group values carry them. */
export const IP_RE = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]+)$/i;

type Who = { country?: string; asn?: number; org?: string; domain?: string; device?: string; device_name?: string };

/**
 * Adds who each address is to the elements under `root` marked `data-ip` (an alert's group values):
 * country, AS organisation, passive DNS name, device name. `router` is the alert's resource (the rules
 * name the syslog host there). Best effort: nothing is shown when the router is unknown.
 */
export async function whoIsInto(root: ParentNode, router: string, at: string): Promise<void> {
  const els = Array.from(root.querySelectorAll<HTMLElement>("[data-ip]"));
  if (!els.length || !/^[A-Za-z0-9_.:-]{1,253}$/.test(router)) return;
  const q = new URLSearchParams({ router, at });
  for (const el of els) q.append("ip", el.dataset.ip!);
  try {
    const { addresses } = await api<{ addresses: Record<string, Who> }>(`/v1/network/describe?${q}`);
    for (const el of els) {
      const w = addresses[el.dataset.ip!];
      if (!w) continue;
      const parts = [w.country, w.asn !== undefined ? `AS${w.asn}${w.org ? ` ${w.org}` : ""}` : null, w.domain, w.device_name].filter(Boolean) as string[];
      if (!parts.length && !w.device) continue;
      append(el, " ", h("span", { class: "who-is" }, parts.join(" · ")), w.device ? h("a", { href: `/devices/${encodeURIComponent(w.device)}`, class: "who-dev" }, " device") : null);
    }
  } catch {
    // Not a router, or no network data: the alert reads fine without it.
  }
}
