import { writeTaskMetrics } from '../../db/repositories/task-metrics.repository';
import { robustScore } from '../../api/services/metrics-analysis.service';
import { createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows } from '../support/mirror-fixtures';

const BASE = '/tasks/monitoring/metrics';
const HOUR = 3_600_000;

describe('anomalies and recommendations from measured metrics', () => {
  let t: TestContext;
  const ids: Record<string, { task: string; id: number }> = {};

  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    const em = t.orm.em.fork();
    const scope = { brandId: t.brand.id, userId: t.user.id };
    // Each metrics row belongs to a real mirror row (the API lists metrics of live tasks only).
    const write = async (name: string, taskType: string, hoursAgo: number, m: { exec: number; mem: number; status: 'completed' | 'failed' }) => {
      const [input] = await insertMirrorRows(em, scope, [{ status: m.status, taskType, createdAt: new Date(Date.now() - hoursAgo * HOUR - 60_000) }]);
      await writeTaskMetrics(em, {
        taskId: input!.taskId, brandId: t.brand.id, taskType, priority: 'normal', status: m.status, executionTimeMs: m.exec, cpuTimeMs: 0,
        cpuUsagePercent: 10, memoryUsageMb: m.mem, costUsd: 0.01, errorCount: m.status === 'failed' ? 1 : 0, attempts: 1, activityCount: 1,
        source: 'import', details: null, finishedAt: new Date(Date.now() - hoursAgo * HOUR).toISOString(),
      });
      const [row] = await em.execute<{ id: number }[]>(`select id from tasks where task_id = ?`, [input!.taskId]);
      ids[name] = { task: input!.taskId, id: row!.id };
    };
    // Baseline (1 to 3 days ago): seo_content_audit takes ~1 s and ~50 MB; data_export never fails.
    for (let i = 0; i < 30; i++) await write(`audit-base-${i}`, 'seo_content_audit', 30 + i, { exec: 950 + (i % 10) * 10, mem: 48 + (i % 5), status: 'completed' });
    for (let i = 0; i < 20; i++) await write(`export-base-${i}`, 'data_export', 30 + i, { exec: 2000, mem: 20, status: 'completed' });
    // Window (last 24 h): one slow audit, one memory spike, a normal one; data_export fails 4 times out of 6.
    await write('slow', 'seo_content_audit', 2, { exec: 12_000, mem: 50, status: 'completed' });
    await write('fat', 'seo_content_audit', 3, { exec: 1000, mem: 900, status: 'completed' });
    await write('normal', 'seo_content_audit', 4, { exec: 990, mem: 49, status: 'completed' });
    for (let i = 0; i < 6; i++) await write(`export-now-${i}`, 'data_export', 1 + i, { exec: 2100, mem: 20, status: i < 4 ? 'failed' : 'completed' });
    // Two tasks that timed out (mirror rows with the lifecycle's timeout message).
    const timedOut = await insertMirrorRows(em, scope, [
      { status: 'failed', taskType: 'website_structure_analysis', durationSeconds: 60 },
      { status: 'failed', taskType: 'website_structure_analysis', durationSeconds: 60 },
      { status: 'completed', taskType: 'website_structure_analysis', durationSeconds: 30 },
    ]);
    await em.execute(`update tasks set error_message = 'Task timed out after 1 minute(s)', timeout_minutes = 1 where task_id in (?, ?)`, [timedOut[0]!.taskId, timedOut[1]!.taskId]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('scores values robustly (median and MAD)', () => {
    expect(robustScore(12_000, 1000, 25)).toBeGreaterThan(3.5);
    expect(robustScore(1010, 1000, 25)).toBeLessThan(1);
    expect(robustScore(5, 5, 0)).toBe(0);
  });

  it('finds the slow run, the memory spike and the failure-rate jump, each with its score and baseline', async () => {
    const res = await t.http.get(`${BASE}/anomalies/?window_hours=24&baseline_days=3`).set(t.headers());
    expect(res.status).toBe(200);
    const kinds = res.body.anomalies.map((a: { kind: string; task_id?: string; task_type: string }) => `${a.kind}:${a.task_id ?? a.task_type}`);
    expect(kinds).toEqual(expect.arrayContaining([`slow_run:${ids.slow!.task}`, `memory_spike:${ids.fat!.task}`, 'failure_rate_jump:data_export']));
    expect(kinds).not.toContain(`slow_run:${ids.normal!.task}`);
    // A steady type (data_export always 2.0 s) does not turn 2.1 s into an anomaly.
    expect(res.body.anomalies.filter((a: { kind: string }) => a.kind === 'slow_run')).toHaveLength(1);
    const slow = res.body.anomalies.find((a: { kind: string }) => a.kind === 'slow_run');
    expect(slow).toMatchObject({ task: ids.slow!.id, value: 12_000, field: 'execution_time_ms', baseline: { samples: 30 } });
    expect(slow.baseline.median).toBeGreaterThanOrEqual(950);
    expect(slow.baseline.median).toBeLessThanOrEqual(1040);
    expect(slow.score).toBeGreaterThan(3.5);
    const jump = res.body.anomalies.find((a: { kind: string }) => a.kind === 'failure_rate_jump');
    expect(jump).toMatchObject({ value: 66.7, window: { runs: 6, failed: 4 }, baseline: { failure_rate_percent: 0, runs: 20 } });
    expect(res.body.baselines.seo_content_audit.samples).toBe(30);
    // A stricter threshold keeps only the strongest; bad parameters are refused.
    const strict = await t.http.get(`${BASE}/anomalies/?baseline_days=3&threshold=20`).set(t.headers());
    expect(strict.body.anomalies.length).toBeLessThan(res.body.anomalies.length);
    expect((await t.http.get(`${BASE}/anomalies/?window_hours=0`).set(t.headers())).status).toBe(400);
    const theirs = { Authorization: `Bearer ${t.outsider.token}`, 'X-Brand-ID': String(t.otherBrand.id) };
    expect((await t.http.get(`${BASE}/anomalies/`).set(theirs)).body.anomalies).toEqual([]);
  });

  it('recommends a longer timeout and a failure-rate alert, with the figures behind each', async () => {
    const res = await t.http.get(`${BASE}/recommendations/?period_days=3`).set(t.headers());
    expect(res.status).toBe(200);
    const timeout = res.body.recommendations.find((r: { kind: string }) => r.kind === 'raise_timeout');
    expect(timeout).toMatchObject({ task_type: 'website_structure_analysis', evidence: { timed_out: 2, finished: 3, current_timeout_minutes: 1 } });
    expect(timeout.action.field).toBe('timeout_minutes');
    expect(timeout.action.value).toBeGreaterThan(1);
    const alert = res.body.recommendations.find((r: { kind: string }) => r.kind === 'add_failure_rate_alert');
    expect(alert).toMatchObject({ task_type: 'data_export', action: { path: '/tasks/monitoring/alerts/', body: { metric_field: 'failure_rate_percent', scope_task_type: 'data_export' } } });
    expect(alert.evidence.window).toEqual({ runs: 6, failed: 4 });
  });
});
