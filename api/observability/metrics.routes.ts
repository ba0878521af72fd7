import Router from '@koa/router';
import type { Registry } from 'prom-client';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';

/** GET /metrics (no auth, like /health): the registry in Prometheus text format. */
export function metricsRoutes(registry: Registry, docs: ApiDocs): Router<AppState> {
  const router = new Router<AppState>();
  docs.add({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics of this API process (HTTP durations and counts per route, Node.js process figures)',
    tags: ['operations'],
    public: true,
    responses: { 200: { description: 'The registry in Prometheus text exposition format', contentType: 'text/plain' } },
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  return router;
}
