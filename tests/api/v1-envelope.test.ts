import request from 'supertest';
import { createApp } from '../../api/app';
import { hashPassword } from '../../api/services/auth.service';
import { signAccessToken } from '../../api/services/token.service';
import { setPasswordHash } from '../../db/repositories/credentials.repository';
import { ensureBrand, ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext } from '../support/harness';

type Row = Record<string, any>;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** The error envelope of seed 003, with our precise code in details. */
const envelope = (code: string, errorCode: string) => ({
  status: 'error',
  error: { code, message: expect.any(String), details: expect.objectContaining({ error_code: errorCode }) },
  timestamp: expect.stringMatching(ISO),
});

describe('public API v1: envelopes, root endpoints, login, brand resolution', () => {
  let t: TestContext;
  const unique = `${process.pid}-${Date.now()}`;
  const PASSWORD = 'v1 envelope password';
  let loner: { token: string };
  let admin: { token: string };
  let multi: { token: string; brandIds: number[] };

  beforeAll(async () => {
    t = await createTestContext();
    const em = t.orm.em.fork();
    await setPasswordHash(em, t.user.id, await hashPassword(PASSWORD));
    const lonerUser = await ensureUser(em, `v1-loner-${unique}`);
    loner = { token: signAccessToken(t.config, lonerUser, 600) };
    const adminUser = await ensureUser(em, `v1-admin-${unique}`, 'admin');
    admin = { token: signAccessToken(t.config, adminUser, 600) };
    // A member of two brands, the later-created one first: the default brand is the lowest id, not the first granted.
    const b1 = await ensureBrand(em, `v1-b1-${unique}`);
    const b2 = await ensureBrand(em, `v1-b2-${unique}`);
    const multiUser = await ensureUser(em, `v1-multi-${unique}`);
    await grantMembership(em, multiUser.id, b2.id);
    await grantMembership(em, multiUser.id, b1.id);
    multi = { token: signAccessToken(t.config, multiUser, 600), brandIds: [b1.id, b2.id] };
  });
  afterAll(async () => {
    await t.close();
  });

  const bearer = (token = t.user.token) => ({ Authorization: `Bearer ${token}` });

  describe('root endpoints (no token)', () => {
    it('GET /health is liveness only: {status: healthy, version, timestamp}', async () => {
      const res = await t.http.get('/health');
      expect(res.status).toBe(200);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { version } = require('../../package.json') as { version: string };
      expect(res.body).toEqual({ status: 'healthy', version, timestamp: expect.stringMatching(ISO) });
    });

    it('GET /info names the API, its version, environment and debug flag', async () => {
      const res = await t.http.get('/info');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ name: t.config.APP_NAME, version: expect.any(String), environment: 'test', debug: false });
    });

    it('GET /ready is 200 with PostgreSQL, Temporal and a worker polling the task queue', async () => {
      let res = await t.http.get('/ready');
      for (let i = 0; res.status !== 200 && i < 50; i++) {
        await new Promise((r) => setTimeout(r, 200));
        res = await t.http.get('/ready');
      }
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'ready',
        version: expect.any(String),
        timestamp: expect.stringMatching(ISO),
        checks: { postgres: { ok: true }, temporal: { ok: true }, workers: { ok: true, task_queue: t.config.TEMPORAL_TASK_QUEUE } },
      });
      expect(res.body.checks.workers.pollers).toBeGreaterThanOrEqual(1);
    });

    it('GET /ready is 503 SERVICE_UNAVAILABLE naming the workers when nobody polls the task queue (and /health stays 200)', async () => {
      const lonely = createApp({ orm: t.orm, temporal: t.client, config: { ...t.config, TEMPORAL_TASK_QUEUE: `nobody-polls-${unique}` }, logger: { error: () => undefined } });
      const res = await request(lonely.callback()).get('/ready');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toEqual(envelope('SERVICE_UNAVAILABLE', 'SERVICE_UNAVAILABLE'));
      expect(res.body.error.message).toMatch(/workers/);
      expect(res.body.error.details).toMatchObject({ missing: ['workers'], checks: { postgres: { ok: true }, temporal: { ok: true }, workers: { ok: false, pollers: 0 } } });
      expect((await request(lonely.callback()).get('/health')).status).toBe(200);
    });
  });

  describe('error envelope under /api/v1/ (and the other formats unchanged)', () => {
    it('401 UNAUTHORIZED without a token, our code AUTHENTICATION_FAILED in details', async () => {
      const res = await t.http.get('/api/v1/tasks');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body).toEqual(envelope('UNAUTHORIZED', 'AUTHENTICATION_FAILED'));
    });

    it('400 INVALID_REQUEST for a validation error, with field errors, the first field and its reason', async () => {
      const res = await t.http.get('/api/v1/tasks?limit=101').set(bearer());
      expect(res.status).toBe(400);
      expect(res.body).toEqual(envelope('INVALID_REQUEST', 'VALIDATION_ERROR'));
      expect(res.body.error.details).toMatchObject({ field: 'limit', reason: 'At most 100', field_errors: { limit: ['At most 100'] } });
    });

    it('400 INVALID_REQUEST for malformed JSON, 413 INVALID_REQUEST (PAYLOAD_TOO_LARGE) for an oversize body', async () => {
      const malformed = await t.http.post('/api/v1/tasks').set(bearer()).set('Content-Type', 'application/json').send('{"name": ');
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual(envelope('INVALID_REQUEST', 'VALIDATION_ERROR'));
      const big = await t.http.post('/api/v1/tasks').set(bearer()).send({ name: 'big', payload: { blob: 'x'.repeat(1_100_000) } });
      expect(big.status).toBe(413);
      expect(big.body).toEqual(envelope('INVALID_REQUEST', 'PAYLOAD_TOO_LARGE'));
    });

    it('404 NOT_FOUND for an unknown v1 path or task; 405 with Allow for a known path and another method', async () => {
      const unknown = await t.http.get('/api/v1/nothing-here').set(bearer());
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(envelope('NOT_FOUND', 'NOT_FOUND'));
      const task = await t.http.get('/api/v1/tasks/task_does_not_exist').set(bearer());
      expect(task.status).toBe(404);
      expect(task.body).toEqual(envelope('NOT_FOUND', 'TASK_NOT_FOUND'));
      const method = await t.http.patch('/api/v1/tasks').set(bearer()).send({});
      expect(method.status).toBe(405);
      expect(method.headers.allow).toMatch(/GET/);
      expect(method.headers.allow).toMatch(/POST/);
      expect(method.body).toEqual(envelope('INVALID_REQUEST', 'METHOD_NOT_ALLOWED'));
    });

    it('keeps the /tasks/ and /admin/ formats exactly as they were', async () => {
      const noToken = await t.http.get('/tasks/');
      expect(noToken.status).toBe(401);
      expect(noToken.body).toEqual({ detail: 'Authentication credentials were not provided', error_code: 'AUTHENTICATION_FAILED' });
      const missing = await t.http.get('/tasks/task_does_not_exist/').set(t.headers());
      expect(missing.body).toEqual({ detail: 'Task not found', error_code: 'TASK_NOT_FOUND' });
      const admin403 = await t.http.get('/admin/jobs').set(t.headers());
      expect(admin403.status).toBe(403);
      expect(admin403.body).toMatchObject({ detail: expect.any(String), error_code: 'PERMISSION_DENIED' });
      expect(admin403.body.status).toBeUndefined();
    });
  });

  describe('POST /api/v1/auth/login', () => {
    it("answers the token at the top level (the seed's jq -r '.token') and in data; the token works on v1", async () => {
      const res = await t.http.post('/api/v1/auth/login').send({ username: t.user.username, password: PASSWORD });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const result = { token: expect.any(String), token_type: 'Bearer', expires_in: expect.any(Number), user: { id: t.user.id, username: t.user.username, role: 'user' } };
      expect(res.body).toEqual({ status: 'success', ...result, data: result, timestamp: expect.stringMatching(ISO) });
      expect(res.body.data.token).toBe(res.body.token);
      const list = await t.http.get('/api/v1/tasks').set(bearer(res.body.token));
      expect(list.status).toBe(200);
    });

    it('refuses a wrong password with 401 UNAUTHORIZED and audits the attempt', async () => {
      const res = await t.http.post('/api/v1/auth/login').set('X-Request-ID', `v1-login-${unique}`).send({ username: t.user.username, password: 'wrong password!' });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(envelope('UNAUTHORIZED', 'AUTHENTICATION_FAILED'));
      const audit = await t.orm.em.fork().execute<Row[]>(`select action, details from audit_log where request_id = ?`, [`v1-login-${unique}`]);
      expect(audit).toEqual([{ action: 'auth.login.failed', details: expect.objectContaining({ username: t.user.username, reason: 'wrong_password' }) }]);
    });

    it('refuses unknown fields with 400 INVALID_REQUEST', async () => {
      const res = await t.http.post('/api/v1/auth/login').send({ username: 'a', password: 'b', role: 'admin' });
      expect(res.status).toBe(400);
      expect(res.body.error.details.field_errors).toEqual({ role: ['Unknown field'] });
    });
  });

  describe('brand of a v1 request', () => {
    const brandOfNewTask = async (headers: Record<string, string>) => {
      const res = await t.http.post('/api/v1/tasks').set(headers).send({ name: 'brand probe', type: 'noop' });
      expect(res.status).toBe(201);
      const [row] = await t.orm.em.fork().execute<{ brand_id: number }[]>(`select brand_id from tasks where task_id = ?`, [res.body.data.id]);
      return row!.brand_id;
    };

    it("without X-Brand-ID: the caller's lowest brand id", async () => {
      expect(await brandOfNewTask(bearer(multi.token))).toBe(Math.min(...multi.brandIds));
      expect(await brandOfNewTask(bearer())).toBe(t.brand.id);
    });

    it("with X-Brand-ID: one of the caller's brands; another brand is 403 FORBIDDEN; an admin may name any brand", async () => {
      expect(await brandOfNewTask({ ...bearer(multi.token), 'X-Brand-ID': String(Math.max(...multi.brandIds)) })).toBe(Math.max(...multi.brandIds));
      const other = await t.http.get('/api/v1/tasks').set({ ...bearer(), 'X-Brand-ID': String(t.otherBrand.id) });
      expect(other.status).toBe(403);
      expect(other.body).toEqual(envelope('FORBIDDEN', 'PERMISSION_DENIED'));
      expect(await brandOfNewTask({ ...bearer(admin.token), 'X-Brand-ID': String(t.otherBrand.id) })).toBe(t.otherBrand.id);
    });

    it('a caller without any brand is 403 FORBIDDEN on brand-scoped routes (workers are platform-wide)', async () => {
      const res = await t.http.get('/api/v1/tasks').set(bearer(loner.token));
      expect(res.status).toBe(403);
      expect(res.body).toEqual(envelope('FORBIDDEN', 'PERMISSION_DENIED'));
      expect((await t.http.get('/api/v1/workers').set(bearer(loner.token))).status).toBe(200);
    });

    it("another brand's task is 404 NOT_FOUND, not 403", async () => {
      const created = await t.http.post('/api/v1/tasks').set(bearer()).send({ name: 'mine', type: 'noop' });
      const res = await t.http.get(`/api/v1/tasks/${created.body.data.id}`).set(bearer(multi.token));
      expect(res.status).toBe(404);
    });
  });
});
