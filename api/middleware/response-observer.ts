import { Stream } from 'node:stream';
import type Koa from 'koa';
import { routeLabel } from '../observability/http';
import type { AppState } from './state';

/** One answered request as the client receives it, with the route template that answered it. */
export interface ObservedResponse {
  method: string;
  /** The @koa/router path template (`/tasks/:id`, trailing slash dropped), or `unmatched`. */
  route: string;
  path: string;
  status: number;
  contentType: string;
  /** The JSON body as sent; undefined for an empty, streamed or non-JSON body. */
  body?: unknown;
  /** Why `body` is missing when the response has one (`stream`, `binary`, `text`). */
  bodyKind: 'json' | 'empty' | 'stream' | 'binary' | 'text';
}

/**
 * Hands every response to `observe` once the error middleware has rendered it: the test suite records them to check
 * each against /openapi.json. Only registered when createApp is given an observer (never in production).
 */
export function responseObserver(observe: (response: ObservedResponse) => void): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    await next();
    const base = { method: ctx.method, route: routeLabel(ctx), path: ctx.path, status: ctx.status, contentType: ctx.response.type };
    const body: unknown = ctx.body;
    if (body === undefined || body === null) observe({ ...base, bodyKind: 'empty' });
    else if (body instanceof Stream) observe({ ...base, bodyKind: 'stream' });
    else if (Buffer.isBuffer(body)) observe({ ...base, bodyKind: 'binary' });
    else if (typeof body === 'string') {
      if (!/json/.test(base.contentType)) observe({ ...base, bodyKind: 'text' });
      else observe({ ...base, bodyKind: 'json', body: parseJson(body) });
    }
    // Round-tripped, so dates and toJSON() read exactly as the client gets them.
    else observe({ ...base, bodyKind: 'json', body: JSON.parse(JSON.stringify(body)) as unknown });
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
