import jwt from 'jsonwebtoken';
import { createTestContext, TEST_JWT_SECRET, type TestContext } from '../support/harness';

describe('authentication and brand scoping', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const sign = (payload: object, options: jwt.SignOptions = {}, secret = TEST_JWT_SECRET) =>
    jwt.sign(payload, secret, { algorithm: 'HS256', issuer: t.config.JWT_ISSUER, audience: t.config.JWT_AUDIENCE, expiresIn: 600, subject: String(t.user.id), ...options });

  const get = (token: string | null, brandId: number | null = t.brand.id) => {
    const req = t.http.get('/tasks/');
    if (token !== null) req.set('Authorization', `Bearer ${token}`);
    if (brandId !== null) req.set('X-Brand-ID', String(brandId));
    return req;
  };

  it('serves /health (liveness) and /ready (PostgreSQL, Temporal, a polling worker) without a token', async () => {
    const res = await t.http.get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'healthy', version: expect.any(String), timestamp: expect.any(String) });
    // The worker started with the test context; Temporal lists it once its first poll arrives.
    let ready = await t.http.get('/ready');
    for (let i = 0; ready.status !== 200 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ready = await t.http.get('/ready');
    }
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', checks: { postgres: { ok: true }, temporal: { ok: true }, workers: { ok: true } } });
  });

  it.each([
    ['no Authorization header', () => null],
    ['a malformed token', () => 'not-a-jwt'],
    ['an expired token', () => sign({ username: 'x' }, { expiresIn: -10 })],
    ['a token signed with another secret', () => sign({ username: 'x' }, {}, 'another-secret-another-secret-another-secret')],
    ['a token without exp', () => jwt.sign({ username: 'x', sub: String(t.user.id), iss: t.config.JWT_ISSUER, aud: t.config.JWT_AUDIENCE }, TEST_JWT_SECRET)],
    ['a token for another issuer', () => sign({ username: 'x' }, { issuer: 'someone-else' })],
    ['a token for another audience', () => sign({ username: 'x' }, { audience: 'another-api' })],
    ['an alg:none token', () => jwt.sign({ username: 'x', sub: String(t.user.id), iss: t.config.JWT_ISSUER, aud: t.config.JWT_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 }, '', { algorithm: 'none' })],
    ['a token for a user that does not exist', () => sign({ username: 'ghost' }, { subject: '999999' })],
  ])('answers 401 AUTHENTICATION_FAILED to %s', async (_name, token) => {
    const res = await get(token());
    expect(res.status).toBe(401);
    expect(res.body.error_code).toBe('AUTHENTICATION_FAILED');
    expect(typeof res.body.detail).toBe('string');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('accepts a valid token, twice (the second time from the verified-token cache)', async () => {
    const token = sign({ username: t.user.username });
    expect((await get(token)).status).toBe(200);
    expect((await get(token)).status).toBe(200);
  });

  it('requires X-Brand-ID on brand-scoped routes', async () => {
    const res = await get(t.user.token, null);
    expect(res.status).toBe(400);
    expect(res.body.field_errors).toHaveProperty('X-Brand-ID');
  });

  it('answers 403 PERMISSION_DENIED for a brand the user is not a member of', async () => {
    const res = await get(t.user.token, t.otherBrand.id);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ detail: expect.any(String), error_code: 'PERMISSION_DENIED' });
  });

  it("hides another brand's task (404 TASK_NOT_FOUND) and makes no Temporal call for it", async () => {
    const created = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'noop', context_data: { duration_ms: 60_000 } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const asOutsider = t.headers(t.outsider, t.otherBrand.id);
    for (const req of [
      t.http.get(`/tasks/${id}/`),
      t.http.get(`/tasks/${created.body.task_id}/`),
      t.http.patch(`/tasks/${id}/`).send({ description: 'x' }),
      t.http.delete(`/tasks/${id}/`),
      t.http.post(`/tasks/${id}/cancel/`).send({}),
      t.http.post(`/tasks/${id}/retry/`).send({}),
    ]) {
      const res = await req.set(asOutsider);
      expect(res.status).toBe(404);
      expect(res.body.error_code).toBe('TASK_NOT_FOUND');
    }
    // The outsider's cancel never reached Temporal: the workflow is still running.
    const desc = await t.gateway.describe(created.body.task_id);
    expect(desc.status.name).toBe('RUNNING');
    const list = await t.http.get('/tasks/').set(asOutsider);
    expect(list.body.results.map((r: { id: number }) => r.id)).not.toContain(id);
    await t.gateway.cancel(created.body.task_id);
  });

  it('answers unknown routes with 404 in the error format', async () => {
    const res = await t.http.get('/nope').set(t.headers());
    expect(res.status).toBe(404);
    expect(res.body.error_code).toBe('NOT_FOUND');
  });

  it('answers malformed JSON with 400, not 500', async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).set('Content-Type', 'application/json').send('{"task_type": ');
    expect(res.status).toBe(400);
    expect(res.body.error_code).toBe('VALIDATION_ERROR');
  });
});
