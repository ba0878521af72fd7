import type { ReconcileReport } from '../../activities/reconcile.activities';
import { ScheduleGateway } from '../../api/temporal/schedules';
import { createTestContext, type TestContext } from '../support/harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('periodic tasks on Temporal Schedules (real Temporal and PostgreSQL)', () => {
  let t: TestContext;
  let schedules: ScheduleGateway;
  const created: string[] = [];
  beforeAll(async () => {
    // A short grace so a firing held back by stopped workers counts as late within the test's few seconds.
    t = await createTestContext({ config: { SCHEDULE_LATE_GRACE_SECONDS: 1 } });
    schedules = new ScheduleGateway(t.client, t.config.TEMPORAL_TASK_QUEUE, t.config.TEMPORAL_NAMESPACE);
  });
  afterAll(async () => {
    for (const id of created) await schedules.delete(id).catch(() => undefined);
    await t.close();
  });

  const api = {
    create: async (body: Record<string, unknown>) => {
      const res = await t.http.post('/tasks/scheduled/periodic-tasks/').set(t.headers()).send(body);
      if (res.body?.schedule_id) created.push(res.body.schedule_id);
      return res;
    },
    get: (id: number | string) => t.http.get(`/tasks/scheduled/periodic-tasks/${id}/`).set(t.headers()),
    toggle: (id: number, body: Record<string, unknown> = {}) => t.http.post(`/tasks/scheduled/periodic-tasks/${id}/toggle/`).set(t.headers()).send(body),
    runs: async (scheduleId: string) =>
      (await t.http.get(`/tasks/?schedule_id=${scheduleId}&ordering=scheduled_for&page_size=200`).set(t.headers())).body.results as Record<string, any>[],
  };
  const waitFor = async <T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  };

  it('creates from a base task (example flow 3), fires every 2 s as tasks linked to it, and toggles off and on', async () => {
    const base = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', priority: 'high', description: 'template', context_data: {} });
    expect(base.status).toBe(201);
    const res = await api.create({ base_task: base.body.id, cron_expression: '*/2 * * * * *', name: 'every two seconds' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.any(Number),
      schedule_id: expect.stringMatching(/^sched_/),
      name: 'every two seconds',
      base_task: { id: base.body.id, task_id: base.body.task_id },
      task_type: 'noop',
      priority: 'high',
      description: 'template',
      cron_expression: '*/2 * * * * *',
      timezone: 'UTC',
      overlap_policy: 'skip',
      is_active: true,
      total_runs: 0,
      success_rate: null,
    });
    expect(res.body.cron_description.en).toMatch(/2 seconds/);
    expect(res.body.next_runs.length).toBeGreaterThanOrEqual(3);
    expect(Date.parse(res.body.next_runs[1]) - Date.parse(res.body.next_runs[0])).toBe(2000);
    expect(res.body.temporal.ui_url).toContain(`/schedules/${res.body.schedule_id}`);

    // Each firing is a task of its own, linked to the schedule, with its nominal time as scheduled_for.
    const runs = await waitFor('two completed firings', async () => {
      const r = await api.runs(res.body.schedule_id);
      return r.filter((x) => x.status === 'completed').length >= 2 && r;
    });
    for (const run of runs.filter((x) => x.status === 'completed')) {
      expect(run.task_id).toMatch(new RegExp(`^task_${res.body.schedule_id}-\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$`));
      expect(run).toMatchObject({ task_type: 'noop', priority: 'high', description: 'template' });
      expect(new Date(run.scheduled_for).getUTCSeconds() % 2).toBe(0);
    }
    const detail = (await t.http.get(`/tasks/${runs[0]!.id}/`).set(t.headers())).body;
    expect(detail.periodic).toMatchObject({ role: 'run', id: res.body.id, schedule_id: res.body.schedule_id, scheduled_at: runs[0]!.scheduled_for });
    const desc = await t.gateway.describe(runs[0]!.task_id);
    expect(desc.searchAttributes).toMatchObject({ TaskId: [runs[0]!.task_id], TaskType: ['noop'], BrandId: [String(t.brand.id)] });
    // The base task shows the schedule built from it.
    expect((await t.http.get(`/tasks/${base.body.id}/`).set(t.headers())).body.periodic).toMatchObject({ role: 'template', id: res.body.id });

    const stats = await waitFor('run statistics', async () => {
      const b = (await api.get(res.body.id)).body;
      return b.total_runs >= 2 && b.last_run_status === 'success' && b;
    });
    expect(stats.success_rate).toBe(100);
    expect(Date.parse(stats.next_run_at)).toBeGreaterThan(Date.parse(stats.last_run_at));

    // Off: the Schedule is paused (with the note, visible in Temporal) and nothing more fires.
    const off = await api.toggle(res.body.id, { note: 'maintenance' });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ is_active: false, paused_note: 'maintenance', schedule_info: { paused: true, note: 'maintenance' } });
    await sleep(1000); // a firing already started when we paused may still land
    const before = (await api.runs(res.body.schedule_id)).length;
    await sleep(5000);
    expect((await api.runs(res.body.schedule_id)).length).toBe(before);
    expect((await api.get(res.body.id)).body.schedule_info.paused).toBe(true);

    // On again: runs resume.
    const on = await api.toggle(res.body.id);
    expect(on.body.is_active).toBe(true);
    await waitFor('a new firing after unpause', async () => (await api.runs(res.body.schedule_id)).length > before);

    // Filters of seed 000 on the list.
    const list = async (q: string) => (await t.http.get(`/tasks/scheduled/periodic-tasks/?${q}`).set(t.headers())).body;
    expect((await list('is_active=true')).results.map((r: any) => r.id)).toContain(res.body.id);
    expect((await list('is_active=false')).results.map((r: any) => r.id)).not.toContain(res.body.id);
    await api.toggle(res.body.id, { is_active: false });
    await waitFor('the last run to finish', async () => (await api.get(res.body.id)).body.last_run_status === 'success');
    expect((await list(`cron_expression=${encodeURIComponent('*/2 * * * * *')}&timezone=UTC&last_run_status=success,failed`)).results.map((r: any) => r.id)).toContain(res.body.id);
    expect((await list('last_run_status=missed')).results.map((r: any) => r.id)).not.toContain(res.body.id);
    expect((await list(`base_task=${base.body.id}`)).count).toBe(1);
    expect((await list('search=two%20seconds')).results[0].id).toBe(res.body.id);
    // A PATCH keeps what it does not name, including the link to the base task.
    const renamed = await t.http.patch(`/tasks/scheduled/periodic-tasks/${res.body.id}/`).set(t.headers()).send({ name: 'renamed' });
    expect(renamed.body).toMatchObject({ name: 'renamed', base_task: { id: base.body.id }, is_active: false, cron_expression: '*/2 * * * * *', priority: 'high' });
  });

  it('overlap skip never runs two firings at once; buffer_one makes the next one wait', async () => {
    const slow = { task_type: 'noop', context_data: { duration_ms: 2500 }, cron_expression: '* * * * * *' };
    const skip = await api.create({ ...slow, overlap_policy: 'skip', name: 'slow skip' });
    const buffer = await api.create({ ...slow, overlap_policy: 'buffer_one', name: 'slow buffer' });
    expect([skip.status, buffer.status]).toEqual([201, 201]);
    await sleep(7000);
    await api.toggle(skip.body.id, { is_active: false });
    await api.toggle(buffer.body.id, { is_active: false });

    const finished = async (scheduleId: string, n: number) =>
      waitFor(`${n} finished firings`, async () => {
        const r = await api.runs(scheduleId);
        return r.length >= n && r.every((x) => x.status === 'completed') && r;
      });
    const skipRuns = await finished(skip.body.schedule_id, 2);
    for (let i = 1; i < skipRuns.length; i++) {
      expect(Date.parse(skipRuns[i]!.started_at)).toBeGreaterThanOrEqual(Date.parse(skipRuns[i - 1]!.completed_at));
    }
    // Every second matched, but only one run at a time: Temporal skipped the firings due during a run.
    expect(skipRuns.length).toBeLessThan(7);
    expect((await api.get(skip.body.id)).body.schedule_info.skipped_overlap).toBeGreaterThan(0);

    const bufferRuns = await finished(buffer.body.schedule_id, 3);
    for (let i = 1; i < bufferRuns.length; i++) {
      expect(Date.parse(bufferRuns[i]!.started_at)).toBeGreaterThanOrEqual(Date.parse(bufferRuns[i - 1]!.completed_at));
    }
    // The buffered firing waited for the previous run: it started well after its nominal time.
    const waited = bufferRuns.slice(1).map((r) => Date.parse(r.started_at) - Date.parse(r.scheduled_for));
    expect(Math.max(...waited)).toBeGreaterThan(1000);
  });

  it('keeps one daily run across the Europe/Paris DST changes, including a 02:30 run the spring gap would swallow', async () => {
    const nine = await api.create({ task_type: 'noop', cron_expression: '0 9 * * *', timezone: 'Europe/Paris' });
    const early = await api.create({ task_type: 'noop', cron_expression: '30 2 * * *', timezone: 'Europe/Paris' });
    expect([nine.status, early.status]).toEqual([201, 201]);
    // Temporal's own computation of the Schedules' fire times, around 2027-03-28 and 2027-10-31.
    const days = async (scheduleId: string, from: string, to: string) =>
      (await schedules.matchingTimes(scheduleId, new Date(from), new Date(to))).map((d) => d.toISOString());
    expect(await days(nine.body.schedule_id, '2027-03-26T12:00:00Z', '2027-03-30T12:00:00Z')).toEqual([
      '2027-03-27T08:00:00.000Z',
      '2027-03-28T07:00:00.000Z',
      '2027-03-29T07:00:00.000Z',
      '2027-03-30T07:00:00.000Z',
    ]);
    expect(await days(nine.body.schedule_id, '2027-10-29T12:00:00Z', '2027-11-02T12:00:00Z')).toEqual([
      '2027-10-30T07:00:00.000Z',
      '2027-10-31T08:00:00.000Z',
      '2027-11-01T08:00:00.000Z',
      '2027-11-02T08:00:00.000Z',
    ]);
    // 02:30 does not exist on 2027-03-28: the run moves to 03:30 (+02:00) instead of being lost.
    expect(await days(early.body.schedule_id, '2027-03-26T12:00:00Z', '2027-03-30T12:00:00Z')).toEqual([
      '2027-03-27T01:30:00.000Z',
      '2027-03-28T01:30:00.000Z',
      '2027-03-29T00:30:00.000Z',
      '2027-03-30T00:30:00.000Z',
    ]);
    // Day of month and day of week together: the API's next runs are exactly Temporal's (first Mondays).
    const firstMonday = await api.create({ task_type: 'noop', cron_expression: '0 9 1-7 * 1', timezone: 'Europe/Paris' });
    const ours = await t.http
      .post('/tasks/scheduled/periodic-tasks/validate-cron/')
      .set(t.headers())
      .send({ cron_expression: '0 9 1-7 * 1', timezone: 'Europe/Paris', count: 4, from: '2027-01-01T00:00:00Z' });
    const theirs = await days(firstMonday.body.schedule_id, '2027-01-01T00:00:00Z', '2027-04-06T00:00:00Z');
    expect(ours.body.next_runs.map((d: string) => new Date(d).toISOString())).toEqual(theirs);
    // 02:30 happens twice on 2027-10-31: it runs once.
    const october = await days(early.body.schedule_id, '2027-10-29T12:00:00Z', '2027-11-02T12:00:00Z');
    expect(october.filter((d) => d.startsWith('2027-10-31'))).toHaveLength(1);
    expect(october).toHaveLength(4);
  });

  it('without a catch-up window a firing held back by stopped workers is reported, and execute-ready runs it; with one it runs late', async () => {
    await t.stopWorker();
    const lenient = await api.create({ task_type: 'noop', cron_expression: '*/2 * * * * *', catchup_window_seconds: 600, name: 'lenient' });
    const strict = await api.create({ task_type: 'noop', cron_expression: '*/2 * * * * *', catchup_window_seconds: 0, name: 'strict' });
    expect([lenient.status, strict.status]).toEqual([201, 201]);
    // Both fire while no worker polls; overlap skip keeps one firing each waiting in the queue.
    await waitFor('firings started in Temporal', async () => {
      const [a, b] = await Promise.all([schedules.describe(lenient.body.schedule_id), schedules.describe(strict.body.schedule_id)]);
      return (a?.recentActions.length ?? 0) > 0 && (b?.recentActions.length ?? 0) > 0;
    });
    await sleep(4000);
    await api.toggle(lenient.body.id, { is_active: false });
    await api.toggle(strict.body.id, { is_active: false });
    // Overdue: the next run time passed and nothing started.
    const overdue = (await t.http.get('/tasks/scheduled/periodic-tasks/ready-for-execution/').set(t.headers())).body;
    expect(overdue.results.map((r: any) => r.id)).toEqual(expect.arrayContaining([lenient.body.id, strict.body.id]));

    await t.startWorker();
    const late = await waitFor('the lenient firing to complete', async () => {
      const r = await api.runs(lenient.body.schedule_id);
      return r.length > 0 && r.every((x) => x.status === 'completed') && r;
    });
    expect(Date.parse(late[0]!.started_at) - Date.parse(late[0]!.scheduled_for)).toBeGreaterThan(3000);
    const missed = await waitFor('the strict firing to be recorded as missed', async () => {
      const r = await api.runs(strict.body.schedule_id);
      return r.length > 0 && r.every((x) => x.status === 'failed') && r;
    });
    expect(missed[0]!.error_message).toMatch(/^Missed: .*catch-up window of 0 s/);
    expect(missed[0]!.result_data).toMatchObject({ missed: true, catchup_window_seconds: 0 });
    expect((await api.get(strict.body.id)).body).toMatchObject({ last_run_status: 'missed', missed_count: 1 });

    const ready = (await t.http.get('/tasks/scheduled/periodic-tasks/ready-for-execution/').set(t.headers())).body;
    const item = ready.results.find((r: any) => r.id === strict.body.id);
    expect(item).toMatchObject({ reason: 'missed_run', due_at: missed[0]!.scheduled_for });
    expect(ready.results.find((r: any) => r.id === lenient.body.id)?.reason).not.toBe('missed_run');

    const exec = await t.http.post('/tasks/scheduled/periodic-tasks/execute-ready/').set(t.headers()).send({ ids: [strict.body.id] });
    expect(exec.status).toBe(200);
    expect(exec.body).toMatchObject({ found: 1, executed: 1, failed: 0 });
    const rerun = exec.body.results[0];
    expect(rerun).toMatchObject({ id: strict.body.id, reason: 'missed_run', executed: true, task_id: expect.stringMatching(/^task_sched_/) });
    await t.waitForTask(rerun.task_id, (task) => task.status === 'completed');
    // The firing's completion and its schedule's last-run fields are written one after the other by the same activity:
    // the schedule leaves the ready list a moment after the task reads completed.
    await waitFor('the re-run schedule to leave the ready list', async () => {
      const after = (await t.http.get('/tasks/scheduled/periodic-tasks/ready-for-execution/').set(t.headers())).body;
      return !after.results.some((r: any) => r.id === strict.body.id);
    });
  });

  it('execute-now answers with the new task; delete removes the Schedule; the reconciler drops rows whose Schedule is gone and rebuilds missing rows', async () => {
    const res = await api.create({ task_type: 'noop', cron_expression: '0 3 * * *', timezone: 'Europe/Paris', name: 'nightly' });
    const now = await t.http.post(`/tasks/scheduled/periodic-tasks/${res.body.id}/execute-now/`).set(t.headers()).send({});
    expect(now.status).toBe(201);
    expect(now.body.task).toMatchObject({ task_type: 'noop', periodic: null });
    expect(now.body.task.task_id).toMatch(new RegExp(`^task_${res.body.schedule_id}-`));
    await t.waitForTask(now.body.task.id, (task) => task.status === 'completed');

    // Deleted through the API: the Schedule is gone from Temporal, the row from the list, the firing stays a task.
    expect((await t.http.delete(`/tasks/scheduled/periodic-tasks/${res.body.id}/`).set(t.headers())).status).toBe(204);
    expect(await schedules.describe(res.body.schedule_id)).toBeNull();
    expect((await api.get(res.body.id)).status).toBe(404);
    expect((await t.http.get(`/tasks/${now.body.task.id}/`).set(t.headers())).status).toBe(200);

    // Deleted behind the API's back (Web UI, CLI): the reconciler removes the row, with an audit row.
    const gone = await api.create({ task_type: 'noop', cron_expression: '0 4 * * *', name: 'deleted outside' });
    const kept = await api.create({ task_type: 'noop', cron_expression: '0 5 * * *', name: 'row lost' });
    await t.client.schedule.getHandle(gone.body.schedule_id).delete();
    await t.orm.em.fork().execute(`delete from periodic_tasks where id = ?`, [kept.body.id]);
    await t.orm.em.fork().execute(`update periodic_tasks set created_at = created_at - interval '1 hour' where id = ?`, [gone.body.id]);
    const reconcile = async () =>
      (await t.client.workflow.execute('reconcileMirrorWorkflow', {
        taskQueue: t.config.TEMPORAL_TASK_QUEUE,
        workflowId: `reconcile-schedules-${Date.now()}`,
        args: [{ batchSize: 500, staleAfterSeconds: 0 }],
      })) as ReconcileReport;
    const report = await waitFor('the lost row to be rebuilt', async () => {
      const r = await reconcile();
      return r.schedules!.adopted.includes(kept.body.schedule_id) || (await sleep(1000), false);
    }, 40_000);
    expect(report).toBe(true);
    const rows = await t.orm.em.fork().execute<{ schedule_id: string; deleted_at: string | null }[]>(
      `select schedule_id, deleted_at from periodic_tasks where schedule_id in (?, ?)`,
      [gone.body.schedule_id, kept.body.schedule_id],
    );
    expect(rows.find((r) => r.schedule_id === gone.body.schedule_id)?.deleted_at).not.toBeNull();
    const rebuilt = (await t.http.get(`/tasks/scheduled/periodic-tasks/${kept.body.schedule_id}/`).set(t.headers())).body;
    expect(rebuilt).toMatchObject({ name: 'row lost', cron_expression: '0 5 * * *', task_type: 'noop' });
    const audit = await t.orm.em.fork().execute<{ action: string }[]>(`select action from audit_log where target_id = ? order by id`, [gone.body.schedule_id]);
    expect(audit.map((a) => a.action)).toEqual(['periodic_task.create', 'periodic_task.reconciled_delete']);
  });

  it('refuses bad input with the seed codes, and hides other brands', async () => {
    const post = (body: Record<string, unknown>) => t.http.post('/tasks/scheduled/periodic-tasks/').set(t.headers()).send(body);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ task_type: 'noop', cron_expression: '0 9 * * *', timezone: 'Mars/Olympus' }, 400, 'TIMEZONE_INVALID'],
      [{ task_type: 'noop', cron_expression: '0 25 * * *' }, 400, 'INVALID_CRON_EXPRESSION'],
      [{ task_type: 'noop', cron_expression: '@reboot' }, 400, 'FREQUENCY_NOT_SUPPORTED'],
      [{ task_type: 'noop', cron_expression: '0 9 * * *', end_at: '2020-01-01T00:00:00Z' }, 400, 'SCHEDULE_IN_PAST'],
      [{ task_type: 'noop', cron_expression: '0 9 * * *', overlap_policy: 'sometimes' }, 400, 'VALIDATION_ERROR'],
      [{ cron_expression: '0 9 * * *' }, 400, 'VALIDATION_ERROR'],
      [{ task_type: 'noop', cron_expression: '0 9 * * *', calendars: [2_000_000_000] }, 400, 'CALENDAR_NOT_FOUND'],
      [{ task_type: 'noop', cron_expression: '0 9 * * *', context_data: { duration_ms: -1 } }, 400, 'VALIDATION_ERROR'],
      [{ base_task: 2_000_000_000, cron_expression: '0 9 * * *' }, 400, 'VALIDATION_ERROR'],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(body);
      expect([JSON.stringify(body), res.status, res.body.error_code]).toEqual([JSON.stringify(body), status, code]);
    }
    const invalid = await post({ task_type: 'noop', cron_expression: '0 9 * 13 *' });
    expect(invalid.body).toMatchObject({ position: 3, field: 'month' });

    const mine = await api.create({ task_type: 'noop', cron_expression: '0 9 * * 1-5', timezone: 'Europe/Paris' });
    const theirs = { Authorization: `Bearer ${t.outsider.token}`, 'X-Brand-ID': String(t.otherBrand.id) };
    expect((await t.http.get(`/tasks/scheduled/periodic-tasks/${mine.body.id}/`).set(theirs)).status).toBe(404);
    expect((await t.http.post(`/tasks/scheduled/periodic-tasks/${mine.body.id}/toggle/`).set(theirs).send({})).status).toBe(404);
    expect((await t.http.delete(`/tasks/scheduled/periodic-tasks/${mine.body.id}/`).set(theirs)).status).toBe(404);
    expect((await t.http.get('/tasks/scheduled/periodic-tasks/').set(theirs)).body.results.map((r: any) => r.id)).not.toContain(mine.body.id);

    // PATCH changes the Schedule in Temporal too; a bad change leaves everything as it was.
    const patched = await t.http.patch(`/tasks/scheduled/periodic-tasks/${mine.body.id}/`).set(t.headers()).send({ cron_expression: '15 8 * * 1-5', jitter_seconds: 30 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ cron_expression: '15 8 * * 1-5', jitter_seconds: 30, timezone: 'Europe/Paris' });
    const spec = (await t.client.schedule.getHandle(mine.body.schedule_id).describe()).spec;
    expect(spec.timezone).toBe('Europe/Paris');
    expect(spec.jitter).toBe(30_000);
    const refused = await t.http.patch(`/tasks/scheduled/periodic-tasks/${mine.body.id}/`).set(t.headers()).send({ timezone: 'Nowhere/Land' });
    expect(refused.body.error_code).toBe('TIMEZONE_INVALID');
    expect((await api.get(mine.body.id)).body.timezone).toBe('Europe/Paris');

    // The same Idempotency-Key gives the same schedule, never a second one.
    const key = `k-${Date.now()}`;
    const first = await t.http.post('/tasks/scheduled/periodic-tasks/').set({ ...t.headers(), 'Idempotency-Key': key }).send({ task_type: 'noop', cron_expression: '0 1 * * *' });
    const again = await t.http.post('/tasks/scheduled/periodic-tasks/').set({ ...t.headers(), 'Idempotency-Key': key }).send({ task_type: 'noop', cron_expression: '0 1 * * *' });
    created.push(first.body.schedule_id);
    expect([first.status, again.status, again.headers['idempotent-replayed']]).toEqual([201, 200, 'true']);
    expect(again.body.id).toBe(first.body.id);
    // Deleted, the key does not silently make a second schedule.
    await t.http.delete(`/tasks/scheduled/periodic-tasks/${first.body.id}/`).set(t.headers());
    const reused = await t.http.post('/tasks/scheduled/periodic-tasks/').set({ ...t.headers(), 'Idempotency-Key': key }).send({ task_type: 'noop', cron_expression: '0 1 * * *' });
    expect([reused.status, reused.body.error_code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
    expect(await schedules.describe(first.body.schedule_id)).toBeNull();

    // A pause made in the Web UI survives an unrelated PATCH through the API.
    await t.client.schedule.getHandle(mine.body.schedule_id).pause('paused in the Web UI');
    const renamed = await t.http.patch(`/tasks/scheduled/periodic-tasks/${mine.body.id}/`).set(t.headers()).send({ name: 'renamed' });
    expect(renamed.body).toMatchObject({ name: 'renamed', is_active: false });
    expect((await t.client.schedule.getHandle(mine.body.schedule_id).describe()).state.paused).toBe(true);

    // Odd list queries are answered, never a 500.
    const list = (q: string) => t.http.get(`/tasks/scheduled/periodic-tasks/?${q}`).set(t.headers());
    expect((await list('ordering=constructor')).status).toBe(400);
    expect((await list('base_task=99999999999')).body.count).toBe(0);
    expect((await list('page=1000000000000')).status).toBe(400);
    // Day of month and day of week together (Temporal: both): Friday the 13th is found.
    const friday13 = await t.http.post('/tasks/scheduled/periodic-tasks/validate-cron/').set(t.headers()).send({ cron_expression: '0 9 13 * 5', from: '2026-01-01T00:00:00Z', count: 2 });
    expect(friday13.body.next_runs).toEqual(['2026-02-13T09:00:00+00:00', '2026-03-13T09:00:00+00:00']);
  });

  it('cron jobs: frequency maps to a Schedule, task_type to a real workflow type; unsupported frequency is refused', async () => {
    const post = (body: Record<string, unknown>) => t.http.post('/tasks/scheduled/cron-jobs/').set(t.headers()).send(body);
    const weekly = await post({ name: 'weekly cleanup', frequency: 'weekly', task_type: 'cleanup', time: '03:30', day_of_week: 0, timezone: 'Europe/Paris', config: { older_than_days: 90 } });
    expect(weekly.status).toBe(201);
    created.push(weekly.body.schedule_id);
    expect(weekly.body).toMatchObject({
      name: 'weekly cleanup',
      frequency: 'weekly',
      task_type: 'cleanup',
      workflow_type: 'cleanup_old_tasks',
      time: '03:30',
      day_of_week: 0,
      cron_expression: '30 3 * * 0',
      timezone: 'Europe/Paris',
      config: { older_than_days: 90 },
    });
    expect(new Date(weekly.body.next_runs[0]).getUTCDay()).toBe(0);

    expect((await post({ name: 'x', frequency: 'hourly', task_type: 'report' })).body.error_code).toBe('FREQUENCY_NOT_SUPPORTED');
    expect((await post({ name: 'x', frequency: 'cron', task_type: 'report' })).body.error_code).toBe('VALIDATION_ERROR');
    expect((await post({ name: 'x', frequency: 'daily', task_type: 'laundry' })).body.error_code).toBe('VALIDATION_ERROR');
    expect((await post({ name: 'x', frequency: 'daily', task_type: 'cleanup', config: { older_than_days: 0 } })).body.field_errors).toHaveProperty(['config.older_than_days']);

    const report = await post({ name: 'monthly report', frequency: 'monthly', task_type: 'report', day_of_month: 1, time: '07:00' });
    created.push(report.body.schedule_id);
    expect(report.body).toMatchObject({ cron_expression: '0 7 1 * *', workflow_type: 'report_generation', day_of_month: 1 });
    const run = await t.http.post(`/tasks/scheduled/cron-jobs/${report.body.id}/execute/`).set(t.headers()).send({});
    expect(run.status).toBe(201);
    const done = await t.waitForTask(run.body.task.id, (task) => task.status === 'completed', 60_000);
    expect(done.task_type).toBe('report_generation');
    expect(done.periodic).toMatchObject({ role: 'run', kind: 'cron_job', id: report.body.id });

    const list = (await t.http.get('/tasks/scheduled/cron-jobs/?frequency=weekly,monthly&task_type=cleanup').set(t.headers())).body;
    expect(list.results.map((r: any) => r.id)).toEqual([weekly.body.id]);
    const patched = await t.http.patch(`/tasks/scheduled/cron-jobs/${weekly.body.id}/`).set(t.headers()).send({ frequency: 'daily' });
    expect(patched.body).toMatchObject({ frequency: 'daily', cron_expression: '30 3 * * *', day_of_week: null });
    // Periodic tasks and cron jobs are separate collections.
    expect((await t.http.get(`/tasks/scheduled/periodic-tasks/${weekly.body.id}/`).set(t.headers())).status).toBe(404);
  });
});
