import { createTestContext, type TestContext } from '../support/harness';

const BASE = '/tasks/scheduled/periodic-tasks';

describe('scheduling tools (task_scheduling): validate-cron, cron-templates, timezone-info', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ worker: false });
  });
  afterAll(async () => {
    await t.close();
  });

  const validate = (body: unknown) => t.http.post(`${BASE}/validate-cron/`).set(t.headers()).send(body as object);
  const runsOn = (runs: string[], day: string) => runs.filter((r) => r.startsWith(day));

  describe('POST validate-cron/', () => {
    it('validates 0 9 * * 1-5 in Europe/Paris with its descriptions and next runs', async () => {
      const res = await validate({ cron_expression: '0 9 * * 1-5', timezone: 'Europe/Paris', from: '2024-12-20T00:00:00Z' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        valid: true,
        cron_expression: '0 9 * * 1-5',
        normalized: '0 9 * * 1-5',
        fields: 5,
        timezone: 'Europe/Paris',
        description: { en: 'At 09:00 AM, Monday through Friday', fr: 'À 09:00, de lundi à vendredi' },
        next_runs: ['2024-12-20T09:00:00+01:00', '2024-12-23T09:00:00+01:00', '2024-12-24T09:00:00+01:00', '2024-12-25T09:00:00+01:00', '2024-12-26T09:00:00+01:00'],
      });
    });

    it('answers without the trailing slash, defaults to UTC and 5 runs after now, and honours count', async () => {
      const res = await t.http.post(`${BASE}/validate-cron`).set(t.headers()).send({ cron_expression: '*/15 * * * *' });
      expect(res.status).toBe(200);
      expect(res.body.timezone).toBe('UTC');
      expect(res.body.next_runs).toHaveLength(5);
      for (const run of res.body.next_runs) expect(run).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:(00|15|30|45):00\+00:00$/);
      expect(Date.parse(res.body.next_runs[0])).toBeGreaterThan(Date.now() - 1000);
      const many = await validate({ cron_expression: '0 * * * *', count: 50, from: '2025-01-01T00:00:00Z' });
      expect(many.body.next_runs).toHaveLength(50);
      expect(many.body.next_runs[49]).toBe('2025-01-03T02:00:00+00:00');
    });

    it('keeps 09:00 local across both 2025 DST changes in Europe/Paris', async () => {
      const spring = await validate({ cron_expression: '0 9 * * *', timezone: 'Europe/Paris', count: 4, from: '2025-03-28T12:00:00Z' });
      expect(spring.body.next_runs).toEqual(['2025-03-29T09:00:00+01:00', '2025-03-30T09:00:00+02:00', '2025-03-31T09:00:00+02:00', '2025-04-01T09:00:00+02:00']);
      const autumn = await validate({ cron_expression: '0 9 * * *', timezone: 'Europe/Paris', count: 4, from: '2025-10-24T12:00:00Z' });
      expect(autumn.body.next_runs).toEqual(['2025-10-25T09:00:00+02:00', '2025-10-26T09:00:00+01:00', '2025-10-27T09:00:00+01:00', '2025-10-28T09:00:00+01:00']);
    });

    it('fires 30 2 * * * exactly once on the spring-forward day (02:30 does not exist) and once on the fall-back day', async () => {
      const spring = await validate({ cron_expression: '30 2 * * *', timezone: 'Europe/Paris', count: 4, from: '2025-03-28T12:00:00Z' });
      expect(spring.status).toBe(200);
      expect(runsOn(spring.body.next_runs, '2025-03-30')).toEqual(['2025-03-30T03:30:00+02:00']);
      expect(spring.body.next_runs).toEqual(['2025-03-29T02:30:00+01:00', '2025-03-30T03:30:00+02:00', '2025-03-31T02:30:00+02:00', '2025-04-01T02:30:00+02:00']);
      const autumn = await validate({ cron_expression: '30 2 * * *', timezone: 'Europe/Paris', count: 4, from: '2025-10-24T12:00:00Z' });
      expect(runsOn(autumn.body.next_runs, '2025-10-26')).toEqual(['2025-10-26T02:30:00+02:00']);
      expect(new Set(autumn.body.next_runs).size).toBe(4);
    });

    it('accepts 6-field expressions with seconds', async () => {
      const res = await validate({ cron_expression: '*/30 * * * * *', count: 3, from: '2025-01-01T00:00:00Z' });
      expect(res.status).toBe(200);
      expect(res.body.fields).toBe(6);
      expect(res.body.description).toEqual({ en: 'Every 30 seconds', fr: 'Toutes les 30 secondes' });
      expect(res.body.next_runs).toEqual(['2025-01-01T00:00:30+00:00', '2025-01-01T00:01:00+00:00', '2025-01-01T00:01:30+00:00']);
    });

    it.each([
      ['@yearly', '0 0 1 1 *'],
      ['@annually', '0 0 1 1 *'],
      ['@monthly', '0 0 1 * *'],
      ['@weekly', '0 0 * * 0'],
      ['@daily', '0 0 * * *'],
      ['@midnight', '0 0 * * *'],
      ['@hourly', '0 * * * *'],
    ])('expands the macro %s to %s', async (macro, expanded) => {
      const res = await validate({ cron_expression: macro, timezone: 'Asia/Kolkata', count: 1, from: '2025-01-01T00:00:00Z' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ cron_expression: macro, normalized: expanded, fields: 5, timezone: 'Asia/Kolkata' });
      expect(res.body.next_runs[0]).toMatch(/\+05:30$/);
    });

    it('rejects invalid expressions with INVALID_CRON_EXPRESSION, naming the offending field when there is one', async () => {
      const hour = await validate({ cron_expression: '0 25 * * *' });
      expect(hour.status).toBe(400);
      expect(hour.body).toMatchObject({ error_code: 'INVALID_CRON_EXPRESSION', position: 1, field: 'hour' });
      expect(hour.body.field_errors.cron_expression[0]).toContain('25');
      expect(hour.body.reason).toBe(hour.body.field_errors.cron_expression[0]);
      const seconds = await validate({ cron_expression: '75 0 9 * * *' });
      expect(seconds.body).toMatchObject({ error_code: 'INVALID_CRON_EXPRESSION', position: 0, field: 'second' });
      for (const bad of ['* * * *', 'every day', '@fortnightly', '0 0 31 2 *', '0 H * * *', '0 9 * * 8']) {
        const res = await validate({ cron_expression: bad });
        expect([bad, res.status, res.body.error_code]).toEqual([bad, 400, 'INVALID_CRON_EXPRESSION']);
        expect(res.body.field_errors.cron_expression).toHaveLength(1);
      }
    });

    it('rejects what Temporal cannot run with FREQUENCY_NOT_SUPPORTED: @reboot and 7-field expressions', async () => {
      for (const expr of ['@reboot', '0 0 12 * * * 2025']) {
        const res = await validate({ cron_expression: expr });
        expect(res.status).toBe(400);
        expect(res.body.error_code).toBe('FREQUENCY_NOT_SUPPORTED');
        expect(res.body.field_errors).toHaveProperty('cron_expression');
      }
    });

    it('refuses the L, W and # extensions Temporal rejects or ignores, and reads ? as *', async () => {
      for (const expr of ['0 9 L * *', '0 9 15W * *', '0 9 * * 5L', '0 9 * * 1#2']) {
        const res = await validate({ cron_expression: expr });
        expect([expr, res.status, res.body.error_code]).toEqual([expr, 400, 'FREQUENCY_NOT_SUPPORTED']);
      }
      // Month and day names that contain the letters stay fine.
      expect((await validate({ cron_expression: '0 9 * JUL WED' })).status).toBe(200);
      const quartz = await validate({ cron_expression: '0 9 ? * MON-FRI' });
      expect(quartz.body.normalized).toBe('0 9 * * MON-FRI');
    });

    it('follows Temporal when day of month and day of week are both given: days matching both (first Monday)', async () => {
      const res = await validate({ cron_expression: '0 9 1-7 * 1', timezone: 'Europe/Paris', count: 3, from: '2027-01-01T00:00:00Z' });
      expect(res.body.next_runs).toEqual(['2027-01-04T09:00:00+01:00', '2027-02-01T09:00:00+01:00', '2027-03-01T09:00:00+01:00']);
      expect(res.body.description.en).toMatch(/both the day of the month and the day of the week/);
    });

    it('rejects an unknown timezone with TIMEZONE_INVALID', async () => {
      for (const timezone of ['Mars/Olympus_Mons', '+01:00', '']) {
        const res = await validate({ cron_expression: '0 9 * * *', timezone });
        expect([timezone, res.status, res.body.error_code]).toEqual([timezone, 400, 'TIMEZONE_INVALID']);
        expect(res.body.field_errors).toHaveProperty('timezone');
      }
    });

    it('rejects unknown body fields, a missing expression, a bad count and a bad from', async () => {
      const res = await validate({ cron_expression: '0 9 * * *', tz: 'UTC' });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('VALIDATION_ERROR');
      expect(res.body.field_errors).toEqual({ tz: ['Unknown field'] });
      const bad = await validate({ count: 51, from: 'tomorrow' });
      expect(bad.status).toBe(400);
      expect(Object.keys(bad.body.field_errors).sort()).toEqual(['count', 'cron_expression', 'from']);
    });
  });

  describe('GET cron-templates/', () => {
    it('lists the common expressions with cronstrue descriptions in English and French, all valid', async () => {
      const res = await t.http.get(`${BASE}/cron-templates/`).set(t.headers());
      expect(res.status).toBe(200);
      expect(res.body.count).toBe(res.body.results.length);
      expect(res.body.count).toBeGreaterThanOrEqual(15);
      const weekdays = res.body.results.find((r: any) => r.cron_expression === '0 9 * * 1-5');
      expect(weekdays).toEqual({ key: 'weekdays_9am', cron_expression: '0 9 * * 1-5', description: { en: 'At 09:00 AM, Monday through Friday', fr: 'À 09:00, de lundi à vendredi' }, category: 'weekly' });
      for (const tpl of res.body.results) {
        expect(tpl.description.en).toBeTruthy();
        expect(tpl.description.fr).toBeTruthy();
        expect(tpl.description.fr).not.toBe(tpl.description.en);
        const check = await validate({ cron_expression: tpl.cron_expression, count: 1 });
        expect([tpl.key, check.status]).toEqual([tpl.key, 200]);
      }
      const noSlash = await t.http.get(`${BASE}/cron-templates`).set(t.headers());
      expect(noSlash.status).toBe(200);
    });
  });

  describe('GET timezone-info/', () => {
    const isoSunday = (iso: string) => new Date(iso).getUTCDay() === 0;

    it('describes Europe/Paris: offset, abbreviation, and the next two DST changes at 01:00 UTC on the last Sundays of March and October', async () => {
      const res = await t.http.get(`${BASE}/timezone-info/?timezone=Europe/Paris`).set(t.headers());
      expect(res.status).toBe(200);
      expect(res.body.timezone).toBe('Europe/Paris');
      const winter = res.body.utc_offset === '+01:00';
      expect(res.body.utc_offset).toBe(winter ? '+01:00' : '+02:00');
      expect(res.body.utc_offset_minutes).toBe(winter ? 60 : 120);
      expect(res.body.abbreviation).toBe(winter ? 'CET' : 'CEST');
      expect(res.body.current_time).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\${res.body.utc_offset}$`));
      expect(Math.abs(Date.parse(res.body.current_time) - Date.now())).toBeLessThan(60_000);
      const transitions = res.body.dst_transitions_next_year;
      expect(transitions).toHaveLength(2);
      for (const tr of transitions) {
        expect(tr.at).toMatch(/^\d{4}-(03|10)-(2[5-9]|3[01])T01:00:00\.000Z$/);
        expect(isoSunday(tr.at)).toBe(true);
        expect(tr.at.slice(5, 7) === '03' ? [tr.offset_before, tr.offset_after] : [tr.offset_after, tr.offset_before]).toEqual(['+01:00', '+02:00']);
      }
      expect(Date.parse(transitions[0].at)).toBeLessThan(Date.parse(transitions[1].at));
    });

    it('finds half-hour changes to the minute (Australia/Lord_Howe) and none where there is no DST (Asia/Tokyo)', async () => {
      const lordHowe = await t.http.get(`${BASE}/timezone-info?timezone=Australia/Lord_Howe`).set(t.headers());
      expect(lordHowe.status).toBe(200);
      expect(lordHowe.body.dst_transitions_next_year).toHaveLength(2);
      for (const tr of lordHowe.body.dst_transitions_next_year) {
        expect(new Set([tr.offset_before, tr.offset_after])).toEqual(new Set(['+10:30', '+11:00']));
        // 02:00 local either way: 15:00 UTC when leaving +11:00, 15:30 UTC when leaving +10:30.
        expect(tr.at).toMatch(tr.offset_before === '+11:00' ? /T15:00:00\.000Z$/ : /T15:30:00\.000Z$/);
      }
      const tokyo = await t.http.get(`${BASE}/timezone-info/?timezone=Asia/Tokyo`).set(t.headers());
      expect(tokyo.body).toMatchObject({ timezone: 'Asia/Tokyo', utc_offset: '+09:00', utc_offset_minutes: 540, dst_transitions_next_year: [] });
    });

    it('rejects a missing or unknown timezone with TIMEZONE_INVALID', async () => {
      for (const query of ['', '?timezone=Europe/Atlantis', '?timezone=']) {
        const res = await t.http.get(`${BASE}/timezone-info/${query}`).set(t.headers());
        expect([query, res.status, res.body.error_code]).toEqual([query, 400, 'TIMEZONE_INVALID']);
        expect(res.body.field_errors.timezone).toHaveLength(1);
      }
    });
  });

  it('requires a token on every endpoint (401)', async () => {
    const responses = await Promise.all([
      t.http.post(`${BASE}/validate-cron/`).send({ cron_expression: '0 9 * * *' }),
      t.http.get(`${BASE}/cron-templates/`),
      t.http.get(`${BASE}/timezone-info/?timezone=UTC`),
    ]);
    for (const res of responses) {
      expect(res.status).toBe(401);
      expect(res.body.error_code).toBe('AUTHENTICATION_FAILED');
    }
  });
});
