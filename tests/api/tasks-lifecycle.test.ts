import { closedStatus, createTestContext, type TestContext } from '../support/harness';

describe('task lifecycle through the API on a real Temporal server', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const create = (body: Record<string, unknown>) => t.http.post('/tasks/').set(t.headers()).send(body);

  it('creates a task (201, seed 001 shape) and follows it to completed with timestamps, progress and result', async () => {
    const res = await create({ task_type: 'noop', priority: 'high', description: 'first task', context_data: { duration_ms: 600 } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.any(Number),
      task_id: expect.stringMatching(/^task_/),
      task_type: 'noop',
      priority: 'high',
      description: 'first task',
      brand: { id: t.brand.id, name: t.brand.name },
      created_by: { id: t.user.id, username: t.user.username },
      context_data: { duration_ms: 600 },
      retry_count: 0,
      max_retries: 3,
      metrics: null,
      persistent_job: null,
      periodic: null,
    });
    expect(['pending', 'running']).toContain(res.body.status);
    expect(res.body.temporal.ui_url).toContain(`/workflows/${res.body.task_id}`);

    const done = await t.waitForTask(res.body.id, (task) => task.status === 'completed');
    expect(done.progress_percentage).toBe(100);
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(done.created_at));
    expect(Date.parse(done.completed_at)).toBeGreaterThan(Date.parse(done.started_at));
    expect(done.result_data).toMatchObject({ ok: true });
    expect(done.error_message).toBeNull();
    // Same task by its task_id, and the execution in Temporal carries the search attributes.
    expect((await t.http.get(`/tasks/${res.body.task_id}`).set(t.headers())).body.id).toBe(res.body.id);
    expect(await closedStatus(t.gateway, res.body.task_id)).toBe('COMPLETED');
    const desc = await t.gateway.describe(res.body.task_id);
    expect(desc.type).toBe('noop');
    expect(desc.searchAttributes).toMatchObject({ TaskType: ['noop'], BrandId: [String(t.brand.id)], TaskPriority: ['high'], TaskId: [res.body.task_id] });
  });

  it('records a failure, then retries it as a new run of the same workflow id, up to max_retries', async () => {
    const res = await create({ task_type: 'noop', max_retries: 1, context_data: { fail_message: 'boom' } });
    const failed = await t.waitForTask(res.body.id, (task) => task.status === 'failed');
    expect(failed.error_message).toBe('boom');
    const firstRun = (await t.gateway.describe(res.body.task_id)).runId;

    const retry = await t.http.post(`/tasks/${res.body.id}/retry/`).set(t.headers()).send({ new_priority: 'critical' });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual({
      message: 'Task queued for retry',
      task_id: res.body.task_id,
      new_status: 'pending',
      retry_count: 1,
      max_retries: 1,
      estimated_start: expect.any(String),
    });
    const again = await t.waitForTask(res.body.id, (task) => task.status === 'failed' && task.retry_count === 1);
    expect(again.priority).toBe('critical');
    const desc = await t.gateway.describe(res.body.task_id);
    expect(desc.runId).not.toBe(firstRun);

    const refused = await t.http.post(`/tasks/${res.body.id}/retry/`).set(t.headers()).send({});
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error_code: 'MAX_RETRIES_EXCEEDED', retry_count: 1, max_retries: 1 });
  });

  it('refuses to retry a completed task (TASK_ALREADY_COMPLETED) or a running one (INVALID_STATUS_TRANSITION)', async () => {
    const done = await create({ task_type: 'noop' });
    await t.waitForTask(done.body.id, (task) => task.status === 'completed');
    const r1 = await t.http.post(`/tasks/${done.body.id}/retry/`).set(t.headers()).send({});
    expect(r1.status).toBe(409);
    expect(r1.body).toEqual({
      detail: 'Cannot retry a completed task',
      error_code: 'TASK_ALREADY_COMPLETED',
      current_status: 'completed',
      allowed_statuses: ['failed', 'cancelled'],
    });

    const running = await create({ task_type: 'noop', context_data: { duration_ms: 30_000 } });
    await t.waitForTask(running.body.id, (task) => task.status === 'running');
    const r2 = await t.http.post(`/tasks/${running.body.id}/retry/`).set(t.headers()).send({});
    expect(r2.status).toBe(409);
    expect(r2.body).toMatchObject({ error_code: 'INVALID_STATUS_TRANSITION', current_status: 'running' });
    await t.http.post(`/tasks/${running.body.id}/cancel/`).set(t.headers()).send({});
  });

  it('cancels a running task: the heartbeating activity stops and the task is cancelled within seconds', async () => {
    const res = await create({ task_type: 'noop', context_data: { duration_ms: 60_000 } });
    await t.waitForTask(res.body.id, (task) => task.status === 'running' && task.progress_percentage > 0);
    const started = Date.now();
    const cancel = await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({
      message: 'Task cancelled successfully',
      task_id: res.body.task_id,
      previous_status: 'running',
      cancelled_at: expect.any(String),
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    const task = await t.waitForTask(res.body.id, (x) => x.status === 'cancelled');
    expect(task.progress_percentage).toBeLessThan(100);
    expect(await closedStatus(t.gateway, res.body.task_id)).toBe('CANCELLED');

    const again = await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error_code: 'INVALID_STATUS_TRANSITION', current_status: 'cancelled' });
    // A cancelled task can be retried.
    expect((await t.http.post(`/tasks/${res.body.id}/retry/`).set(t.headers()).send({})).status).toBe(200);
    await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
  });

  it('amends a pending (scheduled) task: the new priority reaches the waiting workflow; a started task refuses', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const res = await create({ task_type: 'noop', scheduled_for: later, description: 'later' });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('pending');
    const patched = await t.http
      .patch(`/tasks/${res.body.id}/`)
      .set(t.headers())
      .send({ priority: 'critical', description: 'changed', context_data: { duration_ms: 10 } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ priority: 'critical', description: 'changed', context_data: { duration_ms: 10 } });
    expect(await t.gateway.progress(res.body.task_id)).toMatchObject({ status: 'pending', priority: 'critical' });
    const desc = await t.gateway.describe(res.body.task_id);
    expect(desc.searchAttributes.TaskPriority).toEqual(['critical']);

    const bad = await t.http.patch(`/tasks/${res.body.id}/`).set(t.headers()).send({ context_data: { duration_ms: 'x' } });
    expect(bad.status).toBe(400);
    expect(bad.body.field_errors).toHaveProperty(['context_data.duration_ms']);
    const put = await t.http.put(`/tasks/${res.body.id}/`).set(t.headers()).send({ priority: 'low' });
    expect(put.status).toBe(400);

    const running = await create({ task_type: 'noop', context_data: { duration_ms: 30_000 } });
    await t.waitForTask(running.body.id, (task) => task.status === 'running');
    const refused = await t.http.patch(`/tasks/${running.body.id}/`).set(t.headers()).send({ priority: 'low' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      detail: expect.any(String),
      error_code: 'INVALID_STATUS_TRANSITION',
      current_status: 'running',
      allowed_statuses: ['pending'],
    });
    for (const id of [res.body.id, running.body.id]) await t.http.post(`/tasks/${id}/cancel/`).set(t.headers()).send({});
  });

  it('starts a scheduled task at scheduled_for', async () => {
    const at = new Date(Date.now() + 2_500).toISOString();
    const res = await create({ task_type: 'noop', scheduled_for: at });
    expect(res.body.scheduled_for).toBe(at);
    const done = await t.waitForTask(res.body.id, (task) => task.status === 'completed');
    expect(Date.parse(done.started_at)).toBeGreaterThanOrEqual(Date.parse(at) - 50);
  });

  it('fails a task that exceeds timeout_minutes, with a timeout message', async () => {
    const res = await create({ task_type: 'noop', timeout_minutes: 0.02, context_data: { duration_ms: 60_000 } });
    const failed = await t.waitForTask(res.body.id, (task) => task.status === 'failed');
    expect(failed.error_message).toMatch(/timed out after 0.02 minute/);
    expect(await closedStatus(t.gateway, res.body.task_id)).toBe('FAILED');
  });

  it('deletes only finished tasks: 409 while running, then 204, gone from lists and from Temporal, audited', async () => {
    const res = await create({ task_type: 'noop', context_data: { duration_ms: 30_000 } });
    await t.waitForTask(res.body.id, (task) => task.status === 'running');
    const refused = await t.http.delete(`/tasks/${res.body.id}/`).set(t.headers());
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error_code: 'INVALID_STATUS_TRANSITION', current_status: 'running' });

    await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
    await t.waitForTask(res.body.id, (task) => task.status === 'cancelled');
    const deleted = await t.http.delete(`/tasks/${res.body.id}`).set(t.headers());
    expect(deleted.status).toBe(204);
    expect((await t.http.get(`/tasks/${res.body.id}/`).set(t.headers())).status).toBe(404);
    const list = await t.http.get('/tasks/?page_size=500').set(t.headers());
    expect(list.body.results.map((r: { id: number }) => r.id)).not.toContain(res.body.id);
    // Temporal deletes asynchronously: the execution disappears shortly after the call.
    const deadline = Date.now() + 15_000;
    let gone = false;
    while (!gone && Date.now() < deadline) {
      gone = await t.gateway.describe(res.body.task_id).then(() => false, (err: Error) => err.name === 'WorkflowNotFoundError');
      if (!gone) await new Promise((r) => setTimeout(r, 200));
    }
    expect(gone).toBe(true);
    const audit = await t.orm.em.fork().execute<{ action: string; actor_id: number; details: Record<string, unknown> }[]>(`select action, actor_id, details from audit_log where target_id = ? order by id`, [res.body.task_id]);
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['task.cancel', 'task.delete']);
    expect(audit[1]).toMatchObject({ actor_id: t.user.id, details: { status: 'cancelled', task_type: 'noop' } });
  });
});
