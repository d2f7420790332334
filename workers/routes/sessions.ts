/**
 * `GET /v1/sessions` (read scope): conntrack sessions as ECS documents, newest first (by start), with the
 * events API's conventions: `last` or `from`/`to` (RFC 3339, inclusive, on the session start), `limit`,
 * `cursor`, `format` (json | ndjson | csv); filters `device` (device id), `src_ip`, `dst_ip` (IP or CIDR),
 * `cidr` (either end), `country` and `asn` (either end), `domain` (destination domain or a subdomain of
 * it), `port` (either end; a port or lo-hi), `transport`, `router`. Repeats of a filter are OR-ed,
 * filters AND-ed; unknown parameters are a 400.
 *
 * `GET|PUT /v1/network/settings` (read | admin): conntrack timeouts per protocol (seconds) and the
 * storage of conntrack lines per router ("raw" keeps them as events too, "sessions" keeps only sessions).
 */
import type { Hono } from "hono";
import { z } from "zod";
import { requireScope, type AppEnv } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { apiSession } from "../network/session-doc.ts";
import { forgetNetworkSettings, networkSettings } from "../network/hook.ts";
import { storeOf } from "../store/d1.ts";
import { canonicalIp } from "../parse/ip.ts";
import { describeAddresses, type Who } from "../network/describe.ts";
import type { SessionColumn, SessionCondition, SessionRow, SessionsQuery } from "../store/network.ts";
import { csvCell, DURATION_MS, invalid, ip, parseScalars, port, scalars } from "./events.ts";
import { parseJsonBody } from "./json-body.ts";

const text = z.string().min(1).max(256);
const country = z.string().regex(/^[A-Za-z]{2}$/, "an ISO 3166-1 alpha-2 country code (US, DE)").transform((s) => s.toUpperCase());
const asn = z.string().regex(/^(?:AS)?\d{1,10}$/i, "an AS number (15169 or AS15169)").transform((s) => Number(s.replace(/^AS/i, "")));
const domain = z.string().min(1).max(253).regex(/^[A-Za-z0-9_.-]+$/, "a domain name").transform((s) => s.toLowerCase().replace(/\.$/, ""));

type Filter = { schema: z.ZodType<unknown> } & ({ kind: "in" | "range"; columns: SessionColumn[] } | { kind: "domain" });
const FILTERS: Record<string, Filter> = {
  device: { kind: "in", columns: ["device_id"], schema: text },
  src_ip: { kind: "range", columns: ["src_ip_key"], schema: ip },
  dst_ip: { kind: "range", columns: ["dst_ip_key"], schema: ip },
  cidr: { kind: "range", columns: ["src_ip_key", "dst_ip_key"], schema: ip },
  country: { kind: "in", columns: ["dst_country", "src_country"], schema: country },
  asn: { kind: "in", columns: ["dst_asn", "src_asn"], schema: asn },
  domain: { kind: "domain", schema: domain },
  port: { kind: "range", columns: ["dst_port", "src_port"], schema: port },
  transport: { kind: "in", columns: ["transport"], schema: text.transform((s) => s.toLowerCase()) },
  router: { kind: "in", columns: ["router"], schema: text.transform((s) => s.toLowerCase()) },
};



/** Parses `last` (or from/to) into a start time bound, ms; shared with the device routes. */
export function sinceMs(last: string | undefined, nowMs: number, fallback: string): number {
  const l = last ?? fallback;
  if (!/^\d{1,6}[smhdw]$/.test(l)) throw invalid("last", "a duration such as 15m, 6h, 7d");
  return nowMs - Number(l.slice(0, -1)) * DURATION_MS[l.slice(-1)]!;
}

export function parseSessionsSearch(params: URLSearchParams, nowMs: number): { query: SessionsQuery; format: "json" | "ndjson" | "csv" } {
  const single: Record<string, string> = {};
  const grouped = new Map<string, string[]>();
  for (const [k, v] of params) {
    if (Object.hasOwn(scalars.shape, k)) {
      if (k in single) throw invalid(k, "given more than once");
      single[k] = v;
    } else if (Object.hasOwn(FILTERS, k)) grouped.set(k, [...(grouped.get(k) ?? []), v]);
    else throw new PorchlightError("validation_failed", `Unknown parameter '${k}'`, { param: k });
  }
  const conditions: SessionCondition[] = [];
  for (const [k, values] of grouped) {
    const f = FILTERS[k]!;
    const parsed = values.map((v) => {
      const r = f.schema.safeParse(v);
      if (!r.success) throw invalid(k, r.error.issues[0]?.message ?? "invalid value");
      return r.data;
    });
    if (f.kind === "domain") conditions.push({ kind: "domain", values: parsed as string[] });
    else if (f.kind === "in") conditions.push({ kind: "in", columns: f.columns, values: parsed as (string | number)[] });
    else conditions.push({ kind: "range", columns: f.columns, ranges: parsed as [string | number, string | number][] });
  }
  const { format, ...page } = parseScalars(single, nowMs);
  return { query: { ...page, conditions }, format };
}

const CSV: [string, (r: SessionRow) => unknown][] = [
  ["id", (r) => r.id], ["event.start", (r) => new Date(r.start).toISOString()], ["event.end", (r) => new Date(r.end).toISOString()],
  ["event.duration", (r) => (r.end_reason === "destroy_only" ? null : (r.end - r.start) * 1_000_000)], ["network.transport", (r) => r.transport],
  ["source.ip", (r) => r.src_ip], ["source.port", (r) => r.src_port], ["source.bytes", (r) => r.src_bytes], ["source.packets", (r) => r.src_packets],
  ["destination.ip", (r) => r.dst_ip], ["destination.port", (r) => r.dst_port], ["destination.bytes", (r) => r.dst_bytes], ["destination.packets", (r) => r.dst_packets],
  ["destination.domain", (r) => r.dst_domain], ["destination.geo.country_iso_code", (r) => r.dst_country], ["destination.as.number", (r) => r.dst_asn],
  ["destination.as.organization.name", (r) => r.dst_org], ["source.geo.country_iso_code", (r) => r.src_country], ["source.as.number", (r) => r.src_asn],
  ["device", (r) => r.device_id], ["observer.hostname", (r) => r.router], ["end_reason", (r) => r.end_reason],
];

const Timeouts = z.object({
  tcp: z.number().int().min(1).max(5 * 86_400),
  udp: z.number().int().min(1).max(86_400),
  icmp: z.number().int().min(1).max(86_400),
  other: z.number().int().min(1).max(86_400),
}).partial();
const SettingsBody = z.object({
  timeouts: Timeouts.optional(),
  storage: z.record(z.string().min(1).max(253).regex(/^[A-Za-z0-9_.:-]+$/, "a router's syslog host or address"), z.enum(["raw", "sessions"])).optional(),
}).strict();

export function registerSessionRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/sessions", requireScope("read"), async (c) => {
    const { query, format } = parseSessionsSearch(new URL(c.req.url).searchParams, Date.now());
    const rows = await storeOf(c.env).querySessions({ ...query, limit: query.limit + 1 });
    const more = rows.length > query.limit;
    if (more) rows.length = query.limit;
    const nextCursor = more ? rows[rows.length - 1]!.id : null;
    const headers: Record<string, string> = {};
    if (nextCursor) headers["x-next-cursor"] = nextCursor;
    if (format === "ndjson") {
      headers["content-type"] = "application/x-ndjson; charset=utf-8";
      return c.body(rows.map((r) => JSON.stringify(apiSession(r)) + "\n").join(""), 200, headers);
    }
    if (format === "csv") {
      headers["content-type"] = "text/csv; charset=utf-8";
      let out = CSV.map(([n]) => n).join(",") + "\r\n";
      for (const r of rows) out += CSV.map(([, get]) => csvCell(get(r))).join(",") + "\r\n";
      return c.body(out, 200, headers);
    }
    return c.json({ sessions: rows.map((r) => apiSession(r)), next_cursor: nextCursor }, 200, headers);
  });

  // Who addresses are (alert detail): country, AS, passive DNS name, device id and the user's name for it.
  app.get("/v1/network/describe", requireScope("read"), async (c) => {
    const q = new URL(c.req.url).searchParams;
    const router = q.get("router")?.toLowerCase();
    if (!router || !/^[a-z0-9_.:-]{1,253}$/.test(router)) throw invalid("router", "a router's syslog host or address");
    const ips = q.getAll("ip").map((s) => canonicalIp(s.trim()));
    if (!ips.length || ips.length > 50 || ips.some((x) => x === null)) throw invalid("ip", "1-50 IP addresses");
    const at = q.get("at") ? Date.parse(q.get("at")!) : Date.now();
    if (!Number.isFinite(at)) throw invalid("at", "an RFC 3339 time");
    const who = await describeAddresses(c.env, router, (ips as string[]).map((ip) => ({ ip, ts: at })));
    const store = storeOf(c.env);
    const out: Record<string, Who & { device_name?: string }> = {};
    await Promise.all((ips as string[]).map(async (ip, i) => {
      const w: Who & { device_name?: string } = { ...who[i] };
      if (w.device) {
        const d = await store.getDevice(w.device, Date.now());
        const name = d?.name ?? d?.hostname;
        if (name) w.device_name = name;
      }
      out[ip] = w;
    }));
    return c.json({ addresses: out });
  });

  app.get("/v1/network/settings", requireScope("read"), async (c) => c.json(await networkSettings(storeOf(c.env))));

  app.put("/v1/network/settings", requireScope("admin"), async (c) => {
    const body = await parseJsonBody(c.req.raw, SettingsBody);
    forgetNetworkSettings();
    const store = storeOf(c.env);
    const cur = await networkSettings(store);
    const next = { timeouts: { ...cur.timeouts, ...body.timeouts }, storage: { ...cur.storage, ...lower(body.storage ?? {}) } };
    await store.writeNetworkSetting("settings", next, Date.now());
    forgetNetworkSettings();
    return c.json(next);
  });
}

/** Router keys in lower case; the sources API's `host:`/`ip:` prefixes are accepted and dropped. */
const lower = (o: Record<string, "raw" | "sessions">) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.toLowerCase().replace(/^(?:host|ip):/, ""), v]));
