/**
 * The normalized event: Elastic Common Schema (ECS) field sets as nested objects, plus Porchlight's
 * own envelope (`id`, `@timestamp`, `received_at`, `raw`). This is the contract between parsers,
 * storage, rules and the API. Field names follow https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html;
 * values that ECS does not define live under `porchlight.*` (or `labels` for user extractors).
 *
 * Invariants: `raw` is the original line, byte-faithful (after UTF-8 decoding with replacement);
 * `@timestamp` is event time and `received_at` when the edge (or the relay) received the line, both in
 * whole ms since the epoch (UTC) from the parser on, down through rules and storage; they become RFC 3339
 * text only at the edges (`renderTimes`: the API's events), never in between.
 */

export type Outcome = "success" | "failure" | "unknown";

export interface EcsEndpoint {
  ip?: string;
  port?: number;
  mac?: string;
  bytes?: number;
  packets?: number;
  domain?: string;
  address?: string;
  geo?: { country_iso_code?: string; country_name?: string };
  as?: { number?: number; organization?: { name?: string } };
}

export interface EcsEvent {
  id: string;
  /** Event time, ms since the epoch (whole). */
  "@timestamp": number;
  /** Receive time, ms since the epoch (whole). */
  received_at: number;
  raw: string;
  message?: string;
  event: {
    dataset: string;
    kind?: "event" | "alert" | "metric" | "state";
    category?: string[];
    type?: string[];
    action?: string;
    outcome?: Outcome;
    /** Syslog severity code 0..7 (0 = emergency), when the line had a PRI. */
    severity?: number;
    /** How many identical lines this stands for (`message repeated N times`). */
    count?: number;
    /** Where the event came from upstream: `raw` line re-parsed, not the ECS `event.original`. */
    module?: string;
  };
  log?: {
    level?: string;
    syslog?: {
      priority?: number;
      facility?: { code: number; name: string };
      severity?: { code: number; name: string };
      hostname?: string;
      appname?: string;
      procid?: string;
      msgid?: string;
      version?: string;
      structured_data?: Record<string, Record<string, string>>;
    };
  };
  host?: { hostname?: string; ip?: string[]; mac?: string[] };
  process?: { name?: string; pid?: number; command_line?: string; working_directory?: string };
  source?: EcsEndpoint;
  destination?: EcsEndpoint;
  network?: {
    transport?: string;
    direction?: "inbound" | "outbound" | "internal" | "external" | "unknown";
    protocol?: string;
    iana_number?: string;
    bytes?: number;
    packets?: number;
    type?: "ipv4" | "ipv6";
  };
  user?: { name?: string; id?: string; target?: { name?: string }; effective?: { name?: string } };
  dns?: { question?: { name?: string; type?: string }; answers?: { data: string; type?: string }[]; type?: "query" | "answer" };
  rule?: { name?: string; id?: string };
  observer?: {
    ingress?: { interface?: { name?: string } };
    egress?: { interface?: { name?: string } };
    hostname?: string;
  };
  related?: { ip?: string[]; user?: string[]; hosts?: string[] };
  /** User-defined extractor captures (name → value). */
  labels?: Record<string, string>;
  porchlight?: {
    /** Sender's address as the relay (or the edge) saw it. */
    source_ip?: string;
    transport?: "udp" | "tcp" | "tls" | "relp" | "file" | "stdin" | "http";
    /** Set when no parser understood the line; it is stored with `event.dataset = "unparsed"`. */
    parse_error?: string;
    truncated?: boolean;
    /** Fields that program parsers found but ECS has no place for (e.g. conntrack state, TCP flags). */
    fields?: Record<string, string | number | boolean>;
  };
}

/** Reads a dotted ECS path (`source.ip`, `event.category`) from an event. Returns undefined when absent. */
export function getField(event: unknown, path: string): unknown {
  let cur: unknown = event;
  // `@timestamp` and other top-level keys with dots are not nested, so try the whole path first.
  // Own keys only: a path such as `labels.constructor` names data, never an Object.prototype member.
  if (cur && typeof cur === "object" && Object.hasOwn(cur, path)) {
    return (cur as Record<string, unknown>)[path];
  }
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * The event with its times as RFC 3339 UTC text (`2026-01-08T03:37:09.000Z`), for the API: the one
 * place where an event's times become text. Keys keep their order.
 */
export function renderTimes<E extends { "@timestamp": unknown; received_at: unknown }>(e: E): Omit<E, "@timestamp" | "received_at"> & { "@timestamp": string; received_at: string } {
  const out = { ...e } as Record<string, unknown>;
  out["@timestamp"] = isoText(e["@timestamp"]);
  out.received_at = isoText(e.received_at);
  return out as Omit<E, "@timestamp" | "received_at"> & { "@timestamp": string; received_at: string };
}

/** RFC 3339 UTC text of a time in ms (text passes through: a document read back may already hold it). */
export function isoText(t: unknown): string {
  return typeof t === "number" ? new Date(t).toISOString() : String(t);
}
