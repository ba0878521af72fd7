import Router from '@koa/router';
import type { Registry } from 'prom-client';
import type { AppState } from '../middleware/state';

/** GET /metrics (no auth, like /health): the registry in Prometheus text format. */
export function metricsRoutes(registry: Registry): Router<AppState> {
  const router = new Router<AppState>();
  router.get('/metrics', async (ctx) => {
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  return router;
}
