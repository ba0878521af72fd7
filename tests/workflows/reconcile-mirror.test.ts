import { createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows } from '../support/mirror-fixtures';
import type { ReconcileReport } from '../../activities/reconcile.activities';
import { TaskWorkflowGateway } from '../../api/temporal/task-workflows';
import type { TaskWorkflowInput } from '../../workflows/contracts/task-workflow';

describe('mirror reconciler (system workflow) against Temporal visibility', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const reconcile = () =>
    t.client.workflow.execute('reconcileMirrorWorkflow', {
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      workflowId: `reconcile-${Date.now()}`,
      args: [{ batchSize: 500, staleAfterSeconds: 0 }],
    }) as Promise<ReconcileReport>;

  it('shows a task terminated directly in Temporal as cancelled after reconciliation', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', context_data: { duration_ms: 60_000 } });
    await t.waitForTask(res.body.id, (task) => task.status === 'running');
    // An operator terminates it from the Web UI / CLI: the workflow gets no chance to record anything.
    await t.gateway.terminate(res.body.task_id, 'terminated by an operator');
    expect((await t.http.get(`/tasks/${res.body.id}/`).set(t.headers())).body.status).toBe('running');

    const report = await reconcile();
    expect(report.drift).toContainEqual({ task_id: res.body.task_id, from: 'running', to: 'cancelled' });
    const task = (await t.http.get(`/tasks/${res.body.id}/`).set(t.headers())).body;
    expect(task.status).toBe('cancelled');
    expect(task.error_message).toMatch(/Terminated/);
    expect(task.completed_at).not.toBeNull();
  });

  it('marks a row whose workflow never existed in Temporal as failed, with the reason', async () => {
    const [orphan] = await insertMirrorRows(t.orm.em.fork(), { brandId: t.brand.id, userId: t.user.id }, [{ status: 'pending' }]);
    const report = await reconcile();
    expect(report.drift).toContainEqual({ task_id: orphan!.taskId, from: 'pending', to: 'failed' });
    const task = (await t.http.get(`/tasks/${orphan!.taskId}/`).set(t.headers())).body;
    expect(task).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/no longer exists/) });
  });

  it('adopts an execution that has no mirror row (a crash between start and the first write)', async () => {
    // Started on a queue no worker polls, as if the API had died right after the start: nothing wrote a row.
    const orphanQueue = new TaskWorkflowGateway(t.client, `no-worker-${Date.now()}`, t.config.TEMPORAL_NAMESPACE);
    const input: TaskWorkflowInput = {
      taskId: `task_adopt_${Date.now()}`,
      brandId: t.brand.id,
      createdById: t.user.id,
      taskType: 'noop',
      priority: 'high',
      description: 'started, never mirrored',
      contextData: {},
      maxRetries: 3,
      retryCount: 0,
      timeoutMinutes: null,
      scheduledFor: null,
      createdAt: new Date().toISOString(),
    };
    await orphanQueue.start(input, 'create');
    expect((await t.http.get(`/tasks/${input.taskId}/`).set(t.headers())).status).toBe(404);

    let report: ReconcileReport | undefined;
    const deadline = Date.now() + 15_000; // visibility is eventually consistent
    while (!report?.drift.some((d) => d.task_id === input.taskId) && Date.now() < deadline) report = await reconcile();
    expect(report!.drift).toContainEqual({ task_id: input.taskId, from: 'missing', to: 'pending' });
    const task = (await t.http.get(`/tasks/${input.taskId}/`).set(t.headers())).body;
    expect(task).toMatchObject({ status: 'pending', priority: 'high', description: 'started, never mirrored', created_by: { id: t.user.id } });

    await t.gateway.terminate(input.taskId, 'cleanup');
    await reconcile();
    expect((await t.http.get(`/tasks/${input.taskId}/`).set(t.headers())).body.status).toBe('cancelled');
  });

  it('leaves consistent rows alone: a running task stays running, a second pass finds no drift for it', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', context_data: { duration_ms: 60_000 } });
    await t.waitForTask(res.body.id, (task) => task.status === 'running');
    const first = await reconcile();
    const second = await reconcile();
    for (const r of [first, second]) expect(r.drift.map((d) => d.task_id)).not.toContain(res.body.task_id);
    expect((await t.http.get(`/tasks/${res.body.id}/`).set(t.headers())).body.status).toBe('running');
    await t.http.post(`/tasks/${res.body.id}/cancel/`).set(t.headers()).send({});
  });
});
