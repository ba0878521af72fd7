import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createTestContext, type TestContext } from './harness';
import { TEMPORAL_BIN } from './temporal-server';

/**
 * Records the histories tests/workflows/replay.test.ts replays: one per workflow path, on the real dev server.
 * Not part of the test suite (its name does not match *.test.ts); run it with `npm run record-histories`.
 */
const DIR = join(__dirname, '..', 'fixtures', 'histories');

describe('recording histories', () => {
  let t: TestContext;
  let server: ReturnType<typeof createServer>;
  let siteUrl: string;
  beforeAll(async () => {
    t = await createTestContext();
    server = createServer((_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    siteUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    mkdirSync(DIR, { recursive: true });
  });
  afterAll(async () => {
    server.close();
    await t.close();
  });

  // The CLI's JSON export is the format historyFromJSON reads (and the one the Web UI downloads).
  const save = async (name: string, workflowId: string) => {
    const json = execFileSync(TEMPORAL_BIN, ['workflow', 'show', '--workflow-id', workflowId, '--address', t.config.TEMPORAL_ADDRESS, '--output', 'json']);
    writeFileSync(join(DIR, `${name}.json`), `${JSON.stringify(JSON.parse(json.toString('utf8')), null, 1)}\n`);
  };
  const runTask = async (name: string, body: Record<string, unknown>, until: string[], between?: (id: number) => Promise<void>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send(body);
    if (between) await between(res.body.id);
    await t.waitForTask(res.body.id, (x) => until.includes(x.status));
    await new Promise((r) => setTimeout(r, 300)); // let the workflow close after its last mirror write
    await save(name, res.body.task_id);
  };

  // One `it` per family, so a family can be re-recorded alone: npm run record-histories -- -t seo
  // @family:seo
  // @family:site
  // @family:content
  // @family:data

  it('records the platform types (noop, http_request, data_export, reconciler)', async () => {
    await runTask('noop-completed', { task_type: 'noop', context_data: { duration_ms: 300 } }, ['completed']);
    await runTask('noop-failed', { task_type: 'noop', context_data: { fail_message: 'boom' } }, ['failed']);
    await runTask('noop-cancelled', { task_type: 'noop', context_data: { duration_ms: 60_000 } }, ['cancelled'], async (id) => {
      await t.waitForTask(id, (x) => x.status === 'running');
      await t.http.post(`/tasks/${id}/cancel/`).set(t.headers()).send({});
    });
    await runTask('noop-timed-out', { task_type: 'noop', timeout_minutes: 0.01, context_data: { duration_ms: 60_000 } }, ['failed']);
    await runTask(
      'noop-scheduled-amended',
      { task_type: 'noop', scheduled_for: new Date(Date.now() + 2000).toISOString() },
      ['completed'],
      async (id) => {
        await t.http.patch(`/tasks/${id}/`).set(t.headers()).send({ priority: 'critical', description: 'amended' });
      },
    );
    await runTask('http_request-completed', { task_type: 'http_request', context_data: { url: `${siteUrl}/hook`, method: 'POST', body: { a: 1 } } }, ['completed']);
    await runTask('data_export-completed', { task_type: 'data_export', context_data: { format: 'json', batch_size: 2 } }, ['completed']);
    const reconcileId = `reconcile-record-${Date.now()}`;
    await t.client.workflow.execute('reconcileMirrorWorkflow', { taskQueue: t.config.TEMPORAL_TASK_QUEUE, workflowId: reconcileId, args: [{}] });
    await save('reconcileMirrorWorkflow-completed', reconcileId);
    expect(readdirSync(DIR).filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(8);
  });
});

