import type Koa from 'koa';
import { AppError, ErrorCode } from '../errors';
import type { IdentityService } from '../services/identity.service';
import type { AppState } from './state';

const forbidden = () => new AppError(ErrorCode.PERMISSION_DENIED, 403, 'You do not have permission to access this brand');

/**
 * The brand of a public API v1 request (seed 003 sends no X-Brand-ID), in this order:
 * 1. an API key's brand (`ctx.state.apiKey.brandId`, set by the authentication): the key acts for it only, so an
 *    X-Brand-ID naming another brand is 403;
 * 2. `X-Brand-ID` when given: one of the caller's brands (admins: any existing brand), else 403;
 * 3. the caller's default brand: the lowest id among their memberships (no stored preference: a membership change
 *    moves it at once); a caller without any membership gets 403.
 * Everything after this reads `ctx.state.brand` only, as on /tasks/.
 */
export function v1Brand(identity: IdentityService): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const raw = ctx.get('x-brand-id').trim();
    const { principal, apiKey } = ctx.state;
    let brandId: number;
    if (apiKey) {
      if (raw && raw !== String(apiKey.brandId)) {
        throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'This API key is scoped to another brand', { api_key_brand_id: apiKey.brandId });
      }
      brandId = apiKey.brandId;
    } else if (raw) {
      if (!/^\d{1,9}$/.test(raw)) throw AppError.validation({ 'X-Brand-ID': ['Must be a brand id (integer)'] }, 'Invalid X-Brand-ID header');
      brandId = Number(raw);
      if (!principal.brandIds.includes(brandId) && !principal.isAdmin) throw forbidden();
    } else {
      const first = principal.brandIds[0];
      if (first === undefined) {
        throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'You belong to no brand: ask an administrator for a membership');
      }
      brandId = first;
    }
    const brand = await identity.brand(brandId);
    if (!brand) throw forbidden();
    ctx.state.brand = brand;
    await next();
  };
}
