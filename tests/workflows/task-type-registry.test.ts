import { bundleWorkflowCode } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { ScheduleGateway } from '../../api/temporal/schedules';
import { JobWorkflowGateway } from '../../api/temporal/job-workflows';
import { registerTaskType } from '../../workflows/tasks/registry';
import { throwawayActivities, throwawayEchoContextSchema } from '../fixtures/throwaway/throwaway-echo';
import { createTestContext, type TestContext } from '../support/harness';

describe('adding a task type through the registry only', () => {
  let t: TestContext;
  beforeAll(async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../fixtures/throwaway/workflows'),
      logger: { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error, log: () => undefined },
    });
    // The one registration: from here the API validates, starts, lists and filters the new type.
    registerTaskType({ name: 'throwaway_echo', label: 'Throwaway echo', category: 'platform', contextSchema: throwawayEchoContextSchema });
    t = await createTestContext({ worker: false });
    await t.startWorker({
      workflowBundle: { code },
      activities: { ...createActivities({ orm: t.orm, config: t.config, tasks: t.gateway, jobs: new JobWorkflowGateway(t.client, t.config.TEMPORAL_TASK_QUEUE), schedules: new ScheduleGateway(t.client, t.config.TEMPORAL_TASK_QUEUE, t.config.TEMPORAL_NAMESPACE) }), ...throwawayActivities },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs the new type end to end through the unchanged API', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'throwaway_echo', context_data: { message: 'hi', times: 3 } });
    expect(res.status).toBe(201);
    const done = await t.waitForTask(res.body.id, (x) => x.status === 'completed');
    expect(done.result_data).toEqual({ echo: 'hi hi hi' });
    expect((await t.gateway.describe(res.body.task_id)).type).toBe('throwaway_echo');
    const list = await t.http.get('/tasks/?task_type=throwaway_echo').set(t.headers());
    expect(list.body.results.map((r: { id: number }) => r.id)).toEqual([res.body.id]);
    const stats = await t.http.get('/tasks/type-stats/').set(t.headers());
    expect(stats.body.task_types.throwaway_echo).toMatchObject({ total: 1, completed: 1 });
  });

  it("validates the new type's context_data with its own schema", async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'throwaway_echo', context_data: { message: 'hi', times: 9 } });
    expect(res.status).toBe(400);
    expect(res.body.field_errors).toHaveProperty(['context_data.times']);
  });
});
