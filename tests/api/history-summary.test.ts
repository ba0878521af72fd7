import { closedStatus, createTestContext, type TestContext } from '../support/harness';

describe('TaskWorkflowGateway.historySummary on the real dev server', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const runTask = async (context: Record<string, unknown>, until: string) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', context_data: context });
    await t.waitForTask(res.body.id, (x) => x.status === until);
    await closedStatus(t.gateway, res.body.task_id);
    return res.body as { id: number; task_id: string };
  };

  it('summarizes a completed run: status, times, the activity and its attempts, every event in order', async () => {
    const task = await runTask({ duration_ms: 200 }, 'completed');
    const desc = await t.gateway.describe(task.task_id);
    const summary = await t.gateway.historySummary(task.task_id, desc.runId);
    expect(summary).toMatchObject({
      run_id: desc.runId,
      status: 'COMPLETED',
      started_at: desc.startTime.toISOString(),
      closed_at: desc.closeTime!.toISOString(),
      failure: null,
      activities: [{ activity_type: 'runNoopWork', attempts: 1, last_failure: null }],
    });
    expect(summary!.event_count).toBe(summary!.events.length); // short history: all of it
    expect(summary!.events[0]).toMatchObject({ event_id: 1, event_type: 'WorkflowExecutionStarted', time: expect.any(String) });
    expect(summary!.events.at(-1)!.event_type).toBe('WorkflowExecutionCompleted');
    expect(summary!.events.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(['ActivityTaskScheduled', 'ActivityTaskStarted', 'ActivityTaskCompleted', 'MarkerRecorded']),
    );
    expect(summary!.events.map((e) => e.event_id)).toEqual(summary!.events.map((_, i) => i + 1));
    // Without a run id: the latest run, the same one here.
    expect((await t.gateway.historySummary(task.task_id))!.run_id).toBe(desc.runId);
  });

  it('summarizes a failed run with the failure that closed it and the activity failure', async () => {
    const task = await runTask({ fail_message: 'no more disk' }, 'failed');
    const summary = await t.gateway.historySummary(task.task_id);
    expect(summary).toMatchObject({
      status: 'FAILED',
      closed_at: expect.any(String),
      failure: { message: 'no more disk', type: 'NOOP_REQUESTED_FAILURE', causes: [{ type: 'ActivityFailure', activity_type: 'runNoopWork' }, { type: 'NOOP_REQUESTED_FAILURE' }] },
      activities: [{ activity_type: 'runNoopWork', attempts: 1, last_failure: { type: 'NOOP_REQUESTED_FAILURE', message: 'no more disk' } }],
    });
    expect(summary!.activities[0]!.last_failure!.stack_trace).toMatch(/noop\.activities/);
    expect(summary!.events.at(-1)!.event_type).toBe('WorkflowExecutionFailed');
  });

  it('lists the first and last 50 events of a long history, and counts them all', async () => {
    // A delayed task waits as pending; each PATCH is an update delivered to it (several events each).
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'noop', scheduled_for: new Date(Date.now() + 3_600_000).toISOString() });
    for (let i = 0; i < 30; i++) {
      expect((await t.http.patch(`/tasks/${res.body.id}/`).set(t.headers()).send({ description: `edit ${i}` })).status).toBe(200);
    }
    await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
    expect(await closedStatus(t.gateway, res.body.task_id)).toBe('CANCELLED');
    const summary = await t.gateway.historySummary(res.body.task_id);
    expect(summary!.status).toBe('CANCELLED');
    expect(summary!.event_count).toBeGreaterThan(100);
    expect(summary!.events).toHaveLength(100);
    expect(summary!.events.map((e) => e.event_id)).toEqual([
      ...Array.from({ length: 50 }, (_, i) => i + 1),
      ...Array.from({ length: 50 }, (_, i) => summary!.event_count - 49 + i),
    ]);
    expect(summary!.events.map((e) => e.event_type)).toContain('WorkflowExecutionUpdateCompleted');
    expect(summary!.events.at(-1)!.event_type).toBe('WorkflowExecutionCanceled');
  });

  it('answers null for an execution Temporal does not have', async () => {
    expect(await t.gateway.historySummary(`task_missing_${Date.now()}`)).toBeNull();
  });
});
