import Router from '@koa/router';
import type { AppConfig } from '../config';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';

export type AdminRouteRegistration = (router: Router<AppState>, docs: ApiDocs) => void;

export interface AdminRouteDeps {
  config: AppConfig;
  docs: ApiDocs;
  /** The other admin areas (jobs, bulk actions, audit, alerts): each registers its routes and their docs. */
  extra: AdminRouteRegistration[];
}

/**
 * The admin back office API (seed 002) under `/admin/`: every brand at once, so no X-Brand-ID; the role guard
 * (middleware/admin-role.ts) runs before it for the whole prefix.
 */
export function adminRoutes(deps: AdminRouteDeps): Router<AppState> {
  const router = new Router<AppState>();
  const { config, docs } = deps;

  router.get(['/admin/me', '/admin/me/'], (ctx) => {
    const { principal } = ctx.state;
    ctx.body = {
      id: principal.id,
      username: principal.username,
      role: principal.role,
      can_write: principal.role === 'admin',
      temporal_ui_url: config.TEMPORAL_UI_URL,
      namespace: config.TEMPORAL_NAMESPACE,
    };
  });
  docs.add({
    method: 'get',
    path: '/admin/me',
    summary: 'Who the caller is in the back office (role, whether it may change anything, Temporal Web UI address)',
    tags: ['admin'],
    roles: ['admin', 'admin_viewer'],
    responses: { 200: 'The caller', 403: 'Not an administrator' },
  });

  for (const register of deps.extra) register(router, docs);
  return router;
}
