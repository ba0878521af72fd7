import { registerTaskType, TASK_TYPE_REGISTRY } from '../../workflows/tasks/registry';
import { createTestContext, type TestContext } from '../support/harness';

describe('POST /tasks/ validation and idempotency', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    t.http.post('/tasks/').set({ ...t.headers(), ...headers }).send(body as object);

  it('answers both with and without the trailing slash', async () => {
    const a = await t.http.post('/tasks').set(t.headers()).send({ task_type: 'noop' });
    const b = await t.http.get('/tasks').set(t.headers());
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
  });

  it('rejects a missing task_type, an unknown one (listing the choices), a bad priority and unknown fields', async () => {
    const res = await post({ priority: 'urgent', owner_id: 3 });
    expect(res.status).toBe(400);
    expect(res.body.detail).toBe('Validation failed');
    expect(Object.keys(res.body.field_errors).sort()).toEqual(['owner_id', 'priority', 'task_type']);
    expect(res.body.field_errors.priority).toEqual(['Invalid value. Choices: low, normal, high, critical']);
    const unknown = await post({ task_type: 'seo_research' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.field_errors.task_type[0]).toContain('seo_keyword_analysis');
  });

  it('refuses a seed task type that is not registered with TASK_TYPE_NOT_AVAILABLE, starting nothing', async () => {
    // All twelve seed types are built; take one out of the registry to see how a planned type is answered.
    const descriptor = TASK_TYPE_REGISTRY.report_generation!;
    delete TASK_TYPE_REGISTRY.report_generation;
    try {
      const res = await post({ task_type: 'report_generation' });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('TASK_TYPE_NOT_AVAILABLE');
      expect(res.body.field_errors.task_type[0]).toMatch(/not available yet/);
    } finally {
      registerTaskType(descriptor);
    }
    const list = await t.http.get('/tasks/?task_type=report_generation').set(t.headers());
    expect(list.body.count).toBe(0);
  });

  it('accepts the seed aliases and stores the canonical type', async () => {
    const res = await post({ task_type: 'seo_analysis', context_data: { keywords: ['x'], urls: ['http://127.0.0.1:9/'] } });
    expect(res.status).toBe(201);
    expect(res.body.task_type).toBe('seo_keyword_analysis');
    await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
  });

  it("validates context_data against the task type's schema", async () => {
    const res = await post({ task_type: 'http_request', context_data: { url: 'file:///etc/passwd', method: 'BREW', extra: 1 } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual(['context_data.extra', 'context_data.method', 'context_data.url']);
    const notObject = await post({ task_type: 'noop', context_data: [1, 2] });
    expect(notObject.status).toBe(400);
    expect(notObject.body.field_errors).toHaveProperty('context_data');
  });

  it('rejects scheduled_for in the past with SCHEDULE_IN_PAST, and bounds max_retries and timeout_minutes', async () => {
    const past = await post({ task_type: 'noop', scheduled_for: '2024-12-25T09:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.error_code).toBe('SCHEDULE_IN_PAST');
    expect(past.body.field_errors).toHaveProperty('scheduled_for');
    const bad = await post({ task_type: 'noop', scheduled_for: 'tomorrow', max_retries: -1, timeout_minutes: 0 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.field_errors).sort()).toEqual(['max_retries', 'scheduled_for', 'timeout_minutes']);
  });

  it('makes exactly one task and one workflow out of 20 concurrent POSTs with the same Idempotency-Key', async () => {
    const key = `idem-${Date.now()}`;
    const body = { task_type: 'noop', description: 'once', context_data: { duration_ms: 50 } };
    const responses = await Promise.all(Array.from({ length: 20 }, () => post(body, { 'Idempotency-Key': key })));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201));
    const ids = new Set(responses.map((r) => r.body.id));
    const taskIds = new Set(responses.map((r) => r.body.task_id));
    expect(ids.size).toBe(1);
    expect(taskIds.size).toBe(1);
    const [taskId] = [...taskIds];
    await t.waitForTask(taskId!, (task) => task.status === 'completed');
    // Temporal holds a single execution (one run) for that workflow id.
    const runs: string[] = [];
    for await (const wf of t.client.workflow.list({ query: `WorkflowId = '${taskId}'` })) runs.push(wf.runId);
    expect(runs).toHaveLength(1);
    const rows = await t.orm.em.fork().execute(`select count(*)::int as n from tasks where task_id = ?`, [taskId]);
    expect(rows[0]?.n).toBe(1);
    // After completion the same key still answers the same task, marked as a replay.
    const replay = await post(body, { 'Idempotency-Key': key });
    expect(replay.status).toBe(201);
    expect(replay.body.id).toBe([...ids][0]);
    expect(replay.headers['idempotent-replayed']).toBe('true');
  });

  it('refuses to reuse an Idempotency-Key with another body (422 IDEMPOTENCY_KEY_REUSED)', async () => {
    const key = `idem-other-${Date.now()}`;
    expect((await post({ task_type: 'noop' }, { 'Idempotency-Key': key })).status).toBe(201);
    const res = await post({ task_type: 'noop', description: 'different' }, { 'Idempotency-Key': key });
    expect(res.status).toBe(422);
    expect(res.body.error_code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('scopes Idempotency-Keys per brand: the same key in another brand makes another task', async () => {
    const key = `idem-brand-${Date.now()}`;
    const mine = await post({ task_type: 'noop' }, { 'Idempotency-Key': key });
    const theirs = await t.http
      .post('/tasks/')
      .set({ ...t.headers(t.outsider, t.otherBrand.id), 'Idempotency-Key': key })
      .send({ task_type: 'noop' });
    expect(theirs.status).toBe(201);
    expect(theirs.body.task_id).not.toBe(mine.body.task_id);
  });
});
