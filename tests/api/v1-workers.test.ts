import { serializeV1WorkersStatus } from '../../api/schemas/v1-workers.schemas';
import type { WorkerRegistryService } from '../../api/services/worker-registry.service';
import { signAccessToken } from '../../api/services/token.service';
import { ensureUser } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext } from '../support/harness';

type Row = Record<string, any>;

describe('public API v1 workers (/api/v1/workers, /workers/status)', () => {
  let t: TestContext;
  const unique = `${process.pid}-${Date.now()}`;
  let ownWorkerId: string;
  let adminAuth: Record<string, string>;
  const auth = () => ({ Authorization: `Bearer ${t.user.token}` });

  beforeAll(async () => {
    t = await createTestContext();
    const admin = await ensureUser(t.orm.em.fork(), `v1-workers-admin-${unique}`, 'admin');
    adminAuth = { Authorization: `Bearer ${signAccessToken(t.config, admin, 600)}` };
    // The test context's worker registers itself; wait until it shows as active (registered and polling).
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rows = await t.orm.em.fork().execute<{ worker_id: string }[]>(`select worker_id from workers where queue_name = ? and deleted_at is null`, [t.config.TEMPORAL_TASK_QUEUE]);
      if (rows[0]) {
        const res = await t.http.get(`/api/v1/workers/${encodeURIComponent(rows[0].worker_id)}`).set(auth());
        if (res.body.data?.status === 'active') {
          ownWorkerId = rows[0].worker_id;
          break;
        }
      }
      if (Date.now() > deadline) throw new Error('the test worker never showed as active');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  afterAll(async () => {
    await t.close();
  });

  const beat = (body: Row, headers = adminAuth) => t.http.post('/api/v1/workers/heartbeat').set(headers).send(body);

  it('lists workers as active or inactive with the v1 worker JSON and pagination', async () => {
    const res = await t.http.get('/api/v1/workers?status=active&limit=100').set(auth());
    expect(res.status).toBe(200);
    expect(res.body.pagination).toMatchObject({ skip: 0, limit: 100, total: expect.any(Number) });
    const own = res.body.data.find((w: Row) => w.id === ownWorkerId);
    expect(own).toMatchObject({
      id: ownWorkerId,
      status: 'active',
      state: 'running',
      offline_reason: null,
      source: 'self',
      sdk: 'typescript',
      task_queues: [t.config.TEMPORAL_TASK_QUEUE],
      last_heartbeat: expect.any(String),
    });
    expect(res.body.data.every((w: Row) => w.status === 'active')).toBe(true);
    const inactive = await t.http.get('/api/v1/workers?status=inactive').set(auth());
    expect(inactive.body.data.every((w: Row) => w.status === 'inactive')).toBe(true);
    expect((await t.http.get('/api/v1/workers?status=busy').set(auth())).status).toBe(400);
    expect((await t.http.get('/api/v1/workers?limit=101').set(auth())).status).toBe(400);
  });

  it('reads one worker by worker_id; an unknown one is 404 NOT_FOUND', async () => {
    const res = await t.http.get(`/api/v1/workers/${encodeURIComponent(ownWorkerId)}`).set(auth());
    expect(res.body.data.id).toBe(ownWorkerId);
    const missing = await t.http.get(`/api/v1/workers/nobody-${unique}`).set(auth());
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  it('a heartbeat registers an external worker (201, audited), later beats update its load (200, not audited)', async () => {
    const workerId = `py-worker-${unique}`;
    const first = await beat({ worker_id: workerId, status: 'active', current_load: 5, max_capacity: 10 });
    expect(first.status).toBe(201);
    expect(first.body.data).toMatchObject({ id: workerId, status: 'active', current_load: 5, max_capacity: 10, load: 0.5, source: 'manual', sdk: 'other', host: 'unknown' });
    const second = await beat({ worker_id: workerId, status: 'active', current_load: 2, max_capacity: 10 });
    expect(second.status).toBe(200);
    expect(second.body.data).toMatchObject({ current_load: 2, load: 0.2, status: 'active' });
    const [row] = await t.orm.em.fork().execute<Row[]>(`select id from workers where worker_id = ?`, [workerId]);
    const audit = await t.orm.em.fork().execute<Row[]>(`select action from audit_log where target_type = 'worker' and target_id = ?`, [String(row!.id)]);
    expect(audit.map((a) => a.action)).toEqual(['worker.register']);
    const active = await t.http.get('/api/v1/workers?status=active&limit=100').set(auth());
    expect(active.body.data.map((w: Row) => w.id)).toContain(workerId);
  });

  it('`inactive` marks the worker stopped: inactive at once', async () => {
    const workerId = `go-worker-${unique}`;
    await beat({ worker_id: workerId, status: 'active', current_load: 0, max_capacity: 4 });
    const res = await beat({ worker_id: workerId, status: 'inactive', current_load: 0, max_capacity: 4 });
    expect(res.body.data).toMatchObject({ status: 'inactive', state: 'stopped', offline_reason: 'stopped', stopped_at: expect.any(String) });
    const inactive = await t.http.get('/api/v1/workers?status=inactive&limit=100').set(auth());
    expect(inactive.body.data.map((w: Row) => w.id)).toContain(workerId);
  });

  it('refuses a self-registered worker_id (409 CONFLICT) and invalid beats (400)', async () => {
    const self = await beat({ worker_id: ownWorkerId, status: 'active', current_load: 0, max_capacity: 1 });
    expect(self.status).toBe(409);
    expect(self.body.error).toMatchObject({ code: 'CONFLICT', details: { error_code: 'INVALID_OPERATION' } });
    for (const body of [
      { worker_id: 'w', status: 'active', current_load: 11, max_capacity: 10 },
      { worker_id: 'w', status: 'busy', current_load: 1, max_capacity: 10 },
      { worker_id: 'w', status: 'active', current_load: 1, max_capacity: 10, host: 'h' },
      { worker_id: 'bad id!', status: 'active', current_load: 1, max_capacity: 10 },
      { status: 'active', current_load: 1, max_capacity: 10 },
    ]) {
      const res = await beat(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
    }
  });

  it('only administrators and worker or admin API keys may send heartbeats', async () => {
    const member = await beat({ worker_id: `member-${unique}`, status: 'active', current_load: 0, max_capacity: 1 }, auth());
    expect(member.status).toBe(403);
    expect(member.body.error).toMatchObject({ code: 'FORBIDDEN', details: { required_role: ['worker', 'admin'] } });
    const keyOf = async (role: string) => {
      const res = await t.http.post('/api/v1/api-keys').set(adminAuth).send({ name: `${role} key`, role, brand_id: t.brand.id });
      expect(res.status).toBe(201);
      return { 'X-API-Key': res.body.data.key as string };
    };
    const workerKey = await keyOf('worker');
    const ok = await beat({ worker_id: `keyed-${unique}`, status: 'active', current_load: 1, max_capacity: 2 }, workerKey);
    expect(ok.status).toBe(201);
    const userKey = await keyOf('user');
    expect((await beat({ worker_id: `keyed-${unique}`, status: 'active', current_load: 1, max_capacity: 2 }, userKey)).status).toBe(403);
  });

  it.each(['/workers/status', '/api/v1/workers/status'])('GET %s summarizes the health of all workers', async (path) => {
    const res = await t.http.get(path).set(auth());
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
    const s = res.body.data;
    expect(['healthy', 'degraded']).toContain(s.status);
    expect(s.workers_active).toBeGreaterThanOrEqual(1);
    expect(s.workers_total).toBe(s.workers_active + s.workers_inactive);
    expect(s.temporal_available).toBe(true);
    const queue = s.task_queues.find((q: Row) => q.name === t.config.TEMPORAL_TASK_QUEUE);
    expect(queue).toMatchObject({ workers_active: expect.any(Number), live_pollers: expect.any(Number) });
    expect(queue.live_pollers).toBeGreaterThanOrEqual(1);
    expect((await t.http.get(path)).status).toBe(401);
  });

  it('the summary is unhealthy without an active worker, degraded with a stale one or Temporal unreachable', () => {
    const overview = (online: number, stale: number, available = true) =>
      ({
        generated_at: new Date().toISOString(),
        totals: { workers: online + stale, online, offline: stale, stopped: 0, stale, active_tasks: 0, capacity: 0, load: null },
        by_queue: [],
        temporal: { available },
      }) as unknown as Awaited<ReturnType<WorkerRegistryService['overview']>>;
    expect(serializeV1WorkersStatus(overview(0, 0)).status).toBe('unhealthy');
    expect(serializeV1WorkersStatus(overview(2, 1)).status).toBe('degraded');
    expect(serializeV1WorkersStatus(overview(2, 0, false)).status).toBe('degraded');
    expect(serializeV1WorkersStatus(overview(2, 0)).status).toBe('healthy');
  });
});
