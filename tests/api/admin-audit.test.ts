import { insertAudit } from '../../db/repositories/audit.repository';
import { ensureUser } from '../../db/repositories/identity.repository';
import { signAccessToken } from '../../api/services/token.service';
import { createTestContext, type TestContext, type TestUser } from '../support/harness';

const ALERTS = '/tasks/monitoring/alerts';

/** GET /admin/audit and /admin/audit/verify on the real app and database; audit rows commit or roll back with their change. */
describe('admin audit trail (/admin/audit)', () => {
  let t: TestContext;
  let admin: TestUser;
  let viewer: TestUser;
  const marker = `audit-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    const em = t.orm.em.fork();
    const mk = async (name: string, role: 'admin' | 'admin_viewer'): Promise<TestUser> => {
      const u = await ensureUser(em, `${name}-${marker}`, role);
      return { id: u.id, username: u.username, token: signAccessToken(t.config, u, 3600) };
    };
    admin = await mk('auditor', 'admin');
    viewer = await mk('audit-viewer', 'admin_viewer');
  });
  afterAll(async () => {
    await t.close();
  });

  const bearer = (u: TestUser) => ({ Authorization: `Bearer ${u.token}` });
  const audit = (query: string, as: TestUser = viewer) => t.http.get(`/admin/audit?${query}`).set(bearer(as));
  const rule = (name: string) => ({ name, metric_field: 'execution_time_ms', condition: 'gt', threshold: 1000 });

  it('is refused to a plain user (403) and open to admin_viewer and admin (200)', async () => {
    for (const path of ['/admin/audit', '/admin/audit/', '/admin/audit/verify']) {
      const denied = await t.http.get(path).set(bearer(t.user));
      expect(denied.status).toBe(403);
      expect(denied.body).toMatchObject({ error_code: 'PERMISSION_DENIED' });
      expect((await t.http.get(path).set(bearer(viewer))).status).toBe(200);
      expect((await t.http.get(path).set(bearer(admin))).status).toBe(200);
    }
    expect((await t.http.get('/admin/audit')).status).toBe(401);
  });

  it('shows who changed what through a real route: actor, role, brand, target, before/after, request id, ip, chain hashes', async () => {
    const name = `${marker}-rule`;
    const created = await t.http.post(`${ALERTS}/`).set(t.headers()).set('X-Request-ID', `${marker}-req`).send(rule(name));
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    expect((await t.http.patch(`${ALERTS}/${id}/`).set(t.headers()).send({ threshold: 2500 })).status).toBe(200);
    expect((await t.http.delete(`${ALERTS}/${id}/`).set(t.headers())).status).toBe(204);

    const res = await audit(`target_type=alert_rule&target_id=${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ next: null, previous: null });
    expect(res.body.results.map((r: any) => r.action)).toEqual(['alert_rule.delete', 'alert_rule.update', 'alert_rule.create']);
    const [deleted, updated, create] = res.body.results;
    expect(create).toMatchObject({
      actor: { id: t.user.id, username: t.user.username, role: 'user' },
      brand_id: t.brand.id,
      target_type: 'alert_rule',
      target_id: id,
      before: null,
      after: { name, metric_field: 'execution_time_ms', condition: 'gt', threshold: 1000 },
      details: { name },
      request_id: `${marker}-req`,
    });
    expect(typeof create.ip).toBe('string');
    expect(create.occurred_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(create.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(create.prev_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(updated).toMatchObject({ before: { threshold: 1000 }, after: { threshold: 2500 } });
    expect(deleted).toMatchObject({ before: { name, state: 'ok' } });
    // Newest first, ids descending.
    expect(deleted.id).toBeGreaterThan(updated.id);
    expect(updated.id).toBeGreaterThan(create.id);
  });

  it('filters by actor (id or username), action (exact or prefix*), brand and time', async () => {
    const name = `${marker}-filters`;
    const created = await t.http.post(`${ALERTS}/`).set(t.headers()).send(rule(name));
    const id = String(created.body.id);
    await t.http.patch(`${ALERTS}/${id}/`).set(t.headers()).send({ threshold: 5 });
    // Ids of different target types collide (another test's persistent job 17): always scope by both.
    const scope = `target_type=alert_rule&target_id=${id}`;
    const mine = (body: any) => body.results.map((r: any) => r.action);

    const both = ['alert_rule.update', 'alert_rule.create'];
    expect(mine((await audit(`actor=${t.user.id}&${scope}`)).body)).toEqual(both);
    expect(mine((await audit(`actor=${t.user.username}&${scope}`)).body)).toEqual(both);
    expect((await audit(`actor=${admin.id}&${scope}`)).body.results).toEqual([]);
    expect((await audit(`actor=${t.outsider.username}&${scope}`)).body.results).toEqual([]);
    expect(mine((await audit(`action=alert_rule.create&${scope}`)).body)).toEqual(['alert_rule.create']);
    expect(mine((await audit(`action=alert_rule.*&${scope}`)).body)).toEqual(both);
    expect(mine((await audit(`action=alert_*&${scope}`)).body)).toEqual(both);
    // Without `*` the action is exact.
    expect((await audit(`action=alert_rule.creat&${scope}`)).body.results).toEqual([]);
    expect((await audit(`action=task.*&${scope}`)).body.results).toEqual([]);
    expect(mine((await audit(`brand_id=${t.brand.id}&${scope}`)).body)).toEqual(both);
    expect((await audit(`brand_id=${t.otherBrand.id}&${scope}`)).body.results).toEqual([]);

    const createdAt = (await audit(`action=alert_rule.create&${scope}`)).body.results[0].occurred_at as string;
    const ms = Date.parse(createdAt);
    expect(mine((await audit(`since=${new Date(ms - 1000).toISOString()}&until=${new Date(ms + 60_000).toISOString()}&${scope}`)).body)).toContain(
      'alert_rule.create',
    );
    expect((await audit(`since=${new Date(ms + 60_000).toISOString()}&${scope}`)).body.results).toEqual([]);
    expect((await audit(`until=${new Date(ms - 1000).toISOString()}&${scope}`)).body.results).toEqual([]);
  });

  it('pages with opaque cursors both ways (DRF CursorPagination), newest first, page_size at most 200', async () => {
    const targetId = `${marker}-paging`;
    const em = t.orm.em.fork();
    for (let i = 0; i < 7; i++) {
      await insertAudit(em, { actorId: null, actorName: 'cli:test', brandId: null, action: 'test.page', targetType: 'test', targetId, details: { i }, requestId: null });
    }
    const q = `target_id=${targetId}&page_size=3`;
    const p1 = await audit(q);
    expect(p1.status).toBe(200);
    expect(p1.body.results.map((r: any) => r.details.i)).toEqual([6, 5, 4]);
    expect(p1.body.previous).toBeNull();
    expect(p1.body.next).toMatch(/^\/admin\/audit\?.*cursor=/);
    expect(p1.body.next).toContain(`target_id=${targetId}`);
    expect(p1.body.results[0].actor).toEqual({ id: null, username: 'cli:test', role: null });

    const p2 = await t.http.get(p1.body.next).set(bearer(viewer));
    expect(p2.body.results.map((r: any) => r.details.i)).toEqual([3, 2, 1]);
    const p3 = await t.http.get(p2.body.next).set(bearer(viewer));
    expect(p3.body.results.map((r: any) => r.details.i)).toEqual([0]);
    expect(p3.body.next).toBeNull();
    const back = await t.http.get(p3.body.previous).set(bearer(viewer));
    expect(back.body.results.map((r: any) => r.details.i)).toEqual([3, 2, 1]);
    const first = await t.http.get(back.body.previous).set(bearer(viewer));
    expect(first.body.results.map((r: any) => r.details.i)).toEqual([6, 5, 4]);
    expect(first.body.previous).toBeNull();
    expect(first.body.next).not.toBeNull();

    expect((await audit('page_size=201')).status).toBe(400);
    expect((await audit('page_size=200')).status).toBe(200);
    const bad = await audit('cursor=not-a-cursor');
    expect(bad.status).toBe(400);
    expect(bad.body.field_errors).toHaveProperty('cursor');
    const unknown = await audit('colour=red');
    expect(unknown.status).toBe(400);
    expect(unknown.body.field_errors).toHaveProperty('colour');
    expect((await audit('since=yesterday')).status).toBe(400);
    expect((await audit('action=task.*.x*')).status).toBe(400);
  });

  it('GET /admin/audit/verify walks the whole chain and finds it intact', async () => {
    const em = t.orm.em.fork();
    const total = Number((await em.execute<{ n: string }[]>(`select count(*) as n from audit_log`))[0]!.n);
    const res = await t.http.get('/admin/audit/verify').set(bearer(viewer));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, first_broken: null });
    expect(res.body.checked).toBeGreaterThanOrEqual(total);
    const last = Number((await em.execute<{ id: string }[]>(`select max(id)::text as id from audit_log`))[0]!.id);
    const tail = await t.http.get(`/admin/audit/verify?from_id=${last}`).set(bearer(viewer));
    expect(tail.body).toMatchObject({ ok: true, first_broken: null });
    expect(tail.body.checked).toBeGreaterThanOrEqual(1);
    expect((await t.http.get('/admin/audit/verify?from_id=abc').set(bearer(viewer))).status).toBe(400);
  });

  it('rolls the change and its audit row back together when the audit insert fails', async () => {
    const name = `${marker}-rollback`;
    const trigger = `audit_log_test_fail_${process.pid}`;
    const em = t.orm.em.fork();
    // Fails only this test's row: other test files share the database and keep auditing meanwhile.
    await em.execute(
      `create function ${trigger}() returns trigger language plpgsql as $$
       begin
         if NEW.action = 'alert_rule.create' and NEW.details->>'name' = '${name}' then raise exception 'audit refused (test)'; end if;
         return NEW;
       end $$`,
    );
    await em.execute(`create trigger ${trigger} before insert on audit_log for each row execute function ${trigger}()`);
    try {
      const res = await t.http.post(`${ALERTS}/`).set(t.headers()).send(rule(name));
      expect(res.status).toBe(500);
      expect(res.body.detail).toBeDefined();
      expect(JSON.stringify(res.body)).not.toContain('audit refused');
    } finally {
      await em.execute(`drop trigger if exists ${trigger} on audit_log`);
      await em.execute(`drop function if exists ${trigger}()`);
    }
    const rules = await em.execute<{ n: number }[]>(`select count(*)::int as n from alert_rules where name = ?`, [name]);
    expect(rules[0]!.n).toBe(0);
    const rows = await em.execute<{ n: number }[]>(`select count(*)::int as n from audit_log where details->>'name' = ?`, [name]);
    expect(rows[0]!.n).toBe(0);
    // The same request succeeds once the trigger is gone: rule and audit row both there.
    const ok = await t.http.post(`${ALERTS}/`).set(t.headers()).send(rule(name));
    expect(ok.status).toBe(201);
    expect((await audit(`action=alert_rule.create&target_id=${ok.body.id}`)).body.results).toHaveLength(1);
  });
});
