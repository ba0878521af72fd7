import { goWorkerTaskQueue } from '../../workflows/contracts/go-worker';
import { startGoWorker, type GoWorkerProcess } from '../support/go-worker';
import { createTestContext, type TestContext } from '../support/harness';

/**
 * A task type whose work runs in Go: `text_statistics` is created through POST /tasks/, its workflow runs on the TS
 * worker (lifecycle and mirror rows) and its activity on the Go worker (workers/go), built from source and spawned
 * on `<the test's task queue>-go`.
 */
describe('the Go worker (workers/go) runs text_statistics activities', () => {
  let t: TestContext;
  let goWorker: GoWorkerProcess;
  beforeAll(async () => {
    t = await createTestContext();
    goWorker = await startGoWorker({
      address: t.config.TEMPORAL_ADDRESS,
      namespace: t.config.TEMPORAL_NAMESPACE,
      taskQueue: goWorkerTaskQueue(t.config.TEMPORAL_TASK_QUEUE),
      identity: `go-e2e-${process.pid}-${Date.now()}`,
    });
  }, 300_000); // a cold `go build` of the SDK takes minutes on a loaded machine
  afterAll(async () => {
    await goWorker?.stop();
    await t?.close();
  });

  it('completes a task created through the API with the result computed by Go', async () => {
    const created = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'text_statistics', context_data: { text: 'The cat saw the dog.\nThe dog ran — déjà vu!\n', top_words: 2 } });
    expect(created.status).toBe(201);

    const task = await t.waitForTask(created.body.id, (x) => ['completed', 'failed'].includes(x.status));
    expect(task.status).toBe('completed');
    expect(task.result_data).toMatchObject({
      characters: 44,
      words: 10,
      unique_words: 7,
      lines: 2,
      top_words: [{ word: 'the', count: 3 }, { word: 'dog', count: 2 }],
      runtime: 'go',
      worker_identity: goWorker.identity,
    });
    expect(task.result_data.runtime_version).toMatch(/^go1\./);

    // Temporal's own record: scheduled on the Go queue, started by the Go worker's identity.
    const history = await t.client.workflow.getHandle(created.body.task_id).fetchHistory();
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!;
    expect(scheduled.activityType?.name).toBe('computeTextStatistics');
    expect(scheduled.taskQueue?.name).toBe(goWorkerTaskQueue(t.config.TEMPORAL_TASK_QUEUE));
    const started = history.events!.find((e) => e.activityTaskStartedEventAttributes)!.activityTaskStartedEventAttributes!;
    expect(started.identity).toBe(goWorker.identity);
  });

  it('refuses invalid context_data at the API (the TS schema guards the Go activity)', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'text_statistics', context_data: { text: 'x', top_words: 0 } });
    expect(res.status).toBe(400);
  });
});
