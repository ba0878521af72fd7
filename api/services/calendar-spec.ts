import { DAYS_OF_WEEK, MONTHS, type CalendarSpec } from '@temporalio/client';

/**
 * Business calendars as Temporal Schedule `skip` specs, and as concrete local windows for display. Pure: no I/O.
 *
 * Every date and time here is local wall-clock time, read in the timezone of the schedule that uses the calendar (a
 * holiday on Dec 25 is Dec 25 wherever the schedule runs), exactly as Temporal matches skip specs: literal clock time,
 * no DST adjustment. Resolution is the minute: each spec covers seconds 0–59 of the minutes it covers.
 *
 * A CalendarSpec matches the cross product of its fields, so a date range is cut into pieces that are each a product
 * (partial first month, full months, partial last month; full years in between), and a time window into partial first
 * hour, full hours, partial last hour. The TS SDK defaults an omitted second/minute/hour to 0, so every spec sets them.
 */

export type CalendarEventKind = 'holiday' | 'closure' | 'maintenance' | 'business_hours';
export const CALENDAR_EVENT_KINDS: readonly CalendarEventKind[] = ['holiday', 'closure', 'maintenance', 'business_hours'];

export interface CalendarEventRow {
  id: number;
  calendar_id: number;
  kind: CalendarEventKind;
  name: string;
  /** `YYYY-MM-DD` */
  start_date: string | null;
  end_date: string | null;
  /** `HH:MM`; an end time may be `24:00` (midnight at the end of the day). */
  start_time: string | null;
  end_time: string | null;
  recurs_yearly: boolean;
  /** 0 = Sunday … 6 = Saturday (business_hours). */
  days_of_week: number[] | null;
}

export interface CalendarOccurrence {
  event_id: number;
  calendar_id: number;
  name: string;
  kind: CalendarEventKind;
  /** Local `YYYY-MM-DDTHH:MM`, inclusive. */
  starts_at_local: string;
  /** Local `YYYY-MM-DDTHH:MM`, exclusive. */
  ends_at_local: string;
}

const MINUTES_PER_DAY = 1440;

// ---------------------------------------------------------------------------------------------------------------------
// Local dates

interface Ymd {
  y: number;
  m: number;
  d: number;
}

/** Days in a month; in a yearly calendar February always has 29 (a Feb 29 spec simply never matches in other years). */
type LastDay = (y: number, m: number) => number;
const realLastDay: LastDay = (y, m) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const yearlyLastDay: LastDay = (y, m) => (m === 2 ? 29 : realLastDay(2001, m));

export function parseLocalDate(s: string): Ymd {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!match) throw new RangeError(`Not a YYYY-MM-DD date: ${s}`);
  return { y: Number(match[1]), m: Number(match[2]), d: Number(match[3]) };
}

/** `HH:MM` → minutes since midnight (`24:00` → 1440). */
export function parseLocalTime(s: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(s);
  if (!match) throw new RangeError(`Not an HH:MM time: ${s}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/** A real calendar date (Feb 30 and month 13 are not). */
export function isValidLocalDate(s: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!match) return false;
  const { y, m, d } = parseLocalDate(s);
  return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= realLastDay(y, m);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const fmtDate = (p: Ymd) => `${pad(p.y, 4)}-${pad(p.m)}-${pad(p.d)}`;
const fmtLocal = (p: Ymd, minutes: number) => `${fmtDate(p)}T${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`;
const cmpYmd = (a: Ymd, b: Ymd) => a.y - b.y || a.m - b.m || a.d - b.d;

function addDays(p: Ymd, n: number, lastDay: LastDay): Ymd {
  let { y, m, d } = p;
  d += n;
  while (d > lastDay(y, m)) {
    d -= lastDay(y, m);
    if (++m > 12) {
      m = 1;
      y++;
    }
  }
  while (d < 1) {
    if (--m < 1) {
      m = 12;
      y--;
    }
    d += lastDay(y, m);
  }
  return { y, m, d };
}

/** Days since 1970-01-01 of a real date. */
const epochDay = (p: Ymd) => Math.floor(Date.UTC(p.y, p.m - 1, p.d) / 86_400_000);
/** 0 = Sunday of a real date. */
const weekday = (p: Ymd) => new Date(Date.UTC(p.y, p.m - 1, p.d)).getUTCDay();

/** A real date (with a year that has no Feb 29, that day becomes Mar 1: the first instant a Feb 29 spec could cover). */
function realDate(y: number, m: number, d: number): Ymd {
  return d > realLastDay(y, m) ? addDays({ y, m, d: realLastDay(y, m) }, d - realLastDay(y, m), realLastDay) : { y, m, d };
}

// ---------------------------------------------------------------------------------------------------------------------
// Skip specs

/** A set of days that is a cross product: years (null = every year) × months × days of month. */
interface DayPiece {
  years: [number, number] | null;
  months: [number, number];
  days: [number, number];
}

/** A set of minutes of the day that is a product: hours × minutes. */
interface TimePiece {
  hours: [number, number];
  minutes: [number, number];
}

const WHOLE_DAY: TimePiece = { hours: [0, 23], minutes: [0, 59] };

/** Inclusive day range `from..to` as few cross-product pieces (per year: partial month, full months, partial month). */
function dayPieces(from: Ymd, to: Ymd, lastDay: LastDay, yearly: boolean): DayPiece[] {
  if (cmpYmd(from, to) > 0) return [];
  // One piece per month touched, then coalesce: full months of a year, then full years.
  const months: { y: number; m: number; days: [number, number]; full: boolean }[] = [];
  for (let y = from.y, m = from.m; y < to.y || (y === to.y && m <= to.m); m === 12 ? (y++, (m = 1)) : m++) {
    const first = y === from.y && m === from.m ? from.d : 1;
    const last = y === to.y && m === to.m ? to.d : lastDay(y, m);
    const full = first === 1 && last === lastDay(y, m);
    months.push({ y, m, days: full ? [1, 31] : [first, last], full });
  }
  const perYear: DayPiece[] = [];
  for (const mp of months) {
    const prev = perYear.at(-1);
    if (mp.full && prev && prev.years![0] === mp.y && prev.days[0] === 1 && prev.days[1] === 31 && prev.months[1] === mp.m - 1) {
      prev.months[1] = mp.m;
    } else {
      perYear.push({ years: [mp.y, mp.y], months: [mp.m, mp.m], days: mp.days });
    }
  }
  const isFullYear = (p: DayPiece) => p.months[0] === 1 && p.months[1] === 12 && p.days[0] === 1 && p.days[1] === 31;
  const out: DayPiece[] = [];
  for (const p of perYear) {
    const prev = out.at(-1);
    if (prev && isFullYear(p) && isFullYear(prev) && prev.years![1] === p.years![0] - 1) prev.years![1] = p.years![1];
    else out.push(p);
  }
  return yearly ? out.map((p) => ({ ...p, years: null })) : out;
}

/** Minutes `from..to` (inclusive, 0..1439) of one day as few products (partial first hour, full hours, partial last hour). */
function timePieces(from: number, to: number): TimePiece[] {
  if (from > to) return [];
  const [h1, m1, h2, m2] = [Math.floor(from / 60), from % 60, Math.floor(to / 60), to % 60];
  if (h1 === h2) return [{ hours: [h1, h1], minutes: [m1, m2] }];
  const out: TimePiece[] = [];
  if (m1 !== 0) out.push({ hours: [h1, h1], minutes: [m1, 59] });
  const fullFrom = m1 === 0 ? h1 : h1 + 1;
  const fullTo = m2 === 59 ? h2 : h2 - 1;
  if (fullFrom <= fullTo) out.push({ hours: [fullFrom, fullTo], minutes: [0, 59] });
  if (m2 !== 59) out.push({ hours: [h2, h2], minutes: [0, m2] });
  return out;
}

const range = (r: [number, number]) => ({ start: r[0], end: r[1] });

function spec(day: DayPiece, time: TimePiece, comment: string): CalendarSpec {
  return {
    second: { start: 0, end: 59 },
    minute: range(time.minutes),
    hour: range(time.hours),
    dayOfMonth: range(day.days),
    month: { start: MONTHS[day.months[0] - 1]!, end: MONTHS[day.months[1] - 1]! },
    ...(day.years ? { year: range(day.years) } : {}),
    dayOfWeek: '*',
    comment,
  };
}

/**
 * The window of a dated event as an inclusive start and an inclusive last minute, in a frame where the yearly case is
 * anchored in year 0 (or spills into year 1 when it crosses New Year). Null when the window is empty.
 */
function datedWindow(e: CalendarEventRow, lastDay: LastDay): { from: Ymd; fromMin: number; last: Ymd; lastMin: number } | null {
  if (!e.start_date) return null;
  const start = parseLocalDate(e.start_date);
  const end = e.end_date ? parseLocalDate(e.end_date) : start;
  const timed = e.kind === 'maintenance' && e.start_time !== null && e.end_time !== null;
  const fromMin = timed ? parseLocalTime(e.start_time!) : 0;
  const endMin = timed ? parseLocalTime(e.end_time!) : MINUTES_PER_DAY; // exclusive, on the end date
  let from: Ymd = start;
  let until: Ymd = end;
  if (e.recurs_yearly) {
    from = { y: 0, m: start.m, d: start.d };
    const sameYear = end.m * 100 + end.d > start.m * 100 + start.d || (end.m === start.m && end.d === start.d && endMin > fromMin);
    until = { y: sameYear ? 0 : 1, m: end.m, d: end.d };
  }
  // Exclusive end (until + endMin, endMin 0..1440) → last covered minute.
  let last = until;
  let lastMin = endMin - 1;
  if (lastMin < 0) {
    last = addDays(until, -1, lastDay);
    lastMin = MINUTES_PER_DAY - 1;
  }
  const order = cmpYmd(from, last) || fromMin - lastMin;
  return order > 0 ? null : { from, fromMin, last, lastMin };
}

function datedSkipSpecs(e: CalendarEventRow): CalendarSpec[] {
  const lastDay = e.recurs_yearly ? yearlyLastDay : realLastDay;
  const w = datedWindow(e, lastDay);
  if (!w) return [];
  const comment = `${e.kind} ${e.id}: ${e.name}`.slice(0, 200);
  const days = (from: Ymd, to: Ymd) => dayPieces(from, to, lastDay, e.recurs_yearly);
  const out: CalendarSpec[] = [];
  const emit = (dps: DayPiece[], tps: TimePiece[]) => {
    for (const dp of dps) for (const tp of tps) out.push(spec(dp, tp, comment));
  };
  if (cmpYmd(w.from, w.last) === 0) {
    emit(days(w.from, w.from), timePieces(w.fromMin, w.lastMin));
    return out;
  }
  const firstWhole = w.fromMin === 0;
  const lastWhole = w.lastMin === MINUTES_PER_DAY - 1;
  if (!firstWhole) emit(days(w.from, w.from), timePieces(w.fromMin, MINUTES_PER_DAY - 1));
  const middleFrom = firstWhole ? w.from : addDays(w.from, 1, lastDay);
  const middleTo = lastWhole ? w.last : addDays(w.last, -1, lastDay);
  emit(days(middleFrom, middleTo), [WHOLE_DAY]);
  if (!lastWhole) emit(days(w.last, w.last), timePieces(0, w.lastMin));
  return out;
}

/**
 * Business hours: runs happen only inside the union of a calendar's business-hours windows; every other minute is
 * skipped. Each calendar's windows are united (Mon–Fri 9–18 plus Sat 10–14 is one week); two calendars with business
 * hours both apply (a run must be inside both).
 */
function businessHoursSkipSpecs(calendarId: number, events: CalendarEventRow[]): CalendarSpec[] {
  // Open minutes per weekday, as sorted disjoint [from, to) intervals.
  const open: [number, number][][] = Array.from({ length: 7 }, () => []);
  for (const e of events) {
    if (!e.start_time || !e.end_time || !e.days_of_week) continue;
    const from = parseLocalTime(e.start_time);
    const to = parseLocalTime(e.end_time);
    if (to <= from) continue;
    for (const dow of new Set(e.days_of_week)) if (dow >= 0 && dow <= 6) open[dow]!.push([from, to]);
  }
  // Closed minutes per weekday (inclusive ranges), grouped by identical closed sets so each group is one dayOfWeek list.
  const groups = new Map<string, { days: number[]; closed: [number, number][] }>();
  open.forEach((intervals, dow) => {
    intervals.sort((a, b) => a[0] - b[0]);
    const closed: [number, number][] = [];
    let cursor = 0;
    for (const [from, to] of intervals) {
      if (from > cursor) closed.push([cursor, from - 1]);
      cursor = Math.max(cursor, to);
    }
    if (cursor < MINUTES_PER_DAY) closed.push([cursor, MINUTES_PER_DAY - 1]);
    if (closed.length === 0) return;
    const key = JSON.stringify(closed);
    const group = groups.get(key) ?? { days: [], closed };
    group.days.push(dow);
    groups.set(key, group);
  });
  const names = events.map((e) => e.name).join(', ');
  const out: CalendarSpec[] = [];
  for (const { days, closed } of groups.values()) {
    const dayOfWeek = days.map((d) => DAYS_OF_WEEK[d]!);
    for (const [from, to] of closed) {
      for (const tp of timePieces(from, to)) {
        out.push({
          second: { start: 0, end: 59 },
          minute: range(tp.minutes),
          hour: range(tp.hours),
          dayOfMonth: '*',
          month: '*',
          dayOfWeek,
          comment: `business_hours calendar ${calendarId}: outside ${names}`.slice(0, 200),
        });
      }
    }
  }
  return out;
}

/** The skip specs of a schedule that uses these events (of one or more calendars), in the schedule's own timezone. */
export function skipSpecsFor(events: CalendarEventRow[]): CalendarSpec[] {
  const out: CalendarSpec[] = [];
  const hoursByCalendar = new Map<number, CalendarEventRow[]>();
  for (const e of events) {
    if (e.kind === 'business_hours') {
      const list = hoursByCalendar.get(e.calendar_id) ?? [];
      list.push(e);
      hoursByCalendar.set(e.calendar_id, list);
    } else {
      out.push(...datedSkipSpecs(e));
    }
  }
  for (const [calendarId, list] of [...hoursByCalendar].sort((a, b) => a[0] - b[0])) out.push(...businessHoursSkipSpecs(calendarId, list));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Occurrences

/**
 * The concrete local windows of the dated events (holidays, closures, maintenance) that overlap the local days
 * `fromLocalDate..toLocalDate` (inclusive), sorted by start. A yearly event occurs once a year; a Feb 29 start falls on
 * Mar 1 in other years, as its skip spec would. Business hours are weekly, not dated: see {@link businessHoursSummary}.
 */
export function eventOccurrences(events: CalendarEventRow[], fromLocalDate: string, toLocalDate: string): CalendarOccurrence[] {
  const windowFrom = `${fromLocalDate}T00:00`;
  const windowTo = `${fmtDate(addDays(parseLocalDate(toLocalDate), 1, realLastDay))}T00:00`;
  const out: CalendarOccurrence[] = [];
  const push = (e: CalendarEventRow, start: Ymd, startMin: number, end: Ymd, endMin: number) => {
    const starts = fmtLocal(start, startMin);
    const ends = fmtLocal(end, endMin);
    if (starts >= ends || ends <= windowFrom || starts >= windowTo) return;
    out.push({ event_id: e.id, calendar_id: e.calendar_id, name: e.name, kind: e.kind, starts_at_local: starts, ends_at_local: ends });
  };
  for (const e of events) {
    if (e.kind === 'business_hours' || !e.start_date) continue;
    const timed = e.kind === 'maintenance' && e.start_time !== null && e.end_time !== null;
    const start = parseLocalDate(e.start_date);
    const end = e.end_date ? parseLocalDate(e.end_date) : start;
    const startMin = timed ? parseLocalTime(e.start_time!) : 0;
    const endMin = timed ? parseLocalTime(e.end_time!) : MINUTES_PER_DAY;
    // Exclusive end as a date and minute < 1440.
    const exclusiveEnd = (y: number): { day: Ymd; min: number } => {
      const day = realDate(y, end.m, end.d);
      if (end.d > realLastDay(y, end.m)) return { day, min: 0 }; // Feb 29 end in a common year: up to Mar 1 00:00
      return endMin >= MINUTES_PER_DAY ? { day: addDays(day, 1, realLastDay), min: endMin - MINUTES_PER_DAY } : { day, min: endMin };
    };
    if (!e.recurs_yearly) {
      const x = exclusiveEnd(end.y);
      push(e, start, startMin, x.day, x.min);
      continue;
    }
    const crosses = end.m * 100 + end.d < start.m * 100 + start.d || (end.m === start.m && end.d === start.d && endMin <= startMin);
    const fromYear = parseLocalDate(fromLocalDate).y - 1;
    const toYear = parseLocalDate(toLocalDate).y;
    for (let y = fromYear; y <= toYear; y++) {
      const s = realDate(y, start.m, start.d);
      const sMin = start.d > realLastDay(y, start.m) ? 0 : startMin;
      const x = exclusiveEnd(crosses ? y + 1 : y);
      push(e, s, sMin, x.day, x.min);
    }
  }
  return out.sort((a, b) => (a.starts_at_local < b.starts_at_local ? -1 : a.starts_at_local > b.starts_at_local ? 1 : a.event_id - b.event_id));
}

/** Business-hours events as a weekly summary (they recur every week rather than on dates). */
export function businessHoursSummary(events: CalendarEventRow[]) {
  return events
    .filter((e) => e.kind === 'business_hours')
    .map((e) => ({
      event_id: e.id,
      calendar_id: e.calendar_id,
      name: e.name,
      kind: e.kind,
      recurring_weekly: {
        days_of_week: [...(e.days_of_week ?? [])].sort((a, b) => a - b),
        day_names: [...(e.days_of_week ?? [])].sort((a, b) => a - b).map((d) => DAYS_OF_WEEK[d]),
        start_time: e.start_time,
        end_time: e.end_time,
      },
    }));
}

/** Whether a local minute `YYYY-MM-DDTHH:MM` is outside a calendar's business hours (for listing suppressed runs). */
export function outsideBusinessHours(events: CalendarEventRow[], local: string): boolean {
  const hours = events.filter((e) => e.kind === 'business_hours' && e.days_of_week && e.start_time && e.end_time);
  if (hours.length === 0) return false;
  const day = parseLocalDate(local.slice(0, 10));
  const minute = parseLocalTime(local.slice(11, 16));
  const dow = weekday(day);
  const byCalendar = new Map<number, CalendarEventRow[]>();
  for (const e of hours) byCalendar.set(e.calendar_id, [...(byCalendar.get(e.calendar_id) ?? []), e]);
  for (const list of byCalendar.values()) {
    const inside = list.some((e) => e.days_of_week!.includes(dow) && minute >= parseLocalTime(e.start_time!) && minute < parseLocalTime(e.end_time!));
    if (!inside) return true;
  }
  return false;
}

/** Number of days between two valid local dates (b - a). */
export function daysBetween(a: string, b: string): number {
  return epochDay(parseLocalDate(b)) - epochDay(parseLocalDate(a));
}

export function addLocalDays(date: string, n: number): string {
  return fmtDate(addDays(parseLocalDate(date), n, realLastDay));
}
