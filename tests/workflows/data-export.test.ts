import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { spawnWorkerProcess } from '../support/worker-process';
import { createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows } from '../support/mirror-fixtures';

/** Fixture rows (type noop); exports filter on that type so the export tasks themselves are not counted. */
const ROWS = 240;

describe('data_export task type', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    await insertMirrorRows(
      t.orm.em.fork(),
      { brandId: t.brand.id, userId: t.user.id },
      Array.from({ length: ROWS }, (_, i) => ({ status: i % 3 === 0 ? 'failed' : 'completed', description: `row ${i}, "quoted"` })),
    );
  });
  afterAll(async () => {
    await t.close();
  });

  const csvLines = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n');

  describe('with an in-process worker', () => {
    beforeAll(async () => {
      await t.startWorker();
    });
    afterAll(async () => {
      await t.stopWorker();
    });

    it('writes the brand tasks as CSV, with progress, the file path and the row count in result_data', async () => {
      const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'data_export', context_data: { format: 'csv', batch_size: 50, filters: { task_type: ['noop'] } } });
      const task = await t.waitForTask(res.body.id, (x) => x.status === 'completed');
      expect(task.progress_percentage).toBe(100);
      expect(task.result_data).toMatchObject({ format: 'csv', row_count: ROWS });
      const lines = csvLines(task.result_data.file_path);
      expect(lines[0]).toBe('id,task_id,task_type,status,priority,description,progress_percentage,retry_count,max_retries,created_at,updated_at,started_at,completed_at,error_message');
      expect(lines).toHaveLength(ROWS + 1);
      expect(lines.some((l) => l.includes('"row 7, ""quoted"""'))).toBe(true);
      expect(task.result_data.file_path).toContain(`brand-${t.brand.id}`);
    });

    it('exports JSON with a field selection and filters', async () => {
      const res = await t.http
        .post('/tasks/')
        .set(t.headers())
        .send({ task_type: 'data_export', context_data: { format: 'json', fields: ['task_id', 'status'], filters: { status: ['failed'] } } });
      const task = await t.waitForTask(res.body.id, (x) => x.status === 'completed');
      const rows = JSON.parse(readFileSync(task.result_data.file_path, 'utf8')) as { task_id: string; status: string }[];
      expect(rows).toHaveLength(ROWS / 3);
      expect(rows.every((r) => r.status === 'failed' && Object.keys(r).join() === 'task_id,status')).toBe(true);
      expect(task.result_data.row_count).toBe(ROWS / 3);
    });

    it('rejects unknown fields and formats at creation', async () => {
      const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'data_export', context_data: { format: 'xlsx', fields: ['password'] } });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.field_errors).sort()).toEqual(['context_data.fields.0', 'context_data.format']);
    });
  });

  describe('when its worker is killed with SIGKILL mid-export', () => {
    const workers: ChildProcess[] = [];
    afterAll(() => {
      for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    });

    const spawnWorker = () => {
      const child = spawnWorkerProcess(t.config);
      workers.push(child);
      return child;
    };

    it('finishes on a replacement worker from its last heartbeat, writing each row exactly once', async () => {
      const first = spawnWorker();
      const res = await t.http
        .post('/tasks/')
        .set(t.headers())
        .send({ task_type: 'data_export', context_data: { format: 'csv', batch_size: 10, throttle_ms: 150, filters: { task_type: ['noop'] } } });
      expect(res.status).toBe(201);
      await t.waitForTask(res.body.id, (x) => x.status === 'running' && x.progress_percentage >= 25, 60_000);
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const atKill = (await t.http.get(`/tasks/${res.body.id}/`).set(t.headers())).body;
      expect(atKill.status).toBe('running');

      spawnWorker();
      const task = await t.waitForTask(res.body.id, (x) => x.status === 'completed', 90_000);
      expect(task.result_data).toMatchObject({ row_count: ROWS, resumed: true });
      const lines = csvLines(task.result_data.file_path);
      expect(lines).toHaveLength(ROWS + 1);
      const ids = lines.slice(1).map((l) => l.split(',')[0]);
      expect(new Set(ids).size).toBe(ROWS);
      expect(existsSync(`${task.result_data.file_path}.part`)).toBe(false);
    });
  });
});
