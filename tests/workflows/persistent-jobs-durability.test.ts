import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnWorkerProcess } from '../support/worker-process';
import { createTestContext, type TestContext } from '../support/harness';
import { startFixtureSite } from '../support/fixture-site';
import { insertMirrorRows } from '../support/mirror-fixtures';

const JOBS = '/tasks/persistent-jobs/persistent-jobs';

function helpers(get: () => TestContext) {
  const completedTask = async (body: Record<string, unknown>) => {
    const t = get();
    const res = await t.http.post('/tasks/').set(t.headers()).send(body);
    await t.waitForTask(res.body.id, (x) => x.status === 'completed', 60_000);
    return res.body as { id: number; task_id: string };
  };
  const waitJob = async (id: number, pred: (j: any) => boolean, timeoutMs = 90_000) => {
    const t = get();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const j = (await t.http.get(`${JOBS}/${id}/`).set(t.headers())).body;
      if (pred(j)) return j;
      if (Date.now() > deadline) throw new Error(`job ${id}: state not reached; last ${JSON.stringify(j)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { completedTask, waitJob };
}

describe('persistent jobs: crashes, large exports and long jobs', () => {
  describe('with the worker as a separate process', () => {
    let t: TestContext;
    const workers: ChildProcess[] = [];
    const { completedTask, waitJob } = helpers(() => t);
    beforeAll(async () => {
      t = await createTestContext({ worker: false });
    });
    afterAll(async () => {
      for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
      await t.close();
    });
    const spawnWorker = () => {
      const child = spawnWorkerProcess(t.config);
      workers.push(child);
      return child;
    };

    it('finishes a job after its worker is killed with SIGKILL mid-batch, each item side effect once', async () => {
      const first = spawnWorker();
      const base = await completedTask({ task_type: 'noop', description: 'sigkill base' });
      const created = await t.http
        .post(`${JOBS}/`)
        .set(t.headers())
        .send({ base_task: base.id, job_data: { total_items: 150, item_ms: 30 }, settings: { batch_size: 50, checkpoint_every_items: 10 } });
      expect(created.status).toBe(201);
      await waitJob(created.body.id, (j) => j.items_done >= 40);
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      spawnWorker();
      const done = await waitJob(created.body.id, (j) => j.status === 'completed');
      expect(done.items_done).toBe(150);
      const items = await t.orm.em.fork().execute<{ item_key: string; attempts: number }[]>(
        `select item_key, attempts from persistent_job_items where job_id = ?`,
        [created.body.id],
      );
      // one ledger row (the side effect) per item; the few items between the last checkpoint and the kill ran twice
      expect(new Set(items.map((i) => i.item_key)).size).toBe(150);
      expect(items).toHaveLength(150);
      expect(items.filter((i) => i.attempts > 1).length).toBeLessThanOrEqual(11);
    });
  });

  describe('with an in-process worker', () => {
    let t: TestContext;
    const { completedTask, waitJob } = helpers(() => t);
    beforeAll(async () => {
      // Seven simulated days of one-hour items run in seconds: per-item work is scaled, the workflow logic is not.
      t = await createTestContext({ config: { JOB_TIME_SCALE: 0.00001 } });
    });
    afterAll(async () => {
      await t.close();
    });

    it('pauses a large export at row k and resumes it, each row written exactly once', async () => {
      await insertMirrorRows(t.orm.em.fork(), { brandId: t.brand.id, userId: t.user.id }, Array.from({ length: 300 }, (_, i) => ({ status: 'completed', description: `row ${i}` })));
      const base = await completedTask({ task_type: 'data_export', context_data: { format: 'csv', filters: { task_type: ['noop'] } } });
      const created = await t.http
        .post(`${JOBS}/`)
        .set(t.headers())
        .send({ base_task: base.id, job_data: { format: 'csv', batch_size: 10, throttle_ms: 100, filters: { task_type: ['noop'] } }, settings: { batch_size: 5, checkpoint_every_items: 20 } });
      expect(created.status).toBe(201);
      expect(created.body.steps).toEqual(['snapshot', 'export', 'finalization']);
      await waitJob(created.body.id, (j) => j.items_done >= 60);
      const paused = await t.http.post(`${JOBS}/${created.body.id}/pause/`).set(t.headers()).send({});
      expect(paused.body.job.status).toBe('paused');
      const k = paused.body.job.items_done;
      expect(k).toBeGreaterThanOrEqual(60);
      expect(k).toBeLessThan(300);
      await t.http.post(`${JOBS}/${created.body.id}/resume/`).set(t.headers()).send({});
      const done = await waitJob(created.body.id, (j) => j.status === 'completed');
      expect(done.items_done).toBe(300);
      const result = (await t.http.get(`/tasks/${base.id}/`).set(t.headers())).body.result_data;
      expect(result).toMatchObject({ row_count: 300 });
      const lines = readFileSync(result.file_path, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(301);
      expect(new Set(lines.slice(1).map((l) => l.split(',')[0])).size).toBe(300);
    });

    it('pauses a site crawl at page k and resumes it: no page skipped or redone (but an interrupted one), the sitemap has every page', async () => {
      const paths = ['/', ...Array.from({ length: 10 }, (_, j) => `/s/${j}`), ...Array.from({ length: 50 }, (_, k) => `/s/${Math.floor(k / 5)}/${k % 5}`)];
      const children = (path: string) => paths.filter((p) => p !== path && p.startsWith(path === '/' ? '/s/' : `${path}/`) && p.split('/').length === (path === '/' ? 3 : path.split('/').length + 1));
      const routes = Object.fromEntries(
        paths.map((path) => [
          path,
          (_req: unknown, res: import('node:http').ServerResponse) =>
            setTimeout(() => {
              res.writeHead(200, { 'content-type': 'text/html' });
              res.end(`<html><head><title>${path}</title></head><body>${children(path).map((c) => `<a href="${c}">${c}</a>`).join(' ')}</body></html>`);
            }, 60),
        ]),
      );
      const site = await startFixtureSite('none', routes);
      try {
        const base = await completedTask({ task_type: 'sitemap_generation', context_data: { start_url: `${site.url}/`, respect_robots_txt: false, max_pages: 2 } });
        const before = site.hits.length;
        const created = await t.http
          .post(`${JOBS}/`)
          .set(t.headers())
          .send({ base_task: base.id, job_data: { start_url: `${site.url}/`, respect_robots_txt: false, max_pages: 500 }, settings: { batch_size: 5, checkpoint_every_items: 5 } });
        expect(created.status).toBe(201);
        expect(created.body.steps).toEqual(['crawl', 'write']);
        await waitJob(created.body.id, (j) => j.items_done >= 15);
        const paused = await t.http.post(`${JOBS}/${created.body.id}/pause/`).set(t.headers()).send({});
        expect(paused.body.job.status).toBe('paused');
        const k = paused.body.job.items_done;
        expect(k).toBeLessThan(61);
        await t.http.post(`${JOBS}/${created.body.id}/resume/`).set(t.headers()).send({});
        const done = await waitJob(created.body.id, (j) => j.status === 'completed');
        expect(done.items_done).toBe(61);
        const jobHits = site.hits.slice(before).map((h) => h.path);
        // every page crawled; only a page whose fetch the pause interrupted is fetched again
        expect([...new Set(jobHits)].sort()).toEqual([...paths].sort());
        expect(jobHits.length - paths.length).toBeLessThanOrEqual(1);
        const result = (await t.http.get(`/tasks/${base.id}/`).set(t.headers())).body.result_data;
        expect(result).toMatchObject({ url_count: 61, pages_crawled: 61 });
        const xml = readFileSync(result.entry_file, 'utf8');
        expect((xml.match(/<loc>/g) ?? []).length).toBe(61);
      } finally {
        await site.close();
      }
    });

    it('runs a job of seven simulated days (168 one-hour items) in seconds', async () => {
      const base = await completedTask({ task_type: 'noop', description: 'a week of hourly items' });
      const created = await t.http
        .post(`${JOBS}/`)
        .set(t.headers())
        .send({ base_task: base.id, job_data: { total_items: 168, item_ms: 3_600_000 }, settings: { batch_size: 24, checkpoint_every_items: 24 } });
      const done = await waitJob(created.body.id, (j) => j.status === 'completed');
      expect(done.items_done).toBe(168);
      expect(done.checkpoints_count).toBeGreaterThanOrEqual(7); // one a simulated day
    });
  });
});
