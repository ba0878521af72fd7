import type Koa from 'koa';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from './state';

/** Reads (GET/HEAD) of the admin API are open to `admin` and `admin_viewer`. */
const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * Function-level authorization of the admin API (`/admin/...` except the dashboard page and its assets, which are
 * served before authentication): `admin` may do everything, `admin_viewer` may only read, anyone else gets 403.
 * One guard for the whole prefix, so a route added later cannot forget it.
 */
export function requireAdminRole(prefix = '/admin/'): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    if (!ctx.path.startsWith(prefix)) return next();
    const { role } = ctx.state.principal;
    if (role === 'admin' || (role === 'admin_viewer' && READ_METHODS.has(ctx.method))) return next();
    throw new AppError(
      ErrorCode.PERMISSION_DENIED,
      403,
      role === 'admin_viewer' ? 'The admin_viewer role is read-only' : 'You do not have permission to access the admin API',
      { required_role: READ_METHODS.has(ctx.method) ? ['admin', 'admin_viewer'] : ['admin'] },
    );
  };
}
