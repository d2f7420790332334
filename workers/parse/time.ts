/**
 * Time helpers of the syslog format stage: calendar checks, wall time in an IANA zone → UTC instant, and
 * the year inference RFC 3164 needs (its timestamps carry neither year nor zone). Pure: uses only
 * Intl.DateTimeFormat, which Node and workerd both ship with full ICU.
 *
 * Units: every instant is ms since the Unix epoch (UTC); a "wall" value is the same count for a clock
 * reading taken as if it were UTC (Date.UTC of the printed fields).
 */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days in month `month` (1-12) of year `y`. */
export function daysInMonth(y: number, month: number): number {
  return month === 2 && isLeapYear(y) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/**
 * Month number (1-12) of a three-letter English abbreviation starting at `i` ("Jan".."Dec", any case),
 * or 0. Hand-written so the hot path allocates nothing.
 */
export function monthAt(s: string, i: number): number {
  if (i + 3 > s.length) return 0;
  const a = s.charCodeAt(i) | 0x20;
  const b = s.charCodeAt(i + 1) | 0x20;
  const c = s.charCodeAt(i + 2) | 0x20;
  // Pack the lower-cased letters into one number and compare against the 12 known values.
  switch ((a << 16) | (b << 8) | c) {
    case 0x6a616e: return 1; // jan
    case 0x666562: return 2; // feb
    case 0x6d6172: return 3; // mar
    case 0x617072: return 4; // apr
    case 0x6d6179: return 5; // may
    case 0x6a756e: return 6; // jun
    case 0x6a756c: return 7; // jul
    case 0x617567: return 8; // aug
    case 0x736570: return 9; // sep
    case 0x6f6374: return 10; // oct
    case 0x6e6f76: return 11; // nov
    case 0x646563: return 12; // dec
    default: return 0;
  }
}

/** True when a three-letter English weekday abbreviation ("Mon".."Sun", any case) starts at `i`. */
export function weekdayAt(s: string, i: number): boolean {
  if (i + 3 > s.length) return false;
  const a = s.charCodeAt(i) | 0x20;
  const b = s.charCodeAt(i + 1) | 0x20;
  const c = s.charCodeAt(i + 2) | 0x20;
  switch ((a << 16) | (b << 8) | c) {
    case 0x6d6f6e: // mon
    case 0x747565: // tue
    case 0x776564: // wed
    case 0x746875: // thu
    case 0x667269: // fri
    case 0x736174: // sat
    case 0x73756e: // sun
      return true;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Zone offsets

interface ZoneCache {
  /** null when the zone name is not a valid IANA zone (then it is treated as UTC). */
  fmt: Intl.DateTimeFormat | null;
  /** Offset (ms, local − UTC) per 15-minute slot of UTC time: zone transitions fall on such boundaries. */
  slots: Map<number, number>;
}

const SLOT_MS = 15 * 60_000;
const MAX_SLOTS_PER_ZONE = 20_000;
const MAX_ZONES = 500;
const zones = new Map<string, ZoneCache>();

function zoneCache(zone: string): ZoneCache {
  let z = zones.get(zone);
  if (z) return z;
  let fmt: Intl.DateTimeFormat | null = null;
  try {
    fmt = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  } catch {
    fmt = null; // RangeError: unknown zone. Documented fallback: UTC.
  }
  if (zones.size >= MAX_ZONES) zones.clear();
  z = { fmt, slots: new Map() };
  zones.set(zone, z);
  return z;
}

function isUtcName(zone: string): boolean {
  return zone === "UTC" || zone === "Etc/UTC" || zone === "GMT" || zone === "Z" || zone === "";
}

/** Offset of `zone` from UTC at instant `t` (ms), in ms (positive east of Greenwich). Unknown zone → 0. */
export function zoneOffsetAt(zone: string, t: number): number {
  if (isUtcName(zone) || !Number.isFinite(t)) return 0;
  const z = zoneCache(zone);
  if (!z.fmt) return 0;
  const slot = Math.floor(t / SLOT_MS);
  const hit = z.slots.get(slot);
  if (hit !== undefined) return hit;
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  for (const p of z.fmt.formatToParts(slot * SLOT_MS)) {
    switch (p.type) {
      case "year": y = +p.value; break;
      case "month": mo = +p.value; break;
      case "day": d = +p.value; break;
      case "hour": h = +p.value; break;
      case "minute": mi = +p.value; break;
      case "second": s = +p.value; break;
    }
  }
  const off = Date.UTC(y, mo - 1, d, h, mi, s) - slot * SLOT_MS;
  if (z.slots.size >= MAX_SLOTS_PER_ZONE) z.slots.clear();
  z.slots.set(slot, off);
  return off;
}

/** True when `zone` is a usable IANA zone name (or a UTC alias). */
export function isValidZone(zone: string): boolean {
  return isUtcName(zone) || zoneCache(zone).fmt !== null;
}

/**
 * UTC instant of a wall-clock reading in `zone`. In a DST gap (a wall time that never happened) the
 * reading is taken with the offset before the gap (02:30 on a spring-forward night → 03:30 summer time);
 * in an overlap the first (earlier) instant wins. Same as Temporal's "compatible" disambiguation.
 */
export function wallToUtc(wall: number, zone: string): number {
  if (isUtcName(zone)) return wall;
  const DAY = 86_400_000;
  const before = zoneOffsetAt(zone, wall - DAY);
  const after = zoneOffsetAt(zone, wall + DAY);
  if (before === after) {
    // No transition within a day (the common case) unless two cancel out; verify cheaply.
    const t = wall - before;
    if (zoneOffsetAt(zone, t) === before) return t;
  }
  const tBefore = wall - before;
  const tAfter = wall - after;
  const okBefore = zoneOffsetAt(zone, tBefore) === before;
  const okAfter = zoneOffsetAt(zone, tAfter) === after;
  if (okBefore && okAfter) return Math.min(tBefore, tAfter);
  if (okBefore) return tBefore;
  if (okAfter) return tAfter;
  return tBefore;
}

// ---------------------------------------------------------------------------------------------------
// Year inference

/**
 * How far into the future (relative to the receive time) an RFC 3164 timestamp may lie before it is taken
 * to belong to the previous year. Covers clock skew and a misconfigured zone (≤ 26 h apart) with margin.
 */
export const FUTURE_TOLERANCE_MS = 3 * 24 * 3600_000;

/**
 * Instant of a year-less wall time (month 1-12, day, h, m, s, ms) in `zone`, choosing the latest year
 * among (receive year + 1, receive year, receive year − 1, …) that does not put it more than
 * FUTURE_TOLERANCE_MS after `receivedAt`. So "Dec 31 23:59" received on Jan 1 is last year, and a device
 * a few hours ahead at New Year gets next year. Returns undefined when the day does not exist (Feb 30).
 */
export function inferYear(
  month: number, day: number, h: number, mi: number, s: number, ms: number, zone: string, receivedAt: number,
): number | undefined {
  // A batch mostly shares one zone, and its receive times one local day (relay lines each carry their
  // own ms): the receive year and month/day test depend only on that day, so they are memoised by it.
  if (zone !== memo.zone || receivedAt !== memo.receivedAt) {
    const localMs = receivedAt + zoneOffsetAt(zone, receivedAt);
    const day = Math.floor(localMs / 86_400_000);
    memo.receivedAt = receivedAt;
    if (zone !== memo.zone || day !== memo.day) {
      const local = new Date(localMs);
      memo.zone = zone;
      memo.day = day;
      memo.year = local.getUTCFullYear();
      // Next year is possible only when the receive time is within the tolerance of New Year.
      memo.nextYearPossible = local.getUTCMonth() === 11 && local.getUTCDate() * 86_400_000 + FUTURE_TOLERANCE_MS > 31 * 86_400_000;
    }
  }
  const recvYear = memo.year;
  if (!Number.isFinite(recvYear)) return undefined;
  const limit = receivedAt + FUTURE_TOLERANCE_MS;
  // Feb 29 may need up to 4 years back to find a leap year, so try a few.
  for (let y = memo.nextYearPossible ? recvYear + 1 : recvYear; y >= recvYear - 4; y--) {
    if (day > daysInMonth(y, month)) continue;
    const t = wallToUtc(utcMs(y, month, day, h, mi, s, ms), zone);
    if (t <= limit) return t;
  }
  return undefined;
}

const memo = { zone: "", receivedAt: NaN, day: NaN, year: 0, nextYearPossible: false };

/**
 * ms since epoch of a UTC calendar reading (month 1-12), for every year including 0-99 (Date.UTC maps
 * those to 1900-1999). Pure arithmetic (days-from-civil, H. Hinnant), no Date object: this is the hot
 * path of every timestamped line. Fields out of range are the caller's to reject.
 */
export function utcMs(y: number, month: number, day: number, h: number, mi: number, s: number, ms: number): number {
  const yy = month <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146_097 + doe - 719_468;
  return days * 86_400_000 + ((h * 60 + mi) * 60 + s) * 1000 + ms;
}

// ---------------------------------------------------------------------------------------------------
// RFC 3339 / ISO 8601 timestamps

/** Value of the decimal digit at `i`, or -1. */
export function digitAt(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function twoDigits(s: string, i: number): number {
  const a = digitAt(s, i);
  const b = digitAt(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

/**
 * What scanIso read, in an object its caller owns (newIsoScan). `wall` is the reading as if UTC (ms),
 * `micros` the µs below it (0-999); `offsetMs` is meaningful only when `hasZone`; `end` is the index
 * after the time. On failure `errAt` is the index of the first offending character.
 */
export interface IsoScan {
  wall: number;
  micros: number;
  offsetMs: number;
  hasZone: boolean;
  end: number;
  errAt: number;
  dayOutOfRange: boolean;
}

export const newIsoScan = (): IsoScan => ({ wall: 0, micros: 0, offsetMs: 0, hasZone: false, end: 0, errAt: 0, dayOutOfRange: false });

/** Weight of fraction digit k (0-based): digits 0-2 are ms, 3-5 are µs. */
const FRACTION_WEIGHT = [100, 10, 1, 100, 10, 1];

/**
 * scanIso's failure: records where and answers false. A module function, not a closure made per call:
 * the bundler wraps each named closure in a call that sets its name (Object.defineProperty), once per
 * scanned time.
 */
function failAt(iso: IsoScan, at: number): boolean {
  iso.errAt = at;
  return false;
}

/**
 * Scans `YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm]` at `i`. strict = RFC 5424 §6.2.3 exactly (upper-case T
 * and Z, 1-6 fraction digits, offset required, existing calendar date). Lenient (real-world ISO 8601 of
 * BSD-style lines) also takes lower-case t/z, a space instead of T, up to 9 fraction digits, ±hhmm or
 * ±hh offsets, no offset at all (hasZone false: the caller applies the source's zone) and second 60.
 * The one reader of RFC 3339 / ISO 8601 text in the Worker: syslog headers and the relay's received_at.
 */
export function scanIso(s: string, i: number, strict: boolean, iso: IsoScan): boolean {
  iso.dayOutOfRange = false;
  let p = i;
  for (let k = 0; k < 4; k++) if (digitAt(s, p + k) < 0) return failAt(iso, p + k);
  const y = digitAt(s, p) * 1000 + digitAt(s, p + 1) * 100 + digitAt(s, p + 2) * 10 + digitAt(s, p + 3);
  p += 4;
  if (s.charCodeAt(p) !== 45 /* - */) return failAt(iso, p);
  p++;
  const mo = twoDigits(s, p);
  if (mo < 1 || mo > 12) return failAt(iso, mo < 0 && digitAt(s, p) >= 0 ? p + 1 : p);
  p += 2;
  if (s.charCodeAt(p) !== 45) return failAt(iso, p);
  p++;
  const d = twoDigits(s, p);
  if (d < 1 || d > 31) return failAt(iso, p);
  p += 2;
  const sep = s.charCodeAt(p);
  if (!(sep === 84 /* T */ || (!strict && (sep === 116 /* t */ || sep === 32)))) return failAt(iso, p);
  p++;
  const h = twoDigits(s, p);
  if (h < 0 || h > 23) return failAt(iso, p);
  p += 2;
  if (s.charCodeAt(p) !== 58 /* : */) return failAt(iso, p);
  p++;
  const mi = twoDigits(s, p);
  if (mi < 0 || mi > 59) return failAt(iso, p);
  p += 2;
  if (s.charCodeAt(p) !== 58) return failAt(iso, p);
  p++;
  let sec = twoDigits(s, p);
  if (sec < 0 || sec > (strict ? 59 : 60)) return failAt(iso, p);
  if (sec === 60) sec = 59; // leap second: keep the instant inside the minute
  p += 2;
  let ms = 0;
  let us = 0;
  if (s.charCodeAt(p) === 46 /* . */ || (!strict && s.charCodeAt(p) === 44 /* , */)) {
    p++;
    const start = p;
    // Lenient: any number of digits (syslog-ng accepts 60); only the first 6 count.
    const max = strict ? 6 : 64;
    while (digitAt(s, p) >= 0) {
      if (p - start >= max) return failAt(iso, p);
      const k = p - start;
      if (k < 6) {
        const w = FRACTION_WEIGHT[k]!;
        if (k < 3) ms += digitAt(s, p) * w;
        else us += digitAt(s, p) * w;
      }
      p++;
    }
    if (p === start) return failAt(iso, p);
  }
  const z = s.charCodeAt(p);
  let offsetMs = 0;
  let hasZone = true;
  if (z === 90 /* Z */ || (!strict && z === 122 /* z */)) {
    p++;
  } else if (z === 43 /* + */ || z === 45 /* - */) {
    const oh = twoDigits(s, p + 1);
    if (oh < 0 || oh > 23) return failAt(iso, p + 1 + (digitAt(s, p + 1) >= 0 && oh > 23 ? 1 : 0));
    let q = p + 3;
    let om = 0;
    if (s.charCodeAt(q) === 58) {
      om = twoDigits(s, q + 1);
      if (om < 0 || om > 59) return failAt(iso, q + 1 + (digitAt(s, q + 1) >= 0 && om > 59 ? 1 : 0));
      q += 3;
    } else if (strict) {
      return failAt(iso, q);
    } else if (twoDigits(s, q) >= 0) {
      om = twoDigits(s, q);
      if (om > 59) return failAt(iso, q);
      q += 2;
    }
    offsetMs = (z === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
    p = q;
  } else {
    if (strict) return failAt(iso, p);
    hasZone = false;
  }
  if (d > daysInMonth(y, mo)) {
    iso.dayOutOfRange = true; // "2003-09-31": well-formed but not a calendar date
    return failAt(iso, p);
  }
  iso.wall = utcMs(y, mo, d, h, mi, sec, ms);
  iso.micros = us;
  iso.offsetMs = offsetMs;
  iso.hasZone = hasZone;
  iso.end = p;
  return true;
}
