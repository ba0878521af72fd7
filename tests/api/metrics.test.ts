import { createTestContext, type TestContext } from '../support/harness';

const BASE = '/tasks/monitoring/metrics';

describe('task metrics: measured by the worker, imported through the API, rolled up for dashboards', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ config: { METRIC_PRICE_TABLE: { default: 0.001, http_request: 0.5 } } });
  });
  afterAll(async () => {
    await t.close();
  });

  const create = async (body: Record<string, unknown>) => (await t.http.post('/tasks/').set(t.headers()).send(body)).body;
  const sumOfRows = async () =>
    (
      await t.orm.em.fork().execute<{ n: number; exec: number; cost: number; failed: number; cancelled: number }[]>(
        `select count(*)::int as n, coalesce(sum(execution_time_ms), 0)::float8 as exec, coalesce(sum(cost_usd), 0)::float8 as cost,
                count(*) filter (where status = 'failed')::int as failed, count(*) filter (where status = 'cancelled')::int as cancelled
           from task_metrics where brand_id = ?`,
        [t.brand.id],
      )
    )[0]!;
  const dashboard = async (q = '') => (await t.http.get(`${BASE}/dashboard/?${q}`).set(t.headers())).body;

  it('measures every activity attempt of a task into its metrics row, shown under `metrics` with has_metrics', async () => {
    const slow = await create({ task_type: 'noop', priority: 'high', context_data: { duration_ms: 400 } });
    const failing = await create({ task_type: 'noop', max_retries: 0, context_data: { fail_message: 'measured failure' } });
    const instant = await create({ task_type: 'noop' });
    const long = await create({ task_type: 'noop', context_data: { duration_ms: 60_000 } });
    const done = await t.waitForTask(slow.id, (x) => x.status === 'completed' && x.metrics !== null);
    expect(done.metrics).toMatchObject({
      base_task: slow.id,
      task_id: slow.task_id,
      task_type: 'noop',
      priority: 'high',
      status: 'completed',
      error_count: 0,
      attempts: 1,
      activity_count: 1,
      source: 'worker',
      details: { by_activity_type: { runNoopWork: { attempts: 1, errors: 0 } } },
    });
    expect(done.metrics.execution_time_ms).toBeGreaterThanOrEqual(400);
    expect(done.metrics.memory_usage_mb).toBeGreaterThanOrEqual(0);
    expect(done.metrics.cpu_usage_percent).toBeGreaterThanOrEqual(0);
    // cost = seconds of measured activity time × the default price of 0.001 USD per second
    expect(done.metrics.cost_usd).toBeCloseTo((done.metrics.execution_time_ms / 1000) * 0.001, 6);

    const failed = await t.waitForTask(failing.id, (x) => x.status === 'failed' && x.metrics !== null);
    expect(failed.metrics).toMatchObject({ status: 'failed', error_count: 1, attempts: 1 });
    // A task that ran no activity has nothing measured.
    const nothing = await t.waitForTask(instant.id, (x) => x.status === 'completed');
    expect(nothing.metrics).toBeNull();
    // A task cancelled while running is measured too, with its status: the rollups count it as cancelled, not completed.
    await t.waitForTask(long.id, (x) => x.status === 'running' && x.progress_percentage > 0);
    expect((await t.http.post(`/tasks/${long.id}/cancel/`).set(t.headers()).send({})).body).toMatchObject({ previous_status: 'running' });
    const cancelled = await t.waitForTask(long.id, (x) => x.status === 'cancelled' && x.metrics !== null);
    expect(cancelled.metrics).toMatchObject({ status: 'cancelled', attempts: 1 });
    const figures = (await dashboard('period=last_24_hours')).performance_by_priority.normal;
    expect(figures).toMatchObject({ total_tasks: 2, completed_tasks: 0, failed_tasks: 1, cancelled_tasks: 1, error_rate_percent: 100 });

    const ids = async (q: string) => (await t.http.get(`/tasks/?${q}&page_size=100`).set(t.headers())).body.results.map((r: { id: number }) => r.id);
    expect(await ids('has_metrics=true')).toEqual(expect.arrayContaining([slow.id, failing.id]));
    expect(await ids('has_metrics=true')).not.toContain(instant.id);
    expect(await ids('has_metrics=false')).toContain(instant.id);
  });

  it('lists and filters metrics (base_task, range lookups of seed 000); an unknown metric field is METRIC_FIELD_INVALID', async () => {
    const list = async (q: string) => t.http.get(`${BASE}/?${q}`).set(t.headers());
    const all = (await list('page_size=100')).body;
    expect(all.count).toBeGreaterThanOrEqual(2);
    const slow = all.results.find((m: { execution_time_ms: number }) => m.execution_time_ms >= 400);
    expect((await list(`base_task=${slow.base_task}`)).body.results.map((m: { id: number }) => m.id)).toEqual([slow.id]);
    expect((await list(`base_task=${slow.task_id}`)).body.count).toBe(1);
    const heavy = (await list('execution_time_ms__gte=400')).body.results;
    expect(heavy.length).toBeGreaterThan(0);
    expect(heavy.every((m: { execution_time_ms: number }) => m.execution_time_ms >= 400)).toBe(true);
    expect((await list('error_count__gt=0')).body.results.every((m: { error_count: number }) => m.error_count > 0)).toBe(true);
    expect((await list('cost_usd__gte=0&memory_usage_mb__gte=0&cpu_usage_percent__gte=0')).body.count).toBe(all.count);
    const unknown = await list('speed__gte=3');
    expect([unknown.status, unknown.body.error_code]).toEqual([400, 'METRIC_FIELD_INVALID']);
    expect((await list('ordering=-cost_usd')).status).toBe(200);
    expect((await list('ordering=constructor')).status).toBe(400);
    expect((await t.http.get(`${BASE}/${slow.id}/`).set(t.headers())).body.id).toBe(slow.id);
    const theirs = { Authorization: `Bearer ${t.outsider.token}`, 'X-Brand-ID': String(t.otherBrand.id) };
    expect((await t.http.get(`${BASE}/${slow.id}/`).set(theirs)).status).toBe(404);
    expect((await t.http.get(`${BASE}/`).set(theirs)).body.count).toBe(0);
  });

  it('imports, edits and deletes metrics; the dashboard always equals the rows (rollups moved, never double-counted)', async () => {
    const external = await create({ task_type: 'noop', description: 'measured elsewhere' });
    await t.waitForTask(external.id, (x) => x.status === 'completed');
    const post = (body: Record<string, unknown>) => t.http.post(`${BASE}/`).set(t.headers()).send(body);
    const bad = await post({ base_task: external.id, execution_time_ms: 1000, gpu_hours: 3 });
    expect([bad.status, bad.body.error_code]).toEqual([400, 'METRIC_FIELD_INVALID']);
    expect(bad.body.field_errors).toHaveProperty('gpu_hours');
    expect((await post({ base_task: external.id, execution_time_ms: -5 })).body.error_code).toBe('VALIDATION_ERROR');
    expect((await post({ base_task: 999999999, execution_time_ms: 5 })).body.field_errors).toHaveProperty('base_task');

    const created = await post({ base_task: external.id, execution_time_ms: 120_000, memory_usage_mb: 512, cpu_usage_percent: 75, cost_usd: 1.5, error_count: 2 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ base_task: external.id, source: 'import', execution_time_ms: 120_000, cost_usd: 1.5 });
    expect((await post({ base_task: external.id, execution_time_ms: 1 })).status).toBe(409);
    expect((await t.http.get(`/tasks/${external.id}/`).set(t.headers())).body.metrics).toMatchObject({ id: created.body.id, cost_usd: 1.5 });

    const check = async () => {
      const rows = await sumOfRows();
      const d = await dashboard('period=last_24_hours');
      expect(d.summary.total_tasks).toBe(rows.n);
      expect(d.summary.total_cost_usd).toBeCloseTo(rows.cost, 5);
      expect(d.summary.avg_execution_time_ms).toBeCloseTo(rows.exec / rows.n, 1);
      // failed / (completed + failed): a task cancelled while running is neither.
      expect(d.summary.error_rate_percent).toBeCloseTo(Math.round((rows.failed / (rows.n - rows.cancelled)) * 1000) / 10, 1);
      // Long periods add up daily rollups (plus the hours of a partial first day): the same figures.
      const month = await dashboard('period=last_30_days');
      expect(month.summary.total_tasks).toBe(rows.n);
      expect(month.summary.total_cost_usd).toBeCloseTo(rows.cost, 5);
      expect(month.trends.interval).toBe('day');
      return d;
    };
    const d = await check();
    expect(d).toMatchObject({
      period: 'last_24_hours',
      summary: { total_tasks: expect.any(Number), avg_memory_usage_mb: expect.any(Number) },
      trends: { interval: 'hour', points: expect.any(Array) },
      performance_by_priority: { low: expect.any(Object), normal: expect.any(Object), high: expect.any(Object), critical: expect.any(Object) },
    });
    expect(d.top_expensive_tasks[0]).toMatchObject({ task: external.id, cost_usd: 1.5 });
    expect(d.performance_by_priority.high.total_tasks).toBeGreaterThanOrEqual(1);

    const patched = await t.http.patch(`${BASE}/${created.body.id}/`).set(t.headers()).send({ cost_usd: 0.25, execution_time_ms: 60_000 });
    expect(patched.body).toMatchObject({ cost_usd: 0.25, execution_time_ms: 60_000, memory_usage_mb: 512 });
    await check();
    const put = await t.http.put(`${BASE}/${created.body.id}/`).set(t.headers()).send({ base_task: external.id, execution_time_ms: 30_000 });
    expect(put.body).toMatchObject({ execution_time_ms: 30_000, cost_usd: 0, error_count: 0 });
    await check();
    expect((await t.http.patch(`${BASE}/${created.body.id}/`).set(t.headers()).send({ bogus: 1 })).body.error_code).toBe('METRIC_FIELD_INVALID');

    expect((await t.http.delete(`${BASE}/${created.body.id}/`).set(t.headers())).status).toBe(204);
    expect((await t.http.get(`${BASE}/${created.body.id}/`).set(t.headers())).status).toBe(404);
    expect((await t.http.get(`/tasks/${external.id}/`).set(t.headers())).body.metrics).toBeNull();
    await check();
    const audit = await t.orm.em.fork().execute<{ action: string }[]>(
      `select action from audit_log where target_type = 'task_metrics' and target_id = ? order by id`,
      [String(created.body.id)],
    );
    expect(audit.map((a) => a.action)).toEqual(['metrics.create', 'metrics.update', 'metrics.update', 'metrics.delete']);
  });

  it('deleting a task takes its metrics out of the dashboards too; integer filters refuse fractions', async () => {
    const task = await create({ task_type: 'noop', context_data: { duration_ms: 50 } });
    await t.waitForTask(task.id, (x) => x.status === 'completed' && x.metrics !== null);
    const before = (await dashboard('period=last_24_hours')).summary.total_tasks;
    expect((await t.http.delete(`/tasks/${task.id}/`).set(t.headers())).status).toBe(204);
    const after = await dashboard('period=last_24_hours');
    expect(after.summary.total_tasks).toBe(before - 1);
    expect(after.summary.total_tasks).toBe((await sumOfRows()).n);
    const fraction = await t.http.get(`${BASE}/?error_count__gt=0.5`).set(t.headers());
    expect([fraction.status, fraction.body.error_code]).toEqual([400, 'VALIDATION_ERROR']);
    expect((await t.http.get(`${BASE}/?error_count__gte=3000000000`).set(t.headers())).status).toBe(400);
  });

  it('trends and performance-by-type read the same rollups; bad periods are refused', async () => {
    const rows = await sumOfRows();
    const trends = (await t.http.get(`${BASE}/trends/?period=last_7_days&interval=hour`).set(t.headers())).body;
    const sum = (field: string) => trends.points.reduce((a: number, p: Record<string, number>) => a + p[field]!, 0);
    expect(sum('total_tasks')).toBe(rows.n);
    expect(rows.cancelled).toBeGreaterThanOrEqual(1);
    expect([sum('completed_tasks'), sum('failed_tasks'), sum('cancelled_tasks')]).toEqual([rows.n - rows.failed - rows.cancelled, rows.failed, rows.cancelled]);
    expect(trends.points[0]).toEqual(
      expect.objectContaining({ bucket: expect.any(String), p50_execution_time_ms: expect.any(Number), p95_execution_time_ms: expect.any(Number), error_rate_percent: expect.any(Number), total_cost_usd: expect.any(Number) }),
    );
    const byType = (await t.http.get(`${BASE}/performance-by-type/`).set(t.headers())).body;
    expect(byType.task_types.noop).toMatchObject({ total_tasks: rows.n, failed_tasks: rows.failed, cancelled_tasks: rows.cancelled });
    expect(byType.task_types.noop.p95_execution_time_ms).toBeGreaterThanOrEqual(byType.task_types.noop.p50_execution_time_ms);
    const bad = await t.http.get(`${BASE}/dashboard/?period=last_century`).set(t.headers());
    expect([bad.status, bad.body.error_code]).toEqual([400, 'VALIDATION_ERROR']);
  });
});
