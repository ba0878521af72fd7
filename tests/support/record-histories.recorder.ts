import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { signAccessToken } from '../../api/services/token.service';
import { ensureUser } from '../../db/repositories/identity.repository';
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
  const save = async (name: string, workflowId: string, runId?: string) => {
    const json = execFileSync(TEMPORAL_BIN, [
      'workflow', 'show', '--workflow-id', workflowId, ...(runId ? ['--run-id', runId] : []), '--address', t.config.TEMPORAL_ADDRESS, '--output', 'json',
    ]);
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
  // SEO & research
  it('records seo histories (seo_keyword_analysis, seo_competitor_analysis, seo_content_audit)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startFixtureSite } = require('./fixture-site') as typeof import('./fixture-site');
    const sites = await Promise.all([startFixtureSite('seo-kw-site'), startFixtureSite('seo-comp-a'), startFixtureSite('seo-audit')]);
    const [kw, comp, audit] = sites;
    try {
      await runTask(
        'seo_keyword_analysis-completed',
        { task_type: 'seo_keyword_analysis', context_data: { keywords: ['organic coffee', 'cold brew'], urls: [`${kw!.url}/`, `${kw!.url}/cold-brew-guide`] } },
        ['completed'],
      );
      await runTask(
        'seo_competitor_analysis-completed',
        {
          task_type: 'seo_competitor_analysis',
          context_data: { site: { urls: [`${kw!.url}/`] }, competitors: [{ crawl: { start_url: `${comp!.url}/` } }], keywords: ['espresso machine'] },
        },
        ['completed'],
      );
      await runTask('seo_content_audit-completed', { task_type: 'seo_content_audit', context_data: { start_url: `${audit!.url}/`, max_depth: 1 } }, ['completed']);
    } finally {
      await Promise.all(sites.map((s) => s.close()));
    }
  });
  // Site & pages
  it('records site histories (website_structure_analysis, page_performance_audit, sitemap_generation)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startFixtureSite } = require('./fixture-site') as typeof import('./fixture-site');
    const sites = await Promise.all([startFixtureSite('site-sitemap'), startFixtureSite('site-perf', {}, { gzip: true })]);
    const [pages, perf] = sites;
    try {
      await runTask('website_structure_analysis-completed', { task_type: 'website_structure_analysis', context_data: { start_url: `${pages!.url}/` } }, ['completed']);
      await runTask(
        'page_performance_audit-completed',
        { task_type: 'page_performance_audit', context_data: { urls: [`${perf!.url}/fast`, `${perf!.url}/slow`, `${perf!.url}/nope`] } },
        ['completed'],
      );
      await runTask('sitemap_generation-completed', { task_type: 'sitemap_generation', context_data: { start_url: `${pages!.url}/`, urls_per_file: 3 } }, ['completed']);
    } finally {
      await Promise.all(sites.map((s) => s.close()));
    }
  });
  // Content & AI
  it('records content histories', async () => {
    const { startFixtureSite } = jest.requireActual<typeof import('./fixture-site.js')>('./fixture-site');
    const site = await startFixtureSite('content-site');
    // A minimal OpenAI-compatible endpoint; the shared context's config object is the one the API and the worker read.
    const ai = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          model: 'gpt-4o-mini',
          choices: [{ index: 0, message: { role: 'assistant', content: '# Trail shoes\n\nGrip matters.' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 },
        }));
      });
    });
    await new Promise<void>((r) => ai.listen(0, '127.0.0.1', r));
    const previous = t.config.AI_API_BASE_URL;
    t.config.AI_API_BASE_URL = `http://127.0.0.1:${(ai.address() as AddressInfo).port}/v1`;
    try {
      await runTask('ai_content_generation-completed', { task_type: 'ai_content_generation', context_data: { topic: 'Trail shoes', keywords: ['grip'] } }, ['completed']);
      await runTask(
        'content_optimization-completed',
        { task_type: 'content_optimization', context_data: { pages: [{ url: `${site.url}/guide` }], target_keywords: ['trail running shoes'], optimization_level: 'advanced' } },
        ['completed'],
      );
      await runTask(
        'meta_tags_generation-completed',
        { task_type: 'meta_tags_generation', context_data: { pages: [{ url: `${site.url}/guide` }], brand_name: 'Acme Outdoor' } },
        ['completed'],
      );
    } finally {
      t.config.AI_API_BASE_URL = previous;
      ai.closeAllConnections();
      ai.close();
      await site.close();
    }
  });
  // Data & export
  it('records data histories (report_generation, bulk_operations)', async () => {
    await runTask(
      'report_generation-completed',
      { task_type: 'report_generation', context_data: { period: { preset: 'last_24_hours' }, title: 'Recorded report' } },
      ['completed'],
    );
    const target = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop' });
    await t.waitForTask(target.body.id, (x) => x.status === 'completed');
    await runTask(
      'bulk_operations-completed',
      { task_type: 'bulk_operations', context_data: { operation: 'retry', task_ids: [target.body.id, 2_000_000_000], batch_size: 1 } },
      ['completed'],
    );
  });
  it('records the cleanup_old_tasks history', async () => {
    // one finished task aged past the cutoff, deleted in the first of two batches (the second finds nothing left)
    const old = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop' });
    await t.waitForTask(old.body.id, (x) => x.status === 'completed');
    await t.orm.em.fork().execute(`update tasks set completed_at = now() - interval '40 days' where id = ?`, [old.body.id]);
    await runTask('cleanup_old_tasks-completed', { task_type: 'cleanup_old_tasks', context_data: { older_than_days: 30, max_tasks: 10, batch_size: 1 } }, ['completed']);
  });

  it('records persistent job histories (pause/resume signals, continue-as-new)', async () => {
    const JOBS = '/tasks/persistent-jobs/persistent-jobs';
    const job = async (name: string, jobData: Record<string, unknown>, settings: Record<string, unknown>, during?: (id: number) => Promise<void>) => {
      const base = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', description: name });
      await t.waitForTask(base.body.id, (x) => x.status === 'completed');
      const created = await t.http.post(`${JOBS}/`).set(t.headers()).send({ base_task: base.body.id, job_data: jobData, settings });
      if (during) await during(created.body.id);
      await t.waitForTask(base.body.id, (x) => x.status === 'completed' && x.persistent_job?.status === 'completed', 60_000);
      await new Promise((r) => setTimeout(r, 300));
      await save(name, base.body.task_id);
    };
    await job('persistent_job-paused-resumed', { total_items: 40, item_ms: 25 }, { batch_size: 10, checkpoint_every_items: 5 }, async (id) => {
      await new Promise((r) => setTimeout(r, 400));
      await t.http.post(`${JOBS}/${id}/pause/`).set(t.headers()).send({});
      await t.http.post(`${JOBS}/${id}/resume/`).set(t.headers()).send({});
    });
    await job('persistent_job-continued-as-new', { total_items: 300 }, { batch_size: 50, continue_as_new_after_batches: 2 });
    const autoResumeId = `auto-resume-record-${Date.now()}`;
    await t.client.workflow.execute('autoResumeJobsWorkflow', { taskQueue: t.config.TEMPORAL_TASK_QUEUE, workflowId: autoResumeId, args: [{ brandIds: [t.brand.id] }] });
    await save('autoResumeJobsWorkflow-completed', autoResumeId);
  });

  it('records schedule firings (a noop fired by a Schedule, and one missed past its catch-up window)', async () => {
    const fire = async (name: string, body: Record<string, unknown>, status: string, beforeWorker?: boolean) => {
      if (beforeWorker) await t.stopWorker();
      const res = await t.http.post('/tasks/scheduled/periodic-tasks/').set(t.headers()).send({ task_type: 'noop', cron_expression: '*/2 * * * * *', ...body });
      try {
        if (beforeWorker) {
          await new Promise((r) => setTimeout(r, 8000)); // the firing waits in the queue, past the grace and the window
          await t.http.post(`/tasks/scheduled/periodic-tasks/${res.body.id}/toggle/`).set(t.headers()).send({ is_active: false });
          await t.startWorker();
        }
        for (let i = 0; i < 300; i++) {
          const runs = (await t.http.get(`/tasks/?schedule_id=${res.body.schedule_id}&ordering=scheduled_for`).set(t.headers())).body.results;
          const done = runs.find((r: { status: string }) => r.status === status);
          if (done) {
            await new Promise((r) => setTimeout(r, 300));
            await save(name, done.task_id);
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`no ${status} firing of ${name}`);
      } finally {
        await t.client.schedule.getHandle(res.body.schedule_id).delete();
      }
    };
    await fire('noop-schedule-firing', {}, 'completed');
    await fire('noop-schedule-missed', { catchup_window_seconds: 0 }, 'failed', true);
  });

  it('records the alert workflows (an evaluation that fires and starts a delivery, the delivery)', async () => {
    const rule = await t.http.post('/tasks/monitoring/alerts/').set(t.headers()).send({
      name: 'record',
      metric_field: 'queue_depth',
      condition: 'gte',
      threshold: 0,
      channels: [{ type: 'webhook', url: `${siteUrl}/alert`, secret: 'record-secret-0123' }],
    });
    const evaluateId = `evaluate-alerts-record-${Date.now()}`;
    const report = (await t.client.workflow.execute('evaluateAlertsWorkflow', {
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      workflowId: evaluateId,
      args: [{ ruleIds: [rule.body.id] }],
    })) as { deliveries: string[] };
    await t.client.workflow.getHandle(report.deliveries[0]!).result();
    await save('evaluateAlertsWorkflow-fired', evaluateId);
    await save('deliverAlertWorkflow-delivered', report.deliveries[0]!);
  });

  it('records the admin bulk workflow (a retry by filter over two pages per run, continued as new)', async () => {
    const u = await ensureUser(t.orm.em.fork(), `record-bulk-admin-${Date.now()}`, 'admin');
    const admin = { Authorization: `Bearer ${signAccessToken(t.config, u, 3600)}` };
    const marker = `record-bulk-${Date.now()}`;
    for (let i = 0; i < 3; i++) {
      const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', context_data: { fail_message: marker } });
      await t.waitForTask(res.body.id, (x) => x.status === 'failed');
    }
    // Pages of one job, two pages per run: the first run continues as new, the second finishes.
    const previous = { size: t.config.ADMIN_BULK_PAGE_SIZE, pages: t.config.ADMIN_BULK_PAGES_PER_RUN };
    t.config.ADMIN_BULK_PAGE_SIZE = 1;
    t.config.ADMIN_BULK_PAGES_PER_RUN = 2;
    try {
      const body = { action: 'retry', filter: { data: { fail_message: marker }, status: ['failed'] } };
      const dry = await t.http.post('/admin/jobs/bulk/dry-run').set(admin).send(body);
      const started = await t.http.post('/admin/jobs/bulk').set(admin).send({ ...body, confirmation_token: dry.body.confirmation_token });
      const bulkId: string = started.body.bulk_id;
      for (let i = 0; i < 300; i++) {
        if ((await t.http.get(`/admin/jobs/bulk/${bulkId}`).set(admin)).body.status === 'completed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 300));
      const described = await t.client.workflow.getHandle(bulkId).describe();
      const firstRunId = described.raw.workflowExecutionInfo?.firstRunId;
      if (!firstRunId) throw new Error('the server did not report the first run id');
      await save('adminBulkWorkflow-continued-as-new', bulkId, firstRunId);
      await save('adminBulkWorkflow-completed', bulkId);
    } finally {
      t.config.ADMIN_BULK_PAGE_SIZE = previous.size;
      t.config.ADMIN_BULK_PAGES_PER_RUN = previous.pages;
    }
  });

  it('records pipeline histories (a diamond with a reference, a failed step with compensations)', async () => {
    await runTask(
      'pipeline-completed',
      {
        task_type: 'pipeline',
        context_data: {
          steps: [
            { id: 'A', task_type: 'noop' },
            { id: 'B', task_type: 'noop', depends_on: ['A'] },
            { id: 'C', task_type: 'noop', depends_on: ['A'] },
            { id: 'D', task_type: 'generic', input: { from_a: '${steps.A.result.ok}' }, depends_on: ['B', 'C'] },
          ],
        },
      },
      ['completed'],
    );
    await runTask(
      'pipeline-failed',
      {
        task_type: 'pipeline',
        context_data: {
          steps: [
            { id: 'A', task_type: 'noop', compensation: { task_type: 'noop', input: {} } },
            { id: 'B', task_type: 'noop', input: { fail_message: 'boom' }, depends_on: ['A'] },
          ],
        },
      },
      ['failed'],
    );
  });

  it('records the text_statistics history (its activity on the Go worker)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startGoWorker } = require('./go-worker') as typeof import('./go-worker');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { goWorkerTaskQueue } = require('../../workflows/contracts/go-worker') as typeof import('../../workflows/contracts/go-worker');
    const go = await startGoWorker({
      address: t.config.TEMPORAL_ADDRESS,
      namespace: t.config.TEMPORAL_NAMESPACE,
      taskQueue: goWorkerTaskQueue(t.config.TEMPORAL_TASK_QUEUE),
      identity: 'go-worker-recorder',
    });
    try {
      await runTask('text_statistics-completed', { task_type: 'text_statistics', context_data: { text: 'The cat saw the dog.\nThe dog ran.', top_words: 2 } }, ['completed']);
    } finally {
      await go.stop();
    }
  }, 300_000);
  it('records the generic type (the public API default)', async () => {
    await runTask('generic-completed', { task_type: 'generic', name: 'Process Data', timeout_minutes: 1, context_data: { file_path: '/data/input.csv' } }, ['completed']);
  });

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

