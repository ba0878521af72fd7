import { msNumberToTs, tsToDate } from '@temporalio/common/lib/time';
import { ulid } from 'ulid';
import { skipSpecsFor, type CalendarEventRow } from '../../api/services/calendar-spec';
import { formatInZone } from '../../api/services/cron.service';
import { createTemporalClient, type TemporalClientBundle } from '../../api/temporal/connection';
import { testConfig } from '../support/harness';

/**
 * The skip specs against Temporal itself: paused Schedules (they never fire) whose matching times — Temporal's own
 * computation, in the Schedule's timezone — must leave out exactly the calendar's local windows.
 */

const TZ = 'Europe/Paris';
let nextId = 1;
const ev = (partial: Partial<CalendarEventRow> & Pick<CalendarEventRow, 'kind'>): CalendarEventRow => ({
  id: nextId++,
  calendar_id: 1,
  name: partial.kind,
  start_date: null,
  end_date: null,
  start_time: null,
  end_time: null,
  recurs_yearly: false,
  days_of_week: null,
  ...partial,
});

describe('calendar skip specs in a real Temporal Schedule (Europe/Paris)', () => {
  const config = testConfig();
  let t: TemporalClientBundle;
  const created: string[] = [];

  beforeAll(() => {
    t = createTemporalClient(config);
  });
  afterAll(async () => {
    for (const id of created) await t.client.schedule.getHandle(id).delete();
    await t.connection.close();
  });

  async function scheduleWith(cron: string, events: CalendarEventRow[]): Promise<string> {
    const scheduleId = `test_cal_${ulid()}`;
    await t.client.schedule.create({
      scheduleId,
      spec: { cronExpressions: [cron], timezone: TZ, skip: skipSpecsFor(events) },
      action: { type: 'startWorkflow', workflowType: 'noop', taskQueue: `${config.TEMPORAL_TASK_QUEUE}-never`, args: [] },
      state: { paused: true, note: 'calendar skip test: never fires' },
    });
    created.push(scheduleId);
    return scheduleId;
  }

  /** Temporal's matching times in [from, to], as Paris wall-clock "YYYY-MM-DDTHH:MM". */
  async function matching(scheduleId: string, from: string, to: string): Promise<string[]> {
    const res = await t.client.workflowService.listScheduleMatchingTimes({
      namespace: config.TEMPORAL_NAMESPACE,
      scheduleId,
      startTime: msNumberToTs(Date.parse(from)),
      endTime: msNumberToTs(Date.parse(to)),
    });
    return (res.startTime ?? []).map((ts) => formatInZone(tsToDate(ts), TZ).slice(0, 16));
  }

  /** Every UTC instant in [from, to] that is a multiple of `stepMinutes`, as Paris wall-clock times, kept when `keep` says so. */
  function expected(from: string, to: string, stepMinutes: number, keep: (local: string) => boolean): string[] {
    const out: string[] = [];
    const step = stepMinutes * 60_000;
    for (let at = Math.ceil(Date.parse(from) / step) * step; at <= Date.parse(to); at += step) {
      const local = formatInZone(new Date(at), TZ).slice(0, 16);
      if (keep(local)) out.push(local);
    }
    return out;
  }

  it('a holiday removes that day’s 09:00 run and keeps the days around it', async () => {
    const id = await scheduleWith('0 9 * * *', [ev({ kind: 'holiday', start_date: '2030-12-25' })]);
    expect(await matching(id, '2030-12-22T00:00:00Z', '2030-12-28T23:00:00Z')).toEqual([
      '2030-12-22T09:00',
      '2030-12-23T09:00',
      '2030-12-24T09:00',
      '2030-12-26T09:00',
      '2030-12-27T09:00',
      '2030-12-28T09:00',
    ]);
  });

  it('a yearly closure across New Year removes the same days every year', async () => {
    const id = await scheduleWith('0 9 * * *', [ev({ kind: 'closure', start_date: '2024-12-30', end_date: '2025-01-02', recurs_yearly: true })]);
    for (const year of [2030, 2034]) {
      const runs = await matching(id, `${year}-12-27T00:00:00Z`, `${year + 1}-01-05T00:00:00Z`);
      expect(runs).toEqual(['12-27', '12-28', '12-29', '01-03', '01-04'].map((md) => `${md < '06' ? year + 1 : year}-${md}T09:00`));
    }
  });

  it('a maintenance window removes exactly the runs inside it (end exclusive, minute resolution)', async () => {
    const id = await scheduleWith('*/15 * * * *', [
      ev({ kind: 'maintenance', start_date: '2030-06-10', start_time: '22:40', end_date: '2030-06-12', end_time: '01:15' }),
    ]);
    const [from, to] = ['2030-06-10T17:05:00Z', '2030-06-12T02:05:00Z'];
    const runs = await matching(id, from, to);
    expect(runs).toEqual(expected(from, to, 15, (l) => l < '2030-06-10T22:40' || l >= '2030-06-12T01:15'));
    expect(runs).toContain('2030-06-10T22:30');
    expect(runs).not.toContain('2030-06-10T22:45');
    expect(runs).not.toContain('2030-06-11T12:00');
    expect(runs).toContain('2030-06-12T01:15');
  });

  it('a maintenance window over the spring-forward night is matched on wall-clock time', async () => {
    // 2030-03-31: Paris goes from 02:00 to 03:00.
    const id = await scheduleWith('0 * * * *', [ev({ kind: 'maintenance', start_date: '2030-03-31', start_time: '01:00', end_time: '04:00' })]);
    const runs = await matching(id, '2030-03-30T21:30:00Z', '2030-03-31T04:30:00Z');
    expect(runs).toEqual(['2030-03-30T23:00', '2030-03-31T00:00', '2030-03-31T04:00', '2030-03-31T05:00', '2030-03-31T06:00']);
  });

  it('business hours Mon–Fri 09:00–18:00 leave only the 09:00..17:00 runs on weekdays', async () => {
    const id = await scheduleWith('0 * * * *', [ev({ kind: 'business_hours', days_of_week: [1, 2, 3, 4, 5], start_time: '09:00', end_time: '18:00' })]);
    // Saturday 2030-06-08 to Tuesday 2030-06-11 (local).
    const [from, to] = ['2030-06-07T22:30:00Z', '2030-06-11T21:30:00Z'];
    const runs = await matching(id, from, to);
    const weekday = (l: string) => new Date(`${l.slice(0, 10)}T12:00:00Z`).getUTCDay();
    expect(runs).toEqual(expected(from, to, 60, (l) => weekday(l) >= 1 && weekday(l) <= 5 && l.slice(11) >= '09:00' && l.slice(11) < '18:00'));
    expect(runs[0]).toBe('2030-06-10T09:00');
    expect(runs.filter((r) => r.startsWith('2030-06-10'))).toHaveLength(9);
    expect(runs.at(-1)).toBe('2030-06-11T17:00');
  });

  it('holidays and business hours combine', async () => {
    const id = await scheduleWith('30 * * * *', [
      ev({ kind: 'business_hours', days_of_week: [1, 2, 3, 4, 5], start_time: '08:45', end_time: '10:45' }),
      ev({ kind: 'holiday', start_date: '2030-06-11' }),
    ]);
    expect(await matching(id, '2030-06-09T22:00:00Z', '2030-06-12T22:00:00Z')).toEqual([
      '2030-06-10T09:30',
      '2030-06-10T10:30',
      '2030-06-12T09:30',
      '2030-06-12T10:30',
    ]);
  });
});
