import request from 'supertest';
import { createApp } from '../../api/app';
import type { AppConfig } from '../../api/config';
import { signAccessToken } from '../../api/services/token.service';
import { ensureUser, grantMembership } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext, type TestUser } from '../support/harness';

type Row = Record<string, any>;

describe('rate limits (per API key or user, shared by API processes)', () => {
  let t: TestContext;
  let seq = 0;
  const unique = `${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    t = await createTestContext({ worker: false });
  });
  afterAll(() => t.close());

  /** A fresh member of the test brand: each test spends a budget of its own. */
  const newUser = async (): Promise<TestUser> => {
    const em = t.orm.em.fork();
    const u = await ensureUser(em, `rl-${unique}-${seq++}`);
    await grantMembership(em, u.id, t.brand.id);
    return { id: u.id, username: u.username, token: signAccessToken(t.config, u, 3600) };
  };
  /** An API process with these limits (a second createApp on the same database is a second process's app). */
  const apiProcess = (limits: Partial<AppConfig>) =>
    request(createApp({ orm: t.orm, temporal: t.client, config: { ...t.config, ...limits }, logger: { error: () => undefined } }).callback());
  const headersOf = (u: TestUser) => ({ Authorization: `Bearer ${u.token}`, 'X-Brand-ID': String(t.brand.id) });

  it('answers the 101st request in a minute with 429, Retry-After and the X-RateLimit headers', async () => {
    const api = apiProcess({ RATE_LIMIT_PER_MINUTE: 100, RATE_LIMIT_PER_HOUR: 1000 });
    const u = await newUser();
    const before = Math.floor(Date.now() / 1000);
    for (let i = 1; i <= 100; i++) {
      const res = await api.get('/tasks/?page_size=1').set(headersOf(u));
      expect([i, res.status]).toEqual([i, 200]);
      expect([i, res.headers['x-ratelimit-limit'], res.headers['x-ratelimit-remaining']]).toEqual([i, '100', String(100 - i)]);
      const reset = Number(res.headers['x-ratelimit-reset']);
      expect(reset).toBeGreaterThanOrEqual(before + 59);
      expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 60);
    }
    const refused = await api.get('/tasks/?page_size=1').set(headersOf(u));
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error_code: 'RATE_LIMITED', limit: 100, window_seconds: 60 });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers['x-ratelimit-limit']).toBe('100');
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(refused.headers['x-ratelimit-reset'])).toBeGreaterThan(before);

    // Another caller is not affected.
    expect((await api.get('/tasks/?page_size=1').set(headersOf(await newUser()))).status).toBe(200);
  });

  it('renders the 429 in the v1 envelope under /api/v1', async () => {
    const api = apiProcess({ RATE_LIMIT_PER_MINUTE: 2, RATE_LIMIT_PER_HOUR: 1000 });
    const u = await newUser();
    for (let i = 0; i < 2; i++) expect((await api.get('/api/v1/api-keys').set(headersOf(u))).status).toBe(200);
    const refused = await api.get('/api/v1/api-keys').set(headersOf(u));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.body).toMatchObject({ status: 'error', error: { code: 'RATE_LIMITED' } });
  });

  it('does not count the back-office requests of a Bearer token (/admin/), but counts its API calls', async () => {
    const api = apiProcess({ RATE_LIMIT_PER_MINUTE: 2, RATE_LIMIT_PER_HOUR: 1000 });
    const em = t.orm.em.fork();
    const a = await ensureUser(em, `rl-admin-${unique}`, 'admin');
    const admin = { Authorization: `Bearer ${signAccessToken(t.config, a, 3600)}` };
    for (let i = 0; i < 5; i++) expect((await api.get('/admin/me').set(admin)).status).toBe(200);
    // The same admin's API calls are still limited.
    for (let i = 0; i < 2; i++) expect((await api.get('/api/v1/api-keys').set(admin)).status).toBe(200);
    expect((await api.get('/api/v1/api-keys').set(admin)).status).toBe(429);
  });

  it('shares one budget between two API processes', async () => {
    const limits = { RATE_LIMIT_PER_MINUTE: 100, RATE_LIMIT_PER_HOUR: 1000 };
    const a = apiProcess(limits);
    const b = apiProcess(limits);
    const u = await newUser();
    // Concurrent requests from both processes: exactly 100 get through, whatever the interleaving.
    const statuses = await Promise.all(
      Array.from({ length: 130 }, (_, i) => (i % 2 === 0 ? a : b).get('/tasks/?page_size=1').set(headersOf(u)).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    // Each process refuses from then on, including one that has not refused yet on its own.
    expect((await a.get('/tasks/?page_size=1').set(headersOf(u))).status).toBe(429);
    expect((await b.get('/tasks/?page_size=1').set(headersOf(u))).status).toBe(429);
  });

  it('gives concurrent requests of one caller distinct places in the window (one upsert shared by many)', async () => {
    const api = apiProcess({ RATE_LIMIT_PER_MINUTE: 100, RATE_LIMIT_PER_HOUR: 1000 });
    const u = await newUser();
    const responses = await Promise.all(Array.from({ length: 60 }, () => api.get('/tasks/?page_size=1').set(headersOf(u))));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const remaining = responses.map((r) => Number(r.headers['x-ratelimit-remaining'])).sort((a, b) => a - b);
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => 40 + i));
  });

  it('limits per hour too, and reports the window closest to exhaustion', async () => {
    const api = apiProcess({ RATE_LIMIT_PER_MINUTE: 100, RATE_LIMIT_PER_HOUR: 5 });
    const u = await newUser();
    for (let i = 1; i <= 5; i++) {
      const res = await api.get('/tasks/?page_size=1').set(headersOf(u));
      expect([res.status, res.headers['x-ratelimit-limit'], res.headers['x-ratelimit-remaining']]).toEqual([200, '5', String(5 - i)]);
    }
    const refused = await api.get('/tasks/?page_size=1').set(headersOf(u));
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error_code: 'RATE_LIMITED', limit: 5, window_seconds: 3600 });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(3500);
    expect(refused.headers['x-ratelimit-limit']).toBe('5');
  });

  it('counts an API key apart from its creator, and puts the headers on refused brand access too', async () => {
    const api = apiProcess({ RATE_LIMIT_PER_MINUTE: 3, RATE_LIMIT_PER_HOUR: 1000 });
    const u = await newUser();
    const created = await api.post('/api/v1/api-keys').set(headersOf(u)).send({ name: 'rl', brand_id: t.brand.id });
    expect(created.status).toBe(201);
    const key = created.body.data.key as string;
    for (let i = 0; i < 3; i++) expect((await api.get('/tasks/?page_size=1').set({ 'X-API-Key': key })).status).toBe(200);
    expect((await api.get('/tasks/?page_size=1').set({ 'X-API-Key': key })).status).toBe(429);
    // The user's own budget: one request spent (the creation).
    const own = await api.get('/tasks/?page_size=1').set(headersOf(u));
    expect([own.status, own.headers['x-ratelimit-remaining']]).toEqual([200, '1']);
    const forbidden = await api.get('/tasks/').set({ ...headersOf(u), 'X-Brand-ID': String(t.otherBrand.id) });
    expect([forbidden.status, forbidden.headers['x-ratelimit-remaining']]).toEqual([403, '0']);
    // Unauthenticated requests are not counted (and carry no headers).
    const anonymous = await api.get('/tasks/');
    expect([anonymous.status, anonymous.headers['x-ratelimit-limit']]).toEqual([401, undefined]);
  });

  it('answers refusals of an exhausted minute from memory, spending nothing of the hour budget', async () => {
    const api = apiProcess({ RATE_LIMIT_PER_MINUTE: 2, RATE_LIMIT_PER_HOUR: 1000 });
    const u = await newUser();
    const hourPoints = async (): Promise<number> => {
      const rows = await t.orm.em.fork().execute<Row[]>(`select points from rate_limits where key = ?`, [`rl_hour:user:${u.id}`]);
      return Number(rows[0]?.points ?? 0);
    };
    for (let i = 0; i < 3; i++) await api.get('/tasks/?page_size=1').set(headersOf(u));
    const spent = await hourPoints();
    // The request that spent the last point of the minute also blocked the caller in memory: the third never reached the database.
    expect(spent).toBe(2);
    for (let i = 0; i < 5; i++) expect((await api.get('/tasks/?page_size=1').set(headersOf(u))).status).toBe(429);
    expect(await hourPoints()).toBe(spent);
  });
});
