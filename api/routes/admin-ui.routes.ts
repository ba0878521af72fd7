import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router, { type RouterContext } from '@koa/router';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from '../middleware/state';
import { sendStaticAsset, staticAsset, type StaticAsset } from './static-asset';

/** The only files the page serves, with their types: a name not listed here is a 404, so no path reaches the disk. */
const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};
const INDEX = 'index.html';

/**
 * Scripts and styles from this origin only, API calls to this origin only, no framing: data shown by the page can
 * never run as code even if an escaping bug let markup through.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Where api/admin-ui/ is: beside this file's folder when run from the TypeScript sources (tests), three levels up
 * from dist/api/routes/ when run compiled (the sources stay in the repository and in the Docker image, which copies
 * the whole tree).
 */
export function adminUiDirectory(): string {
  const candidates = [join(__dirname, '..', 'admin-ui'), join(__dirname, '..', '..', '..', 'api', 'admin-ui')];
  const found = candidates.find((dir) => existsSync(join(dir, INDEX)));
  if (!found) throw new Error(`admin dashboard files not found; looked in ${candidates.join(', ')}`);
  return found;
}

type Asset = StaticAsset;

/**
 * The dashboard page (`GET /admin`, `/admin/`) and its assets (`/admin/assets/<file>`), public like a login page:
 * the data comes from the admin API with the token the page gets from `POST /auth/login`.
 */
export function adminUiRoutes(directory?: string): Router<AppState> {
  const router = new Router<AppState>();
  const cache = new Map<string, Asset>();
  // Read on first use: the files are a few kB, and an app that never serves the page never needs them.
  const load = (name: string, type: string): Asset => {
    let asset = cache.get(name);
    if (!asset) {
      asset = staticAsset(readFileSync(join(directory ?? adminUiDirectory(), name)), type);
      cache.set(name, asset);
    }
    return asset;
  };

  const send = (ctx: RouterContext<AppState>, asset: Asset) => sendStaticAsset(ctx, asset, CONTENT_SECURITY_POLICY);

  router.get(['/admin', '/admin/'], (ctx) => send(ctx, load(INDEX, 'text/html; charset=utf-8')));
  router.get('/admin/assets/:file', (ctx) => {
    const file = ctx.params.file ?? '';
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) throw new AppError(ErrorCode.NOT_FOUND, 404, 'No such dashboard asset');
    send(ctx, load(file, type));
  });
  // Deeper paths are not assets either; without this they would fall through to the token check and answer 401.
  router.get('/admin/assets/*rest', () => {
    throw new AppError(ErrorCode.NOT_FOUND, 404, 'No such dashboard asset');
  });
  return router;
}
