import type { CalendarSpec } from '@temporalio/client';
import { cronIterator, dstTransitions, type DstTransition, type NormalizedCron } from './cron.service';

/**
 * Pure translation of our schedule definition into a Temporal ScheduleSpec's parts. No I/O.
 */

/**
 * Temporal's cron string reads 6 fields as "… day-of-week year" and 7 as "second … year"; ours (like most cron
 * libraries) reads 6 fields as "second minute … day-of-week". A seconds-first expression becomes Temporal's 7-field
 * form with any year.
 */
export function temporalCronString(cron: NormalizedCron): string {
  return cron.fields === 6 ? `${cron.normalized} *` : cron.normalized;
}

const MONTHS = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'] as const;

/**
 * Runs that a DST spring-forward gap would swallow. Temporal skips a local time that does not exist (02:30 on the
 * night clocks jump from 02:00 to 03:00: measured on the dev server, the Europe/Paris run of 2025-03-30 is simply
 * absent), so a daily `30 2 * * *` would lose a run each spring. For each gap in the next `days`, every cron match
 * inside it is moved by the gap's length (02:30 → 03:30, as cron-parser and cron(8) do) and added as an explicit
 * calendar entry, unless that moved time is already a match (no duplicate for `*\/5 * * * *`). The fall-back repeat
 * needs nothing: Temporal fires a repeated local time once.
 */
export function dstCompensation(cron: NormalizedCron, timezone: string, from: Date, days = DST_HORIZON_DAYS): CalendarSpec[] {
  const out = new Map<string, CalendarSpec>();
  for (const t of transitionsFrom(timezone, from, days)) {
    const gapMinutes = offsetOf(t.offset_after) - offsetOf(t.offset_before);
    if (gapMinutes <= 0) continue; // fall back: a repeated hour, not a gap
    // The gap in naive local time (local wall clock read as if it were UTC): [at + before, at + before + gap).
    const gapStart = Date.parse(t.at) + offsetOf(t.offset_before) * 60_000;
    const gapEnd = gapStart + gapMinutes * 60_000;
    const naive = cronIterator(cron.normalized, 'UTC', new Date(gapStart - 1));
    const moved: CalendarSpec[] = [];
    for (let guard = 0; guard <= MAX_MOVED_PER_GAP; guard++) {
      const match = naive()?.getTime();
      if (match === undefined || match >= gapEnd) break;
      const movedTo = new Date(match + gapMinutes * 60_000);
      if (matchesNaive(cron.normalized, movedTo)) continue;
      const key = movedTo.toISOString();
      moved.push({
        year: movedTo.getUTCFullYear(),
        month: MONTHS[movedTo.getUTCMonth()]!,
        dayOfMonth: movedTo.getUTCDate(),
        hour: movedTo.getUTCHours(),
        minute: movedTo.getUTCMinutes(),
        second: movedTo.getUTCSeconds(),
        comment: `DST gap: the ${new Date(match).toISOString().slice(11, 19)} run moved to ${key.slice(11, 19)} local`,
      });
    }
    // An expression that fires many times inside the gap hour ("* 2 * * *") simply has no such hour that night:
    // moving dozens of runs to 03:00 would be a burst, not a correction.
    if (moved.length <= MAX_MOVED_PER_GAP) for (const c of moved) out.set(JSON.stringify(c), c);
  }
  return [...out.values()];
}

/** At most this many runs moved out of one gap (a daily or hourly-in-the-gap expression has one or two). */
const MAX_MOVED_PER_GAP = 4;
/** Ten years of compensation entries: a handful per schedule, and only for expressions that hit a gap. */
const DST_HORIZON_DAYS = 3650;
const transitionCache = new Map<string, { day: string; transitions: DstTransition[] }>();

/** A zone's offset changes over the horizon, computed once per zone and UTC day (the scan costs tens of ms). */
function transitionsFrom(timezone: string, from: Date, days: number): DstTransition[] {
  const day = from.toISOString().slice(0, 10);
  const key = `${timezone}|${days}`;
  let hit = transitionCache.get(key);
  if (!hit || hit.day !== day) {
    hit = { day, transitions: dstTransitions(timezone, new Date(`${day}T00:00:00Z`), days + 1) };
    transitionCache.set(key, hit);
  }
  return hit.transitions.filter((t) => Date.parse(t.at) >= from.getTime());
}

function matchesNaive(expression: string, at: Date): boolean {
  return cronIterator(expression, 'UTC', new Date(at.getTime() - 1))()?.getTime() === at.getTime();
}

function offsetOf(formatted: string): number {
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(formatted);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}
