import type Router from '@koa/router';
import { Validator } from '@seriousme/openapi-schema-validator';
import { openApiPath } from '../../api/openapi/openapi-document';
import { createTestContext, type TestContext } from '../support/harness';
import { checkResponses } from '../support/response-check';
import { mountedRouters, routeList, routerServing } from '../support/routers';

/** Every `METHOD /path` a router answers, in the document's spelling. */
function routesOf(router: Router): string[] {
  return [...new Set(routeList(router).map(([method, path]) => `${method.toLowerCase()} ${openApiPath(path)}`))].sort();
}

/**
 * Served paths that are not API operations, so the document leaves them out: web pages and their static files. Every
 * other route of every mounted router must be documented.
 */
const NOT_API = new Set([
  // The admin dashboard page and its script and style (api/routes/admin-ui.routes.ts); its data comes from /admin/... (documented).
  'get /admin',
  'get /admin/assets/{file}',
  'get /admin/assets/{rest}',
  // Swagger UI and ReDoc (api/routes/api-docs-ui.routes.ts): pages rendering /openapi.json, their start-up scripts and bundles.
  'get /docs',
  'get /docs/swagger-init.js',
  'get /docs/assets/{file}',
  'get /redoc',
  'get /redoc/redoc-init.js',
  'get /redoc/assets/{file}',
  'get /docs/{rest}',
  'get /redoc/{rest}',
]);

describe('GET /openapi.json', () => {
  let t: TestContext;
  let doc: { openapi: string; info: Record<string, string>; paths: Record<string, Record<string, any>>; components: any };
  let documented: Set<string>;
  beforeAll(async () => {
    t = await createTestContext({ worker: false });
    const res = await t.http.get('/openapi.json'); // public: no token
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    doc = res.body;
    documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
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
    expect(doc.components.securitySchemes.apiKeyAuth).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
  });

  it('documents every route of every mounted router with its method (web pages aside)', () => {
    const routers = mountedRouters(t.app);
    expect(routers.length).toBeGreaterThan(8);
    const served = [...new Set(routers.flatMap(routesOf))].sort();
    expect(served.length).toBeGreaterThan(100);
    const undocumented = served.filter((r) => !documented.has(r) && !NOT_API.has(r));
    expect(undocumented).toEqual([]); // names each route registered without docs.add
    // The allow-list holds only paths that are really served, and none that the document also lists.
    expect([...NOT_API].filter((r) => !served.includes(r))).toEqual([]);
    expect([...NOT_API].filter((r) => documented.has(r))).toEqual([]);
    // Nor does the document list an operation nothing serves (a docs.add left behind by a removed route).
    expect([...documented].filter((r) => !served.includes(r))).toEqual([]);
  });

  it('sees a route registered without docs.add (on this test’s own app)', () => {
    const admin = routerServing(t.app, '/admin/me')!;
    admin.post('/admin/undocumented/:thing', (ctx) => {
      ctx.status = 204;
    });
    const undocumented = mountedRouters(t.app).flatMap(routesOf).filter((r) => !documented.has(r) && !NOT_API.has(r));
    expect(undocumented).toEqual(['post /admin/undocumented/{thing}']);
  });

  it('renders an operation: security, x-roles, path and query parameters from the validating schemas', () => {
    const me = doc.paths['/admin/me']!.get;
    expect(me).toMatchObject({ security: [{ bearerAuth: [] }, { apiKeyAuth: [] }], 'x-roles': ['admin', 'admin_viewer'], tags: ['admin'] });
    expect(me.responses['403'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorBody' });
    expect(me.responses['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorBody' });

    const withQuery = Object.values(doc.paths).flatMap((ops) => Object.values(ops).filter((op: any) => op.parameters?.some((p: any) => p.in === 'query')));
    expect(withQuery.length).toBeGreaterThan(20);
    for (const op of withQuery) {
      for (const p of op.parameters) expect(p).toMatchObject({ name: expect.any(String), schema: expect.any(Object) });
      expect(op.responses['400']).toBeDefined();
    }

    for (const path of Object.keys(doc.paths).filter((p) => p.includes('{'))) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(doc.paths[path]!)) {
        expect([path, op.parameters.filter((p: any) => p.in === 'path').map((p: any) => p.name)]).toEqual([path, names]);
      }
    }
  });

  it('answers errors in the format of the path: {detail, error_code} on /tasks/, the v1 envelope under /api/v1/', () => {
    const task = doc.paths['/tasks/{id}']!.get;
    expect(task.responses['404'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorBody' });
    expect(doc.components.schemas.ErrorBody).toMatchObject({ required: ['detail', 'error_code'] });
    const v1 = Object.entries(doc.paths).filter(([p]) => p.startsWith('/api/v1/'));
    expect(v1.length).toBeGreaterThan(0);
    for (const [, ops] of v1) {
      for (const op of Object.values(ops)) {
        expect(op.responses['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/V1ErrorEnvelope' });
      }
    }
    expect(doc.components.schemas.V1ErrorEnvelope.properties.error.properties.code.enum).toContain('INVALID_REQUEST');
  });

  it('gives the main responses exact schemas (named components, no unlisted field)', () => {
    const json = (path: string, method: string, status: number) => doc.paths[path]![method].responses[String(status)].content['application/json'].schema;
    expect(json('/tasks', 'get', 200).properties.results.items).toEqual({ $ref: '#/components/schemas/Task' });
    expect(json('/tasks', 'post', 201)).toEqual({ $ref: '#/components/schemas/TaskDetail' });
    expect(json('/tasks/persistent-jobs/persistent-jobs/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/PersistentJob' });
    expect(json('/tasks/scheduled/periodic-tasks/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/PeriodicTask' });
    expect(json('/tasks/monitoring/alerts/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/AlertRule' });
    expect(json('/tasks/monitoring/workers/{id}', 'get', 200)).toEqual({ $ref: '#/components/schemas/Worker' });
    expect(json('/admin/jobs', 'get', 200).properties.results.items).toEqual({ $ref: '#/components/schemas/AdminJob' });
    for (const name of ['Task', 'TaskDetail', 'PersistentJob', 'PeriodicTask', 'CronJob', 'AlertRule', 'Worker', 'AdminJob', 'FailedJob']) {
      expect([name, doc.components.schemas[name].additionalProperties]).toEqual([name, false]);
    }
  });

  it('checks recorded responses against the document, and the check is not vacuous', async () => {
    const list = await t.http.get('/tasks/?page_size=2').set(t.headers());
    expect(list.status).toBe(200);
    const record = (body: unknown, status = 200) => ({
      method: 'GET',
      route: '/tasks/',
      path: '/tasks/',
      status,
      contentType: 'application/json',
      bodyKind: 'json' as const,
      body,
    });
    expect(checkResponses(doc, [record(list.body)])).toMatchObject({ recorded: 1, checked: 1, failures: [] });

    const task = {
      id: 1,
      task_id: 'task_x',
      task_type: 'noop',
      name: null,
      status: 'pending',
      priority: 'normal',
      description: '',
      progress_percentage: 0,
      brand: { id: 1, name: 'b' },
      created_by: { id: 1, username: 'u' },
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
      started_at: null,
      completed_at: null,
      scheduled_for: null,
      context_data: {},
      result_data: null,
      error_message: null,
      retry_count: 0,
      max_retries: 3,
      timeout_minutes: null,
    };
    const page = (results: unknown[]) => ({ count: results.length, next: null, previous: null, results });
    expect(checkResponses(doc, [record(page([task]))]).failures).toEqual([]);
    // A field the schema does not list, a wrong type, a missing field: each fails, named by route and status.
    for (const wrong of [{ ...task, surprise: true }, { ...task, id: '1' }, { ...task, task_id: undefined }, { ...task, created_at: 'yesterday' }]) {
      const report = checkResponses(doc, [record(page([wrong]))]);
      expect(report.failures).toHaveLength(1);
      expect(report.failures[0]).toMatchObject({ operation: 'get /tasks 200', count: 1 });
      expect(report.failures[0]!.example.errors[0]).toMatch(/^\/results\/0/);
    }
    // Errors too: a 404 of /tasks/{id} must be {detail, error_code}.
    const missing = await t.http.get('/tasks/999999999/').set(t.headers());
    const notFound = { ...record(missing.body, 404), route: '/tasks/:id/', path: '/tasks/999999999/' };
    expect(checkResponses(doc, [notFound]).failures).toEqual([]);
    expect(checkResponses(doc, [{ ...notFound, body: { message: 'nope' } }]).failures).toHaveLength(1);
  });

  it('documents itself as public', () => {
    expect(doc.paths['/openapi.json']!.get.security).toEqual([]);
  });

  describe('Swagger UI at /docs and ReDoc at /redoc', () => {
    for (const [page, bundle] of [
      ['/docs', '/docs/assets/swagger-ui-bundle.js'],
      ['/redoc', '/redoc/assets/redoc.standalone.js'],
    ] as const) {
      it(`${page} is a public HTML page whose scripts and styles load from this origin`, async () => {
        const res = await t.http.get(page);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
        expect(res.headers['content-security-policy']).toMatch(/connect-src 'self'/);
        expect((await t.http.get(`${page}/`)).status).toBe(200);
        const html = res.text;
        const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
        expect(refs).toContain(bundle);
        expect(html).not.toMatch(/<script>(?!<\/script>)/); // no inline script (the CSP would block it)
        for (const ref of refs) {
          expect(ref.startsWith('/')).toBe(true); // nothing from a CDN
          const asset = await t.http.get(ref).buffer(true);
          expect([ref, asset.status]).toEqual([ref, 200]);
          expect(asset.headers['content-type']).toMatch(ref.endsWith('.js') ? /javascript/ : ref.endsWith('.css') ? /text\/css/ : /image\/png/);
          expect(Number(asset.headers['content-length'] ?? (asset.body as Buffer).length)).toBeGreaterThan(0);
          if (/init\.js$/.test(ref)) expect(String(asset.text ?? (asset.body as Buffer).toString())).toContain("'/openapi.json'");
        }
        // Revalidation with the ETag.
        const again = await t.http.get(bundle).set('If-None-Match', (await t.http.get(bundle)).headers.etag!);
        expect(again.status).toBe(304);
      });
    }

    it('serves only the allow-listed package files', async () => {
      for (const path of [
        '/docs/assets/package.json',
        '/docs/assets/..%2F..%2Fpackage.json',
        '/docs/assets/index.html',
        '/redoc/assets/redoc.standalone.js.map',
        '/docs/assets/a/b.js',
        '/redoc/anything',
      ]) {
        const res = await t.http.get(path);
        expect([path, res.status, res.body.error_code]).toEqual([path, 404, 'NOT_FOUND']);
      }
    });
  });
});
