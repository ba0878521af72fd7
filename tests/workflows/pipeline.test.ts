import { createTestContext, type TestContext } from '../support/harness';

describe('pipeline task type', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const createPipeline = async (context: Record<string, unknown>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'pipeline', context_data: context });
    expect(res.status).toBe(201);
    return res.body as { id: number; task_id: string };
  };
  const children = async (parent: string) => {
    const res = await t.http.get(`/tasks/?parent_task_id=${encodeURIComponent(parent)}&page_size=50`).set(t.headers());
    expect(res.status).toBe(200);
    return res.body.results as Record<string, any>[];
  };

  it('runs a diamond: B and C in parallel after A, D with A’s result; steps are tasks of their own', async () => {
    const p = await createPipeline({
      steps: [
        { id: 'A', task_type: 'generic', input: { seed: 'alpha' } },
        { id: 'B', task_type: 'noop', input: { duration_ms: 1500 }, depends_on: ['A'] },
        { id: 'C', task_type: 'noop', input: { duration_ms: 1500 }, depends_on: ['A'] },
        { id: 'D', task_type: 'generic', input: { from_a: '${steps.A.result.payload_summary.sha256}', keys: '${steps.A.result.payload_summary.keys}' }, depends_on: ['B', 'C'] },
      ],
    });
    const before = await t.http.get(`/tasks/${p.id}/`).set(t.headers());
    expect(before.body.pipeline.steps.map((s: { id: string }) => s.id)).toEqual(['A', 'B', 'C', 'D']);

    const done = await t.waitForTask(p.id, (x) => ['completed', 'failed'].includes(x.status), 60_000);
    expect(done.status).toBe('completed');
    expect(done.progress_percentage).toBe(100);

    const detail = (await t.http.get(`/tasks/${p.id}/`).set(t.headers())).body;
    expect(detail.parent_task_id).toBeNull();
    expect(detail.pipeline.steps).toEqual(
      ['A', 'B', 'C', 'D'].map((id) => expect.objectContaining({ id, state: 'completed', task_id: `${p.task_id}-step-${id}` })),
    );
    const rows = await children(p.task_id);
    expect(rows.map((r) => r.task_id).sort()).toEqual(['A', 'B', 'C', 'D'].map((id) => `${p.task_id}-step-${id}`));
    const byStep = Object.fromEntries(rows.map((r) => [r.task_id.slice(-1), r]));
    for (const r of rows) expect(r.status).toBe('completed');
    // B and C overlapped: each started before the other finished
    expect(Date.parse(byStep.B.started_at)).toBeLessThan(Date.parse(byStep.C.completed_at));
    expect(Date.parse(byStep.C.started_at)).toBeLessThan(Date.parse(byStep.B.completed_at));
    // D ran with A's result in its input
    expect(byStep.D.context_data).toEqual({ from_a: byStep.A.result_data.payload_summary.sha256, keys: ['seed'] });
    const child = (await t.http.get(`/tasks/${byStep.D.id}/`).set(t.headers())).body;
    expect(child).toMatchObject({ parent_task_id: p.task_id, pipeline: null });
  });

  it('refuses a cycle, an unknown type and an invalid step input with field errors, and starts nothing', async () => {
    const before = (await t.http.get('/tasks/?task_type=pipeline').set(t.headers())).body.count;
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({
        task_type: 'pipeline',
        context_data: {
          steps: [
            { id: 'A', task_type: 'noop', depends_on: ['B'] },
            { id: 'B', task_type: 'noop', depends_on: ['A'] },
            { id: 'C', task_type: 'no_such_type' },
            { id: 'E', task_type: 'noop', input: { duration_ms: -1 }, compensation: { task_type: 'noop', input: { bogus: 1 } } },
          ],
        },
      });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual(
      [
        'context_data.steps.0.depends_on',
        'context_data.steps.1.depends_on',
        'context_data.steps.2.task_type',
        'context_data.steps.3.input.duration_ms',
        'context_data.steps.3.compensation.input.bogus',
      ].sort(),
    );
    expect((await t.http.get('/tasks/?task_type=pipeline').set(t.headers())).body.count).toBe(before);
  });

  it('a failing step fails the pipeline after compensating the completed steps, newest first', async () => {
    const p = await createPipeline({
      steps: [
        { id: 'A', task_type: 'noop', compensation: { task_type: 'generic', input: { undo: 'A' } } },
        { id: 'B', task_type: 'noop', depends_on: ['A'], compensation: { task_type: 'generic', input: { undo: 'B' } } },
        { id: 'C', task_type: 'noop', input: { fail_message: 'step C broke' }, depends_on: ['B'] },
        { id: 'D', task_type: 'noop', depends_on: ['C'] },
      ],
    });
    const done = await t.waitForTask(p.id, (x) => ['completed', 'failed'].includes(x.status), 60_000);
    expect(done.status).toBe('failed');
    expect(done.error_message).toMatch(/step C broke/);
    const states = Object.fromEntries(done.result_data.steps.map((s: { id: string; state: string }) => [s.id, s.state]));
    expect(states).toEqual({ A: 'compensated', B: 'compensated', C: 'failed', D: 'skipped' });

    const rows = await children(p.task_id);
    const undoA = rows.find((r) => r.task_id === `${p.task_id}-undo-A`)!;
    const undoB = rows.find((r) => r.task_id === `${p.task_id}-undo-B`)!;
    expect([undoA.status, undoB.status]).toEqual(['completed', 'completed']);
    expect(Date.parse(undoB.completed_at)).toBeLessThanOrEqual(Date.parse(undoA.started_at));
    expect(rows.some((r) => r.task_id === `${p.task_id}-step-D`)).toBe(false);
  });

  it('cancelling the pipeline cancels its running step, then compensates the completed one', async () => {
    const p = await createPipeline({
      steps: [
        { id: 'A', task_type: 'noop', compensation: { task_type: 'generic', input: { undo: 'A' } } },
        { id: 'B', task_type: 'noop', input: { duration_ms: 120_000 }, depends_on: ['A'] },
      ],
    });
    const stepB = `${p.task_id}-step-B`;
    await t.waitForTask(stepB, (x) => x.status === 'running', 60_000);
    const cancel = await t.http.post(`/tasks/${p.id}/cancel/`).set(t.headers()).send({});
    expect(cancel.status).toBeLessThan(300);
    const done = await t.waitForTask(p.id, (x) => ['cancelled', 'failed', 'completed'].includes(x.status), 60_000);
    expect(done.status).toBe('cancelled');
    expect((await t.waitForTask(stepB, (x) => x.status !== 'running')).status).toBe('cancelled');
    const undoA = await t.waitForTask(`${p.task_id}-undo-A`, (x) => x.status === 'completed');
    expect(undoA.parent_task_id).toBe(p.task_id);
  });

  it('a step cancelled on its own fails the pipeline (it did not finish)', async () => {
    const p = await createPipeline({ steps: [{ id: 'A', task_type: 'noop', input: { duration_ms: 120_000 } }, { id: 'B', task_type: 'noop', depends_on: ['A'] }] });
    const stepA = `${p.task_id}-step-A`;
    await t.waitForTask(stepA, (x) => x.status === 'running', 60_000);
    expect((await t.http.post(`/tasks/${stepA}/cancel/`).set(t.headers()).send({})).status).toBeLessThan(300);
    const done = await t.waitForTask(p.id, (x) => ['cancelled', 'failed', 'completed'].includes(x.status), 60_000);
    expect(done).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/Step A was cancelled/) });
    expect(done.result_data.steps.map((s: { state: string }) => s.state)).toEqual(['cancelled', 'skipped']);
  });
});
