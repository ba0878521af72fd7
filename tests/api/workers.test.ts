import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signAccessToken } from '../../api/services/token.service';
import { ensureUser } from '../../db/repositories/identity.repository';
import { softDeleteWorker, upsertWorker } from '../../db/repositories/worker.repository';
import { createTestContext, type TestContext, type TestUser } from '../support/harness';
import { spawnWorkerProcess } from '../support/worker-process';

const BASE = '/tasks/monitoring/workers';
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

type Row = Record<string, any>;

describe('worker registry (/tasks/monitoring/workers/)', () => {
  let t: TestContext;
  let admin: TestUser;
  const children: ChildProcess[] = [];
  const unique = `${process.pid}-${Date.now()}`;
  const queue = (name: string) => `wq-${name}-${unique}`;

  beforeAll(async () => {
    // One-second heartbeats (offline after three missed beats) for the in-process worker, the spawned ones and the API.
    t = await createTestContext({ config: { WORKER_HEARTBEAT_SECONDS: 1 } });
    const u = await ensureUser(t.orm.em.fork(), `admin-workers-${unique}`, 'admin');
    admin = { id: u.id, username: u.username, token: signAccessToken(t.config, u, 3600) };
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await t.close();
  });

  const asAdmin = () => t.headers(admin);
  const list = (query: string) => t.http.get(`${BASE}/?${query}`).set(t.headers());
  const audit = (targetId: number) =>
    t.orm.em.fork().execute<{ action: string; actor_id: number | null; brand_id: number | null; details: Row }[]>(
      `select action, actor_id, brand_id, details from audit_log where target_type = 'worker' and target_id = ? order by id`,
      [String(targetId)],
    );
  const register = (body: Row) => t.http.post(`${BASE}/`).set(asAdmin()).send(body);
  const external = (worker_id: string, extra: Row = {}) => ({ worker_id, host: 'go-host-1', sdk: 'go', task_queues: [queue('go')], ...extra });

  /** Polls the list (self-registered rows of this file's task queue) until `predicate` holds for some row. */
  async function waitForWorker(predicate: (row: Row) => boolean, timeoutMs = 30_000): Promise<Row> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      const res = await list(`queue_name=${t.config.TEMPORAL_TASK_QUEUE}&page_size=50`);
      last = res.body;
      const found = res.status === 200 ? (res.body.results as Row[]).find(predicate) : undefined;
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no worker matched; last answer: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function describePollers(): Promise<string[]> {
    const res = await t.client.workflowService.describeTaskQueue({
      namespace: t.config.TEMPORAL_NAMESPACE,
      taskQueue: { name: t.config.TEMPORAL_TASK_QUEUE, kind: 1 },
      taskQueueType: 1,
    });
    return (res.pollers ?? []).map((p) => p.identity ?? '');
  }

  describe('self-registration', () => {
    it('shows the in-process worker online on its queue, its worker_id being the identity Temporal reports', async () => {
      const row = await waitForWorker((w) => w.pid === process.pid && w.is_online && w.status === 'running' && w.temporal.polling === true);
      expect(row).toMatchObject({
        source: 'self',
        sdk: 'typescript',
        version: PACKAGE_VERSION,
        task_queues: [t.config.TEMPORAL_TASK_QUEUE],
        queue_name: t.config.TEMPORAL_TASK_QUEUE,
        offline_reason: null,
        heartbeat_interval_seconds: 1,
        offline_after_seconds: 3,
        stopped_at: null,
      });
      expect(row.worker_id).toMatch(new RegExp(`:${process.pid}:[0-9a-f]{6}$`));
      expect(row.build_id).toMatch(/^[0-9a-f]{12}$/);
      expect(row.max_concurrency).toBeGreaterThan(0);
      expect(row.load).toBeGreaterThanOrEqual(0);
      expect(row.memory_mb).toBeGreaterThan(0);
      expect(Date.parse(row.temporal.last_poll_at)).not.toBeNaN();
      expect(await describePollers()).toContain(row.worker_id);

      // GET by id and by worker_id answer the same registration.
      const byId = await t.http.get(`${BASE}/${row.id}/`).set(t.headers());
      const byWorkerId = await t.http.get(`${BASE}/${encodeURIComponent(row.worker_id)}`).set(t.headers());
      expect(byId.status).toBe(200);
      expect(byWorkerId.status).toBe(200);
      expect(byWorkerId.body.id).toBe(row.id);
      expect(byId.body.worker_id).toBe(row.worker_id);

      const trail = await audit(row.id);
      expect(trail[0]).toMatchObject({ action: 'worker.started', actor_id: null, details: expect.objectContaining({ worker_id: row.worker_id }) });
    });

    it('counts in-flight work: a running task shows as an active task of the worker', async () => {
      const created = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', context_data: { duration_ms: 6000 } });
      expect(created.status).toBe(201);
      const busy = await waitForWorker((w) => w.pid === process.pid && w.is_online && w.active_tasks >= 1);
      expect(busy.load).toBeGreaterThan(0);
      const filtered = await list(`queue_name=${t.config.TEMPORAL_TASK_QUEUE}&active_tasks__gte=1`);
      expect((filtered.body.results as Row[]).map((w) => w.id)).toContain(busy.id);
      await t.waitForTask(created.body.task_id, (task) => task.status === 'completed');
    });

    it('a real worker process registers, and after SIGKILL is offline within its heartbeat timeout although Temporal still lists its poller', async () => {
      const child = spawnWorkerProcess(t.config);
      children.push(child);
      const online = await waitForWorker((w) => w.pid === child.pid && w.is_online && w.temporal.polling === true, 60_000);
      expect(online).toMatchObject({ source: 'self', sdk: 'typescript', queue_name: t.config.TEMPORAL_TASK_QUEUE, offline_after_seconds: 3 });
      expect(await describePollers()).toContain(online.worker_id);

      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // Offline once the last heartbeat (at most one interval before the kill) is older than three intervals.
      const offline = await waitForWorker((w) => w.id === online.id && !w.is_online, (online.offline_after_seconds + online.heartbeat_interval_seconds + 5) * 1000);
      expect(offline).toMatchObject({ offline_reason: 'heartbeat_timeout', stopped_at: null, status: 'running' });
      // Temporal keeps the dead poller listed for minutes; the heartbeat is what turned the worker offline.
      expect(offline.temporal.polling).toBe(true);
      expect(await describePollers()).toContain(online.worker_id);

      const onlineOnly = await list(`queue_name=${t.config.TEMPORAL_TASK_QUEUE}&is_online=true&page_size=50`);
      expect((onlineOnly.body.results as Row[]).map((w) => w.id)).not.toContain(online.id);
      const offlineOnly = await list(`queue_name=${t.config.TEMPORAL_TASK_QUEUE}&is_online=false&page_size=50`);
      expect((offlineOnly.body.results as Row[]).map((w) => w.id)).toContain(online.id);

      const overview = await t.http.get(`${BASE}/overview/?stale_limit=200`).set(t.headers());
      expect(overview.status).toBe(200);
      expect((overview.body.stale_registrations.results as Row[]).map((w) => w.id)).toContain(online.id);
    });

    it('a self-registered row whose identity Temporal does not list as a poller is offline despite a fresh heartbeat', async () => {
      // What a process looks like whose heartbeat loop outlived its Temporal worker.
      const workerId = `ghost:${process.pid}:${unique}`;
      const { id } = await upsertWorker(t.orm.em.fork(), 'self', {
        worker_id: workerId,
        host: 'ghost',
        pid: 1,
        task_queues: [t.config.TEMPORAL_TASK_QUEUE],
        queue_name: t.config.TEMPORAL_TASK_QUEUE,
        version: null,
        build_id: null,
        sdk: 'typescript',
        heartbeat_interval_seconds: 60,
        started_at: null,
        status: 'running',
        active_tasks: 0,
        max_concurrency: 10,
        load: 0,
        memory_mb: null,
        cpu_percent: null,
        metadata: {},
      });
      const res = await t.http.get(`${BASE}/${id}/`).set(t.headers());
      expect(res.body).toMatchObject({ is_online: false, offline_reason: 'not_polling', temporal: { polling: false, last_poll_at: null } });
      expect(res.body.seconds_since_heartbeat).toBeLessThan(res.body.offline_after_seconds);
      await softDeleteWorker(t.orm.em.fork(), id);
    });

    it('a worker process stopped with SIGTERM marks itself stopped', async () => {
      const child = spawnWorkerProcess(t.config);
      children.push(child);
      const online = await waitForWorker((w) => w.pid === child.pid && w.is_online, 60_000);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      const res = await t.http.get(`${BASE}/${online.id}/`).set(t.headers());
      expect(res.body).toMatchObject({ is_online: false, offline_reason: 'stopped', status: 'stopped' });
      expect(Date.parse(res.body.stopped_at)).not.toBeNaN();
      expect((await audit(online.id)).map((a) => a.action)).toEqual(['worker.started', 'worker.stopped']);
    });
  });

  describe('manual registration of external workers', () => {
    it('refuses invalid registrations field by field', async () => {
      const res = await register({
        worker_id: 'bad id with spaces',
        sdk: 'cobol',
        task_queues: [],
        status: 'dancing',
        load: 1.5,
        surprise: true,
      });
      expect(res.status).toBe(400);
      expect(res.body.error_code).toBe('VALIDATION_ERROR');
      expect(Object.keys(res.body.field_errors).sort()).toEqual(['host', 'load', 'sdk', 'status', 'surprise', 'task_queues', 'worker_id']);
      expect(res.body.field_errors.host).toEqual(['This field is required']);
      expect(res.body.field_errors.surprise).toEqual(['Unknown field']);

      const crossField = await register(external(`x-${unique}`, { queue_name: 'elsewhere', active_tasks: 5, max_concurrency: 2 }));
      expect(crossField.status).toBe(400);
      expect(crossField.body.field_errors).toEqual({ queue_name: ['Must be one of task_queues'], active_tasks: ['Must not exceed max_concurrency'] });

      const missing = await register({});
      expect(Object.keys(missing.body.field_errors).sort()).toEqual(['host', 'sdk', 'task_queues', 'worker_id']);
    });

    it('registers, re-registers (upsert), heartbeats through PATCH, replaces with PUT and deletes, each write audited', async () => {
      const workerId = `go-worker-${unique}`;
      const created = await register(external(workerId, { pid: 4242, version: '2.1.0', build_id: 'go-abc', max_concurrency: 8, active_tasks: 2 }));
      expect(created.status).toBe(201);
      expect(created.headers.location).toBe(`${BASE}/${created.body.id}/`);
      expect(created.body).toMatchObject({
        worker_id: workerId,
        source: 'manual',
        sdk: 'go',
        queue_name: queue('go'),
        status: 'running',
        is_online: true,
        offline_reason: null,
        active_tasks: 2,
        max_concurrency: 8,
        load: 0.25,
        temporal: { polling: false },
      });
      const id = created.body.id;

      const again = await register(external(workerId, { active_tasks: 3, max_concurrency: 8 }));
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ id, active_tasks: 3, load: 0.375, version: null });

      const beat = await t.http.patch(`${BASE}/${encodeURIComponent(workerId)}/`).set(asAdmin()).send({ active_tasks: 6, memory_mb: 512.5, cpu_percent: 40 });
      expect(beat.status).toBe(200);
      expect(beat.body).toMatchObject({ id, active_tasks: 6, load: 0.75, memory_mb: 512.5, cpu_percent: 40, host: 'go-host-1' });
      expect(Date.parse(beat.body.last_heartbeat_at)).toBeGreaterThanOrEqual(Date.parse(again.body.last_heartbeat_at));

      const tooBusy = await t.http.patch(`${BASE}/${id}/`).set(asAdmin()).send({ active_tasks: 9 });
      expect(tooBusy.status).toBe(400);
      expect(tooBusy.body.field_errors).toEqual({ active_tasks: ['Must not exceed max_concurrency'] });

      const renamed = await t.http.put(`${BASE}/${id}/`).set(asAdmin()).send(external(`${workerId}-2`));
      expect(renamed.status).toBe(400);
      expect(renamed.body.field_errors.worker_id).toBeDefined();

      const put = await t.http.put(`${BASE}/${id}/`).set(asAdmin()).send(external(workerId, { host: 'go-host-2', task_queues: [queue('go'), queue('go-2')], queue_name: queue('go-2') }));
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ id, host: 'go-host-2', queue_name: queue('go-2'), active_tasks: 0, max_concurrency: null, load: null, pid: null });

      const stopped = await t.http.patch(`${BASE}/${id}/`).set(asAdmin()).send({ status: 'stopped' });
      expect(stopped.body).toMatchObject({ is_online: false, offline_reason: 'stopped' });

      const del = await t.http.delete(`${BASE}/${id}/`).set(asAdmin());
      expect(del.status).toBe(204);
      expect((await t.http.get(`${BASE}/${id}/`).set(t.headers())).status).toBe(404);
      expect((await t.http.delete(`${BASE}/${id}/`).set(asAdmin())).status).toBe(404);

      const trail = await audit(id);
      expect(trail.map((a) => a.action)).toEqual(['worker.register', 'worker.reregister', 'worker.update', 'worker.update', 'worker.update', 'worker.delete']);
      expect(trail[0]).toMatchObject({ actor_id: admin.id, brand_id: t.brand.id, details: expect.objectContaining({ worker_id: workerId }) });

      // A deleted registration comes back with a new POST of the same worker_id.
      const back = await register(external(workerId));
      expect(back.status).toBe(201);
      expect(back.body.id).toBe(id);
    });

    it('refuses to write over a self-registered worker (409), but lets an admin delete its registration', async () => {
      const self = await waitForWorker((w) => w.pid === process.pid && w.is_online);
      const post = await register(external(self.worker_id));
      expect(post.status).toBe(409);
      expect(post.body.error_code).toBe('INVALID_OPERATION');
      const patch = await t.http.patch(`${BASE}/${self.id}/`).set(asAdmin()).send({ active_tasks: 1 });
      expect(patch.status).toBe(409);
      // Deleted while it runs, the worker registers again at its next heartbeat.
      expect((await t.http.delete(`${BASE}/${self.id}/`).set(asAdmin())).status).toBe(204);
      const again = await waitForWorker((w) => w.worker_id === self.worker_id && w.is_online);
      expect(again.id).toBe(self.id);
    });

    it('writes are admin-only (403 PERMISSION_DENIED); members read', async () => {
      const target = await register(external(`perm-${unique}`));
      const id = target.body.id;
      for (const res of [
        await t.http.post(`${BASE}/`).set(t.headers()).send(external(`perm2-${unique}`)),
        await t.http.put(`${BASE}/${id}/`).set(t.headers()).send(external(`perm-${unique}`)),
        await t.http.patch(`${BASE}/${id}/`).set(t.headers()).send({ active_tasks: 1 }),
        await t.http.delete(`${BASE}/${id}/`).set(t.headers()),
      ]) {
        expect(res.status).toBe(403);
        expect(res.body.error_code).toBe('PERMISSION_DENIED');
      }
      expect((await t.http.get(`${BASE}/${id}/`).set(t.headers())).status).toBe(200);
      expect((await t.http.get(`${BASE}/${id}/`).set(t.headers(t.user, t.otherBrand.id))).status).toBe(403);
      expect((await t.http.get(`${BASE}/`)).status).toBe(401);
      expect((await list(`search=perm2-${unique}`)).body.count).toBe(0);
    });
  });

  describe('filters and overview', () => {
    const qa = queue('a');
    const qb = queue('b');
    const qc = queue('c');
    const ids: Record<string, number> = {};

    beforeAll(async () => {
      for (const [key, q, active] of [['a', qa, 7], ['b', qb, 2], ['c', qc, 9]] as const) {
        const res = await register({ worker_id: `f-${key}-${unique}`, host: `host-${key}`, sdk: 'python', task_queues: [q], active_tasks: active, max_concurrency: 10 });
        expect(res.status).toBe(201);
        ids[key] = res.body.id;
      }
      // c stopped heartbeating a minute ago (without a clean stop): offline and stale.
      await t.orm.em.fork().execute(`update workers set last_heartbeat_at = clock_timestamp() - interval '1 minute' where id = ?`, [ids.c]);
    });

    const idsOf = (res: { body: { results: Row[] } }) => res.body.results.map((w) => w.id);

    it('filters by queue_name (comma list), is_online, active_tasks__gte, search and orders', async () => {
      const all = `queue_name=${qa},${qb},${qc}`;
      expect(idsOf(await list(`${all}&ordering=id`))).toEqual([ids.a, ids.b, ids.c]);
      expect(idsOf(await list(`queue_name=${qa},${qb}&ordering=id`))).toEqual([ids.a, ids.b]);
      expect(idsOf(await list(`${all}&is_online=true&ordering=id`))).toEqual([ids.a, ids.b]);
      const offline = await list(`${all}&is_online=false`);
      expect(idsOf(offline)).toEqual([ids.c]);
      expect(offline.body.results[0]).toMatchObject({ offline_reason: 'heartbeat_timeout', is_online: false });
      expect(idsOf(await list(`${all}&active_tasks__gte=5&ordering=-active_tasks`))).toEqual([ids.c, ids.a]);
      expect(idsOf(await list(`${all}&is_online=true&active_tasks__gte=5`))).toEqual([ids.a]);
      expect(idsOf(await list(`search=f-b-${unique}`))).toEqual([ids.b]);
      expect(idsOf(await list(`${all}&sdk=python&source=manual&ordering=-load,id`))).toEqual([ids.c, ids.a, ids.b]);

      const page = await list(`${all}&ordering=id&page_size=2&page=2`);
      expect(page.body).toMatchObject({ count: 3, next: null });
      expect(page.body.previous).toContain('page=1');
      expect(idsOf(page)).toEqual([ids.c]);
      const first = await list(`${all}&ordering=id&page_size=2`);
      expect(first.body.next).toContain('page=2');
    });

    it('refuses invalid filters', async () => {
      for (const [query, field] of [
        ['is_online=maybe', 'is_online'],
        ['active_tasks__gte=-1', 'active_tasks__gte'],
        ['ordering=password', 'ordering.0'],
        ['sdk=cobol', 'sdk'],
        ['page=0', 'page'],
        ['colour=red', 'colour'],
      ]) {
        const res = await list(query!);
        expect(res.status).toBe(400);
        expect(Object.keys(res.body.field_errors)).toEqual([field]);
      }
    });

    it('overview: totals, per-queue workers, active tasks and capacity, Temporal pollers and backlog, stale registrations', async () => {
      await waitForWorker((w) => w.pid === process.pid && w.is_online && w.temporal.polling === true);
      const res = await t.http.get(`${BASE}/overview/?stale_limit=200`).set(t.headers());
      expect(res.status).toBe(200);
      const o = res.body;
      expect(o).toMatchObject({ heartbeat_seconds: 1, offline_after_seconds: 3, temporal: { available: true } });
      expect(o.totals.online + o.totals.offline).toBe(o.totals.workers);
      expect(o.totals.online).toBeGreaterThanOrEqual(3);

      const byQueue = (name: string) => (o.by_queue as Row[]).find((q) => q.queue_name === name)!;
      expect(byQueue(qa)).toMatchObject({ workers: 1, online: 1, offline: 0, active_tasks: 7, capacity: 10, load: 0.7 });
      expect(byQueue(qb)).toMatchObject({ workers: 1, online: 1, active_tasks: 2, capacity: 10, load: 0.2 });
      expect(byQueue(qc)).toMatchObject({ workers: 1, online: 0, offline: 1, active_tasks: 0, capacity: 0, load: null });
      expect(byQueue(qa).temporal).toMatchObject({ pollers: [], live_pollers: 0 });

      // The test's own queue: the in-process worker's poller, matched to its registration, and the backlog figures.
      const own = byQueue(t.config.TEMPORAL_TASK_QUEUE);
      const self = await waitForWorker((w) => w.pid === process.pid && w.is_online);
      expect(own.online).toBeGreaterThanOrEqual(1);
      expect(own.temporal.pollers).toEqual(
        expect.arrayContaining([expect.objectContaining({ identity: self.worker_id, registered: true, live: true, types: ['activity', 'workflow'] })]),
      );
      expect(own.temporal.backlog.workflow).toEqual(expect.objectContaining({ approximate_count: expect.any(Number) }));
      expect(own.temporal.backlog.activity).toEqual(expect.objectContaining({ approximate_count: expect.any(Number) }));

      const stale = (o.stale_registrations.results as Row[]).map((w) => w.id);
      expect(stale).toContain(ids.c);
      expect(stale).not.toContain(ids.a);
      expect(o.stale_registrations.count).toBeGreaterThanOrEqual(1);
      expect((o.by_build as Row[]).length).toBeGreaterThan(0);
    });
  });
});
