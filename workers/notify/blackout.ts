/**
 * Blackout windows, pure: is an instant inside one, when does the current window end (the digest's
 * alarm time) and when does the next one start (the web view shows it). Recurring windows are local
 * wall time in an IANA zone and may cross midnight ("22:00" to "07:00" starts on each listed day).
 * Units: ms since the epoch; DST gaps and overlaps resolve as in wallToUtc (Temporal's "compatible").
 */
import { wallToUtc, zoneOffsetAt } from "../parse/time.ts";
import { DAYS, type AlertSummary, type Blackout } from "./model.ts";

const DAY = 86_400_000;

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Windows of `b` that start between `from - 2 days` and `to` (ms), in order. */
function windows(b: Blackout, from: number, to: number): { start: number; end: number }[] {
  if (b.start !== undefined && b.end !== undefined) return [{ start: b.start, end: b.end }];
  if (!b.days || !b.from || !b.to) return [];
  const zone = b.timezone ?? "UTC";
  const fromMin = minutes(b.from);
  const toMin = minutes(b.to);
  const out: { start: number; end: number }[] = [];
  // Local midnight of each day, walking from two days before `from` (a window may have started then).
  const firstWallDay = Math.floor((from + zoneOffsetAt(zone, from)) / DAY) - 2;
  const lastWallDay = Math.floor((to + zoneOffsetAt(zone, to)) / DAY) + 1;
  for (let d = firstWallDay; d <= lastWallDay; d++) {
    const weekday = DAYS[new Date(d * DAY).getUTCDay()]!;
    if (!b.days.includes(weekday)) continue;
    const start = wallToUtc(d * DAY + fromMin * 60_000, zone);
    const end = wallToUtc((toMin > fromMin ? d : d + 1) * DAY + toMin * 60_000, zone);
    out.push({ start, end });
  }
  return out;
}

/** The window containing `now` (start <= now < end), or null. */
export function activeWindow(b: Blackout, now: number): { start: number; end: number } | null {
  for (const w of windows(b, now, now)) if (w.start <= now && now < w.end) return w;
  return null;
}

/** The first window start after `now` within 8 days (recurring) or the one-off start; null when none. */
export function nextStart(b: Blackout, now: number): number | null {
  for (const w of windows(b, now, now + 8 * DAY)) if (w.start > now) return w.start;
  return null;
}

/** The next daily digest time after `now` (ms): `at` local time in `zone`, tomorrow when today's has passed. */
export function nextDaily(at: string, zone: string, now: number): number {
  const m = minutes(at);
  const to = `${String(Math.floor(((m + 1) % 1440) / 60)).padStart(2, "0")}:${String((m + 1) % 60).padStart(2, "0")}`;
  const b: Blackout = { id: "", name: "", filter: { channels: [], rules: [], tags: [] }, days: [...DAYS], from: at, to, timezone: zone };
  return nextStart(b, now)!;
}

/** Does blackout `b` cover this alert on this channel? (Empty filter lists match everything.) */
export function blackoutCovers(b: Blackout, channelId: string, a: AlertSummary): boolean {
  const f = b.filter;
  if (f.channels.length && !f.channels.includes(channelId)) return false;
  if (f.rules.length && !f.rules.includes(a.rule_id)) return false;
  if (f.tags.length && !a.tags.some((t) => f.tags.includes(t))) return false;
  return true;
}
