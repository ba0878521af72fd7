import type Router from '@koa/router';
import type Koa from 'koa';

/**
 * The routers mounted on an app: `router.routes()` is a middleware that carries its router, so tests walk what the
 * app really serves, not a list that could drift from it.
 */
export function mountedRouters(app: Koa): Router[] {
  return (app.middleware as unknown as { router?: Router }[]).flatMap((m) => (m.router ? [m.router] : []));
}

/** The router that serves `path` (e.g. the admin router, found by `/admin/me`). */
export function routerServing(app: Koa, path: string): Router | undefined {
  return mountedRouters(app).find((r) => r.stack.some((l) => l.path === path));
}

/** Every `[METHOD, path]` a router answers (Koa spelling, `:params` kept; HEAD and OPTIONS left out; middleware skipped). */
export function routeList(router: Router): [string, string][] {
  const out = new Map<string, [string, string]>();
  for (const layer of router.stack) {
    if (typeof layer.path !== 'string') continue;
    for (const method of layer.methods) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      out.set(`${method} ${layer.path}`, [method, layer.path]);
    }
  }
  return [...out.values()].sort((a, b) => `${a[1]} ${a[0]}`.localeCompare(`${b[1]} ${b[0]}`));
}
