import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createApp } from '../../api/app';
import { AuthService, hashPassword, PASSWORD_SCRYPT_PARAMS, verifyPassword } from '../../api/services/auth.service';
import { setPasswordHash } from '../../db/repositories/credentials.repository';
import { ensureUser } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext } from '../support/harness';

type Row = Record<string, any>;

describe('password login (POST /auth/login)', () => {
  let t: TestContext;
  const unique = `${process.pid}-${Date.now()}`;
  const PASSWORD = 'correct horse battery staple';
  let admin: { id: number; username: string };
  let inactive: { id: number; username: string };
  let noPassword: { id: number; username: string };
  let ipSeq = 0;
  /** Each test logs in from addresses of its own, so the per-IP limit of one test never blocks another. */
  const newIp = () => `198.51.100.${++ipSeq}`;

  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    // As behind a reverse proxy: the client address comes from X-Forwarded-For, so a test can log in from any IP.
    t.app.proxy = true;
    const em = t.orm.em.fork();
    const withPassword = async (name: string, role?: 'admin') => {
      const u = await ensureUser(em, name, role);
      await setPasswordHash(em, u.id, await hashPassword(PASSWORD));
      return u;
    };
    admin = await withPassword(`login-admin-${unique}`, 'admin');
    inactive = await withPassword(`login-inactive-${unique}`);
    await em.execute(`update users set is_active = false where id = ?`, [inactive.id]);
    noPassword = await ensureUser(em, `login-nopass-${unique}`);
    await setPasswordHash(em, t.user.id, await hashPassword(PASSWORD));
  });
  afterAll(async () => {
    await t.close();
  });

  const login = (body: Row, ip: string, requestId = randomUUID()) =>
    t.http.post('/auth/login').set('X-Forwarded-For', ip).set('X-Request-ID', requestId).send(body);

  const auditOf = async (requestId: string): Promise<Row[]> =>
    t.orm.em.fork().execute(
      `select action, actor_id, actor_name, actor_role, ip, target_type, target_id, details, brand_id from audit_log where request_id = ? order by id`,
      [requestId],
    );

  it('answers a token for the right password, usable on the API, and audits the login with who, role and IP', async () => {
    const ip = newIp();
    const requestId = randomUUID();
    const res = await login({ username: admin.username, password: PASSWORD }, ip, requestId);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 8 * 3600,
      user: { id: admin.id, username: admin.username, role: 'admin' },
    });
    const claims = jwt.decode(res.body.token) as Row;
    expect(claims).toMatchObject({ sub: String(admin.id), username: admin.username, iss: t.config.JWT_ISSUER, aud: t.config.JWT_AUDIENCE });
    expect(claims.exp - claims.iat).toBe(8 * 3600);

    const me = await t.http.get('/admin/me').set('Authorization', `Bearer ${res.body.token}`);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: admin.id, role: 'admin', can_write: true });

    expect(await auditOf(requestId)).toEqual([
      {
        action: 'auth.login',
        actor_id: admin.id,
        actor_name: admin.username,
        actor_role: 'admin',
        ip,
        target_type: 'user',
        target_id: String(admin.id),
        details: { username: admin.username },
        brand_id: null,
      },
    ]);
  });

  it("gives a plain user a token for its brands' API (the dashboard then shows access denied)", async () => {
    const res = await login({ username: t.user.username, password: PASSWORD }, newIp());
    expect(res.status).toBe(200);
    expect(res.body.user).toEqual({ id: t.user.id, username: t.user.username, role: 'user' });
    const auth = { Authorization: `Bearer ${res.body.token}` };
    expect((await t.http.get('/tasks/').set({ ...auth, 'X-Brand-ID': String(t.brand.id) })).status).toBe(200);
    const denied = await t.http.get('/admin/me').set(auth);
    expect(denied.status).toBe(403);
    expect(denied.body.error_code).toBe('PERMISSION_DENIED');
  });

  it.each([
    ['a wrong password', () => ({ username: admin.username, password: 'wrong password!' }), 'wrong_password', () => String(admin.id)],
    ['an unknown username', () => ({ username: `ghost-${unique}`, password: PASSWORD }), 'unknown_user', () => `ghost-${unique}`],
    ['an inactive user with the right password', () => ({ username: inactive.username, password: PASSWORD }), 'inactive', () => String(inactive.id)],
    ['a user without a password', () => ({ username: noPassword.username, password: PASSWORD }), 'no_password', () => String(noPassword.id)],
  ])('refuses %s with the same 401 AUTHENTICATION_FAILED, and audits the reason', async (_name, body, reason, targetId) => {
    const ip = newIp();
    const requestId = randomUUID();
    const res = await login(body(), ip, requestId);
    expect(res.status).toBe(401);
    // One answer for every reason: the response does not tell which usernames exist.
    expect(res.body).toEqual({ detail: 'Invalid username or password', error_code: 'AUTHENTICATION_FAILED' });
    expect(await auditOf(requestId)).toEqual([
      {
        action: 'auth.login.failed',
        actor_id: null,
        actor_name: null,
        actor_role: null,
        ip,
        target_type: 'user',
        target_id: targetId(),
        details: { username: body().username, reason },
        brand_id: null,
      },
    ]);
  });

  it('is documented in /openapi.json as a public operation with its body schema', async () => {
    const res = await t.http.get('/openapi.json');
    expect(res.status).toBe(200);
    const op = res.body.paths['/auth/login'].post;
    expect(op.security).toEqual([]);
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '401', '429']));
    expect(JSON.stringify(op.requestBody)).toContain('password');
  });

  it.each([
    ['an unknown field', { username: 'a', password: 'b', role: 'admin' }, 'role'],
    ['no password', { username: 'a' }, 'password'],
    ['an empty username', { username: '', password: 'b' }, 'username'],
    ['a 2000-character password', { username: 'a', password: 'x'.repeat(2000) }, 'password'],
  ])('answers 400 with field_errors to %s (strict body)', async (_name, body, field) => {
    const res = await login(body, newIp());
    expect(res.status).toBe(400);
    expect(res.body.field_errors).toHaveProperty(field);
  });

  it('after 5 failures for a username answers 429 RATE_LIMITED with Retry-After, even for the right password and another case', async () => {
    const em = t.orm.em.fork();
    const u = await ensureUser(em, `login-locked-${unique}`);
    await setPasswordHash(em, u.id, await hashPassword(PASSWORD));
    const ip = newIp();
    for (let i = 0; i < 5; i++) expect((await login({ username: u.username, password: `wrong-${i}` }, ip)).status).toBe(401);
    const requestId = randomUUID();
    const blocked = await login({ username: u.username, password: PASSWORD }, newIp(), requestId);
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({ error_code: 'RATE_LIMITED', retry_after: expect.any(Number), limit: 5 });
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(15 * 60 - 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(blocked.headers['x-ratelimit-remaining']).toBe('0');
    expect(blocked.headers['x-ratelimit-limit']).toBe('5');
    expect((await auditOf(requestId))[0]).toMatchObject({ action: 'auth.login.failed', details: { reason: 'rate_limited', scopes: ['user'] } });
    // Case variants share the counter.
    expect((await login({ username: u.username.toUpperCase(), password: PASSWORD }, newIp())).status).toBe(429);
    // Other users are not affected, from the same IP either.
    expect((await login({ username: t.user.username, password: PASSWORD }, ip)).status).toBe(200);
  });

  it('a successful login clears the username count, so only failures in a row lock it', async () => {
    const em = t.orm.em.fork();
    const u = await ensureUser(em, `login-reset-${unique}`);
    await setPasswordHash(em, u.id, await hashPassword(PASSWORD));
    const ip = newIp();
    for (let i = 0; i < 4; i++) expect((await login({ username: u.username, password: 'nope-nope' }, ip)).status).toBe(401);
    expect((await login({ username: u.username, password: PASSWORD }, ip)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await login({ username: u.username, password: 'nope-nope' }, ip)).status).toBe(401);
    expect((await login({ username: u.username, password: PASSWORD }, ip)).status).toBe(429);
  });

  it('after 20 failures from one IP answers 429 to that IP for any username; other IPs still log in', async () => {
    const ip = newIp();
    for (let i = 0; i < 20; i++) expect((await login({ username: `spray-${i}-${unique}`, password: 'guess-guess' }, ip)).status).toBe(401);
    const blocked = await login({ username: t.user.username, password: PASSWORD }, ip);
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({ error_code: 'RATE_LIMITED', limit: 20 });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login({ username: t.user.username, password: PASSWORD }, newIp())).status).toBe(200);
  });

  it('counts in PostgreSQL: concurrent guesses spread over two API processes get exactly 5 tries', async () => {
    const em = t.orm.em.fork();
    const u = await ensureUser(em, `login-race-${unique}`);
    await setPasswordHash(em, u.id, await hashPassword(PASSWORD));
    const second = createApp({ orm: t.orm, temporal: t.client, config: t.config, logger: { error: () => undefined } });
    second.proxy = true;
    const apps = [t.http, request.agent(second.callback())];
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        apps[i % 2]!.post('/auth/login').set('X-Forwarded-For', newIp()).send({ username: u.username, password: `wrong-${i}` }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(7).fill(429)]);
  });

  it('starts a new window once the old one is over', async () => {
    const auth = new AuthService({ orm: t.orm, config: t.config, limits: { maxFailuresPerUser: 2, windowSeconds: 2 } });
    const ip = newIp();
    const attempt = (password: string) => auth.login(admin.username.toUpperCase() + '-window', password, ip, null).then(
      () => 200,
      (err: { status: number }) => err.status,
    );
    expect([await attempt('a'), await attempt('b'), await attempt('c')]).toEqual([401, 401, 429]);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await attempt('d')).toBe(401);
  });

  it('stores scrypt$N$r$p$salt$hash, verifies only the right password, and re-hashes an older cost at the next login', async () => {
    const stored = await hashPassword('s3cret-pass');
    expect(stored).toMatch(new RegExp(`^scrypt\\$${PASSWORD_SCRYPT_PARAMS.N}\\$8\\$1\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`));
    expect(await hashPassword('s3cret-pass')).not.toBe(stored); // salted
    expect(await verifyPassword('s3cret-pass', stored)).toBe(true);
    expect(await verifyPassword('s3cret-pasS', stored)).toBe(false);
    for (const broken of ['', 'bcrypt$x', stored.replace(`$${PASSWORD_SCRYPT_PARAMS.N}$`, '$1000$'), stored.replace(/\$[^$]+$/, '$'), `scrypt$${2 ** 24}$8$1$c2FsdA$aGFzaA`]) {
      expect(await verifyPassword('s3cret-pass', broken)).toBe(false);
    }

    const em = t.orm.em.fork();
    const u = await ensureUser(em, `login-rehash-${unique}`);
    await setPasswordHash(em, u.id, await hashPassword(PASSWORD, { N: 2 ** 10, r: 8, p: 1 }));
    expect((await login({ username: u.username, password: PASSWORD }, newIp())).status).toBe(200);
    const [row] = await em.execute<{ password_hash: string }[]>(`select password_hash from users where id = ?`, [u.id]);
    expect(row!.password_hash.startsWith(`scrypt$${PASSWORD_SCRYPT_PARAMS.N}$8$1$`)).toBe(true);
    expect(await verifyPassword(PASSWORD, row!.password_hash)).toBe(true);
  });
});
