/**
 * Per-source clock skew: how far a source's event times sit from when they were received
 * (@timestamp - received_at), from its recent events. A median skew within a couple of minutes of a
 * whole number of hours (and at least one hour) is a time-zone mistake, not a drifting clock: the
 * source logs local time without a zone (RFC 3164) and is read in the wrong zone. The advice names the
 * zone to set on the source (PUT /v1/sources/host:<name>): an `Etc/GMT±N` zone whose offset undoes
 * the skew, from the zone the source is read in now.
 */

export interface SkewReport {
  /** The source key the advice is for (`host:<hostname>`). */
  key: string;
  /** Events measured (the most recent). */
  events: number;
  /** Median of @timestamp - received_at, ms (positive: events stamped in the future). */
  skew_ms: number;
  /** Whole hours when the skew looks like a zone offset, else null. */
  offset_hours: number | null;
  /** The zone to set on the source, when offset_hours is set. */
  suggested_timezone: string | null;
  /** A sentence for the web view and the API, when offset_hours is set. */
  warning: string | null;
}

const HOUR = 3_600_000;
/** How close to a whole hour a median skew must be to be called a zone offset, ms (relay and network delay). */
export const WHOLE_HOUR_TOLERANCE_MS = 2 * 60_000;
/** Fewest events before a source is judged. */
export const MIN_EVENTS = 5;

/** Minutes east of UTC of `zone` at `at` (ms); 0 for an unknown zone. */
export function zoneOffsetMinutes(zone: string, at: number): number {
  try {
    const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" }).formatToParts(at);
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
    const local = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
    return Math.round((local - Math.floor(at / 1000) * 1000) / 60_000);
  } catch {
    return 0;
  }
}

/** Etc/GMT zones have inverted signs: UTC+2 is Etc/GMT-2. */
function etcZone(eastHours: number): string {
  return eastHours === 0 ? "UTC" : `Etc/GMT${eastHours > 0 ? "-" : "+"}${Math.abs(eastHours)}`;
}

/**
 * Judges each source from (host, skew) samples. `zones`: the zone each source key is read in now
 * (default UTC). Sources with fewer than MIN_EVENTS samples are left out.
 */
export function skewReports(samples: readonly { host: string; skew: number }[], zones: ReadonlyMap<string, string>, now: number): SkewReport[] {
  const byHost = new Map<string, number[]>();
  for (const s of samples) {
    const list = byHost.get(s.host);
    if (list) list.push(s.skew);
    else byHost.set(s.host, [s.skew]);
  }
  const out: SkewReport[] = [];
  for (const [host, xs] of [...byHost].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (xs.length < MIN_EVENTS) continue;
    xs.sort((a, b) => a - b);
    const skew = xs[xs.length >> 1]!;
    const hours = Math.round(skew / HOUR);
    const whole = hours !== 0 && Math.abs(skew - hours * HOUR) <= WHOLE_HOUR_TOLERANCE_MS;
    const key = `host:${host.toLowerCase()}`;
    const zone = zones.get(key) ?? "UTC";
    // Read in `zone`, the events came out `hours` ahead: the source's clock runs `hours` further east.
    const east = Math.round(zoneOffsetMinutes(zone, now) / 60) + hours;
    const suggested = whole && Math.abs(east) <= 14 ? etcZone(east) : null;
    out.push({
      key,
      events: xs.length,
      skew_ms: skew,
      offset_hours: whole ? hours : null,
      suggested_timezone: suggested,
      warning: whole
        ? `${host}'s events are stamped ${Math.abs(hours)} h ${hours > 0 ? "in the future" : "in the past"} (read as ${zone}): it probably logs local time. Set its time zone${suggested ? ` to ${suggested} (or its IANA name)` : ""}.`
        : null,
    });
  }
  return out;
}
