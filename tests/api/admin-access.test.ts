import { signAccessToken } from '../../api/services/token.service';
import { ensureUser } from '../../db/repositories/identity.repository';
import { createTestContext, type TestContext, type TestUser } from '../support/harness';
import { routeList, routerServing } from '../support/routers';

/**
 * Function-level authorization of the whole admin API, walked route by route from the router the app mounts (so a
 * route added later is covered without editing this file): no token → 401, a brand member → 403 and nothing written,
 * admin_viewer → its reads answered and every write refused with 403.
 */
describe('admin API access, every route', () => {
  let t: TestContext;
  let viewer: TestUser;
  let routes: [string, string][];

  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    const u = await ensureUser(t.orm.em.fork(), `viewer-access-${process.pid}-${Date.now()}`, 'admin_viewer');
    viewer = { id: u.id, username: u.username, token: signAccessToken(t.config, u, 3600) };
    const admin = routerServing(t.app, '/admin/me');
    expect(admin).toBeDefined();
    routes = routeList(admin!);
  });
  afterAll(() => t.close());

  /** A concrete path for a route pattern: every `:param` becomes `1`. */
  const concrete = (path: string) => path.replace(/:[A-Za-z_]+/g, '1');
  const call = (method: string, path: string, token?: string) => {
    const req = (t.http as any)[method.toLowerCase()](concrete(path));
    if (token) req.set('Authorization', `Bearer ${token}`);
    return method === 'GET' ? req : req.send({});
  };
  const auditCount = async () =>
    Number((await t.orm.em.fork().execute<{ n: string }[]>(`select count(*) as n from audit_log where actor_id in (?, ?)`, [t.user.id, viewer.id]))[0]!.n);

  it('covers the whole admin API (jobs, bulk, audit, alerts)', () => {
    const paths = routes.map(([, path]) => path);
    for (const prefix of ['/admin/jobs', '/admin/jobs/bulk', '/admin/audit', '/admin/alerts', '/admin/me']) {
      expect(paths.some((p) => p.startsWith(prefix))).toBe(true);
    }
    expect(routes.length).toBeGreaterThan(20);
  });

  it('answers 401 without a token and 403 PERMISSION_DENIED to a brand member, writing nothing', async () => {
    const before = await auditCount();
    for (const [method, path] of routes) {
      const anonymous = await call(method, path);
      expect(`${method} ${path} ${anonymous.status}`).toBe(`${method} ${path} 401`);
      const member = await call(method, path, t.user.token);
      expect(`${method} ${path} ${member.status} ${member.body.error_code}`).toBe(`${method} ${path} 403 PERMISSION_DENIED`);
    }
    expect(await auditCount()).toBe(before);
  });

  it('lets admin_viewer read (never 401/403/500) and refuses each of its writes with 403', async () => {
    for (const [method, path] of routes) {
      const res = await call(method, path, viewer.token);
      if (method === 'GET') {
        expect(`${method} ${path} ${[401, 403].includes(res.status) || res.status >= 500}`).toBe(`${method} ${path} false`);
      } else {
        expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 403`);
      }
    }
  });
});
