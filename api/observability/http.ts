import type Koa from 'koa';
import type { Logger } from '../middleware/error-handler';
import type { AppState } from '../middleware/state';
import { httpRequestDuration, httpRequestsTotal } from './metrics';

/** The @koa/router path template that answered (`/tasks/:id`), trailing slash dropped; `unmatched` when none did. */
export function routeLabel(ctx: Koa.Context): string {
  const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
  if (matched === undefined) return 'unmatched';
  const route = String(matched);
  return route.length > 1 ? route.replace(/\/+$/, '') : route;
}

/**
 * Per request: `http_request_duration_seconds` + `http_requests_total` {method, route, status_class}, and one info log
 * line with request_id, method, route, path, status, duration_ms. Registered right after requestContext, outside the
 * error handler, so it sees the status the client gets. Requests answered before routing (401 from authentication,
 * 404 for no route) are labelled `route="unmatched"`.
 */
export function httpObservability(logger: Logger): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    let status: number | undefined;
    try {
      await next();
    } catch (err) {
      const s = (err as { status?: unknown } | null)?.status;
      status = typeof s === 'number' && s >= 400 && s < 600 ? s : 500;
      throw err;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      status ??= ctx.status;
      const route = routeLabel(ctx);
      const labels = { method: ctx.method, route, status_class: `${Math.floor(status / 100)}xx` };
      httpRequestDuration.observe(labels, seconds);
      httpRequestsTotal.inc(labels);
      logger.info?.(
        { request_id: ctx.state.requestId, method: ctx.method, route, path: ctx.path, status, duration_ms: Math.round(seconds * 10_000) / 10 },
        'request',
      );
    }
  };
}
