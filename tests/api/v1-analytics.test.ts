import { signAccessToken } from '../../api/services/token.service';
import { ensureBrand, ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { writeTaskMetrics } from '../../db/repositories/task-metrics.repository';
import { createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows } from '../support/mirror-fixtures';

type Row = Record<string, any>;
const DAY_MS = 86_400_000;

describe('public API v1 analytics (/api/v1/analytics)', () => {
  let t: TestContext;
  const unique = `${process.pid}-${Date.now()}`;
  let headers: Record<string, string>;
  let brandId: number;
  let userId: number;
  const today = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
  const dayOf = (daysAgo: number) => new Date(today.getTime() - daysAgo * DAY_MS).toISOString().slice(0, 10);

  beforeAll(async () => {
    t = await createTestContext();
    // A brand of its own, so every figure is exact.
    const em = t.orm.em.fork();
    const brand = await ensureBrand(em, `v1-analytics-${unique}`);
    const user = await ensureUser(em, `v1-analytics-${unique}`);
    await grantMembership(em, user.id, brand.id);
    brandId = brand.id;
    userId = user.id;
    headers = { Authorization: `Bearer ${signAccessToken(t.config, user, 600)}` };
    const rows = await insertMirrorRows(em, { brandId, userId }, [
      { status: 'completed', priority: 'high', createdAt: new Date(Date.now() - 60_000) },
      { status: 'completed', priority: 'normal', createdAt: new Date(Date.now() - 50_000) },
      { status: 'completed', priority: 'low', createdAt: new Date(Date.now() - 40_000) },
      { status: 'failed', priority: 'critical', createdAt: new Date(Date.now() - 30_000) },
      { status: 'pending', createdAt: new Date(Date.now() - 20_000) },
      { status: 'running', createdAt: new Date(Date.now() - 10_000) },
      { status: 'cancelled', createdAt: new Date(Date.now() - 5_000) },
    ]);
    // What the worker measured: two tasks finished today (one failed), one two days ago.
    const measured = [
      { input: rows[0]!, status: 'completed', ms: 2000, finishedAt: new Date(Math.max(today.getTime(), Date.now() - 60_000)) },
      { input: rows[3]!, status: 'failed', ms: 4000, finishedAt: new Date(Math.max(today.getTime(), Date.now() - 60_000)) },
      { input: rows[1]!, status: 'completed', ms: 1000, finishedAt: new Date(today.getTime() - 2 * DAY_MS + 3_600_000) },
    ];
    for (const m of measured) {
      await writeTaskMetrics(em, {
        taskId: m.input.taskId,
        brandId,
        taskType: m.input.taskType,
        priority: m.input.priority,
        status: m.status,
        executionTimeMs: m.ms,
        cpuTimeMs: 0,
        cpuUsagePercent: 10,
        memoryUsageMb: 5,
        costUsd: 0.001,
        errorCount: m.status === 'failed' ? 1 : 0,
        attempts: 1,
        activityCount: 1,
        source: 'worker',
        details: null,
        finishedAt: m.finishedAt.toISOString(),
      });
    }
  });
  afterAll(async () => {
    await t.close();
  });

  it("GET /dashboard answers exactly the seed's fields for the caller's brand", async () => {
    const res = await t.http.get('/api/v1/analytics/dashboard').set(headers);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data).sort()).toEqual(
      ['average_duration', 'completed_tasks', 'completion_rate', 'failed_tasks', 'pending_tasks', 'total_tasks', 'workers_active', 'workers_total'].sort(),
    );
    expect(res.body.data).toMatchObject({
      total_tasks: 7,
      completed_tasks: 3,
      failed_tasks: 1,
      pending_tasks: 2,
      completion_rate: 0.4286,
      average_duration: 2.333,
    });
    expect(res.body.data.workers_active).toBeGreaterThanOrEqual(1);
    expect(res.body.data.workers_total).toBeGreaterThanOrEqual(res.body.data.workers_active);
    expect((await t.http.get('/api/v1/analytics/dashboard?period=all').set(headers)).status).toBe(400);
  });

  it('GET /trends answers one point per UTC day, oldest first (default: 7 days of completion_rate)', async () => {
    const res = await t.http.get('/api/v1/analytics/trends').set(headers);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ metric: 'completion_rate', days: 7, unit: 'ratio' });
    const series = res.body.data.series as Row[];
    expect(series.map((p) => p.date)).toEqual([6, 5, 4, 3, 2, 1, 0].map(dayOf));
    expect(series.at(-1)).toEqual({ date: dayOf(0), value: 0.5, tasks: 2 });
    expect(series.at(-3)).toEqual({ date: dayOf(2), value: 1, tasks: 1 });
    expect(series[0]).toEqual({ date: dayOf(6), value: null, tasks: 0 });
  });

  it('GET /trends serves error_rate and avg_duration (seconds) too, up to 365 days', async () => {
    const errors = await t.http.get('/api/v1/analytics/trends?metric=error_rate&days=3').set(headers);
    expect(errors.body.data.series).toEqual([
      { date: dayOf(2), value: 0, tasks: 1 },
      { date: dayOf(1), value: null, tasks: 0 },
      { date: dayOf(0), value: 0.5, tasks: 2 },
    ]);
    const durations = await t.http.get('/api/v1/analytics/trends?metric=avg_duration&days=3').set(headers);
    expect(durations.body.data).toMatchObject({ unit: 'seconds' });
    expect(durations.body.data.series.map((p: Row) => p.value)).toEqual([1, null, 3]);
    const year = await t.http.get('/api/v1/analytics/trends?days=365').set(headers);
    expect(year.body.data.series).toHaveLength(365);
    for (const query of ['days=366', 'days=0', 'metric=throughput', 'interval=day']) {
      const bad = await t.http.get(`/api/v1/analytics/trends?${query}`).set(headers);
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('INVALID_REQUEST');
    }
  });

  it('GET /trends counts a task cancelled while running as finished but not completed (and /dashboard agrees)', async () => {
    // A brand of its own: the figures above stay exact.
    const em = t.orm.em.fork();
    const brand = await ensureBrand(em, `v1-cancel-${unique}`);
    const user = await ensureUser(em, `v1-cancel-${unique}`);
    await grantMembership(em, user.id, brand.id);
    const v1 = { Authorization: `Bearer ${signAccessToken(t.config, user, 600)}` };
    const member = { ...v1, 'X-Brand-ID': String(brand.id) };
    const quick = await t.http.post('/tasks/').set(member).send({ task_type: 'noop', context_data: { duration_ms: 20 } });
    const long = await t.http.post('/tasks/').set(member).send({ task_type: 'noop', context_data: { duration_ms: 60_000 } });
    expect([quick.status, long.status]).toEqual([201, 201]);
    const until = async (id: number, predicate: (task: Row) => boolean) => {
      const taskOf = async () => (await t.http.get(`/tasks/${id}/`).set(member)).body as Row;
      for (let task = await taskOf(); !predicate(task); task = await taskOf()) await new Promise((r) => setTimeout(r, 100));
    };
    await until(long.body.id, (x) => x.status === 'running' && x.progress_percentage > 0);
    expect((await t.http.post(`/tasks/${long.body.id}/cancel/`).set(member).send({})).body).toMatchObject({ previous_status: 'running' });
    // Both measured (each ran an activity), so both are in the day's rollups.
    await until(long.body.id, (x) => x.status === 'cancelled' && x.metrics !== null);
    await until(quick.body.id, (x) => x.status === 'completed' && x.metrics !== null);
    const series = async (metric: string) => (await t.http.get(`/api/v1/analytics/trends?metric=${metric}&days=1`).set(v1)).body.data.series;
    // completed / finished (was 1 − error_rate = 1: the cancelled task counted as completed).
    expect(await series('completion_rate')).toEqual([{ date: dayOf(0), value: 0.5, tasks: 2 }]);
    expect(await series('error_rate')).toEqual([{ date: dayOf(0), value: 0, tasks: 2 }]);
    const dashboard = await t.http.get('/api/v1/analytics/dashboard').set(v1);
    expect(dashboard.body.data).toMatchObject({ total_tasks: 2, completed_tasks: 1, failed_tasks: 0, pending_tasks: 0, completion_rate: 0.5 });
  });

  describe('GET /export', () => {
    it('answers JSON by default and for Accept: application/json — the envelope with every task, newest first', async () => {
      for (const accept of [undefined, 'application/json', '*/*']) {
        const req = t.http.get('/api/v1/analytics/export').set(headers);
        if (accept) req.set('Accept', accept);
        const res = await req;
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.headers['content-disposition']).toMatch(/attachment; filename="analytics-export-.*\.json"/);
        expect(res.body).toMatchObject({ status: 'success', timestamp: expect.any(String) });
        expect(res.body.data).toHaveLength(7);
        expect(res.body.data.map((r: Row) => r.status)).toEqual(['cancelled', 'running', 'pending', 'failed', 'completed', 'completed', 'completed']);
      }
      const res = await t.http.get('/api/v1/analytics/export').set(headers);
      const failed = res.body.data.find((r: Row) => r.status === 'failed');
      expect(failed).toMatchObject({ type: 'noop', priority: 'high', execution_time: 4, cost_usd: 0.001, error: 'fixture failure', duration: 60 });
    });

    it('answers CSV for Accept: text/csv (header row, one line per task), filtered like the list', async () => {
      const res = await t.http.get('/api/v1/analytics/export?status=completed&priority=high').set(headers).set('Accept', 'text/csv');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      const lines = res.text.trimEnd().split('\r\n');
      expect(lines[0]).toBe(
        'task_id,name,type,status,priority,worker_id,retry_count,max_retries,created_at,started_at,completed_at,duration,execution_time,cpu_usage_percent,memory_usage_mb,cost_usd,error',
      );
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^task_fixture_[^,]+,,noop,completed,high,,0,3,/);
    });

    it('refuses any other Accept with 406 (INVALID_REQUEST, our NOT_ACCEPTABLE) and bad filters with 400', async () => {
      const res = await t.http.get('/api/v1/analytics/export').set(headers).set('Accept', 'application/xml');
      expect(res.status).toBe(406);
      expect(res.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: { error_code: 'NOT_ACCEPTABLE', available: ['application/json', 'text/csv'] } });
      for (const query of ['format=csv', 'status=done', 'created_after=yesterday']) {
        expect((await t.http.get(`/api/v1/analytics/export?${query}`).set(headers)).status).toBe(400);
      }
    });

    it('streams past one keyset batch: every row once, in order, ties on created_at broken by id', async () => {
      const em = t.orm.em.fork();
      const brand = await ensureBrand(em, `v1-export-${unique}`);
      const user = await ensureUser(em, `v1-export-${unique}`);
      await grantMembership(em, user.id, brand.id);
      // 2,345 tasks, ten per created_at instant: batches of 1000 end in the middle of a tie.
      await em.execute(
        `insert into tasks (task_id, brand_id, created_by_id, task_type, status, priority, priority_level, description, context_data,
                            max_retries, retry_count, created_at, updated_at, seq)
         select 'task_bulk_' || ? || '_' || g, ?, ?, 'noop', 'completed', 'normal', 2, '', '{}'::jsonb, 3, 0,
                now() - (g / 10) * interval '1 second', now(), 1
           from generate_series(1, 2345) g`,
        [unique, brand.id, user.id],
      );
      const res = await t.http.get('/api/v1/analytics/export').set({ Authorization: `Bearer ${signAccessToken(t.config, user, 600)}`, Accept: 'text/csv' });
      expect(res.status).toBe(200);
      const ids = res.text.trimEnd().split('\r\n').slice(1).map((l) => l.split(',')[0]!);
      expect(ids).toHaveLength(2345);
      expect(new Set(ids).size).toBe(2345);
      const [expected] = await em.execute<{ ids: string[] }[]>(
        `select array_agg(task_id order by created_at desc, id desc) as ids from tasks where brand_id = ?`,
        [brand.id],
      );
      expect(ids).toEqual(expected!.ids);
    });
  });
});
