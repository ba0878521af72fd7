import request from 'supertest';
import { createApp } from '../../api/app';
import { signAccessToken } from '../../api/services/token.service';
import { bulkIdOf } from '../../api/services/admin-bulk.service';
import { AdminBulkWorkflowGateway } from '../../api/temporal/admin-bulk-workflows';
import { insertBulkAction } from '../../db/repositories/admin-bulk.repository';
import { ensureUser } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext, type TestUser } from '../support/harness';

type Row = Record<string, any>;

const BULK = '/admin/jobs/bulk';

describe('admin bulk actions by filter (/admin/jobs/bulk)', () => {
  let t: TestContext;
  let admin: TestUser;
  let otherAdmin: TestUser;
  let viewer: TestUser;
  let bulkGateway: AdminBulkWorkflowGateway;
  const unique = `${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    // Pages of two jobs and two pages per run: a handful of jobs crosses page boundaries and a continue-as-new.
    t = await createTestContext({ config: { ADMIN_BULK_PAGE_SIZE: 2, ADMIN_BULK_PAGES_PER_RUN: 2 } });
    const em = t.orm.em.fork();
    const mk = async (name: string, role: 'admin' | 'admin_viewer') => {
      const u = await ensureUser(em, `${name}-${unique}`, role);
      return { id: u.id, username: u.username, token: signAccessToken(t.config, u, 3600) };
    };
    admin = await mk('bulk-admin', 'admin');
    otherAdmin = await mk('bulk-admin2', 'admin');
    viewer = await mk('bulk-viewer', 'admin_viewer');
    bulkGateway = new AdminBulkWorkflowGateway(t.client, t.config.TEMPORAL_TASK_QUEUE);
  });
  afterAll(() => t.close());

  const auth = (u: TestUser) => ({ Authorization: `Bearer ${u.token}` });
  const dryRun = (body: Row, u: TestUser = admin) => t.http.post(`${BULK}/dry-run`).set(auth(u)).send(body);
  const execute = (body: Row, u: TestUser = admin) => t.http.post(BULK).set(auth(u)).send(body);
  const db = () => t.orm.em.fork();
  const filterFor = (marker: string) => ({ data: { fail_message: marker }, status: ['failed'], brand_id: [t.brand.id, t.otherBrand.id] });

  /** A noop task that fails, created through the API in the member's or the outsider's brand; resolves once failed. */
  async function failedTask(marker: string, inOtherBrand: boolean, extra: Row = {}): Promise<{ id: number; task_id: string; brand_id: number }> {
    const headers = inOtherBrand ? t.headers(t.outsider, t.otherBrand.id) : t.headers();
    const res = await t.http.post('/tasks/').set(headers).send({ task_type: 'noop', context_data: { fail_message: marker }, ...extra });
    expect(res.status).toBe(201);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const got = await t.http.get(`/tasks/${res.body.id}/`).set(headers);
      if (got.body.status === 'failed') break;
      if (Date.now() > deadline) throw new Error(`task ${res.body.id} did not fail: ${JSON.stringify(got.body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { id: res.body.id, task_id: res.body.task_id, brand_id: inOtherBrand ? t.otherBrand.id : t.brand.id };
  }

  async function waitForBulk(bulkId: string, predicate: (b: Row) => boolean, timeoutMs = 60_000): Promise<Row> {
    const deadline = Date.now() + timeoutMs;
    let last: Row | undefined;
    for (;;) {
      const res = await t.http.get(`${BULK}/${bulkId}`).set(auth(admin));
      last = res.body;
      if (res.status === 200 && predicate(res.body)) return res.body;
      if (Date.now() > deadline) throw new Error(`bulk ${bulkId} did not reach the expected state; last: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const taskRows = (ids: number[]) =>
    db().execute<{ id: number; retry_count: number; status: string; deleted_at: Date | null }[]>(
      `select id, retry_count, status, deleted_at from tasks where id in (${ids.map(() => '?').join(', ')}) order by id`,
      ids,
    );
  const auditOf = (targetIds: string[], action: string) =>
    db().execute<{ action: string; actor_id: number; actor_role: string | null; brand_id: number | null; target_id: string; request_id: string | null; details: Row }[]>(
      `select action, actor_id, actor_role, brand_id, target_id, request_id, details from audit_log
        where action = ? and target_id in (${targetIds.map(() => '?').join(', ')}) order by id`,
      [action, ...targetIds],
    );

  /**
   * Holds a row lock on one task so that the bulk's TaskService call for it blocks (its mirror write waits): the test
   * then acts while the bulk is provably in the middle of that job. Resolves once some query waits on the lock.
   */
  async function lockTask(id: number): Promise<() => Promise<void>> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = db().transactional(async (tx) => {
      await tx.execute(`select id from tasks where id = ? for update`, [id]);
      locked();
      await released;
    });
    await isLocked;
    return async () => {
      release();
      await holder;
    };
  }
  async function waitForLockWaiter(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [row] = await db().execute<{ n: string }[]>(
        `select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
      );
      if (Number(row!.n) > 0) return;
      if (Date.now() > deadline) throw new Error('nothing waited on the held task lock');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('answers 403 to a plain member on every bulk route, and lets admin_viewer read but not act', async () => {
    const routes: [string, string][] = [
      ['post', `${BULK}/dry-run`],
      ['post', BULK],
      ['get', BULK],
      ['get', `${BULK}/admin_bulk_x`],
      ['post', `${BULK}/admin_bulk_x/cancel`],
      ['post', `${BULK}/admin_bulk_x/resume`],
    ];
    for (const [method, path] of routes) {
      const denied = await (t.http as any)[method](path).set(auth(t.user)).send({});
      expect([method, path, denied.status, denied.body.error_code]).toEqual([method, path, 403, 'PERMISSION_DENIED']);
      const asViewer = await (t.http as any)[method](path).set(auth(viewer)).send({});
      if (method === 'post') expect([path, asViewer.status, asViewer.body.error_code]).toEqual([path, 403, 'PERMISSION_DENIED']);
      else expect([path, asViewer.status]).toEqual([path, path === BULK ? 200 : 404]);
    }
    const unknown = await t.http.get(`${BULK}/admin_bulk_unknown`).set(auth(viewer));
    expect(unknown.body.error_code).toBe('BULK_ACTION_NOT_FOUND');
    for (const verb of ['cancel', 'resume']) {
      const res = await t.http.post(`${BULK}/admin_bulk_unknown/${verb}`).set(auth(admin)).send({});
      expect([verb, res.status, res.body.error_code]).toEqual([verb, 404, 'BULK_ACTION_NOT_FOUND']);
    }
  });

  it('dry run: counts the matching jobs of every brand, samples the first ones in id order, issues a token', async () => {
    const marker = `dry-${unique}`;
    const jobs = [await failedTask(marker, false), await failedTask(marker, true), await failedTask(marker, false)];
    const res = await dryRun({ action: 'retry', filter: { ...filterFor(marker), status: ['failed', 'cancelled', 'failed'] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ action: 'retry', count: 3, new_priority: null, force: false });
    // The canonical filter: lists sorted and deduplicated.
    expect(res.body.filter.status).toEqual(['cancelled', 'failed']);
    expect(res.body.sample).toEqual(
      jobs.map((j) => ({ id: j.id, task_id: j.task_id, task_type: 'noop', status: 'failed', brand_id: j.brand_id })),
    );
    expect(res.body.confirmation_token).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    const ttl = Date.parse(res.body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(290_000);
    expect(ttl).toBeLessThanOrEqual(300_000);

    const invalid = async (body: Row, field: string) => {
      const r = await dryRun(body);
      expect([field, r.status, r.body.error_code, Object.keys(r.body.field_errors ?? {})]).toEqual([field, 400, 'VALIDATION_ERROR', [field]]);
    };
    await invalid({ action: 'reprioritize', filter: filterFor(marker) }, 'new_priority');
    await invalid({ action: 'retry', filter: filterFor(marker), new_priority: 'high' }, 'new_priority');
    await invalid({ action: 'retry', filter: filterFor(marker), force: true }, 'force');
    await invalid({ action: 'retry', filter: {} }, 'filter');
    await invalid({ action: 'purge', filter: filterFor(marker) }, 'action');
    await invalid({ action: 'retry', filter: { ...filterFor(marker), owner: 'x' } }, 'filter.owner');
  });

  it('refuses a filter wider than ADMIN_BULK_MAX_TARGETS, telling to narrow it', async () => {
    const marker = `wide-${unique}`;
    await failedTask(marker, false);
    await failedTask(marker, true);
    const narrow = createApp({ orm: t.orm, temporal: t.client, config: { ...t.config, ADMIN_BULK_MAX_TARGETS: 1 }, logger: { error: () => undefined } });
    const res = await request(narrow.callback()).post(`${BULK}/dry-run`).set(auth(admin)).send({ action: 'cancel', filter: filterFor(marker) });
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('VALIDATION_ERROR');
    expect(res.body.field_errors.filter[0]).toMatch(/Matches 2 jobs.*at most 1.*Narrow the filter/);
  });

  it('refuses an execution without its token, with a forged, altered, expired or foreign token, or with another body than the token binds', async () => {
    const marker = `refuse-${unique}`;
    const job = await failedTask(marker, false);
    const body = { action: 'retry', filter: filterFor(marker) };
    const { confirmation_token: token } = (await dryRun(body)).body;

    const missing = await execute(body);
    expect([missing.status, missing.body.error_code]).toEqual([400, 'CONFIRMATION_REQUIRED']);
    const refused = async (b: Row, pattern: RegExp, u: TestUser = admin) => {
      const r = await execute(b, u);
      expect([r.status, r.body.error_code]).toEqual([400, 'CONFIRMATION_INVALID']);
      expect(r.body.detail).toMatch(pattern);
      return r.body;
    };
    await refused({ ...body, confirmation_token: 'not-a-token' }, /Malformed/);
    const [v, payload, mac] = token.split('.');
    await refused({ ...body, confirmation_token: `${v}.${payload}.${mac.slice(0, -2)}AA` }, /altered or forged/);
    // Widening the filter inside the token (its payload is readable) breaks the signature.
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const widened = Buffer.from(JSON.stringify({ ...claims, filter: { status: ['failed'] }, total: 1 })).toString('base64url');
    await refused({ action: 'retry', filter: { status: ['failed'] }, confirmation_token: `${v}.${widened}.${mac}` }, /altered or forged/);
    // A valid token with another filter, action or option in the body.
    const other = await refused({ ...body, filter: { ...filterFor(marker), status: ['failed', 'cancelled'] }, confirmation_token: token }, /another request/);
    expect(other.mismatched).toEqual(['filter']);
    expect((await refused({ ...body, action: 'cancel', confirmation_token: token }, /another request/)).mismatched).toEqual(['action']);
    await refused({ ...body, confirmation_token: token }, /another user/, otherAdmin);
    // A token whose time is up (issued by an app whose tokens live -1 s, same secret).
    const shortLived = createApp({ orm: t.orm, temporal: t.client, config: { ...t.config, ADMIN_BULK_TOKEN_TTL_SECONDS: -1 }, logger: { error: () => undefined } });
    const expired = (await request(shortLived.callback()).post(`${BULK}/dry-run`).set(auth(admin)).send(body)).body.confirmation_token;
    await refused({ ...body, confirmation_token: expired }, /expired/);

    const [row] = await db().execute<{ n: string }[]>(`select count(*) as n from admin_bulk_actions where filter @> ?::jsonb`, [
      JSON.stringify({ data: { fail_message: marker } }),
    ]);
    expect(Number(row!.n)).toBe(0);
    expect((await taskRows([job.id]))[0]!.retry_count).toBe(0);
  });

  it('retries failed jobs of two brands through TaskService, skips with a reason what changed or is refused, audits each job, and a replay is the same bulk', async () => {
    const marker = `retry-${unique}`;
    const a1 = await failedTask(marker, false);
    const b1 = await failedTask(marker, true);
    const a2 = await failedTask(marker, false);
    const b2 = await failedTask(marker, true);
    const capped = await failedTask(marker, false, { max_retries: 0 });
    const all = [a1, b1, a2, b2, capped];
    const body = { action: 'retry', filter: filterFor(marker), reason: 'incident 42' };
    const dry = await dryRun(body);
    expect(dry.body.count).toBe(5);

    // The bulk's first job blocks on a row lock; meanwhile b1 (same page) is deleted, so it no longer matches.
    const release = await lockTask(a1.id);
    const started = await execute({ ...body, confirmation_token: dry.body.confirmation_token });
    let bulkId: string;
    try {
      expect(started.status).toBe(202);
      bulkId = started.body.bulk_id;
      expect(started.body).toEqual({
        bulk_id: expect.stringMatching(/^admin_bulk_[0-9a-f]{26}$/),
        status: 'running',
        action: 'retry',
        total: 5,
        temporal_url: expect.stringContaining(`/workflows/${bulkId}`),
      });
      await waitForLockWaiter();
      expect((await t.http.delete(`/tasks/${b1.id}/`).set(t.headers(t.outsider, t.otherBrand.id))).status).toBe(204);
    } finally {
      await release();
    }

    const done = await waitForBulk(bulkId, (b) => b.status === 'completed');
    expect(done).toMatchObject({ total: 5, processed: 5, succeeded: 3, skipped: 2, failed: 0, percentage: 100, last_task_id: capped.id });
    expect(done.created_by).toEqual({ id: admin.id, username: admin.username });
    expect(done.errors).toEqual([
      expect.objectContaining({ id: b1.id, outcome: 'skipped', error_code: 'NO_LONGER_MATCHES' }),
      expect.objectContaining({ id: capped.id, outcome: 'skipped', error_code: 'MAX_RETRIES_EXCEEDED' }),
    ]);
    const rows = await taskRows(all.map((j) => j.id));
    expect(rows.map((r) => r.retry_count)).toEqual([1, 0, 1, 1, 0]);

    // One task.retry row per retried job, as the admin, in the job's brand, carrying the bulk id.
    const retried = [a1, a2, b2];
    const audit = await auditOf(all.map((j) => j.task_id), 'task.retry');
    expect(audit.map((a) => [a.target_id, a.actor_id, a.actor_role, a.brand_id, a.request_id])).toEqual(
      retried.map((j) => [j.task_id, admin.id, 'admin', j.brand_id, bulkId]),
    );
    const own = await auditOf([bulkId], 'admin.bulk.start');
    expect(own).toHaveLength(1);
    expect(own[0]!.details).toMatchObject({ action: 'retry', reason: 'incident 42' });
    const complete = await auditOf([bulkId], 'admin.bulk.complete');
    expect(complete).toHaveLength(1);
    expect(complete[0]!.details).toMatchObject({ processed: 5, succeeded: 3, skipped: 2, failed: 0 });

    // The workflow answers its progress query; 5 jobs in pages of 2 took a continue-as-new (two pages per run).
    const progress = await bulkGateway.progress(bulkId);
    expect(progress).toMatchObject({ bulkId, status: 'completed', lastTaskId: capped.id, counts: { processed: 5, succeeded: 3 } });
    expect(progress.runsSoFar).toBeGreaterThanOrEqual(1);

    // A replay of the confirmed request is the same bulk, and starts nothing.
    const replay = await execute({ ...body, confirmation_token: dry.body.confirmation_token });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({ ...started.body, status: 'completed' });
    expect((await taskRows(all.map((j) => j.id))).map((r) => r.retry_count)).toEqual([1, 0, 1, 1, 0]);
    const [count] = await db().execute<{ n: string }[]>(`select count(*) as n from admin_bulk_actions where bulk_id = ?`, [bulkId]);
    expect(Number(count!.n)).toBe(1);

    const listed = await t.http.get(`${BULK}?page_size=100&action=retry`).set(auth(viewer));
    expect(listed.status).toBe(200);
    expect(listed.body.results.map((b: Row) => b.bulk_id)).toContain(bulkId);
    const detail = await t.http.get(`${BULK}/${bulkId}`).set(auth(viewer));
    expect(detail.status).toBe(200);
    expect(detail.body.bulk_id).toBe(bulkId);

    // A completed bulk can be neither cancelled nor resumed.
    for (const verb of ['cancel', 'resume']) {
      const res = await t.http.post(`${BULK}/${bulkId}/${verb}`).set(auth(admin)).send({});
      expect([verb, res.status, res.body.error_code]).toEqual([verb, 409, 'INVALID_STATUS_TRANSITION']);
    }
  });

  it('cancel stops the bulk at a job boundary; resume finishes the rest without redoing a job', async () => {
    const marker = `resume-${unique}`;
    const jobs = [];
    for (let i = 0; i < 8; i++) jobs.push(await failedTask(marker, i % 2 === 1));
    const ids = jobs.map((j) => j.id);
    const body = { action: 'retry', filter: filterFor(marker) };
    const dry = await dryRun(body);
    expect(dry.body.count).toBe(8);

    // The fifth job (first of the third page) blocks: the cancel arrives while the bulk is inside it.
    const release = await lockTask(jobs[4]!.id);
    let bulkId: string;
    try {
      const started = await execute({ ...body, confirmation_token: dry.body.confirmation_token });
      expect(started.status).toBe(202);
      bulkId = started.body.bulk_id;
      await waitForBulk(bulkId, (b) => b.processed === 4);
      await waitForLockWaiter();
      const running = await t.http.post(`${BULK}/${bulkId}/resume`).set(auth(admin)).send({});
      expect([running.status, running.body.error_code]).toEqual([409, 'INVALID_STATUS_TRANSITION']);
      const cancel = await t.http.post(`${BULK}/${bulkId}/cancel`).set(auth(admin)).send({});
      expect(cancel.status).toBe(202);
      expect(cancel.body.message).toBe('Cancellation requested');
      // Long enough for the cancel to reach the blocked activity with its next heartbeat.
      await new Promise((r) => setTimeout(r, 3500));
    } finally {
      await release();
    }
    const cancelled = await waitForBulk(bulkId, (b) => b.status === 'cancelled');
    expect(cancelled.processed).toBe(5);
    expect(cancelled.last_task_id).toBe(ids[4]);
    expect((await taskRows(ids)).map((r) => r.retry_count)).toEqual([1, 1, 1, 1, 1, 0, 0, 0]);
    const again = await t.http.post(`${BULK}/${bulkId}/cancel`).set(auth(admin)).send({});
    expect([again.status, again.body.error_code]).toEqual([409, 'INVALID_STATUS_TRANSITION']);

    const resumed = await t.http.post(`${BULK}/${bulkId}/resume`).set(auth(admin)).send({});
    expect(resumed.status).toBe(202);
    expect(resumed.body.bulk_id).toBe(bulkId);
    expect(['running', 'completed']).toContain(resumed.body.status);
    const done = await waitForBulk(bulkId, (b) => b.status === 'completed');
    expect(done).toMatchObject({ processed: 8, succeeded: 8, skipped: 0, failed: 0, last_task_id: ids[7] });
    expect((await taskRows(ids)).map((r) => r.retry_count)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    const audit = await auditOf(jobs.map((j) => j.task_id), 'task.retry');
    expect(audit.map((a) => a.target_id).sort()).toEqual(jobs.map((j) => j.task_id).sort());
    expect((await auditOf([bulkId], 'admin.bulk.cancel')).map((a) => a.actor_id)).toEqual([admin.id]);
    expect((await auditOf([bulkId], 'admin.bulk.resume')).map((a) => a.details.from_task_id)).toEqual([ids[4]]);
  });

  it('after a crash between the recorded bulk and its workflow start, the replayed request starts the missing workflow', async () => {
    const marker = `crash-${unique}`;
    const jobs = [await failedTask(marker, false), await failedTask(marker, true)];
    const body = { action: 'retry', filter: filterFor(marker) };
    const dry = await dryRun(body);
    const claims = JSON.parse(Buffer.from(dry.body.confirmation_token.split('.')[1], 'base64url').toString('utf8'));
    // What the execution's transaction leaves behind when the process dies before the workflow starts.
    const bulkId = bulkIdOf(dry.body.confirmation_token);
    await insertBulkAction(db(), {
      bulkId,
      action: 'retry',
      filter: claims.filter,
      newPriority: null,
      force: false,
      reason: null,
      maxTaskId: claims.max_task_id,
      totalAtDryRun: claims.total,
      createdById: admin.id,
    });
    expect(await bulkGateway.status(bulkId)).toBeNull();

    const replay = await execute({ ...body, confirmation_token: dry.body.confirmation_token });
    expect(replay.status).toBe(202);
    expect(replay.body.bulk_id).toBe(bulkId);
    expect(await waitForBulk(bulkId, (b) => b.status === 'completed')).toMatchObject({ processed: 2, succeeded: 2 });
    expect((await taskRows(jobs.map((j) => j.id))).map((r) => r.retry_count)).toEqual([1, 1]);
  });

  it('reprioritizes pending jobs (audited per job) and deletes finished ones', async () => {
    const marker = `prio-${unique}`;
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const pending = [];
    for (const other of [false, true]) {
      const headers = other ? t.headers(t.outsider, t.otherBrand.id) : t.headers();
      const res = await t.http.post('/tasks/').set(headers).send({ task_type: 'noop', description: marker, priority: 'low', scheduled_for: later });
      expect(res.status).toBe(201);
      pending.push({ id: res.body.id as number, task_id: res.body.task_id as string });
    }
    const prio = { action: 'reprioritize', new_priority: 'critical', filter: { search: marker, status: ['pending'] } };
    const dry = await dryRun(prio);
    expect(dry.body.count).toBe(2);
    const started = await execute({ ...prio, confirmation_token: dry.body.confirmation_token });
    expect(started.status).toBe(202);
    const done = await waitForBulk(started.body.bulk_id, (b) => b.status === 'completed');
    expect(done).toMatchObject({ processed: 2, succeeded: 2 });
    const prios = await db().execute<{ priority: string }[]>(`select priority from tasks where id in (?, ?) order by id`, pending.map((p) => p.id));
    expect(prios.map((p) => p.priority)).toEqual(['critical', 'critical']);
    const audit = await auditOf(pending.map((p) => p.task_id), 'admin.bulk.reprioritize');
    expect(audit.map((a) => [a.target_id, a.actor_id, a.request_id])).toEqual(pending.map((p) => [p.task_id, admin.id, started.body.bulk_id]));

    // Delete: the pending ones are refused without force (skipped), then deleted with force (terminated first).
    const del = { action: 'delete', filter: { search: marker } };
    const refused = await execute({ ...del, confirmation_token: (await dryRun(del)).body.confirmation_token });
    const skipped = await waitForBulk(refused.body.bulk_id, (b) => b.status === 'completed');
    expect(skipped).toMatchObject({ processed: 2, skipped: 2, succeeded: 0 });
    expect(skipped.errors.map((e: Row) => e.error_code)).toEqual(['INVALID_STATUS_TRANSITION', 'INVALID_STATUS_TRANSITION']);
    const forced = { ...del, force: true };
    const purge = await execute({ ...forced, confirmation_token: (await dryRun(forced)).body.confirmation_token });
    expect(await waitForBulk(purge.body.bulk_id, (b) => b.status === 'completed')).toMatchObject({ processed: 2, succeeded: 2 });
    expect((await taskRows(pending.map((p) => p.id))).every((r) => r.deleted_at !== null)).toBe(true);
    expect((await auditOf(pending.map((p) => p.task_id), 'admin.job.delete')).map((a) => a.details.forced)).toEqual([true, true]);
  });
});
