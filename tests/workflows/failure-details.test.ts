import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import type { ReconcileReport } from '../../activities/reconcile.activities';
import { failureDetails, MAX_CAUSES, MAX_STACK_CHARS, type FailureDetails } from '../../workflows/contracts/failure-details';
import { createTestContext, type TestContext } from '../support/harness';

describe('failure details: a failed run keeps its Temporal failure in tasks.error_details', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const row = async (taskId: string) =>
    (
      await t.orm.em
        .fork()
        .execute<{ status: string; error_message: string | null; error_details: FailureDetails | null }[]>(
          `select status, error_message, error_details from tasks where task_id = ?`,
          [taskId],
        )
    )[0]!;

  it('stores the activity type, the ApplicationFailure type and both stacks (activity and workflow frames)', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', context_data: { fail_message: 'disk on fire' } });
    await t.waitForTask(res.body.id, (x) => x.status === 'failed');
    const { error_message, error_details: details } = await row(res.body.task_id);
    expect(error_message).toBe('disk on fire');
    expect(details).toMatchObject({ message: 'disk on fire', type: 'NOOP_REQUESTED_FAILURE' });
    // The chain below the workflow's own failure: the ActivityFailure naming the activity, then what the activity threw.
    expect(details!.causes).toEqual([
      expect.objectContaining({ type: 'ActivityFailure', activity_type: 'runNoopWork', activity_id: expect.any(String) }),
      expect.objectContaining({ type: 'NOOP_REQUESTED_FAILURE', message: 'disk on fire' }),
    ]);
    // The activity's frame comes from the worker that ran it; the workflow's from where the workflow failed.
    expect(details!.causes[1]!.stack_trace).toMatch(/at .*activities\/noop\.activities\.[tj]s:\d+/);
    expect(details!.stack_trace).toMatch(/at .*workflows\/task-lifecycle\.ts:\d+/);
    expect(details!.stack_trace).toMatch(/Caused by: NOOP_REQUESTED_FAILURE: disk on fire\n[^]*noop\.activities/);
    expect(details!.retry_state).toBe('NON_RETRYABLE_FAILURE');

    // Temporal's own record of the failure carries the same chain (the Web UI shows it).
    const summary = await t.gateway.historySummary(res.body.task_id);
    expect(summary!.failure).toMatchObject({ type: 'NOOP_REQUESTED_FAILURE', causes: [{ activity_type: 'runNoopWork' }, { type: 'NOOP_REQUESTED_FAILURE' }] });
  });

  it('records a timeout as TASK_TIMED_OUT with the workflow frames', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', timeout_minutes: 0.01, context_data: { duration_ms: 60_000 } });
    await t.waitForTask(res.body.id, (x) => x.status === 'failed');
    const { error_details: details } = await row(res.body.task_id);
    expect(details).toMatchObject({ type: 'TASK_TIMED_OUT', message: expect.stringMatching(/timed out/) });
    expect(details!.causes).toEqual([expect.objectContaining({ type: 'TaskTimeoutError' })]);
    expect(details!.stack_trace).toMatch(/task-lifecycle/);
  });

  it('clears the details with the message when a retry resets errors, and when a later run completes', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', max_retries: 3, context_data: { fail_message: 'first' } });
    await t.waitForTask(res.body.id, (x) => x.status === 'failed');
    expect((await row(res.body.task_id)).error_details).not.toBeNull();

    // clear_errors (the default) resets them with the pending write; the run fails again and writes its own.
    const retry = await t.http.post(`/tasks/${res.body.id}/retry/`).set(t.headers()).send({});
    expect(retry.status).toBe(200);
    expect((await row(res.body.task_id)).error_details).toBeNull();
    await t.waitForTask(res.body.id, (x) => x.status === 'failed' && x.retry_count === 1);
    expect((await row(res.body.task_id)).error_details).toMatchObject({ message: 'first' });

    // Kept while the next run is pending (clear_errors=false), gone once it completes. The stored input is changed
    // so the retried run succeeds (a retry runs the row's context_data).
    await t.orm.em.fork().execute(`update tasks set context_data = '{}'::jsonb where task_id = ?`, [res.body.task_id]);
    await t.http.post(`/tasks/${res.body.id}/retry/`).set(t.headers()).send({ clear_errors: false });
    expect((await row(res.body.task_id)).error_details).toMatchObject({ message: 'first' });
    await t.waitForTask(res.body.id, (x) => x.status === 'completed');
    expect(await row(res.body.task_id)).toMatchObject({ status: 'completed', error_message: null, error_details: null });
  });

  it('stores the failure of a persistent job (the failure of its batch activity) the same way', async () => {
    const base = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop' });
    await t.waitForTask(base.body.id, (x) => x.status === 'completed');
    const job = await t.http
      .post('/tasks/persistent-jobs/persistent-jobs/')
      .set(t.headers())
      .send({ base_task: base.body.id, job_data: { total_items: 5, fail_at_item: 2 } });
    expect(job.status).toBe(201);
    await t.waitForTask(base.body.id, (x) => x.persistent_job?.status === 'failed', 60_000);
    const { error_details: details } = await row(base.body.task_id);
    expect(details).toMatchObject({ message: expect.stringMatching(/item 2 failed on request/) });
    expect(details!.causes[0]).toMatchObject({ type: 'ActivityFailure', activity_type: 'runJobBatch' });
    expect(details!.stack_trace).toMatch(/persistent-job/);
    expect(details!.stack_trace).toMatch(/item\.job/);
  });

  it('lets the reconciler record what Temporal knows about a run terminated outside the API', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', context_data: { duration_ms: 60_000 } });
    await t.waitForTask(res.body.id, (x) => x.status === 'running');
    await t.gateway.terminate(res.body.task_id, 'runaway job');
    const report = (await t.client.workflow.execute('reconcileMirrorWorkflow', {
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      workflowId: `reconcile-failure-${Date.now()}`,
      args: [{ batchSize: 500, staleAfterSeconds: 0 }],
    })) as ReconcileReport;
    expect(report.drift).toContainEqual({ task_id: res.body.task_id, from: 'running', to: 'cancelled' });
    expect((await row(res.body.task_id)).error_details).toMatchObject({ type: 'TerminatedFailure', message: 'runaway job' });
  });
});

describe('failureDetails (pure)', () => {
  it('walks at most MAX_CAUSES links and bounds every stack', () => {
    let err: Error = new Error('root');
    err.stack = 'x'.repeat(MAX_STACK_CHARS * 2);
    for (let i = 0; i < 20; i++) err = new Error(`level ${i}`, { cause: err });
    const details = failureDetails(err);
    expect(details.causes).toHaveLength(MAX_CAUSES);
    expect(details.stack_trace.length).toBeLessThanOrEqual(MAX_STACK_CHARS);
    for (const c of details.causes) expect(c.stack_trace.length).toBeLessThanOrEqual(MAX_STACK_CHARS);
  });

  it('takes the innermost ApplicationFailure type and message, the retry state, and a workflow stack for a frameless outer failure', () => {
    const fromActivity = ApplicationFailure.create({ message: 'quota exceeded', type: 'QUOTA', nonRetryable: false });
    const activity = new ActivityFailure('Activity task failed', 'callApi', '7', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'worker-1', fromActivity);
    activity.stack = '';
    const details = failureDetails(activity, { workflowStack: 'Error\n    at myWorkflow (workflows/my.ts:1:1)' });
    expect(details).toMatchObject({ message: 'quota exceeded', type: 'QUOTA', retry_state: 'MAXIMUM_ATTEMPTS_REACHED', activity_type: 'callApi', activity_id: '7' });
    expect(details.stack_trace).toMatch(/^Error\n {4}at myWorkflow/);
    expect(details.causes).toEqual([expect.objectContaining({ type: 'QUOTA', message: 'quota exceeded' })]);
  });

  it('survives a cause cycle and non-Error values', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(failureDetails(b).causes.map((c) => c.message)).toEqual(['a']);
    expect(failureDetails('plain string')).toMatchObject({ message: 'plain string', type: 'string', causes: [] });
  });
});
