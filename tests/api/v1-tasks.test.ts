import { signAccessToken } from '../../api/services/token.service';
import { assignTaskWorker } from '../../db/repositories/task-mirror.repository';
import { ensureBrand, ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows } from '../support/mirror-fixtures';

type Row = Record<string, any>;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('public API v1 tasks (/api/v1/tasks)', () => {
  let t: TestContext;
  const unique = `${process.pid}-${Date.now()}`;
  const auth = () => ({ Authorization: `Bearer ${t.user.token}` });

  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  /** Polls GET /api/v1/tasks/{id} until `predicate` holds. */
  const waitV1 = async (id: string, predicate: (task: Row) => boolean, timeoutMs = 30_000): Promise<Row> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await t.http.get(`/api/v1/tasks/${id}`).set(auth());
      if (res.status === 200 && predicate(res.body.data)) return res.body.data;
      if (Date.now() > deadline) throw new Error(`task ${id} not in the expected state: ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  describe('POST', () => {
    it("creates a task from the seed's body: the default type, medium → normal, the v1 task JSON, Location", async () => {
      const res = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'Data Processing', priority: 'high' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ status: 'success', data: expect.any(Object), timestamp: expect.stringMatching(ISO) });
      expect(res.body.data).toEqual({
        id: expect.stringMatching(/^task_/),
        name: 'Data Processing',
        description: '',
        status: 'pending',
        priority: 'high',
        type: t.config.V1_DEFAULT_TASK_TYPE,
        retry_count: 0,
        max_retries: 3,
        timeout: null,
        payload: {},
        result: null,
        error: null,
        progress: 0,
        worker_id: null,
        scheduled_for: null,
        created_at: expect.stringMatching(ISO),
        updated_at: expect.stringMatching(ISO),
        started_at: null,
        completed_at: null,
        duration: null,
      });
      expect(res.headers.location).toBe(`/api/v1/tasks/${res.body.data.id}`);
      // The same task on /tasks/: one service, two serializers.
      const classic = await t.http.get(`/tasks/${res.body.data.id}/`).set(t.headers());
      expect(classic.body).toMatchObject({ task_id: res.body.data.id, name: 'Data Processing', task_type: 'generic', priority: 'high' });
    });

    it('maps retry_count to max_retries, timeout seconds to timeout_minutes, payload to context_data, medium to normal', async () => {
      const res = await t.http
        .post('/api/v1/tasks')
        .set(auth())
        .send({ name: 'Process Data', description: 'Process CSV file', priority: 'medium', retry_count: 1, timeout: 3600, payload: { file_path: '/data/input.csv' } });
      expect(res.status).toBe(201);
      expect(res.body.data).toMatchObject({ priority: 'medium', max_retries: 1, retry_count: 0, timeout: 3600, payload: { file_path: '/data/input.csv' }, description: 'Process CSV file' });
      const classic = await t.http.get(`/tasks/${res.body.data.id}/`).set(t.headers());
      expect(classic.body).toMatchObject({ priority: 'normal', max_retries: 1, timeout_minutes: 60, context_data: { file_path: '/data/input.csv' } });
    });

    it('runs it: completed with the result of the generic type, the worker that ran it, a duration in seconds', async () => {
      const res = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'run me', payload: { a: 1, b: [1, 2] } });
      const done = await waitV1(res.body.data.id, (x) => x.status === 'completed');
      expect(done).toMatchObject({
        progress: 100,
        started_at: expect.stringMatching(ISO),
        completed_at: expect.stringMatching(ISO),
        result: { name: 'run me', payload_summary: { key_count: 2, keys: ['a', 'b'] } },
        worker_id: expect.any(String),
      });
      expect(done.duration).toBeCloseTo((Date.parse(done.completed_at) - Date.parse(done.started_at)) / 1000, 3);
      const worker = await t.http.get(`/api/v1/workers/${encodeURIComponent(done.worker_id)}`).set(auth());
      expect(worker.status).toBe(200);
      expect(worker.body.data.id).toBe(done.worker_id);
    });

    it('accepts another type with its payload validated by it; errors name the v1 fields (payload.x, type)', async () => {
      const ok = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'noop', type: 'noop', payload: { duration_ms: 1 } });
      expect(ok.status).toBe(201);
      expect(ok.body.data.type).toBe('noop');
      const badPayload = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'noop', type: 'noop', payload: { bogus: 1 } });
      expect(badPayload.status).toBe(400);
      expect(badPayload.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: { field_errors: { 'payload.bogus': ['Unknown field'] } } });
      const badType = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'x', type: 'no_such_type' });
      expect(badType.status).toBe(400);
      expect(Object.keys(badType.body.error.details.field_errors)).toEqual(['type']);
    });

    it.each([
      ['an unknown field', { name: 'x', task_type: 'noop' }, 'task_type'],
      ['no name', { priority: 'high' }, 'name'],
      ['a priority outside low|medium|high', { name: 'x', priority: 'critical' }, 'priority'],
      ['a negative retry_count', { name: 'x', retry_count: -1 }, 'retry_count'],
      ['a zero timeout', { name: 'x', timeout: 0 }, 'timeout'],
      ['a payload that is not an object', { name: 'x', payload: [1, 2] }, 'payload'],
    ])('refuses %s with 400 INVALID_REQUEST and writes nothing', async (_what, body, field) => {
      const before = await t.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from tasks where brand_id = ?`, [t.brand.id]);
      const res = await t.http.post('/api/v1/tasks').set(auth()).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
      expect(res.body.error.details.field_errors).toHaveProperty([field]);
      const after = await t.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from tasks where brand_id = ?`, [t.brand.id]);
      expect(after[0]!.n).toBe(before[0]!.n);
    });

    it('an Idempotency-Key repeats the same task; the key with another body is 409 CONFLICT', async () => {
      const key = `v1-idem-${unique}`;
      const first = await t.http.post('/api/v1/tasks').set({ ...auth(), 'Idempotency-Key': key }).send({ name: 'once', type: 'noop' });
      const again = await t.http.post('/api/v1/tasks').set({ ...auth(), 'Idempotency-Key': key }).send({ name: 'once', type: 'noop' });
      expect(again.body.data.id).toBe(first.body.data.id);
      expect(again.headers['idempotent-replayed']).toBe('true');
      const other = await t.http.post('/api/v1/tasks').set({ ...auth(), 'Idempotency-Key': key }).send({ name: 'twice', type: 'noop' });
      expect(other.status).toBe(409);
      expect(other.body.error).toMatchObject({ code: 'CONFLICT', details: { error_code: 'IDEMPOTENCY_KEY_REUSED' } });
    });
  });

  describe('GET list', () => {
    let headers: Record<string, string>;
    let ids: Record<string, string>;
    beforeAll(async () => {
      // A brand of its own: exact counts.
      const em = t.orm.em.fork();
      const brand = await ensureBrand(em, `v1-list-${unique}`);
      const user = await ensureUser(em, `v1-list-${unique}`);
      await grantMembership(em, user.id, brand.id);
      headers = { Authorization: `Bearer ${signAccessToken(t.config, user, 600)}`, 'X-Brand-ID': String(brand.id) };
      const base = Date.now() - 3_600_000;
      const at = (minutes: number) => new Date(base + minutes * 60_000);
      const inputs = await insertMirrorRows(em, { brandId: brand.id, userId: user.id }, [
        { status: 'completed', priority: 'low', createdAt: at(1), durationSeconds: 30 },
        { status: 'completed', priority: 'normal', createdAt: at(2), durationSeconds: 5 },
        { status: 'failed', priority: 'high', createdAt: at(3), durationSeconds: 90 },
        { status: 'running', priority: 'critical', createdAt: at(4) },
        { status: 'pending', priority: 'normal', createdAt: at(5) },
        { status: 'cancelled', priority: 'high', createdAt: at(6), durationSeconds: 1 },
      ]);
      ids = Object.fromEntries(['c30', 'c5', 'f90', 'run', 'pend', 'can1'].map((k, i) => [k, inputs[i]!.taskId]));
      await assignTaskWorker(em, ids.c30!, `w-a-${unique}`);
      await assignTaskWorker(em, ids.f90!, `w-a-${unique}`);
      await assignTaskWorker(em, ids.run!, `w-b-${unique}`);
    });
    const list = (query: string) => t.http.get(`/api/v1/tasks${query}`).set(headers);
    const idsOf = (res: { body: Row }) => res.body.data.map((x: Row) => x.id);

    it('pages newest first with {skip, limit, total, pages}; limit defaults to 50', async () => {
      const res = await list('');
      expect(res.status).toBe(200);
      expect(res.body.pagination).toEqual({ skip: 0, limit: 50, total: 6, pages: 1 });
      expect(idsOf(res)).toEqual([ids.can1, ids.pend, ids.run, ids.f90, ids.c5, ids.c30]);
      const window = await list('?skip=1&limit=2');
      expect(window.body.pagination).toEqual({ skip: 1, limit: 2, total: 6, pages: 3 });
      expect(idsOf(window)).toEqual([ids.pend, ids.run]);
      expect((await list('?skip=10')).body.data).toEqual([]);
    });

    it('filters by status and by v1 priority (high includes critical, medium is normal)', async () => {
      expect(idsOf(await list('?status=completed'))).toEqual([ids.c5, ids.c30]);
      expect(idsOf(await list('?status=pending,running'))).toEqual([ids.pend, ids.run]);
      expect(idsOf(await list('?priority=high'))).toEqual([ids.can1, ids.run, ids.f90]);
      expect(idsOf(await list('?priority=medium'))).toEqual([ids.pend, ids.c5]);
      const critical = (await list('?priority=high')).body.data.find((x: Row) => x.id === ids.run);
      expect(critical.priority).toBe('high');
    });

    it('filters by worker_id (the worker of the latest activity)', async () => {
      expect(idsOf(await list(`?worker_id=w-a-${unique}`))).toEqual([ids.f90, ids.c30]);
      expect(idsOf(await list(`?worker_id=w-b-${unique}&status=running`))).toEqual([ids.run]);
      expect((await list(`?worker_id=${encodeURIComponent("x' or '1'='1")}`)).body).toMatchObject({ data: [], pagination: { total: 0 } });
    });

    it('sorts by duration (unfinished last), created_at or updated_at, asc or desc', async () => {
      const asc = idsOf(await list('?sort=duration&order=asc'));
      expect(asc.slice(0, 4)).toEqual([ids.can1, ids.c5, ids.c30, ids.f90]);
      expect(new Set(asc.slice(4))).toEqual(new Set([ids.pend, ids.run]));
      const desc = idsOf(await list('?sort=duration'));
      expect(desc.slice(0, 4)).toEqual([ids.f90, ids.c30, ids.c5, ids.can1]);
      expect(idsOf(await list('?sort=created_at&order=asc'))).toEqual([ids.c30, ids.c5, ids.f90, ids.run, ids.pend, ids.can1]);
      const byUpdate = (await list('?sort=updated_at&order=desc')).body.data.map((x: Row) => Date.parse(x.updated_at));
      expect(byUpdate).toEqual([...byUpdate].sort((a, b) => b - a));
    });

    it.each([
      ['limit above 100', '?limit=101', 'limit'],
      ['limit 0', '?limit=0', 'limit'],
      ['a negative skip', '?skip=-1', 'skip'],
      ['an unknown status', '?status=done', 'status'],
      ['an unknown priority', '?priority=critical', 'priority'],
      ['an unknown sort', '?sort=priority', 'sort'],
      ['an unknown order', '?order=up', 'order'],
      ['an unknown parameter', '?page=2', 'page'],
      ['SQL in a filter', `?sort=${encodeURIComponent('created_at; drop table tasks')}`, 'sort'],
    ])('refuses %s with 400 INVALID_REQUEST', async (_what, query, field) => {
      const res = await list(query);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
      // A comma-separated list names the item too (status.0).
      expect(Object.keys(res.body.error.details.field_errors).map((k) => k.split('.')[0])).toEqual([field]);
    });

    it('the worker_id filter is served by tasks_brand_worker_idx', async () => {
      const plan = await t.orm.em.fork().transactional(async (tx) => {
        await tx.execute('set local enable_seqscan = off');
        return tx.execute<Row[]>(
          `explain select t.id from tasks t where t.brand_id = 1 and t.deleted_at is null and t.worker_id = 'w' order by t.created_at desc, t.id desc limit 50`,
        );
      });
      expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/tasks_brand_worker_idx/);
    });
  });

  describe('GET one, PUT, DELETE', () => {
    const later = () => new Date(Date.now() + 3_600_000).toISOString();

    it('reads a task by task_id or by its integer id', async () => {
      const created = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'read me', type: 'noop', scheduled_for: later() });
      const [row] = await t.orm.em.fork().execute<{ id: number }[]>(`select id from tasks where task_id = ?`, [created.body.data.id]);
      const byId = await t.http.get(`/api/v1/tasks/${row!.id}`).set(auth());
      expect(byId.status).toBe(200);
      expect(byId.body.data.id).toBe(created.body.data.id);
      expect(byId.body.data.scheduled_for).toMatch(ISO);
    });

    it('PUT changes name, description, priority and payload of a pending task (the workflow gets the amendment)', async () => {
      const created = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'before', priority: 'low', scheduled_for: later(), payload: { a: 1 } });
      const id = created.body.data.id;
      const res = await t.http.put(`/api/v1/tasks/${id}`).set(auth()).send({ name: 'after', description: 'changed', priority: 'high', payload: { a: 2 } });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ id, name: 'after', description: 'changed', priority: 'high', payload: { a: 2 }, status: 'pending' });
      const classic = await t.http.get(`/tasks/${id}/`).set(t.headers());
      expect(classic.body).toMatchObject({ name: 'after', priority: 'high', context_data: { a: 2 } });
      const state = await t.client.workflow.getHandle(id).query<{ priority: string }>('taskProgress');
      expect(state.priority).toBe('high');
    });

    it('PUT {"status": "cancelled"} cancels (audited); cancelling again is 409 CONFLICT', async () => {
      const created = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'cancel me', scheduled_for: later() });
      const id = created.body.data.id;
      const res = await t.http.put(`/api/v1/tasks/${id}`).set(auth()).send({ status: 'cancelled' });
      expect(res.status).toBe(200);
      expect(res.body.data).toMatchObject({ id, status: 'cancelled' });
      const audit = await t.orm.em.fork().execute<Row[]>(`select action from audit_log where target_id = ? order by id`, [id]);
      expect(audit.map((a) => a.action)).toContain('task.cancel');
      const again = await t.http.put(`/api/v1/tasks/${id}`).set(auth()).send({ status: 'cancelled' });
      expect(again.status).toBe(409);
      expect(again.body.error).toMatchObject({ code: 'CONFLICT', details: { error_code: 'INVALID_STATUS_TRANSITION', current_status: 'cancelled' } });
    });

    it.each([
      ['another status', { status: 'completed' }, 'status'],
      ['status with other fields', { status: 'cancelled', name: 'x' }, 'status'],
      ['an empty body', {}, 'non_field_errors'],
      ['a field that cannot change', { retry_count: 5 }, 'retry_count'],
    ])('PUT refuses %s with 400 INVALID_REQUEST', async (_what, body, field) => {
      const created = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'put', scheduled_for: later() });
      const res = await t.http.put(`/api/v1/tasks/${created.body.data.id}`).set(auth()).send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.details.field_errors).toHaveProperty([field]);
    });

    it('PUT of a finished task is 409 CONFLICT (only a pending task can change)', async () => {
      const created = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'done', type: 'noop' });
      await waitV1(created.body.data.id, (x) => x.status === 'completed');
      const res = await t.http.put(`/api/v1/tasks/${created.body.data.id}`).set(auth()).send({ name: 'late' });
      expect(res.status).toBe(409);
      expect(res.body.error.details).toMatchObject({ error_code: 'INVALID_STATUS_TRANSITION', current_status: 'completed' });
    });

    it('DELETE removes a finished task (204, then 404 on both APIs); an unfinished one is 409 CONFLICT', async () => {
      const pending = await t.http.post('/api/v1/tasks').set(auth()).send({ name: 'pending', scheduled_for: later() });
      const refused = await t.http.delete(`/api/v1/tasks/${pending.body.data.id}`).set(auth());
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('CONFLICT');
      await t.http.put(`/api/v1/tasks/${pending.body.data.id}`).set(auth()).send({ status: 'cancelled' });
      const res = await t.http.delete(`/api/v1/tasks/${pending.body.data.id}`).set(auth());
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect((await t.http.get(`/api/v1/tasks/${pending.body.data.id}`).set(auth())).status).toBe(404);
      expect((await t.http.get(`/tasks/${pending.body.data.id}/`).set(t.headers())).status).toBe(404);
    });
  });
});
