import { createHash } from 'node:crypto';
import type { RouterContext } from '@koa/router';
import type { AppState } from '../middleware/state';

/** A file the API serves itself (the dashboard, the API docs pages): its bytes, content type and strong ETag. */
export interface StaticAsset {
  body: Buffer;
  type: string;
  etag: string;
}

export function staticAsset(body: Buffer | string, type: string): StaticAsset {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return { body: bytes, type, etag: `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"` };
}

/**
 * Answers with the asset under the page's Content-Security-Policy. Revalidated on every load (cheap with the ETag), so
 * a deploy or an upgraded package never leaves a stale script behind a new page.
 */
export function sendStaticAsset(ctx: RouterContext<AppState>, asset: StaticAsset, contentSecurityPolicy: string): void {
  ctx.set('Content-Security-Policy', contentSecurityPolicy);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('ETag', asset.etag);
  ctx.status = 200;
  if (ctx.fresh) {
    ctx.status = 304;
    return;
  }
  ctx.type = asset.type;
  ctx.body = asset.body;
}
