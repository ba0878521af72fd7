import { ScheduleGateway } from '../../api/temporal/schedules';
import { createTestContext, type TestContext } from '../support/harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BASE = '/tasks/scheduled/periodic-tasks';

describe('schedule stats, performance analysis and optimisation (real Temporal and PostgreSQL)', () => {
  let t: TestContext;
  let schedules: ScheduleGateway;
  const created: string[] = [];
  /** Schedules of the test brand, by role. */
  const s: Record<string, { id: number; schedule_id: string }> = {};
  beforeAll(async () => {
    t = await createTestContext();
    schedules = new ScheduleGateway(t.client, t.config.TEMPORAL_TASK_QUEUE, t.config.TEMPORAL_NAMESPACE);
  });
  afterAll(async () => {
    for (const id of created) await schedules.delete(id).catch(() => undefined);
    await t.close();
  });

  const create = async (role: string, body: Record<string, unknown>, path = `${BASE}/`) => {
    const res = await t.http.post(path).set(t.headers()).send(body);
    expect([role, res.status]).toEqual([role, 201]);
    created.push(res.body.schedule_id);
    s[role] = { id: res.body.id, schedule_id: res.body.schedule_id };
    return res.body;
  };
  const runs = async (scheduleId: string) =>
    (await t.http.get(`/tasks/?schedule_id=${scheduleId}&page_size=500`).set(t.headers())).body.results as Record<string, any>[];
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 40_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(250);
    }
  };
  const get = (path: string, headers = t.headers()) => t.http.get(`${BASE}/${path}`).set(headers);
  const optimize = (body: Record<string, unknown>, query = '', headers = t.headers()) =>
    t.http.post(`${BASE}/optimize-schedules/${query}`).set(headers).send(body);

  it('performance-analysis: runs, failure rate, durations, drift and skipped overlaps of schedules that fired, with findings', async () => {
    await create('slow', { task_type: 'noop', context_data: { duration_ms: 1500 }, cron_expression: '* * * * * *', overlap_policy: 'skip', name: 'slow' });
    await create('failing', { task_type: 'noop', context_data: { fail_message: 'boom' }, max_retries: 0, cron_expression: '* * * * * *', name: 'failing' });
    await waitFor('a few firings of both', async () => {
      const [slow, failing] = await Promise.all([runs(s.slow!.schedule_id), runs(s.failing!.schedule_id)]);
      return slow.filter((r) => r.status === 'completed').length >= 3 && failing.filter((r) => r.status === 'failed').length >= 3;
    });
    for (const role of ['slow', 'failing']) {
      expect((await t.http.post(`${BASE}/${s[role]!.id}/toggle/`).set(t.headers()).send({ is_active: false })).status).toBe(200);
    }
    // Every firing finished (one started just before the pause may still land).
    const [slowRuns, failingRuns] = await waitFor('every firing to finish', async () => {
      await sleep(1000);
      const r = await Promise.all([runs(s.slow!.schedule_id), runs(s.failing!.schedule_id)]);
      return r.every((list) => list.every((x) => ['completed', 'failed', 'cancelled'].includes(x.status))) && r;
    });

    const res = await get('performance-analysis/?ordering=-failure_rate');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ count: 2, next: null, previous: null, period: 'last_7_days' });
    const [failing, slow] = res.body.results;
    expect(failing).toMatchObject({
      id: s.failing!.id,
      kind: 'periodic',
      runs: failingRuns.length,
      failure_count: failingRuns.length,
      success_count: 0,
      missed_count: 0,
      failure_rate: 100,
      interval_ms: 1000,
      actions_taken: expect.any(Number),
    });
    expect(failing.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          code: 'failure_rate',
          severity: 'critical',
          message: `failure rate 100 % over ${failingRuns.length} runs`,
          evidence: expect.objectContaining({ failure_rate: 100, failure_count: failingRuns.length, finished_runs: failingRuns.length }),
        }),
      ]),
    );

    // The slow one: durations from completed_at − started_at, drift from started_at − scheduled_for.
    const durations = slowRuns.map((r) => Date.parse(r.completed_at) - Date.parse(r.started_at));
    const drifts = slowRuns.map((r) => Date.parse(r.started_at) - Date.parse(r.scheduled_for));
    expect(slow).toMatchObject({ id: s.slow!.id, runs: slowRuns.length, success_count: slowRuns.length, failure_rate: 0, interval_ms: 1000 });
    expect(slow.avg_duration_ms).toBeGreaterThanOrEqual(1500);
    expect(slow.p50_duration_ms).toBeGreaterThanOrEqual(1500);
    expect(slow.p95_duration_ms).toBeGreaterThanOrEqual(slow.p50_duration_ms);
    // The database keeps microseconds, the API milliseconds.
    expect(Math.abs(slow.max_duration_ms - Math.max(...durations))).toBeLessThanOrEqual(1);
    expect(slow.drift_avg_ms).toBeGreaterThanOrEqual(0);
    expect(slow.drift_p95_ms).toBeGreaterThanOrEqual(0);
    expect(Math.abs(slow.drift_max_ms - Math.max(...drifts))).toBeLessThanOrEqual(1);
    // Temporal's own counter: every second matched, one run at a time, so firings were skipped.
    expect(slow.overlaps_skipped).toBeGreaterThan(0);
    expect(slow.overlaps_skipped).toBe((await schedules.describe(s.slow!.schedule_id))!.numActionsSkippedOverlap);
    const overlap = slow.findings.find((f: any) => f.code === 'overlap');
    expect(overlap).toMatchObject({
      severity: 'warning',
      evidence: { p95_duration_ms: slow.p95_duration_ms, interval_ms: 1000, overlaps_skipped: slow.overlaps_skipped, overlap_policy: 'skip' },
    });
    expect(overlap.message).toMatch(new RegExp(`^p95 duration [\\d.]+ s is longer than the 1 s interval between runs: runs overlap and ${slow.overlaps_skipped} were skipped`));
    expect(slow.findings.map((f: any) => f.code)).not.toContain('failure_rate');

    // Pagination, ordering and filters.
    const page1 = (await get('performance-analysis/?ordering=name&page_size=1')).body;
    expect(page1).toMatchObject({ count: 2, previous: null, results: [{ name: 'failing' }] });
    expect(page1.next).toContain('page=2');
    expect((await get('performance-analysis/?ordering=name&page_size=1&page=2')).body.results[0].name).toBe('slow');
    expect((await get('performance-analysis/?ordering=-p95_duration_ms')).body.results[0].id).toBe(s.slow!.id);
    expect((await get('performance-analysis/?kind=cron_job')).body.count).toBe(0);
    expect((await get('performance-analysis/?is_active=true')).body.count).toBe(0);
    expect((await get('performance-analysis/?task_type=noop&period=last_24_hours')).body).toMatchObject({ count: 2, period: 'last_24_hours' });
    const bad = await get('performance-analysis/?ordering=speed&period=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.body.error_code).toBe('VALIDATION_ERROR');
    expect(Object.keys(bad.body.field_errors).sort()).toEqual(['ordering.0', 'period']);
  });

  it('stats: counts by kind, type, zone and policy, run figures, upcoming runs, overdue and the next firings', async () => {
    for (const role of ['nineA', 'nineB', 'nineC']) {
      await create(role, { task_type: 'noop', cron_expression: '0 9 * * *', timezone: 'Europe/Paris', name: role });
    }
    await create('quarter', { task_type: 'noop', cron_expression: '*/15 * * * *', name: 'quarter', overlap_policy: 'buffer_one' });
    await create('job', { name: 'daily cleanup', frequency: 'daily', time: '09:00', task_type: 'cleanup', timezone: 'Europe/Paris' }, '/tasks/scheduled/cron-jobs/');

    const readyCount = async () => (await get('ready-for-execution/')).body.count as number;
    const { stats, ready } = await waitFor('a stable ready-for-execution count', async () => {
      const before = await readyCount();
      const res = await get('stats/');
      expect(res.status).toBe(200);
      return before === (await readyCount()) && { stats: res.body, ready: before };
    });
    expect(stats.schedules).toEqual({
      total: 7,
      active: 5,
      paused: 2,
      by_kind: { periodic: 6, cron_job: 1 },
      by_task_type: { noop: 6, cleanup_old_tasks: 1 },
      by_timezone: { 'Europe/Paris': 4, UTC: 3 },
      by_overlap_policy: { skip: 6, buffer_one: 1 },
    });
    // Run figures: the firings of the two every-second schedules, as /tasks/ lists them.
    const [slowRuns, failingRuns] = await Promise.all([runs(s.slow!.schedule_id), runs(s.failing!.schedule_id)]);
    const figures = {
      total: slowRuns.length + failingRuns.length,
      success: slowRuns.length,
      failed: failingRuns.length,
      missed: 0,
      cancelled: 0,
      running: 0,
      success_rate: Math.round((slowRuns.length / (slowRuns.length + failingRuns.length)) * 1000) / 10,
    };
    expect(stats.runs).toEqual({ period: 'last_7_days', since: expect.any(String), ...figures });
    expect(stats.success_rate).toBe(figures.success_rate);
    expect(stats.recent_runs).toEqual({ last_24_hours: figures, last_7_days: figures });
    // Overdue: the same rule as ready-for-execution/ (the paused every-second schedules are overdue while paused).
    expect(stats.overdue.count).toBe(ready);
    expect(stats.overdue.count).toBe(stats.overdue.missed_run + stats.overdue.overdue_while_paused + stats.overdue.not_started);
    expect(stats.missed_last_run).toEqual({ count: 0, results: [] });

    // Upcoming runs from the cron expressions in their zones, over (generated_at, +1 h] and (generated_at, +24 h].
    const at = Date.parse(stats.generated_at);
    const nine = (await t.http.post(`${BASE}/validate-cron/`).set(t.headers()).send({ cron_expression: '0 9 * * *', timezone: 'Europe/Paris', from: stats.generated_at, count: 3 })).body;
    const ninesWithin = (ms: number) => nine.next_runs.filter((r: string) => Date.parse(r) <= at + ms).length;
    expect(stats.upcoming).toMatchObject({
      next_hour: 4 + 4 * ninesWithin(3_600_000),
      next_24_hours: 96 + 4 * ninesWithin(86_400_000),
      lower_bound: false,
      capped_schedules: [],
    });
    const firings = stats.upcoming.next_firings as { id: number; at: string; local_time: string; name: string }[];
    expect(firings).toHaveLength(10);
    expect(firings.map((f) => f.at)).toEqual([...firings.map((f) => f.at)].sort());
    expect(Date.parse(firings[0]!.at)).toBeGreaterThan(at);
    expect(firings.find((f) => f.id === s.quarter!.id)).toMatchObject({ name: 'quarter', timezone: 'UTC' });
    for (const f of firings.filter((x) => x.id === s.quarter!.id)) expect(new Date(f.at).getUTCMinutes() % 15).toBe(0);

    // ?kind= and ?period=
    const jobs = (await get('stats/?kind=cron_job&period=last_24_hours')).body;
    expect(jobs).toMatchObject({
      kind: 'cron_job',
      schedules: { total: 1, active: 1, paused: 0, by_kind: { periodic: 0, cron_job: 1 }, by_task_type: { cleanup_old_tasks: 1 } },
      runs: { period: 'last_24_hours', total: 0, success_rate: null },
      upcoming: { next_24_hours: ninesWithin(86_400_000) },
    });
    const bad = await get('stats/?period=forever&kind=job');
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.field_errors).sort()).toEqual(['kind', 'period']);
  });

  it('optimize-schedules: a dry run proposes offsets and jitter and changes nothing; applying changes the Schedules, the rows and the audit', async () => {
    const [nineA, nineB, nineC, quarter, job] = [s.nineA!, s.nineB!, s.nineC!, s.quarter!, s.job!];
    const dry = await optimize({});
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dry_run: true, horizon_hours: 24, min_group_size: 2, strategy: 'auto', analysed: 5, applied: [], unresolved: [] });
    // The paused every-second schedules fire no more: they are not analysed.
    expect(dry.body.skipped).toEqual([]);
    // 09:00 in Paris is on the hour in UTC: the quarter-hourly schedule fires then too. One group of five.
    expect(dry.body.peak_before).toBe(5);
    expect(dry.body.collisions).toHaveLength(1);
    expect(dry.body.collisions[0].schedules.map((x: any) => x.id)).toEqual([nineA.id, nineB.id, nineC.id, quarter.id, job.id]);
    expect(new Date(dry.body.collisions[0].at).getUTCMinutes()).toBe(0);
    const proposals = dry.body.proposals as any[];
    expect(proposals.map((p) => p.id)).toEqual([nineB.id, nineC.id, quarter.id, job.id]);
    expect(proposals[0]).toMatchObject({
      change: 'offset',
      current: { cron_expression: '0 9 * * *', jitter_seconds: 0 },
      proposed: { cron_expression: '5 9 * * *', jitter_seconds: 0 },
      shift_seconds: 300,
    });
    expect(proposals[0].reason).toContain(`#${nineA.id} is kept`);
    expect(proposals[1]).toMatchObject({ change: 'offset', proposed: { cron_expression: '10 9 * * *', jitter_seconds: 0 } });
    // "*/15" cannot be shifted safely: jitter instead, the expression unchanged.
    expect(proposals[2]).toMatchObject({ change: 'jitter', kind: 'periodic', proposed: { cron_expression: '*/15 * * * *', jitter_seconds: expect.any(Number) } });
    expect(proposals[2].proposed.jitter_seconds).toBeGreaterThan(0);
    expect(proposals[2].proposed.jitter_seconds).toBeLessThanOrEqual(300);
    expect(proposals[2].reason).toMatch(/minute field "\*\/15" cannot be shifted safely/);
    // The cron job moves to a minute of its own in the same hour.
    expect(proposals[3]).toMatchObject({ change: 'offset', kind: 'cron_job', current: { cron_expression: '0 9 * * *' } });
    const jobMinute = Number(proposals[3].proposed.cron_expression.split(' ')[0]);
    expect([0, 5, 10]).not.toContain(jobMinute);
    expect(proposals[3].proposed.cron_expression).toBe(`${jobMinute} 9 * * *`);
    expect(dry.body.peak_after).toBe(1);
    // Nothing changed.
    expect((await get(`${nineB.id}/`)).body).toMatchObject({ cron_expression: '0 9 * * *', jitter_seconds: 0 });
    const audits = async (action: string) =>
      t.orm.em.fork().execute<{ target_id: string; details: any }[]>(`select target_id, details from audit_log where brand_id = ? and action = ? order by id`, [t.brand.id, action]);
    expect(await audits('periodic_task.optimize')).toEqual([]);

    // Only some schedules may move; strategy offset leaves what cannot be shifted unresolved.
    const some = (await optimize({ ids: [nineB.id, nineC.id, quarter.id], strategy: 'offset', horizon_hours: 48 })).body;
    expect(some.proposals.map((p: any) => p.id)).toEqual([nineB.id, nineC.id]);
    expect(some.unresolved).toEqual([expect.objectContaining({ id: quarter.id, reason: expect.stringMatching(/not a plain number/) })]);
    expect(some.collisions.length).toBeGreaterThanOrEqual(2); // 09:00 on two days
    expect([some.peak_before, some.peak_after]).toEqual([5, 3]);
    const jitterOnly = (await optimize({ ids: [nineB.id], strategy: 'jitter' })).body;
    expect(jitterOnly.proposals).toEqual([expect.objectContaining({ id: nineB.id, change: 'jitter', proposed: { cron_expression: '0 9 * * *', jitter_seconds: 60 } })]);
    const wrong = await optimize({ ids: [2_000_000_000], horizon_hours: 500, strategy: 'random', extra: 1 });
    expect(wrong.status).toBe(400);
    expect(Object.keys(wrong.body.field_errors).sort()).toEqual(['extra', 'horizon_hours', 'strategy']);
    expect((await optimize({ ids: [2_000_000_000] })).body.field_errors.ids[0]).toMatch(/Unknown schedule id/);
    expect((await optimize({}, '?kind=cron_job')).body).toMatchObject({ analysed: 1, peak_before: 1, proposals: [] });

    // Applied: Temporal and the rows change together, with one optimize audit row plus each schedule's update row.
    const applied = await optimize({ dry_run: false });
    expect(applied.status).toBe(200);
    expect(applied.body.proposals).toEqual(proposals);
    expect(applied.body.applied).toEqual(proposals.map((p) => expect.objectContaining({ id: p.id, applied: true, cron_expression: p.proposed.cron_expression, jitter_seconds: p.proposed.jitter_seconds })));
    expect((await get(`${nineB.id}/`)).body).toMatchObject({ cron_expression: '5 9 * * *', timezone: 'Europe/Paris' });
    expect((await get(`${nineC.id}/`)).body).toMatchObject({ cron_expression: '10 9 * * *' });
    expect((await get(`${quarter.id}/`)).body).toMatchObject({ cron_expression: '*/15 * * * *', jitter_seconds: proposals[2].proposed.jitter_seconds });
    expect((await t.http.get(`/tasks/scheduled/cron-jobs/${job.id}/`).set(t.headers())).body).toMatchObject({
      cron_expression: `${jobMinute} 9 * * *`,
      time: `09:${String(jobMinute).padStart(2, '0')}`,
      frequency: 'daily',
    });
    // Temporal's own fire times and spec.
    const from = new Date();
    const to = new Date(from.getTime() + 25 * 3_600_000);
    const minutesOf = async (id: string) => [...new Set((await schedules.matchingTimes(id, from, to)).map((d) => d.getUTCMinutes()))];
    expect(await minutesOf(nineA.schedule_id)).toEqual([0]);
    expect(await minutesOf(nineB.schedule_id)).toEqual([5]);
    expect(await minutesOf(nineC.schedule_id)).toEqual([10]);
    expect(await minutesOf(job.schedule_id)).toEqual([jobMinute]);
    expect((await t.client.schedule.getHandle(quarter.schedule_id).describe()).spec.jitter).toBe(proposals[2].proposed.jitter_seconds * 1000);
    const optimizeAudit = await audits('periodic_task.optimize');
    expect(optimizeAudit).toHaveLength(1);
    expect(optimizeAudit[0]).toMatchObject({
      target_id: String(t.brand.id),
      details: { strategy: 'auto', horizon_hours: 24, peak_before: 5, peak_after: 1, proposals, applied: applied.body.applied },
    });
    expect((await audits('periodic_task.update')).map((a) => a.target_id)).toEqual([nineB.schedule_id, nineC.schedule_id, quarter.schedule_id]);
    expect((await audits('cron_job.update')).map((a) => a.target_id)).toEqual([job.schedule_id]);

    // Spread: nothing left to propose.
    const again = (await optimize({})).body;
    expect(again).toMatchObject({ peak_before: 1, collisions: [], proposals: [] });
  });

  it('findings: a schedule due without any run while workers are down, then its late starts once they return', async () => {
    await t.stopWorker();
    let late: Record<string, any>;
    try {
      late = await create('late', { task_type: 'noop', cron_expression: '*/2 * * * * *', catchup_window_seconds: 600, name: 'late' });
      await waitFor('a firing started in Temporal', async () => ((await schedules.describe(late.schedule_id))?.recentActions.length ?? 0) > 0);
      // No worker picks the firing up: nothing ran although a run was due more than the grace ago.
      const idle = await waitFor('the no_runs finding', async () => {
        const r = (await get('performance-analysis/?is_active=true&ordering=name')).body.results.find((x: any) => x.id === late.id);
        return r?.findings.some((f: any) => f.code === 'no_runs') && r;
      });
      expect(idle).toMatchObject({ runs: 0, failure_rate: null, p95_duration_ms: null, drift_p95_ms: null });
      expect(idle.findings.find((f: any) => f.code === 'no_runs')).toMatchObject({ severity: 'warning', evidence: { due_at: expect.any(String) } });
      await sleep(2000);
      expect((await t.http.post(`${BASE}/${late.id}/toggle/`).set(t.headers()).send({ is_active: false })).status).toBe(200);
    } finally {
      await t.startWorker();
    }
    // The waiting firing runs once a worker is back, seconds after its nominal time (within the catch-up window).
    const done = await waitFor('the late firing to complete', async () => {
      const r = await runs(late.schedule_id);
      return r.length > 0 && r.every((x) => x.status === 'completed') && r;
    });
    const drift = Math.max(...done.map((r) => Date.parse(r.started_at) - Date.parse(r.scheduled_for)));
    expect(drift).toBeGreaterThan(5000);
    const item = (await get('performance-analysis/?is_active=false&ordering=-drift_p95_ms')).body.results[0];
    expect(item).toMatchObject({ id: late.id, runs: done.length, missed_count: 0, failure_rate: 0 });
    expect(Math.abs(item.drift_max_ms - drift)).toBeLessThanOrEqual(1);
    const finding = item.findings.find((f: any) => f.code === 'late_start');
    expect(finding).toMatchObject({ severity: 'warning', evidence: { drift_p95_ms: item.drift_p95_ms, drift_max_ms: item.drift_max_ms, jitter_seconds: 0, late_grace_ms: 5000 } });
    expect(finding.message).toMatch(/^starts [\d.]+ s late at p95 \(the normal pick-up delay is 5 s\)$/);
    expect(item.findings.map((f: any) => f.code)).not.toContain('no_runs');
  });

  it('sees only the caller brand', async () => {
    const theirs = { Authorization: `Bearer ${t.outsider.token}`, 'X-Brand-ID': String(t.otherBrand.id) };
    const stats = (await get('stats/', theirs)).body;
    expect(stats.schedules).toMatchObject({ total: 0, active: 0, paused: 0, by_task_type: {} });
    expect(stats.runs.total).toBe(0);
    expect(stats.upcoming).toMatchObject({ next_24_hours: 0, next_firings: [] });
    expect((await get('performance-analysis/', theirs)).body).toMatchObject({ count: 0, results: [] });
    expect((await optimize({}, '', theirs)).body).toMatchObject({ analysed: 0, collisions: [], proposals: [], peak_before: 0 });
    const foreign = await optimize({ ids: [s.nineB!.id], dry_run: false }, '', theirs);
    expect(foreign.status).toBe(400);
    expect(foreign.body.field_errors.ids[0]).toContain(String(s.nineB!.id));
    // Another brand's member cannot read this brand's figures at all.
    expect((await get('stats/', { ...theirs, 'X-Brand-ID': String(t.brand.id) })).status).toBe(403);
  });
});
