import type { RouterContext } from '@koa/router';
import type { AppState } from '../middleware/state';
import type { Actor } from '../services/task.service';

export type Ctx = RouterContext<AppState>;

/** Every path answers with and without its trailing slash (the seeds write both). */
export const both = (path: string): string[] => [path, `${path}/`];

/** Who acts, for which brand, in which request: what services need for rules and audit rows. */
export function actorOf(ctx: Ctx): Actor {
  return {
    userId: ctx.state.principal.id,
    username: ctx.state.principal.username,
    brandId: ctx.state.brand.id,
    brandName: ctx.state.brand.name,
    requestId: ctx.state.requestId,
    role: ctx.state.principal.role,
    ip: ctx.ip || null,
  };
}

/** An administrator acting on another brand's object (admin routes carry no X-Brand-ID): the object's brand. */
export function adminActorFor(ctx: Ctx, brand: { id: number; name: string }): Actor {
  return {
    userId: ctx.state.principal.id,
    username: ctx.state.principal.username,
    brandId: brand.id,
    brandName: brand.name,
    requestId: ctx.state.requestId,
    role: ctx.state.principal.role,
    ip: ctx.ip || null,
  };
}

/** A DRF-style page link: the same path and query with another page, or null. */
export function pageLink(ctx: Ctx, page: number | null): string | null {
  if (page === null) return null;
  const params = new URLSearchParams(ctx.querystring);
  params.set('page', String(page));
  return `${ctx.path}?${params.toString()}`;
}
