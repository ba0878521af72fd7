import { signAccessToken } from '../../api/services/token.service';
import { ensureBrand, ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext, type TestUser } from '../support/harness';
import { insertMirrorRows } from '../support/mirror-fixtures';

type Row = Record<string, any>;

describe('admin jobs API (/admin/jobs)', () => {
  let t: TestContext;
  let admin: TestUser;
  let viewer: TestUser;
  /** A third brand only this file writes to, so cross-brand listings can be asserted exactly (the DB is shared). */
  let brandC: { id: number; name: string };
  const unique = `${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    t = await createTestContext();
    const em = t.orm.em.fork();
    const mk = async (name: string, role: 'admin' | 'admin_viewer') => {
      const u = await ensureUser(em, `${name}-${unique}`, role);
      return { id: u.id, username: u.username, token: signAccessToken(t.config, u, 3600) };
    };
    admin = await mk('admin-jobs', 'admin');
    viewer = await mk('viewer-jobs', 'admin_viewer');
    brandC = await ensureBrand(em, `admin-c-${unique}`);
    await grantMembership(em, t.user.id, brandC.id);
  });
  afterAll(() => t.close());

  const auth = (u: TestUser) => ({ Authorization: `Bearer ${u.token}` });
  const get = (path: string, u: TestUser = admin) => t.http.get(path).set(auth(u));
  const brandsFilter = () => `brand_id=${t.brand.id},${t.otherBrand.id}`;

  it('answers 403 to a plain member and 401 without a token, on every /admin/jobs route', async () => {
    const routes: [string, string][] = [
      ['get', '/admin/me'],
      ['get', '/admin/jobs'],
      ['get', '/admin/jobs/failed'],
      ['get', '/admin/jobs/stats'],
      ['get', '/admin/jobs/trends'],
      ['get', '/admin/jobs/export'],
      ['get', '/admin/jobs/1'],
      ['post', '/admin/jobs/1/retry'],
      ['delete', '/admin/jobs/1'],
    ];
    for (const [method, path] of routes) {
      const denied = await (t.http as any)[method](path).set(auth(t.user)).send({});
      expect([path, denied.status, denied.body.error_code]).toEqual([path, 403, 'PERMISSION_DENIED']);
      const anonymous = await (t.http as any)[method](path).send({});
      expect([path, anonymous.status]).toEqual([path, 401]);
    }
  });

  it('lets admin_viewer read but not change anything', async () => {
    const me = await get('/admin/me', viewer);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ role: 'admin_viewer', can_write: false });
    expect((await get('/admin/jobs?page_size=1', viewer)).status).toBe(200);
    const retry = await t.http.post('/admin/jobs/1/retry').set(auth(viewer)).send({});
    expect(retry.status).toBe(403);
    expect(retry.body.detail).toMatch(/read-only/);
    const del = await t.http.delete('/admin/jobs/1').set(auth(viewer)).send({ confirm: '1' });
    expect(del.status).toBe(403);
  });

  it('lists jobs of every brand with filters, and pages forward and back with cursors without gaps or repeats', async () => {
    const em = t.orm.em.fork();
    const base = Date.parse('2025-01-10T00:00:00Z');
    const specs = Array.from({ length: 7 }, (_, i) => ({
      status: (i % 3 === 0 ? 'failed' : 'completed') as 'failed' | 'completed',
      taskType: 'noop',
      description: `admin-list ${unique} #${i}`,
      createdAt: new Date(base + i * 60_000),
      durationSeconds: 10 + i,
      contextData: { customer: i % 2 === 0 ? 'acme' : 'globex', n: i },
    }));
    const a = await insertMirrorRows(em, { brandId: t.brand.id, userId: t.user.id }, specs.slice(0, 4));
    const b = await insertMirrorRows(em, { brandId: t.otherBrand.id, userId: t.outsider.id }, specs.slice(4));
    const all = [...a, ...b].map((i) => i.taskId);

    const search = `search=${encodeURIComponent(`admin-list ${unique}`)}`;
    const first = await get(`/admin/jobs?${search}&page_size=3&include_total=true`);
    expect(first.status).toBe(200);
    expect(first.body.count).toBe(7);
    expect(first.body.previous).toBeNull();
    const seen: string[] = first.body.results.map((r: Row) => r.task_id);
    let next: string | null = first.body.next;
    const pages = [first.body];
    while (next) {
      const page = await get(next);
      expect(page.status).toBe(200);
      pages.push(page.body);
      seen.push(...page.body.results.map((r: Row) => r.task_id));
      next = page.body.next;
    }
    // Newest first, across both brands, each row once.
    expect(seen).toEqual([...all].reverse());
    // Back from the last page returns exactly the previous page.
    const back = await get(pages.at(-1).previous);
    expect(back.body.results.map((r: Row) => r.task_id)).toEqual(pages.at(-2).results.map((r: Row) => r.task_id));

    const row = first.body.results[0];
    expect(row).toMatchObject({
      kind: 'task',
      brand: { id: t.otherBrand.id, name: t.otherBrand.name },
      user: { id: t.outsider.id, username: t.outsider.username },
      duration_seconds: 16,
    });
    expect(row.temporal_url).toBe(`${t.config.TEMPORAL_UI_URL}/namespaces/${t.config.TEMPORAL_NAMESPACE}/workflows/${row.task_id}/${row.run_id}/history`.replace(/\/null\/history$/, ''));

    const ids = async (query: string) => (await get(`/admin/jobs?${search}&${query}`)).body.results.map((r: Row) => r.task_id);
    expect(await ids(`brand_id=${t.brand.id}`)).toEqual([...a].reverse().map((i) => i.taskId));
    expect(await ids('status=failed')).toEqual([all[6], all[3], all[0]]);
    expect(await ids(`data=${encodeURIComponent('{"customer":"globex"}')}`)).toEqual([all[5], all[3], all[1]]);
    expect(await ids('data=n:4')).toEqual([all[4]]);
    expect(await ids(`user=${t.outsider.username}`)).toEqual([all[6], all[5], all[4]]);
    expect(await ids(`user=${t.user.id}&duration_min=11&duration_max=12.5`)).toEqual([all[2], all[1]]);
    expect(await ids('ordering=duration&page_size=2')).toEqual([all[0], all[1]]);
    expect(await ids('ordering=-duration&page_size=2')).toEqual([all[6], all[5]]);
    expect(await ids('created_after=2025-01-10T00:05:00Z')).toEqual([all[6], all[5]]);
    expect(await ids('kind=persistent_job')).toEqual([]);

    const asc = await get(`/admin/jobs?${search}&ordering=duration&page_size=4`);
    const asc2 = await get(asc.body.next);
    expect([...asc.body.results, ...asc2.body.results].map((r: Row) => r.task_id)).toEqual(all);
  });

  it('refuses bad filters and cursors with field errors, never a 500', async () => {
    for (const query of ['status=exploded', 'ordering=name', 'page_size=1000', 'duration_min=-1', 'data=oops', 'brand_id=x', 'cursor=abc', 'unknown=1']) {
      const res = await get(`/admin/jobs?${query}`);
      expect([query, res.status, res.body.error_code]).toEqual([query, 400, 'VALIDATION_ERROR']);
    }
    // A cursor of another ordering is refused, not misread.
    const page = await get(`/admin/jobs?page_size=1&ordering=-created_at`);
    if (page.body.next) {
      const cursor = new URL(page.body.next, 'http://x').searchParams.get('cursor');
      const res = await get(`/admin/jobs?ordering=duration&cursor=${cursor}`);
      expect(res.status).toBe(400);
    }
  });

  it('shows a failed job with its failure, retries it with an input override (audited), and it completes', async () => {
    const created = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'noop', max_retries: 2, description: `admin-retry ${unique}`, context_data: { fail_message: 'boom from noop' } });
    expect(created.status).toBe(201);
    const taskId: string = created.body.task_id;
    await t.waitForTask(taskId, (task) => task.status === 'failed');

    const failed = await get(`/admin/jobs/failed?${brandsFilter()}&search=${encodeURIComponent(`admin-retry ${unique}`)}`);
    expect(failed.status).toBe(200);
    expect(failed.body.results).toHaveLength(1);
    expect(failed.body.results[0]).toMatchObject({
      task_id: taskId,
      status: 'failed',
      attempts: 1,
      last_input: { fail_message: 'boom from noop' },
      error: { message: 'boom from noop' },
    });

    const detail = await get(`/admin/jobs/${taskId}`);
    expect(detail.status).toBe(200);
    expect(detail.body.history).toMatchObject({ status: 'FAILED' });
    expect(detail.body.history.event_count).toBeGreaterThan(3);

    const retried = await t.http.post(`/admin/jobs/${created.body.id}/retry`).set(auth(admin)).send({ context_data: {}, reason: 'fixed upstream' });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ task_id: taskId, new_status: 'pending', retry_count: 1 });
    const done = await t.waitForTask(taskId, (task) => task.status === 'completed');
    expect(done.context_data).toEqual({});

    const [audit] = await t.orm.em
      .fork()
      .execute<Row[]>(`select * from audit_log where target_id = ? and action = 'admin.job.retry'`, [taskId]);
    expect(audit).toMatchObject({ actor_id: admin.id, brand_id: t.brand.id });
    expect(audit!.details).toMatchObject({ reason: 'fixed upstream', context_data_overridden: true, previous_status: 'failed' });

    // Completed: no second retry.
    const again = await t.http.post(`/admin/jobs/${taskId}/retry`).set(auth(admin)).send({});
    expect(again.status).toBe(409);
    expect(again.body.error_code).toBe('TASK_ALREADY_COMPLETED');
  });

  it('refuses an input override the task type rejects, without starting anything', async () => {
    const created = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', max_retries: 1, context_data: { fail_message: 'x' } });
    await t.waitForTask(created.body.task_id, (task) => task.status === 'failed');
    const res = await t.http.post(`/admin/jobs/${created.body.task_id}/retry`).set(auth(admin)).send({ context_data: { sleep_ms: 'long' } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors)[0]).toMatch(/^context_data/);
    const row = await get(`/admin/jobs/${created.body.task_id}`);
    expect(row.body).toMatchObject({ status: 'failed', retry_count: 0 });
  });

  it('deletes only with an explicit confirmation, and a running job only with force (terminated in Temporal)', async () => {
    const running = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'noop', description: `admin-delete ${unique}`, context_data: { duration_ms: 60_000 } });
    const taskId: string = running.body.task_id;
    await t.waitForTask(taskId, (task) => task.status === 'running');

    const noConfirm = await t.http.delete(`/admin/jobs/${taskId}`).set(auth(admin)).send({});
    expect(noConfirm.status).toBe(400);
    expect(noConfirm.body.error_code).toBe('CONFIRMATION_REQUIRED');
    const wrong = await t.http.delete(`/admin/jobs/${taskId}`).set(auth(admin)).send({ confirm: 'task_other' });
    expect(wrong.body.error_code).toBe('CONFIRMATION_REQUIRED');
    const notForced = await t.http.delete(`/admin/jobs/${taskId}`).set(auth(admin)).send({ confirm: taskId });
    expect(notForced.status).toBe(409);
    expect(notForced.body.error_code).toBe('INVALID_STATUS_TRANSITION');

    const forced = await t.http.delete(`/admin/jobs/${taskId}?confirm=${running.body.id}&force=true`).set(auth(admin));
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ task_id: taskId, terminated: true });
    expect((await get(`/admin/jobs/${taskId}`)).status).toBe(404);
    expect((await t.http.get(`/tasks/${taskId}/`).set(t.headers())).status).toBe(404);
    // Terminated, then deleted: Temporal removes the execution asynchronously.
    const described = await t.client.workflow.getHandle(taskId).describe().catch(() => null);
    if (described) expect(described.status.name).toBe('TERMINATED');
    for (let i = 0; i < 100 && (await t.client.workflow.getHandle(taskId).describe().then(() => true, () => false)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await expect(t.client.workflow.getHandle(taskId).describe()).rejects.toThrow();
    const audit = await t.orm.em.fork().execute<Row[]>(`select action, actor_id, details from audit_log where target_id = ? order by id`, [taskId]);
    expect(audit.at(-1)).toMatchObject({ action: 'admin.job.delete', actor_id: admin.id, details: { forced: true, status: 'running' } });
  });

  it('computes stats and trends from the rollups, with live counts', async () => {
    const em = t.orm.em.fork();
    const created = [];
    for (let i = 0; i < 3; i++) {
      created.push(
        await t.http
          .post('/tasks/')
          .set(t.headers(t.user, brandC.id))
          .send({ task_type: 'noop', max_retries: 0, context_data: i === 0 ? { fail_message: 'stat failure' } : { duration_ms: 20 } }),
      );
    }
    expect(created.map((c) => c.status)).toEqual([201, 201, 201]);
    // A fourth task cancelled while running: measured (it ran an activity), finished, but neither completed nor failed.
    const member = t.headers(t.user, brandC.id);
    const long = await t.http.post('/tasks/').set(member).send({ task_type: 'noop', context_data: { duration_ms: 60_000 } });
    expect(long.status).toBe(201);
    const taskOf = async () => (await t.http.get(`/tasks/${long.body.id}/`).set(member)).body;
    for (let task = await taskOf(); !(task.status === 'running' && task.progress_percentage > 0); task = await taskOf()) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const cancel = await t.http.post(`/tasks/${long.body.id}/cancel/`).set(member).send({});
    expect(cancel.body).toMatchObject({ previous_status: 'running' });
    // Metrics rows (and their rollups) are written with each terminal row.
    for (;;) {
      const [row] = await em.execute<{ n: string }[]>(`select count(*) as n from task_metrics where brand_id = ?`, [brandC.id]);
      if (Number(row!.n) >= 4 && (await taskOf()).status === 'cancelled') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const stats = await get(`/admin/jobs/stats?period=24h&brand_id=${brandC.id}`);
    expect(stats.status).toBe(200);
    // failure_rate = failed / (completed + failed): the cancelled job is in neither.
    expect(stats.body.totals).toMatchObject({ total: 4, completed: 2, failed: 1, cancelled: 1, failure_rate: 33.33 });
    expect(stats.body.totals.p95_duration_ms).toBeGreaterThan(0);
    expect(stats.body.by_brand).toEqual([expect.objectContaining({ brand_id: brandC.id, brand_name: brandC.name, total: 4, completed: 2, cancelled: 1 })]);
    expect(stats.body.by_type).toEqual([expect.objectContaining({ task_type: 'noop', total: 4, completed: 2, failed: 1, cancelled: 1 })]);
    expect(stats.body.live).toEqual({ pending: 0, running: 0, paused: 0 });

    const trends = await get(`/admin/jobs/trends?period=24h&brand_id=${brandC.id}`);
    expect(trends.status).toBe(200);
    expect(trends.body.bucket).toBe('hour');
    expect(trends.body.series.length).toBeGreaterThanOrEqual(24);
    const sum = (field: string) => trends.body.series.reduce((s: number, b: Row) => s + b[field], 0);
    expect([sum('total'), sum('completed'), sum('failed'), sum('cancelled')]).toEqual([4, 2, 1, 1]);
    expect((await get('/admin/jobs/stats?period=2y')).status).toBe(400);
  });

  it('exports the filtered list as CSV and JSON, streamed', async () => {
    const em = t.orm.em.fork();
    const rows = await insertMirrorRows(em, { brandId: t.brand.id, userId: t.user.id }, [
      { status: 'failed', description: `export ${unique} a` },
      { status: 'completed', description: `export ${unique} b` },
    ]);
    await em.execute(`update tasks set error_message = '=cmd|calc, "quoted"' where task_id = ?`, [rows[0]!.taskId]);
    const search = `search=${encodeURIComponent(`export ${unique}`)}`;
    const csv = await get(`/admin/jobs/export?${search}&format=csv&ordering=id`).buffer(true).parse((res, cb) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => cb(null, data));
    });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/attachment; filename="jobs-.*\.csv"/);
    const lines = (csv.body as string).trim().split('\r\n');
    expect(lines[0]).toBe('id,task_id,kind,task_type,status,priority,brand_id,brand_name,username,created_at,started_at,completed_at,duration_seconds,retry_count,error_message');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(rows[0]!.taskId);
    // Formula prefix neutralised, quotes doubled.
    expect(lines[1]!.endsWith(`"'=cmd|calc, ""quoted"""`)).toBe(true);

    const json = await get(`/admin/jobs/export?${search}&format=json&ordering=-id`);
    expect(json.status).toBe(200);
    expect(json.body.map((r: Row) => r.task_id)).toEqual([rows[1]!.taskId, rows[0]!.taskId]);
  });
});
