/**
 * DOM helpers for the console. Every piece of data goes into the page as text (textContent or an
 * attribute), never as HTML: log lines are attacker-controlled. No inline styles (the CSP forbids
 * them); dynamic sizes use the CSSOM (`el.style.x = ...`), which the CSP allows.
 */
type Attr = string | number | boolean | null | undefined | ((e: Event) => void);
export type Kid = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, Attr> = {}, ...kids: Kid[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "style") throw new Error("inline styles are forbidden by the CSP");
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, ...kids);
  return el;
}

export function append(el: Element, ...kids: Kid[]): void {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    el.append(typeof k === "number" ? String(k) : k);
  }
}

export const $ = <T extends Element = HTMLElement>(sel: string, root: ParentNode = document): T | null => root.querySelector<T>(sel);

export function clear(el: Element): void {
  el.replaceChildren();
}

/** Shows (or hides, when text is empty) the page's message line. */
export function showMsg(text: string, kind: "error" | "ok" = "error"): void {
  const m = $("#msg");
  if (!m) return;
  m.textContent = text;
  m.className = `msg ${kind}`;
  m.hidden = !text;
}

/** ms since epoch from an API time (RFC 3339 string or ms number). */
export function toMs(t: unknown): number {
  if (typeof t === "number") return t;
  if (typeof t === "string") return Date.parse(t);
  return NaN;
}

/** "45s", "3m", "2h", "5d": age of a time, for cards. */
export function age(t: unknown, now = Date.now()): string {
  const ms = now - toMs(t);
  if (!Number.isFinite(ms)) return "";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function duration(ms: number): string {
  const neg = ms < 0;
  let s = Math.abs(Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hh = Math.floor(s / 3600);
  s -= hh * 3600;
  const mm = Math.floor(s / 60);
  s -= mm * 60;
  const txt = d ? `${d}d ${hh}h` : hh ? `${hh}h ${mm}m` : mm ? `${mm}m ${s}s` : `${s}s`;
  return neg ? `-${txt}` : txt;
}

export function fmtTime(t: unknown): string {
  const ms = toMs(t);
  if (!Number.isFinite(ms)) return "";
  return new Date(ms).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function timeEl(t: unknown, text?: string): HTMLTimeElement {
  const ms = toMs(t);
  const iso = Number.isFinite(ms) ? new Date(ms).toISOString() : "";
  return h("time", { datetime: iso, title: iso }, text ?? fmtTime(t));
}

export const isAdmin = (): boolean => document.body.dataset.admin === "1";

/** URLSearchParams of the current location, and a way to replace it without a reload. */
export const params = (): URLSearchParams => new URLSearchParams(location.search);
export function setParams(p: URLSearchParams): void {
  const qs = p.toString();
  history.replaceState(null, "", location.pathname + (qs ? `?${qs}` : ""));
}
