import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import request from 'supertest';
import { observeReconcileReport, workerRegistry } from '../../activities/observability';
import { createApp } from '../../api/app';
import { createLogger } from '../../api/observability/logger';
import { serveMetrics } from '../../worker/metrics-server';
import { createTestContext, type TestContext } from '../support/harness';
import { spawnWorkerProcess } from '../support/worker-process';

/** The value of the sample `name{labels…}` in Prometheus text (labels given must all match), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** GETs `url` until `accept(body)` holds (the process may still be starting). */
async function scrapeUntil(url: string, accept: (body: string) => boolean, timeoutMs = 60_000): Promise<{ body: string; type: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(url);
      last = await res.text();
      if (res.status === 200 && accept(last)) return { body: last, type: res.headers.get('content-type') ?? '' };
    } catch (err) {
      last = String(err);
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer as expected; last: ${last.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('observability of the platform: Prometheus metrics, JSON request logs, request id in the workflow memo', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const create = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    t.http.post('/tasks/').set(t.headers()).set(headers).send(body);
  const scrapeApi = async () => {
    const res = await t.http.get('/metrics'); // no token, like /health
    expect(res.status).toBe(200);
    return res.text;
  };

  it('GET /metrics answers Prometheus text: HTTP latency by route template (never the raw id), status class, process metrics', async () => {
    const created = await create({ task_type: 'noop', description: 'metrics route' });
    expect(created.status).toBe(201);
    const { task_id: taskId } = created.body as { task_id: string };
    expect((await t.http.get(`/tasks/${taskId}/`).set(t.headers())).status).toBe(200);
    expect((await t.http.get('/tasks/').set({ 'X-Brand-ID': String(t.brand.id) })).status).toBe(401);

    const res = await t.http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    const byId = { method: 'GET', route: '/tasks/:id', status_class: '2xx' };
    expect(sample(text, 'http_request_duration_seconds_count', byId)).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'http_request_duration_seconds_bucket', { ...byId, le: '+Inf' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'http_request_duration_seconds_sum', byId)).toBeGreaterThan(0);
    expect(sample(text, 'http_requests_total', byId)).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'http_requests_total', { method: 'POST', route: '/tasks', status_class: '2xx' })).toBeGreaterThanOrEqual(1);
    // Refused by authentication before any router matched: one bounded label, not the path.
    expect(sample(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status_class: '4xx' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(taskId);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('tasks_started_total counts each run started through POST /tasks/ and retry/, not an idempotent replay', async () => {
    const started = async () => sample(await scrapeApi(), 'tasks_started_total', { task_type: 'noop' }) ?? 0;
    const before = await started();
    const key = `obs-${Date.now()}`;
    const first = await create({ task_type: 'noop', max_retries: 1, context_data: { fail_message: 'counted' } }, { 'Idempotency-Key': key });
    expect(first.status).toBe(201);
    expect(await started()).toBe(before + 1);
    const replay = await create({ task_type: 'noop', max_retries: 1, context_data: { fail_message: 'counted' } }, { 'Idempotency-Key': key });
    expect(replay.body.task_id).toBe(first.body.task_id);
    expect(await started()).toBe(before + 1);

    await t.waitForTask(first.body.id, (task) => task.status === 'failed');
    expect((await t.http.post(`/tasks/${first.body.id}/retry/`).set(t.headers()).send({})).status).toBe(200);
    expect(await started()).toBe(before + 2);
  });

  it('the X-Request-Id of the HTTP call that started a run is in that run’s memo (create and retry)', async () => {
    const res = await create({ task_type: 'noop', max_retries: 1, context_data: { fail_message: 'traced' } });
    expect(res.status).toBe(201);
    const generated = res.headers['x-request-id'];
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    const first = await t.gateway.describe(res.body.task_id);
    expect(first.memo).toEqual({ request_id: generated });

    // A caller's own id is kept (request-context accepts a sane X-Request-ID) and a retry's run carries the retry's id.
    await t.waitForTask(res.body.id, (task) => task.status === 'failed');
    const retryId = `retry-${Date.now()}`;
    const retry = await t.http.post(`/tasks/${res.body.id}/retry/`).set(t.headers()).set('X-Request-ID', retryId).send({});
    expect(retry.status).toBe(200);
    expect(retry.headers['x-request-id']).toBe(retryId);
    const second = await t.gateway.describe(res.body.task_id);
    expect(second.runId).not.toBe(first.runId);
    expect(second.memo).toEqual({ request_id: retryId });
    // The first run keeps the id of the call that started it.
    expect((await t.gateway.describe(res.body.task_id, first.runId)).memo).toEqual({ request_id: generated });
  });

  it('logs one pino JSON line per request with request_id, method, route, path, status and duration', async () => {
    const lines: string[] = [];
    const logger = createLogger({ LOG_LEVEL: 'info' }, 'api', { write: (line: string) => void lines.push(line) });
    const app = createApp({ orm: t.orm, temporal: t.client, config: t.config, logger });
    const created = await create({ task_type: 'noop' });
    const res = await request(app.callback()).get(`/tasks/${created.body.id}/`).set(t.headers()).set('X-Request-ID', 'log-line-check-1');
    expect(res.status).toBe(200);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const entry = entries.find((e) => e.request_id === 'log-line-check-1');
    expect(entry).toMatchObject({
      level: 'info',
      service: 'api',
      msg: 'request',
      method: 'GET',
      route: '/tasks/:id',
      path: `/tasks/${created.body.id}/`,
      status: 200,
      duration_ms: expect.any(Number),
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    // Below LOG_LEVEL nothing is written.
    const quiet: string[] = [];
    const warnOnly = createApp({ orm: t.orm, temporal: t.client, config: t.config, logger: createLogger({ LOG_LEVEL: 'warn' }, 'api', { write: (l: string) => void quiet.push(l) }) });
    expect((await request(warnOnly.callback()).get('/health')).status).toBe(200);
    expect(quiet).toEqual([]);
  });

  it('the worker registry counts landed transitions and mirror lag, served on its own /metrics port', async () => {
    let server: Server | undefined;
    try {
      server = await serveMetrics(workerRegistry, '127.0.0.1', 0);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
      const scrape = async () => (await scrapeUntil(url, () => true)).body;
      const before = await scrape();
      const completed = (text: string) => sample(text, 'task_transitions_total', { task_type: 'noop', status: 'completed' }) ?? 0;
      const lagCount = (text: string, status: string) => sample(text, 'mirror_lag_seconds_count', { status }) ?? 0;

      const res = await create({ task_type: 'noop', context_data: { duration_ms: 200 } });
      await t.waitForTask(res.body.id, (task) => task.status === 'completed');
      const after = await scrape();
      expect(completed(after)).toBeGreaterThanOrEqual(completed(before) + 1);
      expect(sample(after, 'task_transitions_total', { task_type: 'noop', status: 'running' })).toBeGreaterThanOrEqual(1);
      expect(lagCount(after, 'completed')).toBeGreaterThanOrEqual(lagCount(before, 'completed') + 1);
      expect(sample(after, 'mirror_lag_seconds_sum', { status: 'completed' })).toBeGreaterThanOrEqual(0);

      // Reconciler drift from an activity report, by kind; every kind is exported from the start.
      expect(sample(before, 'reconciler_drift_total', { kind: 'task_missing' })).toBeDefined();
      const repairedBefore = sample(after, 'reconciler_drift_total', { kind: 'task_repaired' }) ?? 0;
      observeReconcileReport({ checked: 3, repaired: 2, adopted: 1, drift: [], schedules: { checked: 1, removed: ['s1'], adopted: [], pause_fixed: [] } });
      const drifted = await scrape();
      expect(sample(drifted, 'reconciler_drift_total', { kind: 'task_repaired' })).toBe(repairedBefore + 2);
      expect(sample(drifted, 'reconciler_drift_total', { kind: 'schedule_removed' })).toBeGreaterThanOrEqual(1);
      expect(drifted).toContain('# TYPE alert_deliveries_total counter');
      expect((await fetch(url.replace('/metrics', '/other'))).status).toBe(404);
    } finally {
      server?.close();
    }
  });

  describe('the worker process (dist/worker/main.js)', () => {
    let child: ChildProcess | undefined;
    afterEach(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    });

    it('serves its registry on WORKER_METRICS_PORT and the Temporal SDK metrics on TEMPORAL_SDK_METRICS_PORT', async () => {
      const [workerPort, sdkPort] = [await freePort(), await freePort()];
      child = spawnWorkerProcess(t.config, { WORKER_METRICS_PORT: String(workerPort), TEMPORAL_SDK_METRICS_PORT: String(sdkPort) });
      child.stderr?.resume();

      const worker = await scrapeUntil(`http://127.0.0.1:${workerPort}/metrics`, (b) => b.includes('task_transitions_total'));
      expect(worker.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(worker.body).toContain('# TYPE mirror_lag_seconds histogram');
      expect(worker.body).toContain('# TYPE tasks_started_total counter');
      expect(sample(worker.body, 'process_resident_memory_bytes')).toBeGreaterThan(0);

      // The SDK's exporter (Rust core) lists worker metrics once the worker polls its task queue.
      const sdk = await scrapeUntil(`http://127.0.0.1:${sdkPort}/metrics`, (b) => /^temporal_\w+/m.test(b));
      expect(sdk.body).toMatch(new RegExp(`^temporal_\\w+\\{[^}]*task_queue="${t.config.TEMPORAL_TASK_QUEUE}"`, 'm'));
    });
  });
});
