import { signAccessToken } from '../../api/services/token.service';
import { ensureBrand, ensureUser } from '../../db/repositories/identity.repository';
import { deleteMetricsOfTask, writeTaskMetrics } from '../../db/repositories/task-metrics.repository';
import { createTestContext, type TestContext } from '../support/harness';

/**
 * `/admin/jobs/stats` adds the older hours of a period from a cache (refreshed in the background after
 * ADMIN_STATS_CACHE_SECONDS, 1 s here) and the recent ones live: what the answers must still be.
 */
describe('admin stats with cached older hours (/admin/jobs/stats)', () => {
  let t: TestContext;
  let token: string;
  let brand: { id: number; name: string };
  const unique = `${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    t = await createTestContext({ config: { ADMIN_STATS_CACHE_SECONDS: 1 } });
    const em = t.orm.em.fork();
    const admin = await ensureUser(em, `admin-stats-${unique}`, 'admin');
    token = signAccessToken(t.config, admin, 3600);
    brand = await ensureBrand(em, `admin-stats-${unique}`);
  });
  afterAll(() => t.close());

  const stats = async () => {
    const res = await t.http.get(`/admin/jobs/stats?period=7d&brand_id=${brand.id}`).set({ Authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    return res.body as { totals: Record<string, number>; by_type: Record<string, unknown>[] };
  };
  const ago = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
  const write = (name: string, finishedAt: string, taskType: string, status: 'completed' | 'failed', executionTimeMs: number) =>
    writeTaskMetrics(t.orm.em.fork(), {
      taskId: `task_stats_${name}_${unique}`,
      brandId: brand.id,
      taskType,
      priority: 'normal',
      status,
      executionTimeMs,
      cpuTimeMs: 0,
      cpuUsagePercent: 10,
      memoryUsageMb: 50,
      costUsd: 0,
      errorCount: status === 'failed' ? 1 : 0,
      attempts: 1,
      activityCount: 1,
      source: 'worker',
      details: null,
      finishedAt,
    });
  /** Polls until `check` passes (a refresh runs in the background after the cache delay). */
  const eventually = async (check: () => Promise<void>, timeoutMs = 15_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await check();
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  it('counts a job finishing now at once, and backdated writes and deletions once the older hours are refreshed', async () => {
    await write('old', ago(72), 'seo_content_audit', 'completed', 3000);
    await write('now', ago(0), 'noop', 'failed', 1000);
    expect((await stats()).totals).toMatchObject({ total: 2, completed: 1, failed: 1, failure_rate: 50, avg_duration_ms: 2000 });

    // The current hour is read on each request, whatever the cache holds.
    await write('now-2', ago(0), 'noop', 'completed', 2000);
    expect((await stats()).totals).toMatchObject({ total: 3, failed: 1, avg_duration_ms: 2000 });

    // A job two days back lands in the cached hours: it counts after the refresh the next requests start.
    await write('backdated', ago(48), 'seo_content_audit', 'completed', 6000);
    await eventually(async () => expect((await stats()).totals).toMatchObject({ total: 4, failed: 1, avg_duration_ms: 3000 }));

    // So does deleting an old job's metrics (an admin delete does it).
    await deleteMetricsOfTask(t.orm.em.fork(), `task_stats_old_${unique}`);
    await eventually(async () => {
      const body = await stats();
      expect(body.totals).toMatchObject({ total: 3, completed: 2, failed: 1, avg_duration_ms: 3000 });
      expect(body.by_type).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ task_type: 'noop', total: 2, failed: 1 }),
          expect.objectContaining({ task_type: 'seo_content_audit', total: 1, failed: 0, avg_duration_ms: 6000 }),
        ]),
      );
    });
  });
});
