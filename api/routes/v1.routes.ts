import Router from '@koa/router';
import type Koa from 'koa';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import { v1Brand } from '../middleware/v1-brand';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import type { IdentityService } from '../services/identity.service';
import type { MetricsService } from '../services/metrics.service';
import type { TaskService } from '../services/task.service';
import { V1DashboardService } from '../services/v1-dashboard.service';
import type { WorkerRegistryService } from '../services/worker-registry.service';
import { v1AnalyticsRoutes } from './v1-analytics.routes';
import { v1TaskRoutes } from './v1-tasks.routes';
import { v1WorkerRoutes } from './v1-workers.routes';

/**
 * The public API v1 of seed 003 that needs a token (login is public: v1-auth.routes.ts): tasks, workers, analytics.
 * Mounted after authentication and before the admin guard and `brandScope`: v1 resolves its brand itself (v1Brand).
 */
export function v1Routes(
  deps: { tasks: TaskService; workers: WorkerRegistryService; metrics: MetricsService; identity: IdentityService; config: AppConfig },
  docs: ApiDocs,
): Router<AppState> {
  const router = new Router<AppState>();
  const brand = v1Brand(deps.identity);
  const areas = [
    v1TaskRoutes({ tasks: deps.tasks, config: deps.config, brand }),
    v1WorkerRoutes({ workers: deps.workers }),
    v1AnalyticsRoutes({ metrics: deps.metrics, dashboard: new V1DashboardService({ metrics: deps.metrics, workers: deps.workers }), brand }),
  ];
  for (const register of areas) register(router, docs);
  return router;
}

const isV1Path = (path: string) => path === '/api/v1' || path.startsWith('/api/v1/') || path === '/workers/status' || path === '/workers/status/';

/**
 * After every v1 router: a v1 path no route answered is 404 NOT_FOUND, or 405 with `Allow` when the path exists for
 * other methods (OPTIONS: 204 with `Allow`). Without it the request would fall through to the brand-scoped /tasks/
 * routers and be refused for a missing X-Brand-ID.
 */
export function v1Fallback(): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    if (!isV1Path(ctx.path)) return next();
    const matched = (ctx as unknown as { matched?: { methods: string[] }[] }).matched ?? [];
    const allowed = [...new Set(matched.flatMap((layer) => layer.methods))];
    if (allowed.length === 0) throw new AppError(ErrorCode.NOT_FOUND, 404, `No route for ${ctx.method} ${ctx.path}`);
    ctx.set('Allow', [...allowed, 'OPTIONS'].join(', '));
    if (ctx.method === 'OPTIONS') {
      ctx.status = 204;
      return;
    }
    throw new AppError(ErrorCode.METHOD_NOT_ALLOWED, 405, `Method ${ctx.method} not allowed on ${ctx.path}`, { allowed_methods: allowed });
  };
}
