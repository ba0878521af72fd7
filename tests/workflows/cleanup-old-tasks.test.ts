import { closedStatus, createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows } from '../support/mirror-fixtures';

const DAY_MS = 86_400_000;

describe('cleanup_old_tasks task type', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  type Created = { id: number; task_id: string };
  const create = async (body: Record<string, unknown>, headers = t.headers()): Promise<Created> => {
    const res = await t.http.post('/tasks/').set(headers).send(body);
    expect(res.status).toBe(201);
    return res.body as Created;
  };
  /** A real task (workflow and mirror row) run to its end. */
  const finished = async (context: Record<string, unknown>, status: string, headers = t.headers()): Promise<Created> => {
    const x = await create({ task_type: 'noop', context_data: context }, headers);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await t.http.get(`/tasks/${x.id}/`).set(headers);
      if (res.body.status === status) return x;
      if (Date.now() > deadline) throw new Error(`task ${x.id} did not reach ${status}: ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** Makes a task look finished `days` days ago. */
  const age = async (x: Created, days: number) => {
    await t.orm.em.fork().execute(`update tasks set completed_at = ? where id = ?`, [new Date(Date.now() - days * DAY_MS).toISOString(), x.id]);
  };
  /** A periodic_tasks row whose template is `base` (the row only: the cleanup reads nothing else of a schedule). */
  const periodicRow = async (base: Created, deleted: boolean) => {
    await t.orm.em.fork().execute(
      `insert into periodic_tasks (schedule_id, kind, brand_id, created_by_id, name, base_task_id, task_type, priority, description,
         context_data, max_retries, cron_expression, timezone, overlap_policy, catchup_window_seconds, jitter_seconds, is_active,
         created_at, updated_at, deleted_at)
       values (?, 'periodic', ?, ?, 'cleanup test template', ?, 'noop', 'normal', '', '{}'::jsonb, 3, '0 3 * * *', 'UTC', 'skip', 60, 0, true,
         now(), now(), ${deleted ? 'now()' : 'null'})`,
      [`sched_cleanup_test_${base.id}`, t.brand.id, t.user.id, base.id],
    );
  };
  const runCleanup = async (context: Record<string, unknown>) => {
    const x = await create({ task_type: 'cleanup_old_tasks', context_data: context });
    const task = await t.waitForTask(x.id, (r) => ['completed', 'failed', 'cancelled'].includes(r.status), 60_000);
    expect(task.status).toBe('completed');
    expect(task.progress_percentage).toBe(100);
    return task;
  };
  const listedIds = async (headers = t.headers()): Promise<number[]> => {
    const res = await t.http.get('/tasks/?page_size=500').set(headers);
    expect(res.status).toBe(200);
    return res.body.results.map((r: { id: number }) => r.id);
  };
  const executionGone = async (taskId: string): Promise<boolean> => {
    // Temporal deletes asynchronously: the execution disappears shortly after the call.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const gone = await t.gateway.describe(taskId).then(
        () => false,
        (err: Error) => err.name === 'WorkflowNotFoundError',
      );
      if (gone || Date.now() > deadline) return gone;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const auditOf = async (taskId: string) =>
    t.orm.em
      .fork()
      .execute<{ action: string; actor_id: number; brand_id: number; request_id: string | null; details: Record<string, unknown> }[]>(
        `select action, actor_id, brand_id, request_id, details from audit_log where target_id = ? order by id`,
        [taskId],
      );

  it('deletes exactly the old finished tasks of the chosen statuses, as DELETE /tasks/{id}/ would; a dry run deletes nothing', async () => {
    const oldCompleted = await finished({}, 'completed');
    const oldFailed = await finished({ fail_message: 'old failure' }, 'failed');
    const recentCompleted = await finished({}, 'completed');
    const template = await finished({}, 'completed');
    const formerTemplate = await finished({}, 'completed');
    const foreign = await finished({}, 'completed', t.headers(t.outsider, t.otherBrand.id));
    const running = await create({ task_type: 'noop', context_data: { duration_ms: 120_000 } });
    await t.waitForTask(running.id, (r) => r.status === 'running');
    // mirror-only rows (no Temporal execution): finished 40 days ago
    const [fixtureCancelled, fixtureCompleted] = await insertMirrorRows(t.orm.em.fork(), { brandId: t.brand.id, userId: t.user.id }, [
      { status: 'cancelled', createdAt: new Date(Date.now() - 40 * DAY_MS) },
      { status: 'completed', createdAt: new Date(Date.now() - 40 * DAY_MS) },
    ]);
    const cancelledRow = (await t.http.get(`/tasks/${fixtureCancelled!.taskId}/`).set(t.headers())).body as Created;
    const fixtureRow = (await t.http.get(`/tasks/${fixtureCompleted!.taskId}/`).set(t.headers())).body as Created;

    for (const x of [oldCompleted, oldFailed, template, formerTemplate, foreign, running]) await age(x, 45);
    await age(recentCompleted, 10);
    await periodicRow(template, false);
    await periodicRow(formerTemplate, true); // its schedule was deleted: no longer protected

    const toDelete = [oldCompleted, oldFailed, formerTemplate, fixtureRow];
    const kept = [recentCompleted, template, running, cancelledRow];

    // dry run: what would go, nothing gone
    const dry = await runCleanup({ statuses: ['completed', 'failed'], dry_run: true, max_tasks: 1000, batch_size: 2 });
    expect(dry.result_data).toMatchObject({
      matched: 4,
      deleted: 0,
      skipped: 0,
      failed: 0,
      errors: [],
      dry_run: true,
      by_status: { completed: 3, failed: 1 },
      truncated: false,
    });
    const afterDry = await listedIds();
    for (const x of [...toDelete, ...kept]) expect(afterDry).toContain(x.id);
    for (const x of toDelete) expect((await auditOf(x.task_id)).map((a) => a.action)).not.toContain('task.delete');

    // the real run, in batches of 3 (two batches)
    const before = Date.now();
    const run = await runCleanup({ older_than_days: 30, statuses: ['completed', 'failed'], max_tasks: 1000, batch_size: 3 });
    const r = run.result_data;
    expect(r).toEqual({
      cutoff: expect.any(String),
      matched: 4,
      deleted: 4,
      skipped: 0,
      failed: 0,
      errors: [],
      dry_run: false,
      by_status: { completed: 3, failed: 1 },
      truncated: false,
    });
    // the cutoff is relative to the run, not to the creation of the context
    const cutoff = Date.parse(r.cutoff);
    expect(cutoff).toBeGreaterThanOrEqual(before - 30 * DAY_MS);
    expect(cutoff).toBeLessThanOrEqual(Date.parse(run.completed_at) - 30 * DAY_MS);

    const after = await listedIds();
    for (const x of toDelete) {
      expect(after).not.toContain(x.id);
      expect((await t.http.get(`/tasks/${x.id}/`).set(t.headers())).status).toBe(404);
      const audit = await auditOf(x.task_id);
      expect(audit.filter((a) => a.action === 'task.delete')).toEqual([
        expect.objectContaining({ actor_id: t.user.id, brand_id: t.brand.id, request_id: run.task_id, details: expect.objectContaining({ id: x.id }) }),
      ]);
    }
    for (const x of [oldCompleted, oldFailed, formerTemplate]) expect(await executionGone(x.task_id)).toBe(true);
    // untouched: recent, a schedule's template, running (even with an old completed_at), a status not chosen, the cleanup
    // tasks themselves, another brand's task
    for (const x of [...kept, run as Created, dry as Created]) expect(after).toContain(x.id);
    expect(await closedStatus(t.gateway, template.task_id)).toBe('COMPLETED');
    expect((await t.http.get(`/tasks/${running.id}/`).set(t.headers())).body.status).toBe('running');
    expect(await listedIds(t.headers(t.outsider, t.otherBrand.id))).toContain(foreign.id);
    expect(await closedStatus(t.gateway, foreign.task_id)).toBe('COMPLETED');
    for (const x of [...kept, foreign]) expect((await auditOf(x.task_id)).map((a) => a.action)).not.toContain('task.delete');

    await t.http.post(`/tasks/${running.id}/cancel/`).set(t.headers()).send({});
  });

  it('bounds a run by max_tasks (lowest ids first, truncated), filters by task_types, and the next run continues', async () => {
    const old = new Date(Date.now() - 100 * DAY_MS);
    const rows = await insertMirrorRows(
      t.orm.em.fork(),
      { brandId: t.brand.id, userId: t.user.id },
      [
        ...Array.from({ length: 5 }, () => ({ status: 'failed' as const, taskType: 'data_export', createdAt: old })),
        { status: 'failed', taskType: 'report_generation', createdAt: old },
      ],
    );
    const ids: number[] = [];
    for (const row of rows) ids.push((await t.http.get(`/tasks/${row.taskId}/`).set(t.headers())).body.id);
    const exportIds = ids.slice(0, 5);
    const reportId = ids[5]!;

    const first = await runCleanup({ older_than_days: 90, statuses: ['failed'], task_types: ['data_export'], max_tasks: 3, batch_size: 2 });
    expect(first.result_data).toMatchObject({ matched: 3, deleted: 3, skipped: 0, failed: 0, by_status: { failed: 3 }, truncated: true });
    let listed = await listedIds();
    for (const id of exportIds.slice(0, 3)) expect(listed).not.toContain(id);
    for (const id of [...exportIds.slice(3), reportId]) expect(listed).toContain(id);

    const second = await runCleanup({ older_than_days: 90, statuses: ['failed'], task_types: ['data_export'], max_tasks: 3, batch_size: 2 });
    expect(second.result_data).toMatchObject({ matched: 2, deleted: 2, by_status: { failed: 2 }, truncated: false });
    listed = await listedIds();
    for (const id of exportIds) expect(listed).not.toContain(id);
    expect(listed).toContain(reportId);

    // nothing left of those: a run that matches nothing completes with zeros
    const empty = await runCleanup({ older_than_days: 90, statuses: ['failed'], task_types: ['data_export'] });
    expect(empty.result_data).toMatchObject({ matched: 0, deleted: 0, by_status: { failed: 0 }, truncated: false });
  });

  it('applies the defaults and refuses bad context_data with field_errors', async () => {
    const defaults = await runCleanup({ dry_run: true });
    expect(defaults.result_data).toMatchObject({ dry_run: true, by_status: { completed: expect.any(Number), failed: expect.any(Number), cancelled: expect.any(Number) } });
    expect(Date.parse(defaults.result_data.cutoff)).toBeLessThanOrEqual(Date.parse(defaults.completed_at) - 30 * DAY_MS);

    const bad = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'cleanup_old_tasks', context_data: { older_than_days: 0, statuses: ['running'], max_tasks: 100_001, dry_run: 'yes', purge: true } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.field_errors).sort()).toEqual([
      'context_data.dry_run',
      'context_data.max_tasks',
      'context_data.older_than_days',
      'context_data.purge',
      'context_data.statuses.0',
    ]);

    const dup = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'cleanup_old_tasks', context_data: { statuses: ['failed', 'failed'] } });
    expect(dup.status).toBe(400);
    expect(Object.keys(dup.body.field_errors)).toEqual(['context_data.statuses']);

    const tooManyBatches = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'cleanup_old_tasks', context_data: { max_tasks: 100_000, batch_size: 10 } });
    expect(tooManyBatches.status).toBe(400);
    expect(tooManyBatches.body.field_errors['context_data.batch_size'][0]).toMatch(/at least 50/);
  });
});
