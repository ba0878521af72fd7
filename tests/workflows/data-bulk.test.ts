import { createTestContext, type TestContext } from '../support/harness';

describe('bulk_operations task type', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const create = async (body: Record<string, unknown>, headers = t.headers()) => {
    const res = await t.http.post('/tasks/').set(headers).send(body);
    expect(res.status).toBe(201);
    return res.body as { id: number; task_id: string };
  };
  const runBulk = async (context: Record<string, unknown>) => {
    const bulk = await create({ task_type: 'bulk_operations', context_data: context });
    const task = await t.waitForTask(bulk.id, (x) => ['completed', 'failed'].includes(x.status), 60_000);
    expect(task.status).toBe('completed');
    expect(task.progress_percentage).toBe(100);
    return task;
  };

  it('retries failed tasks by id or task_id, and reports a completed one and another brand’s one as skipped', async () => {
    const f1 = await create({ task_type: 'noop', context_data: { fail_message: 'boom 1' } });
    const f2 = await create({ task_type: 'noop', context_data: { fail_message: 'boom 2' } });
    const ok = await create({ task_type: 'noop' });
    const foreign = await create({ task_type: 'noop' }, t.headers(t.outsider, t.otherBrand.id));
    for (const x of [f1, f2]) await t.waitForTask(x.id, (r) => r.status === 'failed');
    await t.waitForTask(ok.id, (r) => r.status === 'completed');

    const task = await runBulk({ operation: 'retry', task_ids: [f1.id, f2.task_id, ok.id, foreign.id, f1.task_id], batch_size: 2 });
    const r = task.result_data;
    // f1 given twice (as id and as task_id) is processed once
    expect(r).toMatchObject({ operation: 'retry', total: 4, done: 2, skipped: 2, failed: 0, truncated: false });
    expect(r.items).toEqual([
      { task_id: f1.task_id, id: f1.id, outcome: 'done' },
      { task_id: f2.task_id, id: f2.id, outcome: 'done' },
      { task_id: ok.task_id, id: ok.id, outcome: 'skipped', error_code: 'TASK_ALREADY_COMPLETED', reason: 'TASK_ALREADY_COMPLETED: Cannot retry a completed task' },
      { task_id: null, id: foreign.id, outcome: 'skipped', error_code: 'TASK_NOT_FOUND', reason: 'TASK_NOT_FOUND: Task not found' },
    ]);
    // each failed task got a new run, which fails again with its own message
    for (const x of [f1, f2]) {
      const after = await t.waitForTask(x.id, (y) => y.retry_count === 1 && y.status === 'failed');
      expect(after.error_message).toMatch(/^boom/);
    }
    // the other brand's task was not touched
    const theirs = await t.http.get(`/tasks/${foreign.id}/`).set(t.headers(t.outsider, t.otherBrand.id));
    expect(theirs.body).toMatchObject({ status: 'completed', retry_count: 0 });
  });

  it('cancels running tasks matched by a filter', async () => {
    const running = [];
    for (let i = 0; i < 3; i++) running.push(await create({ task_type: 'noop', context_data: { duration_ms: 60_000 } }));
    for (const x of running) await t.waitForTask(x.id, (r) => r.status === 'running');

    const task = await runBulk({ operation: 'cancel', filter: { status: ['running'], task_type: ['noop'] }, reason: 'bulk test' });
    expect(task.result_data).toMatchObject({ operation: 'cancel', total: 3, done: 3, skipped: 0, failed: 0, truncated: false });
    expect(task.result_data.items.map((i: { id: number }) => i.id)).toEqual(running.map((x) => x.id)); // id order
    for (const x of running) {
      const after = await t.waitForTask(x.id, (r) => r.status === 'cancelled');
      expect(after.status).toBe('cancelled');
    }
  });

  it('re-prioritises pending tasks (the new priority reaches the mirror and the waiting workflow)', async () => {
    const later = new Date(Date.now() + 10 * 60_000).toISOString();
    const pending = [
      await create({ task_type: 'noop', priority: 'low', scheduled_for: later }),
      await create({ task_type: 'noop', priority: 'normal', scheduled_for: later }),
    ];
    const finished = await create({ task_type: 'noop' });
    await t.waitForTask(finished.id, (r) => r.status === 'completed');

    const task = await runBulk({ operation: 'reprioritize', new_priority: 'critical', task_ids: [...pending.map((x) => x.task_id), finished.id] });
    expect(task.result_data).toMatchObject({ total: 3, done: 2, skipped: 1, failed: 0 });
    expect(task.result_data.items[2]).toMatchObject({ id: finished.id, outcome: 'skipped', error_code: 'INVALID_STATUS_TRANSITION' });
    for (const x of pending) {
      const res = await t.http.get(`/tasks/${x.id}/`).set(t.headers());
      expect(res.body).toMatchObject({ status: 'pending', priority: 'critical' });
      expect((await t.gateway.progress(x.task_id)).priority).toBe('critical');
      await t.http.post(`/tasks/${x.id}/cancel/`).set(t.headers()).send({});
    }
  });

  it('never applies to the bulk task itself, even when its filter matches it', async () => {
    const before = await t.http.get('/tasks/?task_type=bulk_operations&page_size=100').set(t.headers());
    const earlier = before.body.count as number;
    const task = await runBulk({ operation: 'cancel', filter: { task_type: ['bulk_operations'] } });
    const r = task.result_data;
    expect(r.total).toBe(earlier);
    expect(r.items.some((i: { task_id: string }) => i.task_id === task.task_id)).toBe(false);
    // the earlier bulk tasks are finished: the API's answer for each
    expect(r.items.every((i: { outcome: string; error_code: string }) => i.outcome === 'skipped' && i.error_code === 'INVALID_STATUS_TRANSITION')).toBe(true);
  });

  it('can itself be cancelled while it works through its batches', async () => {
    // 30 targets, one per batch, each cancel taking about a second: the bulk task is cancelled long before its end.
    const running = await Promise.all(Array.from({ length: 30 }, () => create({ task_type: 'noop', context_data: { duration_ms: 120_000 } })));
    for (const x of running) await t.waitForTask(x.id, (r) => r.status === 'running');
    const bulk = await create({ task_type: 'bulk_operations', context_data: { operation: 'cancel', task_ids: running.map((x) => x.id), batch_size: 1 } });
    await t.waitForTask(bulk.id, (r) => r.status === 'running' && r.progress_percentage > 0);
    const res = await t.http.post(`/tasks/${bulk.id}/cancel/`).set(t.headers()).send({});
    expect(res.status).toBe(200);
    const after = await t.waitForTask(bulk.id, (r) => ['cancelled', 'completed', 'failed'].includes(r.status));
    expect(after).toMatchObject({ status: 'cancelled', result_data: null });
    // clean up whatever it did not reach (a cancel request each, without waiting for them)
    await Promise.allSettled(running.map((x) => t.gateway.cancel(x.task_id)));
  });

  it('rejects inconsistent targets and a missing new_priority with field_errors', async () => {
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'bulk_operations', context_data: { operation: 'reprioritize', task_ids: [1], filter: { status: ['failed'] } } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual(['context_data.filter', 'context_data.new_priority']);

    const empty = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'bulk_operations', context_data: { operation: 'delete', filter: {}, task_ids: [] } });
    expect(empty.status).toBe(400);
    expect(Object.keys(empty.body.field_errors).sort()).toEqual(['context_data.filter', 'context_data.operation', 'context_data.task_ids']);

    const tooMany = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'bulk_operations', context_data: { operation: 'cancel', task_ids: Array.from({ length: 1001 }, (_, i) => i + 1) } });
    expect(tooMany.status).toBe(400);
    expect(Object.keys(tooMany.body.field_errors)).toEqual(['context_data.task_ids']);
  });
});
