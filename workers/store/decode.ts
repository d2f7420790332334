/** Row decoding: what any SQL client returns for a row of events, tokens, extractors or sources → its typed row. */
import { apiEvent } from "./rows.ts";
import type { ApiEvent, EventRow, ExtractorRow, SourceRow, TokenRow } from "./types.ts";

export function rowToEvent(r: Record<string, unknown>): EventRow {
  let doc: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(String(r.doc));
    if (parsed && typeof parsed === "object") doc = parsed as Record<string, unknown>;
  } catch {
    doc = { porchlight: { parse_error: "stored document is not JSON" } };
  }
  return {
    id: String(r.id),
    ts: Number(r.ts),
    received_at: Number(r.received_at),
    host: (r.host as string | null) ?? null,
    program: (r.program as string | null) ?? null,
    dataset: String(r.dataset),
    src_ip: (r.src_ip as string | null) ?? null,
    dst_ip: (r.dst_ip as string | null) ?? null,
    src_ip_key: (r.src_ip_key as string | null) ?? null,
    dst_ip_key: (r.dst_ip_key as string | null) ?? null,
    src_port: r.src_port == null ? null : Number(r.src_port),
    dst_port: r.dst_port == null ? null : Number(r.dst_port),
    protocol: (r.protocol as string | null) ?? null,
    user: (r.user as string | null) ?? null,
    action: (r.action as string | null) ?? null,
    outcome: (r.outcome as string | null) ?? null,
    severity: r.severity == null ? null : Number(r.severity),
    class_bits: r.class_bits == null ? null : Number(r.class_bits),
    message: (r.message as string | null) ?? null,
    raw: String(r.raw),
    doc,
  };
}

/** A stored row (as any SQL client returns it) → the API/ECS event. Use it wherever events are read back. */
export function storedEvent(r: Record<string, unknown>): ApiEvent {
  return apiEvent(rowToEvent(r));
}

export const extractorRow = (r: Record<string, unknown>): ExtractorRow => ({
  id: String(r.id),
  name: String(r.name),
  pattern: String(r.pattern),
  program: (r.program as string | null) ?? null,
  host: (r.host as string | null) ?? null,
  enabled: Boolean(Number(r.enabled)),
  created_at: Number(r.created_at),
  updated_at: Number(r.updated_at),
});

export const sourceRow = (r: Record<string, unknown>): SourceRow => ({
  key: String(r.key),
  timezone: String(r.timezone),
  updated_at: Number(r.updated_at),
});

export const tokenRow = (r: Record<string, unknown>): TokenRow => ({
  id: String(r.id),
  name: String(r.name),
  scopes: JSON.parse(String(r.scopes)) as string[],
  created_at: Number(r.created_at),
  last_used_at: r.last_used_at == null ? null : Number(r.last_used_at),
});
