import { DAYS_OF_WEEK, MONTHS, type CalendarSpec } from '@temporalio/client';
import {
  businessHoursSummary,
  eventOccurrences,
  outsideBusinessHours,
  skipSpecsFor,
  type CalendarEventRow,
} from '../../api/services/calendar-spec';
import { scheduleRuns } from '../../api/services/calendar.service';

/**
 * Pure tests of the calendar → skip-spec translation. A reference matcher evaluates specs the way Temporal does (every
 * field must match; an omitted second/minute/hour would be 0), and whole periods are checked minute by minute against
 * the event's intended window.
 */

let nextId = 1;
function ev(partial: Partial<CalendarEventRow> & Pick<CalendarEventRow, 'kind'>): CalendarEventRow {
  return {
    id: nextId++,
    calendar_id: 1,
    name: `${partial.kind} event`,
    start_date: null,
    end_date: null,
    start_time: null,
    end_time: null,
    recurs_yearly: false,
    days_of_week: null,
    ...partial,
  };
}

type Loose = CalendarSpec['hour'] | CalendarSpec['month'] | CalendarSpec['dayOfWeek'];

function fieldMatches(field: Loose, value: number, dflt: 'zero' | 'all', names?: readonly string[]): boolean {
  if (field === undefined) return dflt === 'all' || value === 0;
  if (field === '*') return true;
  const toNum = (x: unknown) => (typeof x === 'string' ? names!.indexOf(x) + (names === MONTHS ? 1 : 0) : (x as number));
  const items = (Array.isArray(field) ? field : [field]) as unknown[];
  return items.some((item) => {
    if (typeof item === 'object' && item !== null && 'start' in item) {
      const r = item as { start: unknown; end?: unknown };
      if (r.end === undefined) throw new Error('range without end'); // the SDK would encode a missing end as 1
      return value >= toNum(r.start) && value <= toNum(r.end);
    }
    return value === toNum(item);
  });
}

/** Whether the local time (y-m-d h:mi:s) matches the spec, field by field as Temporal does. */
function matches(s: CalendarSpec, y: number, m: number, d: number, h: number, mi: number, sec = 0): boolean {
  const dow = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return (
    fieldMatches(s.second, sec, 'zero') &&
    fieldMatches(s.minute, mi, 'zero') &&
    fieldMatches(s.hour, h, 'zero') &&
    fieldMatches(s.dayOfMonth, d, 'all') &&
    fieldMatches(s.month, m, 'all', MONTHS) &&
    fieldMatches(s.year, y, 'all') &&
    fieldMatches(s.dayOfWeek, dow, 'all', DAYS_OF_WEEK)
  );
}

const skipped = (specs: CalendarSpec[], y: number, m: number, d: number, h: number, mi: number, sec = 0) =>
  specs.some((s) => matches(s, y, m, d, h, mi, sec));

/** Every minute of the local days from..to (inclusive, UTC used as a plain calendar), as [y, m, d, h, mi, "YYYY-MM-DDTHH:MM"]. */
function* minutes(from: string, to: string, stepMinutes = 1): Generator<[number, number, number, number, number, string]> {
  const end = Date.parse(`${to}T23:59:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end; t += stepMinutes * 60_000) {
    const dt = new Date(t);
    const iso = dt.toISOString().slice(0, 16);
    yield [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate(), dt.getUTCHours(), dt.getUTCMinutes(), iso];
  }
}

/** Asserts that exactly the local minutes in [startIncl, endExcl) windows are skipped over the period. */
function expectSkippedExactly(specs: CalendarSpec[], from: string, to: string, windows: [string, string][], step = 1) {
  const wrong: string[] = [];
  for (const [y, m, d, h, mi, iso] of minutes(from, to, step)) {
    const expected = windows.some(([a, b]) => iso >= a && iso < b);
    if (skipped(specs, y, m, d, h, mi) !== expected) wrong.push(`${iso} expected ${expected ? 'skipped' : 'run'}`);
    if (wrong.length > 5) break;
  }
  expect(wrong).toEqual([]);
}

describe('skipSpecsFor', () => {
  it('a single holiday is every second of that one day, with every time field set explicitly', () => {
    const specs = skipSpecsFor([ev({ kind: 'holiday', name: 'Christmas', start_date: '2025-12-25' })]);
    expect(specs).toHaveLength(1);
    expect(specs[0]).toMatchObject({
      second: { start: 0, end: 59 },
      minute: { start: 0, end: 59 },
      hour: { start: 0, end: 23 },
      dayOfMonth: { start: 25, end: 25 },
      month: { start: 'DECEMBER', end: 'DECEMBER' },
      year: { start: 2025, end: 2025 },
    });
    expect(specs[0]!.comment).toContain('Christmas');
    expect(skipped(specs, 2025, 12, 25, 23, 59, 59)).toBe(true);
    expect(skipped(specs, 2025, 12, 25, 9, 0, 30)).toBe(true);
    expectSkippedExactly(specs, '2025-12-23', '2025-12-27', [['2025-12-25T00:00', '2025-12-26T00:00']]);
    expect(skipped(specs, 2026, 12, 25, 9, 0)).toBe(false);
  });

  it('a closure spanning three months is split into a partial month, a full month and a partial month', () => {
    const specs = skipSpecsFor([ev({ kind: 'closure', start_date: '2025-07-28', end_date: '2025-09-03' })]);
    expect(specs.map((s) => [s.month, s.dayOfMonth])).toEqual([
      [{ start: 'JULY', end: 'JULY' }, { start: 28, end: 31 }],
      [{ start: 'AUGUST', end: 'AUGUST' }, { start: 1, end: 31 }],
      [{ start: 'SEPTEMBER', end: 'SEPTEMBER' }, { start: 1, end: 3 }],
    ]);
    expectSkippedExactly(specs, '2025-07-20', '2025-09-10', [['2025-07-28T00:00', '2025-09-04T00:00']], 30);
  });

  it('a multi-year closure coalesces full months and full years', () => {
    const specs = skipSpecsFor([ev({ kind: 'closure', start_date: '2024-11-15', end_date: '2027-02-10' })]);
    expect(specs.length).toBeLessThanOrEqual(5);
    expect(specs).toContainEqual(expect.objectContaining({ year: { start: 2025, end: 2026 }, month: { start: 'JANUARY', end: 'DECEMBER' } }));
    expectSkippedExactly(specs, '2024-11-01', '2027-03-01', [['2024-11-15T00:00', '2027-02-11T00:00']], 180);
    // February 2024 (leap) and month ends are handled by the real calendar.
    const leap = skipSpecsFor([ev({ kind: 'holiday', start_date: '2024-02-27', end_date: '2024-03-01' })]);
    expectSkippedExactly(leap, '2024-02-20', '2024-03-05', [['2024-02-27T00:00', '2024-03-02T00:00']], 60);
  });

  it('a yearly holiday has no year; a yearly range across New Year is a December part and a January part', () => {
    const [xmas] = skipSpecsFor([ev({ kind: 'holiday', start_date: '2020-12-25', recurs_yearly: true })]);
    expect(xmas!.year).toBeUndefined();
    for (const y of [2025, 2031, 2100]) expect(skipped([xmas!], y, 12, 25, 9, 0)).toBe(true);
    const winter = skipSpecsFor([ev({ kind: 'closure', start_date: '2024-12-24', end_date: '2025-01-02', recurs_yearly: true })]);
    expect(winter.map((s) => [s.year, s.month, s.dayOfMonth])).toEqual([
      [undefined, { start: 'DECEMBER', end: 'DECEMBER' }, { start: 24, end: 31 }],
      [undefined, { start: 'JANUARY', end: 'JANUARY' }, { start: 1, end: 2 }],
    ]);
    expectSkippedExactly(winter, '2027-12-20', '2028-01-05', [['2027-12-24T00:00', '2028-01-03T00:00']], 15);
    expectSkippedExactly(winter, '2030-12-20', '2031-01-05', [['2030-12-24T00:00', '2031-01-03T00:00']], 15);
  });

  it('a maintenance window across days: partial first hour, rest of the first day, full middle days, partial last hour', () => {
    const specs = skipSpecsFor([
      ev({ kind: 'maintenance', start_date: '2025-03-14', start_time: '22:30', end_date: '2025-03-17', end_time: '02:15' }),
    ]);
    expect(specs.map((s) => [s.dayOfMonth, s.hour, s.minute])).toEqual([
      [{ start: 14, end: 14 }, { start: 22, end: 22 }, { start: 30, end: 59 }],
      [{ start: 14, end: 14 }, { start: 23, end: 23 }, { start: 0, end: 59 }],
      [{ start: 15, end: 16 }, { start: 0, end: 23 }, { start: 0, end: 59 }],
      [{ start: 17, end: 17 }, { start: 0, end: 1 }, { start: 0, end: 59 }],
      [{ start: 17, end: 17 }, { start: 2, end: 2 }, { start: 0, end: 14 }],
    ]);
    expectSkippedExactly(specs, '2025-03-13', '2025-03-18', [['2025-03-14T22:30', '2025-03-17T02:15']]);
  });

  it.each([
    ['within one hour', '2025-06-10', '10:05', null, '10:40', [['2025-06-10T10:05', '2025-06-10T10:40']]],
    ['within one day, odd minutes', '2025-06-10', '10:05', null, '13:20', [['2025-06-10T10:05', '2025-06-10T13:20']]],
    ['whole hours', '2025-06-10', '02:00', '2025-06-10', '04:00', [['2025-06-10T02:00', '2025-06-10T04:00']]],
    ['to midnight (next day 00:00)', '2025-06-10', '23:00', '2025-06-11', '00:00', [['2025-06-10T23:00', '2025-06-11T00:00']]],
    ['to 24:00', '2025-06-10', '20:00', null, '24:00', [['2025-06-10T20:00', '2025-06-11T00:00']]],
    ['across a month end', '2025-06-30', '21:45', '2025-07-01', '03:10', [['2025-06-30T21:45', '2025-07-01T03:10']]],
    ['from midnight over two days', '2025-06-10', '00:00', '2025-06-12', '00:01', [['2025-06-10T00:00', '2025-06-12T00:01']]],
  ] as const)('a maintenance window %s skips exactly its minutes', (_label, startDate, startTime, endDate, endTime, windows) => {
    const specs = skipSpecsFor([ev({ kind: 'maintenance', start_date: startDate, start_time: startTime, end_date: endDate, end_time: endTime })]);
    expectSkippedExactly(specs, '2025-06-09', '2025-07-02', windows as unknown as [string, string][]);
  });

  it('a yearly maintenance window across New Year recurs every year', () => {
    const specs = skipSpecsFor([
      ev({ kind: 'maintenance', start_date: '2025-12-31', start_time: '22:00', end_date: '2026-01-01', end_time: '06:30', recurs_yearly: true }),
    ]);
    for (const s of specs) expect(s.year).toBeUndefined();
    expectSkippedExactly(specs, '2029-12-30', '2030-01-02', [['2029-12-31T22:00', '2030-01-01T06:30']]);
  });

  it('business hours Mon–Fri 09:00–18:00: weekends skipped whole, weekdays before 09:00 and from 18:00', () => {
    const specs = skipSpecsFor([ev({ kind: 'business_hours', days_of_week: [1, 2, 3, 4, 5], start_time: '09:00', end_time: '18:00' })]);
    // 2025-06-09 is a Monday.
    const open: [string, string][] = ['09', '10', '11', '12', '13'].map((d) => [`2025-06-${d}T09:00`, `2025-06-${d}T18:00`]);
    const closed: [string, string][] = [];
    let cursor = '2025-06-08T00:00';
    for (const [a, b] of open) {
      closed.push([cursor, a]);
      cursor = b;
    }
    closed.push([cursor, '2025-06-16T00:00']);
    expectSkippedExactly(specs, '2025-06-08', '2025-06-15', closed);
    for (const s of specs) expect(s.hour).toBeDefined();
  });

  it('business hours with minutes, and several windows of one calendar united (split days, Saturday mornings)', () => {
    const events = [
      ev({ kind: 'business_hours', calendar_id: 7, days_of_week: [1, 2, 3, 4, 5], start_time: '08:30', end_time: '12:15' }),
      ev({ kind: 'business_hours', calendar_id: 7, days_of_week: [1, 2, 3, 4, 5], start_time: '13:45', end_time: '17:30' }),
      ev({ kind: 'business_hours', calendar_id: 7, days_of_week: [6], start_time: '10:00', end_time: '12:00' }),
    ];
    const specs = skipSpecsFor(events);
    const windows: [string, string][] = [];
    // Expected skipped = complement of the open windows from Sunday 2025-06-08 to Sunday 2025-06-15.
    const open: [string, string][] = [];
    for (const d of ['09', '10', '11', '12', '13']) open.push([`2025-06-${d}T08:30`, `2025-06-${d}T12:15`], [`2025-06-${d}T13:45`, `2025-06-${d}T17:30`]);
    open.push(['2025-06-14T10:00', '2025-06-14T12:00']);
    let cursor = '2025-06-08T00:00';
    for (const [a, b] of open) {
      windows.push([cursor, a]);
      cursor = b;
    }
    windows.push([cursor, '2025-06-16T00:00']);
    expectSkippedExactly(specs, '2025-06-08', '2025-06-15', windows);
    for (const [y, m, d, h, mi, iso] of minutes('2025-06-08', '2025-06-15', 5)) {
      expect(outsideBusinessHours(events, iso)).toBe(skipped(specs, y, m, d, h, mi));
    }
  });

  it('business hours of two calendars both apply; an every-day 00:00–24:00 calendar skips nothing', () => {
    const a = ev({ kind: 'business_hours', calendar_id: 1, days_of_week: [0, 1, 2, 3, 4, 5, 6], start_time: '08:00', end_time: '20:00' });
    const b = ev({ kind: 'business_hours', calendar_id: 2, days_of_week: [1, 2, 3, 4, 5], start_time: '10:00', end_time: '22:00' });
    const specs = skipSpecsFor([a, b]);
    expect(skipped(specs, 2025, 6, 10, 9, 0)).toBe(true); // Tuesday 09:00: before calendar 2 opens
    expect(skipped(specs, 2025, 6, 10, 10, 0)).toBe(false);
    expect(skipped(specs, 2025, 6, 10, 20, 0)).toBe(true); // calendar 1 closed
    expect(skipped(specs, 2025, 6, 14, 12, 0)).toBe(true); // Saturday: calendar 2 closed
    expect(skipSpecsFor([ev({ kind: 'business_hours', days_of_week: [0, 1, 2, 3, 4, 5, 6], start_time: '00:00', end_time: '24:00' })])).toEqual([]);
  });

  it('combines kinds, and no events means no skips', () => {
    expect(skipSpecsFor([])).toEqual([]);
    const specs = skipSpecsFor([
      ev({ kind: 'holiday', start_date: '2025-06-11' }),
      ev({ kind: 'business_hours', days_of_week: [1, 2, 3, 4, 5], start_time: '09:00', end_time: '18:00' }),
    ]);
    expect(skipped(specs, 2025, 6, 10, 9, 0)).toBe(false);
    expect(skipped(specs, 2025, 6, 11, 9, 0)).toBe(true);
    expect(skipped(specs, 2025, 6, 12, 9, 0)).toBe(false);
  });
});

describe('eventOccurrences', () => {
  it('lists dated events overlapping the period as local windows (end exclusive), sorted', () => {
    const xmas = ev({ kind: 'holiday', name: 'Christmas', start_date: '2020-12-25', recurs_yearly: true });
    const closure = ev({ kind: 'closure', name: 'Summer', start_date: '2025-07-28', end_date: '2025-08-03' });
    const maint = ev({ kind: 'maintenance', name: 'DB', start_date: '2025-08-01', start_time: '22:00', end_date: '2025-08-02', end_time: '02:00' });
    const hours = ev({ kind: 'business_hours', days_of_week: [1], start_time: '09:00', end_time: '10:00' });
    expect(eventOccurrences([xmas, closure, maint, hours], '2025-07-30', '2026-12-31')).toEqual([
      { event_id: closure.id, calendar_id: 1, name: 'Summer', kind: 'closure', starts_at_local: '2025-07-28T00:00', ends_at_local: '2025-08-04T00:00' },
      { event_id: maint.id, calendar_id: 1, name: 'DB', kind: 'maintenance', starts_at_local: '2025-08-01T22:00', ends_at_local: '2025-08-02T02:00' },
      { event_id: xmas.id, calendar_id: 1, name: 'Christmas', kind: 'holiday', starts_at_local: '2025-12-25T00:00', ends_at_local: '2025-12-26T00:00' },
      { event_id: xmas.id, calendar_id: 1, name: 'Christmas', kind: 'holiday', starts_at_local: '2026-12-25T00:00', ends_at_local: '2026-12-26T00:00' },
    ]);
    expect(eventOccurrences([closure], '2025-08-04', '2025-09-01')).toEqual([]);
  });

  it('yearly windows across New Year appear once per year, including the one that started the year before', () => {
    const winter = ev({ kind: 'closure', start_date: '2024-12-24', end_date: '2025-01-02', recurs_yearly: true });
    expect(eventOccurrences([winter], '2026-01-01', '2026-12-31').map((o) => [o.starts_at_local, o.ends_at_local])).toEqual([
      ['2025-12-24T00:00', '2026-01-03T00:00'],
      ['2026-12-24T00:00', '2027-01-03T00:00'],
    ]);
  });

  it('a yearly Feb 29 holiday only occurs in leap years', () => {
    const leap = ev({ kind: 'holiday', start_date: '2024-02-29', recurs_yearly: true });
    expect(eventOccurrences([leap], '2025-01-01', '2028-12-31').map((o) => o.starts_at_local)).toEqual(['2028-02-29T00:00']);
    expect(skipped(skipSpecsFor([leap]), 2027, 3, 1, 0, 0)).toBe(false);
  });

  it('summarises business hours as recurring_weekly', () => {
    const hours = ev({ kind: 'business_hours', days_of_week: [5, 1, 3], start_time: '09:00', end_time: '18:00' });
    expect(businessHoursSummary([hours])).toEqual([
      {
        event_id: hours.id,
        calendar_id: 1,
        name: hours.name,
        kind: 'business_hours',
        recurring_weekly: { days_of_week: [1, 3, 5], day_names: ['MONDAY', 'WEDNESDAY', 'FRIDAY'], start_time: '09:00', end_time: '18:00' },
      },
    ]);
  });
});

describe('scheduleRuns (the runs an occurrence suppresses)', () => {
  const daily = { cron_expression: '0 9 * * *', timezone: 'Europe/Paris', start_at: null, end_at: null };

  it('lists the runs whose local time is inside the window, in the schedule’s own timezone', () => {
    expect(scheduleRuns(daily, '2030-12-25T00:00', '2030-12-26T00:00', 10)).toEqual({
      runs: [{ at: '2030-12-25T09:00:00+01:00', local: '2030-12-25T09:00' }],
      truncated: false,
    });
    const tokyo = scheduleRuns({ ...daily, timezone: 'Asia/Tokyo' }, '2030-12-25T00:00', '2030-12-27T00:00', 10);
    expect(tokyo.runs.map((r) => r.at)).toEqual(['2030-12-25T09:00:00+09:00', '2030-12-26T09:00:00+09:00']);
    const la = scheduleRuns({ ...daily, cron_expression: '0 23 * * *', timezone: 'America/Los_Angeles' }, '2030-07-04T00:00', '2030-07-05T00:00', 10);
    expect(la.runs.map((r) => r.at)).toEqual(['2030-07-04T23:00:00-07:00']);
  });

  it('ends are exclusive, start/end dates of the schedule apply, and the list is capped', () => {
    const every5 = { ...daily, cron_expression: '*/5 * * * *' };
    expect(scheduleRuns(every5, '2030-06-10T10:00', '2030-06-10T11:00', 100).runs).toHaveLength(12);
    expect(scheduleRuns(every5, '2030-06-10T10:00', '2030-06-10T11:00', 5)).toMatchObject({ truncated: true, runs: { length: 5 } });
    const bounded = scheduleRuns({ ...every5, start_at: '2030-06-10T08:30:00Z', end_at: '2030-06-10T08:45:00Z' }, '2030-06-10T10:00', '2030-06-10T11:00', 100);
    expect(bounded.runs.map((r) => r.local)).toEqual(['2030-06-10T10:30', '2030-06-10T10:35', '2030-06-10T10:40', '2030-06-10T10:45']);
    expect(scheduleRuns({ ...daily, cron_expression: 'not a cron' }, '2030-06-10T00:00', '2030-06-11T00:00', 10)).toEqual({ runs: [], truncated: false });
  });

  it('a fall-back night: runs of the repeated hour are inside a window that covers it', () => {
    const hourly = { ...daily, cron_expression: '0 * * * *' };
    const runs = scheduleRuns(hourly, '2030-10-27T01:00', '2030-10-27T04:00', 10).runs.map((r) => r.at);
    expect(runs[0]).toBe('2030-10-27T01:00:00+02:00');
    expect(runs.at(-1)).toBe('2030-10-27T03:00:00+01:00');
    expect(runs).toContain('2030-10-27T02:00:00+02:00');
  });
});
