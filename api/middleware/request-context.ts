import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { AppState } from './state';

/** A request id for logs and 500 answers: the caller's X-Request-ID if sane, else a new one; echoed back. */
export function requestContext(): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    ctx.state.requestId = /^[\w.-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-ID', ctx.state.requestId);
    await next();
  };
}
