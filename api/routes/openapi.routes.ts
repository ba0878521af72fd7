import Router from '@koa/router';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { buildOpenApiDocument } from '../openapi/openapi-document';

/**
 * `GET /openapi.json`, public. Mounted before the routers whose docs it renders (they are registered behind the
 * authentication middleware), so the document is built on the first request, once every router has filled `docs`.
 */
export function openApiRoutes(docs: ApiDocs): Router<AppState> {
  const router = new Router<AppState>();
  docs.add({
    method: 'get',
    path: '/openapi.json',
    summary: 'This OpenAPI 3.1 document, generated from the zod schemas the routes validate with',
    tags: ['docs'],
    public: true,
    responses: { 200: 'The document' },
  });
  let document: string | undefined;
  router.get('/openapi.json', (ctx) => {
    document ??= JSON.stringify(buildOpenApiDocument(docs));
    ctx.type = 'application/json';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = document;
  });
  return router;
}
