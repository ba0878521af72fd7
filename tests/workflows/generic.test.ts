import { createHash } from 'node:crypto';
import { summarizePayload } from '../../activities/generic.activities';
import { createTestContext, type TestContext } from '../support/harness';

describe('generic task type (the public API default: records a summary of its payload)', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  it('summarizes a payload: size and checksum of its JSON, keys, value types at any depth', () => {
    const payload = { file_path: '/data/input.csv', rows: [1, 2, { deep: null }], options: { header: true } };
    const json = JSON.stringify(payload);
    expect(summarizePayload(payload)).toEqual({
      bytes: Buffer.byteLength(json),
      sha256: createHash('sha256').update(json).digest('hex'),
      key_count: 3,
      keys: ['file_path', 'rows', 'options'],
      value_types: { string: 1, array: 1, object: 2, number: 2, null: 1, boolean: 1 },
      max_depth: 3,
    });
    expect(summarizePayload({})).toMatchObject({ key_count: 0, keys: [], value_types: {}, max_depth: 0, bytes: 2 });
  });

  it('runs through /tasks/ with its name, completes with the summary as result, and names the worker that ran it', async () => {
    const created = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'generic', name: 'Process Data', context_data: { file_path: '/data/input.csv' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ task_type: 'generic', name: 'Process Data', status: 'pending' });
    const done = await t.waitForTask(created.body.id, (x) => x.status === 'completed');
    expect(done.name).toBe('Process Data');
    expect(done.result_data).toMatchObject({
      name: 'Process Data',
      payload_summary: { key_count: 1, keys: ['file_path'], value_types: { string: 1 } },
      processed_at: expect.any(String),
    });
    expect(done.progress_percentage).toBe(100);
    const [row] = await t.orm.em.fork().execute<{ worker_id: string | null }[]>(`select worker_id from tasks where task_id = ?`, [created.body.task_id]);
    const [attempt] = await t.orm.em.fork().execute<{ worker_id: string | null }[]>(`select worker_id from activity_executions where task_id = ?`, [created.body.task_id]);
    const registered = await t.orm.em.fork().execute<{ worker_id: string }[]>(`select worker_id from workers where task_queues @> ?::jsonb`, [JSON.stringify([t.config.TEMPORAL_TASK_QUEUE])]);
    expect(row!.worker_id).toEqual(expect.any(String));
    expect(attempt!.worker_id).toBe(row!.worker_id);
    expect(registered.map((w) => w.worker_id)).toContain(row!.worker_id);
  });

  it("bounds its activity by the task's timeout (startToCloseTimeout in the history)", async () => {
    const created = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'generic', timeout_minutes: 0.5, context_data: { a: 1 } });
    expect(created.status).toBe(201);
    await t.waitForTask(created.body.id, (x) => x.status === 'completed');
    const history = await t.client.workflow.getHandle(created.body.task_id).fetchHistory();
    const scheduled = history.events!.find((e) => e.activityTaskScheduledEventAttributes)!.activityTaskScheduledEventAttributes!;
    expect(scheduled.activityType?.name).toBe('summarizePayload');
    expect(Number(scheduled.startToCloseTimeout?.seconds)).toBe(30);
  });
});
