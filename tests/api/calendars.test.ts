import { msNumberToTs, tsToDate } from '@temporalio/common/lib/time';
import type { CalendarSpecDescription } from '@temporalio/client';
import { formatInZone } from '../../api/services/cron.service';
import { createTestContext, type TestContext } from '../support/harness';

const BASE = '/tasks/scheduled/calendars';
const PERIODIC = '/tasks/scheduled/periodic-tasks';

const holiday = (name: string, start_date: string, extra: Record<string, unknown> = {}) => ({ kind: 'holiday', name, start_date, ...extra });
const hours = { kind: 'business_hours', name: 'Office', days_of_week: [1, 2, 3, 4, 5], start_time: '09:00', end_time: '18:00' };

describe('business calendars (/tasks/scheduled/calendars/)', () => {
  let t: TestContext;
  const schedules: string[] = [];

  beforeAll(async () => {
    t = await createTestContext({ worker: false });
  });
  afterAll(async () => {
    for (const id of schedules) await t.client.schedule.getHandle(id).delete().catch(() => undefined);
    await t.close();
  });

  const post = (body: unknown) => t.http.post(`${BASE}/`).set(t.headers()).send(body as object);
  const audit = async (action: string, targetId: string) =>
    t.orm.em.fork().execute<{ action: string; details: Record<string, unknown>; actor_id: number; brand_id: number }[]>(
      `select action, details, actor_id, brand_id from audit_log where action = ? and target_id = ? order by id`,
      [action, targetId],
    );

  describe('CRUD', () => {
    it('creates a calendar with events and answers the full calendar', async () => {
      const res = await post({
        name: 'France 2030',
        description: 'Public holidays',
        events: [holiday('Christmas', '2030-12-25', { recurs_yearly: true }), { ...hours, days_of_week: [5, 1, 2, 3, 4] }],
      });
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`${BASE}/${res.body.id}/`);
      expect(res.body).toMatchObject({
        name: 'France 2030',
        description: 'Public holidays',
        brand: { id: t.brand.id, name: t.brand.name },
        events_count: 2,
        schedules_count: 0,
        schedules: [],
        schedules_updated: 0,
      });
      expect(res.body.events).toEqual([
        expect.objectContaining({ kind: 'holiday', name: 'Christmas', start_date: '2030-12-25', end_date: null, start_time: null, end_time: null, recurs_yearly: true, days_of_week: null }),
        expect.objectContaining({ kind: 'business_hours', name: 'Office', start_date: null, days_of_week: [1, 2, 3, 4, 5], start_time: '09:00', end_time: '18:00', recurs_yearly: false }),
      ]);
      expect(Date.parse(res.body.created_at)).not.toBeNaN();

      const got = await t.http.get(`${BASE}/${res.body.id}`).set(t.headers());
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id: res.body.id, events_count: 2, events: res.body.events });
      expect(got.body.schedules_updated).toBeUndefined();

      const [row] = await audit('calendar.create', String(res.body.id));
      expect(row).toMatchObject({ actor_id: t.user.id, brand_id: t.brand.id, details: expect.objectContaining({ name: 'France 2030' }) });
    });

    it('PUT replaces name, description and every event; PATCH changes only what it names; both are audited', async () => {
      const created = await post({ name: 'To edit', events: [holiday('A', '2031-01-01'), holiday('B', '2031-01-02')] });
      const id = created.body.id;
      const put = await t.http.put(`${BASE}/${id}/`).set(t.headers()).send({ name: 'Edited', events: [holiday('C', '2031-02-01')] });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ name: 'Edited', description: '', events_count: 1, schedules_updated: 0 });
      expect(put.body.events.map((e: { name: string }) => e.name)).toEqual(['C']);

      const patch = await t.http.patch(`${BASE}/${id}`).set(t.headers()).send({ description: 'now described' });
      expect(patch.status).toBe(200);
      expect(patch.body).toMatchObject({ name: 'Edited', description: 'now described', events_count: 1 });

      // PUT without events keeps them.
      const put2 = await t.http.put(`${BASE}/${id}/`).set(t.headers()).send({ name: 'Edited again', description: 'x' });
      expect(put2.body.events_count).toBe(1);

      const updates = await audit('calendar.update', String(id));
      expect(updates).toHaveLength(3);
      expect(updates[0]!.details).toMatchObject({ before: { name: 'To edit' }, changes: { name: 'Edited', events_replaced: 2 } });
    });

    it('event CRUD on a calendar: create, read, PUT, PATCH (merged, then checked as a whole), DELETE', async () => {
      const cal = (await post({ name: 'Events' })).body;
      const created = await t.http.post(`${BASE}/${cal.id}/events/`).set(t.headers()).send(holiday('Founders day', '2031-03-14'));
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ calendar_id: cal.id, kind: 'holiday', name: 'Founders day', start_date: '2031-03-14', schedules_updated: 0 });
      const eid = created.body.id;
      expect(created.headers.location).toBe(`${BASE}/${cal.id}/events/${eid}/`);

      const one = await t.http.get(`${BASE}/${cal.id}/events/${eid}/`).set(t.headers());
      expect(one.body).toMatchObject({ id: eid, name: 'Founders day' });

      const put = await t.http
        .put(`${BASE}/${cal.id}/events/${eid}/`)
        .set(t.headers())
        .send({ kind: 'maintenance', name: 'DB upgrade', start_date: '2031-03-14', start_time: '22:00', end_date: '2031-03-15', end_time: '02:00' });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ kind: 'maintenance', start_time: '22:00', end_date: '2031-03-15', end_time: '02:00' });

      const patch = await t.http.patch(`${BASE}/${cal.id}/events/${eid}`).set(t.headers()).send({ end_time: '03:30' });
      expect(patch.status).toBe(200);
      expect(patch.body).toMatchObject({ kind: 'maintenance', name: 'DB upgrade', start_time: '22:00', end_time: '03:30' });

      // A PATCH that leaves the merged event invalid is refused on the offending field.
      const bad = await t.http.patch(`${BASE}/${cal.id}/events/${eid}`).set(t.headers()).send({ kind: 'holiday' });
      expect(bad.status).toBe(400);
      expect(bad.body.field_errors).toEqual({ start_time: ['Not allowed for a holiday'], end_time: ['Not allowed for a holiday'] });

      const del = await t.http.delete(`${BASE}/${cal.id}/events/${eid}/`).set(t.headers());
      expect(del.status).toBe(204);
      expect(del.headers['schedules-updated']).toBe('0');
      expect((await t.http.get(`${BASE}/${cal.id}/events/${eid}/`).set(t.headers())).status).toBe(404);
      expect((await t.http.get(`${BASE}/${cal.id}/`).set(t.headers())).body.events_count).toBe(0);

      for (const action of ['calendar.event.create', 'calendar.event.update', 'calendar.event.delete']) {
        expect((await audit(action, String(eid))).length).toBeGreaterThanOrEqual(1);
      }
    });

    it('DELETE soft-deletes an unused calendar: gone from detail and list, audited', async () => {
      const cal = (await post({ name: 'Doomed', events: [holiday('X', '2031-05-01')] })).body;
      const del = await t.http.delete(`${BASE}/${cal.id}`).set(t.headers());
      expect(del.status).toBe(204);
      const got = await t.http.get(`${BASE}/${cal.id}/`).set(t.headers());
      expect(got.status).toBe(404);
      expect(got.body.error_code).toBe('CALENDAR_NOT_FOUND');
      const list = await t.http.get(`${BASE}/?search=Doomed&page_size=500`).set(t.headers());
      expect(list.body.results.map((c: { id: number }) => c.id)).not.toContain(cal.id);
      expect(await audit('calendar.delete', String(cal.id))).toEqual([expect.objectContaining({ details: expect.objectContaining({ name: 'Doomed', force: false }) })]);
      expect((await t.http.delete(`${BASE}/${cal.id}/`).set(t.headers())).status).toBe(404);
    });
  });

  describe('validation', () => {
    it.each([
      ['no name', { events: [] }, { name: ['This field is required'] }],
      ['unknown field', { name: 'x', color: 'red' }, { color: ['Unknown field'] }],
      ['impossible date', { name: 'x', events: [holiday('h', '2031-02-30')] }, { 'events.0.start_date': ['Must be a valid date YYYY-MM-DD (1970 or later)'] }],
      ['end before start', { name: 'x', events: [holiday('h', '2031-02-10', { end_date: '2031-02-01' })] }, { 'events.0.end_date': ['Must be on or after start_date'] }],
      ['holiday with a time', { name: 'x', events: [holiday('h', '2031-02-10', { start_time: '09:00' })] }, { 'events.0.start_time': ['Not allowed for a holiday'] }],
      ['holiday without a date', { name: 'x', events: [{ kind: 'holiday', name: 'h' }] }, { 'events.0.start_date': ['Required for a holiday'] }],
      ['unknown kind', { name: 'x', events: [{ kind: 'vacation', name: 'h', start_date: '2031-01-01' }] }, { 'events.0.kind': ['Invalid value. Choices: holiday, closure, maintenance, business_hours'] }],
      [
        'maintenance without times',
        { name: 'x', events: [{ kind: 'maintenance', name: 'm', start_date: '2031-01-01' }] },
        { 'events.0.start_time': ['Required for a maintenance window'], 'events.0.end_time': ['Required for a maintenance window'] },
      ],
      [
        'maintenance ending before it starts',
        { name: 'x', events: [{ kind: 'maintenance', name: 'm', start_date: '2031-01-01', start_time: '10:00', end_time: '09:00' }] },
        { 'events.0.end_time': ['The window must end after it starts (end_date + end_time after start_date + start_time)'] },
      ],
      ['bad time', { name: 'x', events: [{ ...hours, start_time: '25:00' }] }, { 'events.1.start_time': ['Must be a time HH:MM (00:00 to 23:59)'] }],
      ['repeated days', { name: 'x', events: [{ ...hours, days_of_week: [1, 1] }] }, { 'events.1.days_of_week': ['Days must not repeat'] }],
      ['no days', { name: 'x', events: [{ ...hours, days_of_week: [] }] }, { 'events.1.days_of_week': ['Give at least one day'] }],
      ['day 7', { name: 'x', events: [{ ...hours, days_of_week: [7] }] }, { 'events.1.days_of_week.0': ['Must be 0 (Sunday) to 6 (Saturday)'] }],
      ['business hours ending first', { name: 'x', events: [{ ...hours, end_time: '08:00' }] }, { 'events.1.end_time': ['Must be after start_time'] }],
      ['business hours with a date', { name: 'x', events: [{ ...hours, start_date: '2031-01-01' }] }, { 'events.1.start_date': ['Not allowed for business hours'] }],
      [
        'yearly range of more than a year',
        { name: 'x', events: [holiday('h', '2030-01-01', { end_date: '2031-01-05', recurs_yearly: true })] },
        { 'events.0.end_date': ['A yearly event must last less than a year'] },
      ],
    ])('refuses %s with field errors', async (label, body, fieldErrors) => {
      // The "events.1" cases put a valid holiday first, to show the index of the faulty event.
      const payload = body as { events?: unknown[] };
      if (Object.keys(fieldErrors)[0]!.startsWith('events.1')) payload.events = [holiday('ok', '2031-01-01'), ...(payload.events ?? [])];
      const res = await post(payload);
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('VALIDATION_ERROR');
      expect(res.body.field_errors).toEqual(fieldErrors);
    });

    it('validates event bodies, list filters and the events period', async () => {
      const cal = (await post({ name: 'Validation' })).body;
      const bad = await t.http.post(`${BASE}/${cal.id}/events/`).set(t.headers()).send({ kind: 'closure', name: '', start_date: '31/12/2031' });
      expect(bad.status).toBe(400);
      expect(bad.body.field_errors).toEqual({ name: ['Must not be empty'], start_date: ['Must be a valid date YYYY-MM-DD (1970 or later)'] });
      const empty = await t.http.patch(`${BASE}/${cal.id}/`).set(t.headers()).send({});
      expect(empty.status).toBe(400);
      const ordering = await t.http.get(`${BASE}/?ordering=color`).set(t.headers());
      expect(ordering.status).toBe(400);
      expect(JSON.stringify(ordering.body.field_errors)).toContain('Choices: id, name, created_at, updated_at');
      expect((await t.http.get(`${BASE}/?has_events=maybe`).set(t.headers())).body.field_errors).toEqual({ has_events: ['Must be true or false'] });
      const tooLong = await t.http.get(`${BASE}/${cal.id}/events/?days=400`).set(t.headers());
      expect(tooLong.body.field_errors).toEqual({ days: ['At most 366'] });
      const reversed = await t.http.get(`${BASE}/${cal.id}/events/?from=2031-05-01&until=2031-04-01`).set(t.headers());
      expect(reversed.body.field_errors).toEqual({ until: ['Must be on or after from'] });
    });
  });

  describe('brand isolation and filters', () => {
    it('another brand’s member gets 404 on every path and never sees the calendar in lists', async () => {
      const cal = (await post({ name: 'Private', events: [holiday('P', '2031-07-14')] })).body;
      const eid = cal.events[0].id;
      const outsider = t.headers(t.outsider, t.otherBrand.id);
      const calls = [
        t.http.get(`${BASE}/${cal.id}/`).set(outsider),
        t.http.put(`${BASE}/${cal.id}/`).set(outsider).send({ name: 'hijack' }),
        t.http.patch(`${BASE}/${cal.id}/`).set(outsider).send({ name: 'hijack' }),
        t.http.delete(`${BASE}/${cal.id}/`).set(outsider),
        t.http.get(`${BASE}/${cal.id}/events/`).set(outsider),
        t.http.post(`${BASE}/${cal.id}/events/`).set(outsider).send(holiday('x', '2031-01-01')),
        t.http.patch(`${BASE}/${cal.id}/events/${eid}/`).set(outsider).send({ name: 'x' }),
        t.http.delete(`${BASE}/${cal.id}/events/${eid}/`).set(outsider),
      ];
      for (const res of await Promise.all(calls)) {
        expect(res.status).toBe(404);
        expect(res.body.error_code).toBe('CALENDAR_NOT_FOUND');
      }
      const list = await t.http.get(`${BASE}/?page_size=500`).set(outsider);
      expect(list.body.results.map((c: { id: number }) => c.id)).not.toContain(cal.id);
      // The outsider is not a member of our brand at all.
      expect((await t.http.get(`${BASE}/`).set(t.headers(t.outsider, t.brand.id))).status).toBe(403);
      const mine = await t.http.get(`${BASE}/${cal.id}/`).set(t.headers());
      expect(mine.body).toMatchObject({ name: 'Private', events_count: 1 });
    });

    it('filters by has_events, brand, search and creation date; orders and paginates DRF-style', async () => {
      const tag = `flt-${Date.now()}`;
      const withEvents = (await post({ name: `${tag} b-with`, events: [holiday('h', '2031-08-15')] })).body;
      const without = (await post({ name: `${tag} a-without` })).body;
      expect(ids(await t.http.get(`${BASE}/?search=${tag}&has_events=true`).set(t.headers()))).toEqual([withEvents.id]);
      expect(ids(await t.http.get(`${BASE}/?search=${tag}&has_events=false`).set(t.headers()))).toEqual([without.id]);
      expect(ids(await t.http.get(`${BASE}/?search=${tag}&ordering=name`).set(t.headers()))).toEqual([without.id, withEvents.id]);
      expect(ids(await t.http.get(`${BASE}/?search=${tag}&ordering=-id`).set(t.headers()))).toEqual([without.id, withEvents.id]);
      expect(ids(await t.http.get(`${BASE}/?search=${tag}&brand=${t.brand.id}&ordering=id`).set(t.headers()))).toEqual([withEvents.id, without.id]);
      expect((await t.http.get(`${BASE}/?brand=${t.otherBrand.id}`).set(t.headers())).body).toEqual({ count: 0, next: null, previous: null, results: [] });
      const future = encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString());
      expect(ids(await t.http.get(`${BASE}/?search=${tag}&created_after=${future}`).set(t.headers()))).toEqual([]);
      expect(ids(await t.http.get(`${BASE}/?search=${tag}&created_before=${future}&ordering=id`).set(t.headers()))).toEqual([withEvents.id, without.id]);

      const page1 = await t.http.get(`${BASE}?search=${tag}&ordering=id&page_size=1`).set(t.headers());
      expect(page1.body).toMatchObject({ count: 2, previous: null });
      expect(page1.body.next).toBe(`${BASE}?search=${tag}&ordering=id&page_size=1&page=2`);
      const page2 = await t.http.get(page1.body.next).set(t.headers());
      expect(page2.body).toMatchObject({ count: 2, next: null });
      expect(ids(page2)).toEqual([without.id]);
      expect(page2.body.results[0]).toMatchObject({ events: [], events_count: 0, schedules_count: 0, brand: { id: t.brand.id } });
    });
  });

  describe('events/ and the schedules using a calendar', () => {
    it('lists upcoming occurrences in the period, the weekly business hours and the raw events', async () => {
      const cal = (
        await post({
          name: 'Upcoming',
          events: [
            holiday('New year', '2030-01-01', { recurs_yearly: true }),
            { kind: 'closure', name: 'Summer', start_date: '2031-07-28', end_date: '2031-08-08' },
            { kind: 'maintenance', name: 'Upgrade', start_date: '2031-08-01', start_time: '23:00', end_date: '2031-08-02', end_time: '01:30' },
            hours,
          ],
        })
      ).body;
      const res = await t.http.get(`${BASE}/${cal.id}/events/?from=2031-08-01&days=180`).set(t.headers());
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ calendar: { id: cal.id, name: 'Upcoming' }, from: '2031-08-01', until: '2032-01-27', count: 3, schedules: [] });
      expect(res.body.results.map((o: Record<string, unknown>) => [o.name, o.starts_at_local, o.ends_at_local, o.suppressed_runs])).toEqual([
        ['Summer', '2031-07-28T00:00', '2031-08-09T00:00', []],
        ['Upgrade', '2031-08-01T23:00', '2031-08-02T01:30', []],
        ['New year', '2032-01-01T00:00', '2032-01-02T00:00', []],
      ]);
      expect(res.body.business_hours).toEqual([
        expect.objectContaining({ name: 'Office', recurring_weekly: { days_of_week: [1, 2, 3, 4, 5], day_names: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'], start_time: '09:00', end_time: '18:00' } }),
      ]);
      expect(res.body.events).toHaveLength(4);
      // Default period: 90 days from today.
      const dflt = await t.http.get(`${BASE}/${cal.id}/events`).set(t.headers());
      expect(dflt.body.from).toBe(new Date().toISOString().slice(0, 10));
    });

    it('a periodic task using the calendar: suppressed runs listed, skip specs follow every event change in Temporal, delete refused then forced', async () => {
      const cal = (await post({ name: 'Used', events: [holiday('Christmas', '2030-12-25')] })).body;
      const created = await t.http
        .post(`${PERIODIC}/`)
        .set(t.headers())
        .send({ name: 'Daily 9h', task_type: 'noop', cron_expression: '0 9 * * *', timezone: 'Europe/Paris', calendars: [cal.id], is_active: false });
      expect(created.status).toBe(201);
      const scheduleId: string = created.body.schedule_id;
      schedules.push(scheduleId);
      const periodicId: number = created.body.id;

      const skipOf = async (): Promise<CalendarSpecDescription[]> => (await t.client.schedule.getHandle(scheduleId).describe()).spec.skip ?? [];
      const matching = async (from: string, to: string) => {
        const res = await t.client.workflowService.listScheduleMatchingTimes({
          namespace: t.config.TEMPORAL_NAMESPACE,
          scheduleId,
          startTime: msNumberToTs(Date.parse(from)),
          endTime: msNumberToTs(Date.parse(to)),
        });
        return (res.startTime ?? []).map((ts) => formatInZone(tsToDate(ts), 'Europe/Paris').slice(0, 10));
      };
      expect(await skipOf()).toEqual([expect.objectContaining({ dayOfMonth: [{ start: 25, end: 25, step: 1 }], month: [{ start: 'DECEMBER', end: 'DECEMBER', step: 1 }], year: [{ start: 2030, end: 2030, step: 1 }] })]);
      expect(await matching('2030-12-23T12:00:00Z', '2030-12-27T12:00:00Z')).toEqual(['2030-12-24', '2030-12-26', '2030-12-27']);

      const detail = await t.http.get(`${BASE}/${cal.id}/`).set(t.headers());
      expect(detail.body).toMatchObject({ schedules_count: 1, schedules: [{ id: periodicId, schedule_id: scheduleId, name: 'Daily 9h' }] });
      expect(ids(await t.http.get(`${BASE}/?search=Used&ordering=-id`).set(t.headers())).slice(0, 1)).toEqual([cal.id]);

      const upcoming = await t.http.get(`${BASE}/${cal.id}/events/?from=2030-12-01&until=2030-12-31`).set(t.headers());
      expect(upcoming.body.results).toEqual([
        {
          event_id: cal.events[0].id,
          name: 'Christmas',
          kind: 'holiday',
          starts_at_local: '2030-12-25T00:00',
          ends_at_local: '2030-12-26T00:00',
          suppressed_runs: [{ periodic_task_id: periodicId, name: 'Daily 9h', scheduled_at: '2030-12-25T09:00:00+01:00' }],
          suppressed_runs_truncated: false,
        },
      ]);
      expect(upcoming.body.schedules).toEqual([
        expect.objectContaining({ periodic_task_id: periodicId, schedule_id: scheduleId, timezone: 'Europe/Paris', runs_in_period: 31, suppressed_runs_in_period: 1 }),
      ]);

      // Moving the holiday moves the skip in Temporal.
      const moved = await t.http.patch(`${BASE}/${cal.id}/events/${cal.events[0].id}/`).set(t.headers()).send({ start_date: '2030-12-26' });
      expect(moved.body).toMatchObject({ start_date: '2030-12-26', schedules_updated: 1 });
      expect(await matching('2030-12-23T12:00:00Z', '2030-12-27T12:00:00Z')).toEqual(['2030-12-24', '2030-12-25', '2030-12-27']);

      // Adding business hours Mon–Fri 10:00–18:00 makes every 09:00 run skipped; a new event is resynced too.
      const added = await t.http.post(`${BASE}/${cal.id}/events/`).set(t.headers()).send({ ...hours, start_time: '10:00' });
      expect(added.body.schedules_updated).toBe(1);
      expect(await matching('2030-12-23T12:00:00Z', '2030-12-31T12:00:00Z')).toEqual([]);
      const withHours = await t.http.get(`${BASE}/${cal.id}/events/?from=2030-12-23&until=2030-12-29`).set(t.headers());
      expect(withHours.body.schedules[0]).toMatchObject({ runs_in_period: 7, suppressed_runs_in_period: 7 });
      const deletedEvent = await t.http.delete(`${BASE}/${cal.id}/events/${added.body.id}/`).set(t.headers());
      expect(deletedEvent.headers['schedules-updated']).toBe('1');
      expect(await matching('2030-12-23T12:00:00Z', '2030-12-27T12:00:00Z')).toEqual(['2030-12-24', '2030-12-25', '2030-12-27']);

      // PUT of the calendar with new events is a change too.
      const replaced = await t.http.put(`${BASE}/${cal.id}/`).set(t.headers()).send({ name: 'Used', events: [holiday('Boxing day', '2030-12-24')] });
      expect(replaced.body.schedules_updated).toBe(1);
      expect(await matching('2030-12-23T12:00:00Z', '2030-12-27T12:00:00Z')).toEqual(['2030-12-25', '2030-12-26', '2030-12-27']);

      // Deleting a calendar in use is refused, listing the schedules; forced, it leaves them and their skips go.
      const refused = await t.http.delete(`${BASE}/${cal.id}/`).set(t.headers());
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error_code: 'INVALID_OPERATION', schedules: [{ id: periodicId, schedule_id: scheduleId, name: 'Daily 9h' }] });
      expect((await t.http.get(`${BASE}/${cal.id}/`).set(t.headers())).status).toBe(200);
      const forced = await t.http.delete(`${BASE}/${cal.id}/?force=true`).set(t.headers());
      expect(forced.status).toBe(204);
      expect(forced.headers['schedules-updated']).toBe('1');
      expect(await skipOf()).toEqual([]);
      const periodic = await t.http.get(`${PERIODIC}/${periodicId}/`).set(t.headers());
      expect(periodic.body.calendars).toEqual([]);
      expect(await audit('calendar.delete', String(cal.id))).toEqual([expect.objectContaining({ details: expect.objectContaining({ force: true, schedules_unlinked: [periodicId] }) })]);
    });
  });

  const ids = (res: { body: { results: { id: number }[] } }) => res.body.results.map((c) => c.id);
});
