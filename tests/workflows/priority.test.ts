import { createTestContext, type TestContext } from '../support/harness';

/**
 * Task priority is Temporal task priority (critical=1 … low=4, dev server with matching.useNewMatcher=true):
 * work submitted later but more important is dispatched first from a backlog.
 */
describe('priority', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ worker: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('starts a critical task submitted behind a backlog of low tasks first', async () => {
    const post = (priority: string) =>
      t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', priority, context_data: { duration_ms: 50 } });
    const low: number[] = [];
    for (let i = 0; i < 15; i++) low.push((await post('low')).body.id);
    const critical = (await post('critical')).body.id;

    // The backlog builds while no worker polls; then one slot at a time drains it in priority order.
    await t.startWorker({ maxConcurrentWorkflowTaskExecutions: 2, maxConcurrentActivityTaskExecutions: 1, maxConcurrentWorkflowTaskPolls: 2 });
    const done = await Promise.all([critical, ...low].map((id) => t.waitForTask(id, (x) => x.status === 'completed', 60_000)));
    const startedAt = (task: Record<string, any>) => Date.parse(task.started_at);
    const criticalStart = startedAt(done[0]!);
    const lowStarts = done.slice(1).map(startedAt);
    const startedBeforeCritical = lowStarts.filter((s) => s < criticalStart).length;
    expect(startedBeforeCritical).toBe(0);
  });
});
