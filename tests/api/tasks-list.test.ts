import { createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows, type MirrorRowSpec } from '../support/mirror-fixtures';

const day = (iso: string) => new Date(iso);

/** A known data set in a brand of its own: every expectation below is computed from it. */
const SPECS: MirrorRowSpec[] = [
  { status: 'completed', priority: 'high', taskType: 'seo_keyword_analysis', description: 'keyword analysis for client A', createdAt: day('2024-12-02T10:00:00Z'), durationSeconds: 120 },
  { status: 'completed', priority: 'normal', taskType: 'seo_content_audit', description: 'audit blog', createdAt: day('2024-12-03T10:00:00Z'), durationSeconds: 240 },
  { status: 'failed', priority: 'critical', taskType: 'seo_keyword_analysis', description: 'keyword analysis retry', createdAt: day('2024-12-05T10:00:00Z'), retryCount: 2 },
  { status: 'running', priority: 'critical', taskType: 'data_export', description: 'export all', createdAt: day('2024-12-06T10:00:00Z') },
  { status: 'pending', priority: 'low', taskType: 'noop', description: 'probe', createdAt: day('2024-11-20T10:00:00Z') },
  { status: 'cancelled', priority: 'normal', taskType: 'http_request', description: 'webhook 100%_done', createdAt: day('2024-12-07T10:00:00Z'), retryCount: 1 },
  { status: 'completed', priority: 'low', taskType: 'data_export', description: 'export december', createdAt: day('2024-12-08T10:00:00Z'), durationSeconds: 60 },
];

describe('GET /tasks/ filters, ordering, pagination and stats', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    await insertMirrorRows(t.orm.em.fork(), { brandId: t.brand.id, userId: t.user.id }, SPECS);
    // Noise in another brand that must never show up.
    await insertMirrorRows(t.orm.em.fork(), { brandId: t.otherBrand.id, userId: t.outsider.id }, SPECS);
  });
  afterAll(async () => {
    await t.close();
  });

  const list = async (query: string) => {
    const res = await t.http.get(`/tasks/?${query}`).set(t.headers());
    expect(res.status).toBe(200);
    return res.body as { count: number; next: string | null; previous: string | null; results: Record<string, any>[] };
  };
  const descriptions = (body: { results: Record<string, any>[] }) => body.results.map((r) => r.description);
  const expected = (pred: (s: MirrorRowSpec) => boolean) => SPECS.filter(pred).length;

  it('lists only the caller brand, newest first by default', async () => {
    const body = await list('');
    expect(body.count).toBe(SPECS.length);
    const created = body.results.map((r) => Date.parse(r.created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(body.results.every((r) => r.brand.id === t.brand.id)).toBe(true);
  });

  it('filters by comma lists of status, priority and task_type', async () => {
    expect((await list('status=running,pending&priority=high,critical')).count).toBe(
      expected((s) => ['running', 'pending'].includes(s.status) && ['high', 'critical'].includes(s.priority!)),
    );
    expect((await list('task_type=data_export,noop')).count).toBe(expected((s) => ['data_export', 'noop'].includes(s.taskType!)));
    expect((await list('task_type__startswith=seo')).count).toBe(expected((s) => s.taskType!.startsWith('seo')));
  });

  it('filters by dates (created_after/before and __gte/__lt lookups) and numbers (retry_count__gte)', async () => {
    const body = await list('status=failed&created_after=2024-12-01T00:00:00Z&ordering=-created_at');
    expect(descriptions(body)).toEqual(['keyword analysis retry']);
    expect((await list('created_before=2024-12-01T00:00:00Z')).count).toBe(expected((s) => s.createdAt! < day('2024-12-01T00:00:00Z')));
    expect((await list('created_at__gte=2024-12-05T10:00:00Z&created_at__lt=2024-12-08T10:00:00Z')).count).toBe(3);
    expect((await list('retry_count__gte=1')).count).toBe(expected((s) => (s.retryCount ?? 0) >= 1));
    expect((await list('retry_count__gt=1')).count).toBe(expected((s) => (s.retryCount ?? 0) > 1));
    expect((await list('has_metrics=false')).count).toBe(SPECS.length);
    expect((await list('is_resumable=true')).count).toBe(0);
  });

  it('searches task_id, type and description, case-insensitively, with LIKE wildcards escaped', async () => {
    expect(descriptions(await list('search=KEYWORD%20analysis&ordering=created_at'))).toEqual(['keyword analysis for client A', 'keyword analysis retry']);
    expect(descriptions(await list('search=100%25_done'))).toEqual(['webhook 100%_done']);
    expect((await list('search=0%25_d')).count).toBe(1);
    expect((await list('search=%25')).count).toBe(1);
    expect((await list('search=content_audit')).count).toBe(1);
  });

  it('orders by several fields, priority by importance', async () => {
    const body = await list('ordering=-priority,created_at');
    expect(body.results.map((r) => r.priority)).toEqual(['critical', 'critical', 'high', 'normal', 'normal', 'low', 'low']);
    expect(descriptions(body).slice(0, 2)).toEqual(['keyword analysis retry', 'export all']);
  });

  it('paginates DRF-style with count, next and previous keeping the filters', async () => {
    const p1 = await list('page_size=3&ordering=created_at&status=completed,failed,cancelled,running,pending');
    expect(p1.count).toBe(SPECS.length);
    expect(p1.results).toHaveLength(3);
    expect(p1.previous).toBeNull();
    expect(p1.next).toContain('page=2');
    expect(p1.next).toContain('status=completed');
    const p3 = await list('page_size=3&ordering=created_at&page=3');
    expect(p3.results).toHaveLength(1);
    expect(p3.next).toBeNull();
    expect(p3.previous).toContain('page=2');
    const beyond = await list('page_size=3&page=99');
    expect(beyond.results).toHaveLength(0);
    // page_size is capped (DRF), up to 10000; beyond, it is refused (tests/api/bad-input.test.ts)
    const capped = await list(`page_size=10000`);
    expect(capped.results.length).toBeLessThanOrEqual(t.config.PAGE_SIZE_MAX);
  });

  it.each([
    ['status=bogus', 'status.0'],
    ['priority=urgent', 'priority.0'],
    ['task_type=unknown_type', 'task_type.0'],
    ['ordering=-password', 'ordering.0'],
    ['created_after=yesterday', 'created_after'],
    ['retry_count__gte=many', 'retry_count__gte'],
    ['has_metrics=maybe', 'has_metrics'],
    ['page=0', 'page'],
    ['colour=blue', 'colour'],
  ])('answers 400 with field_errors for %s', async (query, field) => {
    const res = await t.http.get(`/tasks/?${query}`).set(t.headers());
    expect(res.status).toBe(400);
    expect(res.body.field_errors).toHaveProperty([field]);
  });

  it('computes queue-stats in the seed 001 shape from the brand rows only', async () => {
    const res = await t.http.get('/tasks/queue-stats/').set(t.headers());
    expect(res.status).toBe(200);
    const count = (pred: (s: MirrorRowSpec) => boolean) => SPECS.filter(pred).length;
    expect(res.body.total_tasks).toBe(SPECS.length);
    expect(res.body.status_distribution).toEqual({
      pending: count((s) => s.status === 'pending'),
      running: count((s) => s.status === 'running'),
      completed: count((s) => s.status === 'completed'),
      failed: count((s) => s.status === 'failed'),
      cancelled: count((s) => s.status === 'cancelled'),
    });
    expect(res.body.queues.critical).toEqual({ pending: 0, running: 1, total_today: 0 });
    expect(res.body.queues.low).toMatchObject({ pending: 1, running: 0 });
    expect(res.body.avg_processing_time_minutes).toEqual({ critical: null, high: 2, normal: 4, low: 1 });
  });

  it('computes type-stats with totals, success rate and average duration', async () => {
    const res = await t.http.get('/tasks/type-stats').set(t.headers());
    expect(res.status).toBe(200);
    expect(res.body.task_types.seo_keyword_analysis).toMatchObject({ total: 2, completed: 1, failed: 1, avg_duration_minutes: 2, success_rate: 50 });
    expect(res.body.task_types.data_export).toMatchObject({ total: 2, completed: 1, running: 1, success_rate: 50, avg_duration_minutes: 1 });
    expect(Object.keys(res.body.task_types).sort()).toEqual([...new Set(SPECS.map((s) => s.taskType!))].sort());
  });
});
