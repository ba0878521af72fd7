import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createApp } from '../../api/app';
import { API_KEY_CACHE_TTL_MS } from '../../api/services/api-key.service';
import { signAccessToken } from '../../api/services/token.service';
import { ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext, type TestUser } from '../support/harness';

type Row = Record<string, any>;

describe('API keys (/api/v1/api-keys, X-API-Key)', () => {
  let t: TestContext;
  let admin: TestUser;
  const unique = `${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    const u = await ensureUser(t.orm.em.fork(), `keys-admin-${unique}`, 'admin');
    admin = { id: u.id, username: u.username, token: signAccessToken(t.config, u, 3600) };
  });
  afterAll(() => t.close());

  const bearer = (u: TestUser) => ({ Authorization: `Bearer ${u.token}` });
  const createKey = (body: Row, u: TestUser = t.user, requestId = randomUUID()) =>
    t.http.post('/api/v1/api-keys').set({ ...bearer(u), 'X-Request-ID': requestId }).send(body);
  const withKey = (key: string) => ({ 'X-API-Key': key });
  const auditOf = (requestId: string): Promise<Row[]> =>
    t.orm.em.fork().execute(
      `select action, actor_id, actor_name, actor_role, brand_id, target_type, target_id, details, before, after from audit_log where request_id = ? order by id`,
      [requestId],
    );

  it('shows the full key once at creation, lists the prefix only, and audits the creation', async () => {
    const requestId = randomUUID();
    const res = await createKey({ name: 'ci pipeline', brand_id: t.brand.id }, t.user, requestId);
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const key: string = res.body.data.key;
    expect(key).toMatch(/^dtk_[0-9A-Za-z]{12}_[0-9A-Za-z]{43}$/);
    expect(res.body).toEqual({
      status: 'success',
      data: {
        id: expect.any(Number),
        name: 'ci pipeline',
        prefix: key.split('_')[1],
        key,
        brand: t.brand,
        role: 'user',
        created_by: { id: t.user.id, username: t.user.username },
        status: 'active',
        created_at: expect.any(String),
        last_used_at: null,
        expires_at: null,
        revoked_at: null,
      },
      timestamp: expect.any(String),
    });

    const list = await t.http.get('/api/v1/api-keys').set(bearer(t.user));
    expect(list.status).toBe(200);
    const listed = list.body.data.find((k: Row) => k.id === res.body.data.id);
    expect(listed).toEqual({ ...res.body.data, key: undefined });
    expect(Object.keys(listed)).not.toContain('key');
    const secret = key.split('_')[2]!;
    expect(list.text).not.toContain(secret);
    expect(list.text).not.toMatch(/key_hash|[0-9a-f]{64}/);
    expect(list.body.pagination).toEqual({ skip: 0, limit: 50, total: expect.any(Number), pages: expect.any(Number) });

    // Only the sha256 of the secret is stored.
    const [stored] = await t.orm.em.fork().execute<Row[]>(`select * from api_keys where id = ?`, [res.body.data.id]);
    expect(JSON.stringify(stored)).not.toContain(secret);

    expect(await auditOf(requestId)).toEqual([
      {
        action: 'api_key.create',
        actor_id: t.user.id,
        actor_name: t.user.username,
        actor_role: 'user',
        brand_id: t.brand.id,
        target_type: 'api_key',
        target_id: String(res.body.data.id),
        details: { name: 'ci pipeline', prefix: res.body.data.prefix, role: 'user', owner_id: t.user.id, owner: t.user.username },
        before: null,
        after: { role: 'user', brand_id: t.brand.id, expires_at: null },
      },
    ]);
  });

  it('authenticates as X-API-Key on /tasks/ for its own brand only, and records its use', async () => {
    const { key, id } = (await createKey({ name: 'brand key', brand_id: t.brand.id })).body.data;
    // No X-Brand-ID needed: the key's brand is forced.
    const created = await t.http.post('/tasks/').set(withKey(key)).send({ task_type: 'noop' });
    expect(created.status).toBe(201);
    expect(created.body.brand).toMatchObject({ id: t.brand.id });
    const listed = await t.http.get('/tasks/').set(withKey(key));
    expect(listed.status).toBe(200);
    expect(listed.body.results.map((r: Row) => r.id)).toContain(created.body.id);
    expect((await t.http.get('/tasks/').set({ ...withKey(key), 'X-Brand-ID': String(t.brand.id) })).status).toBe(200);

    const otherBrand = await t.http.get('/tasks/').set({ ...withKey(key), 'X-Brand-ID': String(t.otherBrand.id) });
    expect(otherBrand.status).toBe(403);
    expect(otherBrand.body.error_code).toBe('PERMISSION_DENIED');

    // Another brand's task is not found through the key.
    const foreign = await t.http.post('/tasks/').set(t.headers(t.outsider, t.otherBrand.id)).send({ task_type: 'noop' });
    expect(foreign.status).toBe(201);
    expect((await t.http.get(`/tasks/${foreign.body.id}/`).set(withKey(key))).status).toBe(404);

    const [row] = await t.orm.em.fork().execute<Row[]>(`select last_used_at from api_keys where id = ?`, [id]);
    expect(row!.last_used_at).not.toBeNull();
  });

  it('authenticates on /api/v1 routes too, acting as its creator', async () => {
    const { key } = (await createKey({ name: 'v1 key', brand_id: t.brand.id })).body.data;
    const created = await t.http.post('/api/v1/tasks').set(withKey(key)).send({ name: 'via key', priority: 'high' });
    expect(created.status).toBe(201);
    const res = await t.http.get('/api/v1/tasks').set(withKey(key));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('success');
    expect(res.body.data.map((task: Row) => task.id)).toContain(created.body.data.id);
    const [row] = await t.orm.em.fork().execute<Row[]>(`select brand_id, created_by_id from tasks where task_id = ?`, [created.body.data.id]);
    expect(row).toEqual({ brand_id: t.brand.id, created_by_id: t.user.id });

    const otherBrand = await t.http.get('/api/v1/tasks').set({ ...withKey(key), 'X-Brand-ID': String(t.otherBrand.id) });
    expect(otherBrand.status).toBe(403);
    expect(otherBrand.body.error.code).toBe('FORBIDDEN');
    const foreign = await t.http.post('/api/v1/tasks').set(t.headers(t.outsider, t.otherBrand.id)).send({ name: 'not yours' });
    expect(foreign.status).toBe(201);
    expect((await t.http.get(`/api/v1/tasks/${foreign.body.data.id}`).set(withKey(key))).status).toBe(404);
  });

  it('refuses unknown, malformed, expired and revoked keys with 401', async () => {
    const malformed = await t.http.get('/tasks/').set(withKey('not-a-key'));
    expect(malformed.status).toBe(401);
    expect(malformed.body.error_code).toBe('AUTHENTICATION_FAILED');
    expect((await t.http.get('/tasks/').set(withKey(`dtk_${'A'.repeat(12)}_${'b'.repeat(43)}`))).status).toBe(401);

    const { key, id, prefix } = (await createKey({ name: 'short-lived', brand_id: t.brand.id, expires_in_days: 1 })).body.data;
    expect((await t.http.get('/tasks/').set(withKey(key))).status).toBe(200);
    // A wrong secret with a real prefix is refused even while the key is cached.
    expect((await t.http.get('/tasks/').set(withKey(`dtk_${prefix}_${'c'.repeat(43)}`))).status).toBe(401);
    await t.orm.em.fork().execute(`update api_keys set expires_at = now() - interval '1 second' where id = ?`, [id]);
    // Expiry is checked on every request, cached or not: a fresh app and this one agree.
    const fresh = request(createApp({ orm: t.orm, temporal: t.client, config: t.config }).callback());
    expect((await fresh.get('/tasks/').set(withKey(key))).status).toBe(401);
    const list = await t.http.get('/api/v1/api-keys?limit=100').set(bearer(t.user));
    expect(list.body.data.find((k: Row) => k.id === id).status).toBe('expired');
  });

  it('revokes a key: 401 at once here, within the cache bound in another API process, audited', async () => {
    const { key, id, prefix } = (await createKey({ name: 'to revoke', brand_id: t.brand.id })).body.data;
    const second = request(createApp({ orm: t.orm, temporal: t.client, config: t.config }).callback());
    expect((await second.get('/tasks/').set(withKey(key))).status).toBe(200); // now cached there

    // Another user's key is not found for a non-admin.
    expect((await t.http.delete(`/api/v1/api-keys/${id}`).set(bearer(t.outsider))).status).toBe(404);

    const requestId = randomUUID();
    const revoked = await t.http.delete(`/api/v1/api-keys/${id}`).set({ ...bearer(t.user), 'X-Request-ID': requestId });
    expect(revoked.status).toBe(200);
    expect(revoked.body.data).toMatchObject({ id, prefix, status: 'revoked', revoked_at: expect.any(String) });
    expect(revoked.body.data.key).toBeUndefined();
    expect((await t.http.get('/tasks/').set(withKey(key))).status).toBe(401);

    // The other process serves its cached row for at most API_KEY_CACHE_TTL_MS.
    const deadline = Date.now() + API_KEY_CACHE_TTL_MS + 2_000;
    let status = 200;
    while (status !== 401 && Date.now() < deadline) {
      status = (await second.get('/tasks/').set(withKey(key))).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(401);

    const audit = await auditOf(requestId);
    expect(audit).toEqual([
      expect.objectContaining({ action: 'api_key.revoke', actor_id: t.user.id, brand_id: t.brand.id, target_id: String(id), before: { revoked: false }, after: { revoked: true } }),
    ]);
    // Revoking again changes nothing and writes no row.
    const again = randomUUID();
    expect((await t.http.delete(`/api/v1/api-keys/${id}`).set({ ...bearer(t.user), 'X-Request-ID': again })).status).toBe(200);
    expect(await auditOf(again)).toEqual([]);
  });

  it('respects roles: a user cannot create a key above its role or for a brand it is not in, and a user key is refused on /admin', async () => {
    const above = await createKey({ name: 'escalate', brand_id: t.brand.id, role: 'admin' });
    expect(above.status).toBe(403);
    expect(above.body.error).toMatchObject({ code: 'FORBIDDEN', details: { error_code: 'PERMISSION_DENIED', allowed_roles: ['worker', 'user'] } });
    const elsewhere = await createKey({ name: 'elsewhere', brand_id: t.otherBrand.id });
    expect(elsewhere.status).toBe(403);

    const { key } = (await createKey({ name: 'plain', brand_id: t.brand.id })).body.data;
    const denied = await t.http.get('/admin/me').set(withKey(key));
    expect(denied.status).toBe(403);
    expect(denied.body.error_code).toBe('PERMISSION_DENIED');

    // Keys do not mint keys: a leaked key could otherwise outlive its revocation through its children.
    expect((await t.http.post('/api/v1/api-keys').set(withKey(key)).send({ name: 'child' })).status).toBe(403);
  });

  it('lets an admin create keys for any brand, with the admin role, scoped to that brand', async () => {
    const res = await createKey({ name: 'ops', brand_id: t.otherBrand.id, role: 'admin' }, admin);
    expect(res.status).toBe(201);
    const { key } = res.body.data;
    const me = await t.http.get('/admin/me').set(withKey(key));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: admin.id, role: 'admin' });
    // Even an admin's key acts for its own brand only.
    expect((await t.http.get('/tasks/').set({ ...withKey(key), 'X-Brand-ID': String(t.brand.id) })).status).toBe(403);
    expect((await t.http.get('/tasks/').set(withKey(key))).status).toBe(200);
    // An admin lists every key, a user their own only.
    const all = await t.http.get('/api/v1/api-keys?limit=100').set(bearer(admin));
    expect(all.body.data.some((k: Row) => k.created_by.id === t.user.id)).toBe(true);
    const mine = await t.http.get('/api/v1/api-keys?limit=100').set(bearer(t.user));
    expect(mine.body.data.every((k: Row) => k.created_by.id === t.user.id)).toBe(true);
    expect((await createKey({ name: 'bad', brand_id: 2_000_000_000 }, admin)).status).toBe(400);
  });

  it('limits a worker key to the worker endpoints', async () => {
    const { key } = (await createKey({ name: 'py worker', brand_id: t.brand.id, role: 'worker' })).body.data;
    const denied = await t.http.get('/tasks/').set(withKey(key));
    expect(denied.status).toBe(403);
    expect(denied.body.error_code).toBe('PERMISSION_DENIED');
    const workers = await t.http.get('/api/v1/workers').set(withKey(key));
    expect(workers.status).toBe(200);
  });

  it('stops working when its creator loses the brand', async () => {
    const em = t.orm.em.fork();
    const u = await ensureUser(em, `keys-leaver-${unique}`);
    await grantMembership(em, u.id, t.brand.id);
    const leaver = { id: u.id, username: u.username, token: signAccessToken(t.config, u, 3600) };
    const { key } = (await createKey({ name: 'leaver', brand_id: t.brand.id }, leaver)).body.data;
    expect((await t.http.get('/tasks/').set(withKey(key))).status).toBe(200);
    await em.execute(`delete from brand_memberships where user_id = ? and brand_id = ?`, [u.id, t.brand.id]);
    // A fresh process (no identity cache) sees it at once; others within the identity cache's few seconds.
    const fresh = request(createApp({ orm: t.orm, temporal: t.client, config: t.config }).callback());
    expect((await fresh.get('/tasks/').set(withKey(key))).status).toBe(401);
  });

  it('validates the body strictly', async () => {
    const res = await createKey({ name: '', brand_id: 'x', role: 'root', expires_in_days: 0, owner: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_REQUEST');
    expect(Object.keys(res.body.error.details.field_errors).sort()).toEqual(
      ['brand_id', 'expires_in_days', 'name', 'owner', 'role'],
    );
  });
});
