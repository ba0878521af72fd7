import type Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import { openApiPath } from '../../api/openapi/openapi-document';
import { createTestContext, type TestContext } from '../support/harness';
import { routeList, routerServing } from '../support/routers';

/** Every `METHOD /path` a router answers, in the document's spelling. */
function routesOf(router: Router): string[] {
  return [...new Set(routeList(router).map(([method, path]) => `${method.toLowerCase()} ${openApiPath(path)}`))].sort();
}

describe('GET /openapi.json', () => {
  let t: TestContext;
  let doc: { openapi: string; info: Record<string, string>; paths: Record<string, Record<string, any>>; components: any };
  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    const res = await t.http.get('/openapi.json'); // public: no token
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    doc = res.body;
  });
  afterAll(async () => {
    await t.close();
  });

  it('is a valid OpenAPI 3.1 document titled and versioned from package.json', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // The validator is not vacuous: the same document with a malformed operation is refused.
    const broken = structuredClone(doc);
    broken.paths['/admin/me']!.get.security = 'everyone';
    expect((await new Validator().validate(broken)).valid).toBe(false);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pkg = require('../../package.json') as { name: string; version: string };
    expect(doc.info).toMatchObject({ title: pkg.name, version: pkg.version });
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents every route of the admin router with its method', () => {
    const admin = routerServing(t.app, '/admin/me');
    expect(admin).toBeDefined();
    const served = routesOf(admin!);
    expect(served.length).toBeGreaterThan(1);
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    const undocumented = served.filter((r) => !documented.has(r));
    expect(undocumented).toEqual([]); // names each admin route registered without docs.add

    // The check sees a route registered without docs.add (on this test's own app).
    admin!.post('/admin/undocumented/:thing', (ctx) => {
      ctx.status = 204;
    });
    expect(routesOf(admin!).filter((r) => !documented.has(r))).toEqual(['post /admin/undocumented/{thing}']);
  });

  it('renders an admin operation: bearer security, x-roles, path and query parameters from the validating schemas', () => {
    const me = doc.paths['/admin/me']!.get;
    expect(me).toMatchObject({ security: [{ bearerAuth: [] }], 'x-roles': ['admin', 'admin_viewer'], tags: ['admin'] });
    expect(me.responses['403'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorBody' });

    const withQuery = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.values(ops).filter((op: any) => path.startsWith('/admin/') && op.parameters?.some((p: any) => p.in === 'query')),
    );
    expect(withQuery.length).toBeGreaterThan(0);
    for (const op of withQuery) for (const p of op.parameters) expect(p).toMatchObject({ name: expect.any(String), schema: expect.any(Object) });

    const withId = Object.keys(doc.paths).filter((p) => p.startsWith('/admin/') && p.includes('{'));
    for (const path of withId) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(doc.paths[path]!)) {
        expect(op.parameters.filter((p: any) => p.in === 'path').map((p: any) => p.name)).toEqual(names);
      }
    }
  });

  it('documents itself as public', () => {
    expect(doc.paths['/openapi.json']!.get.security).toEqual([]);
  });
});
