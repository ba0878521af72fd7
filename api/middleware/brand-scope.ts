import type Koa from 'koa';
import { AppError, ErrorCode } from '../errors';
import type { IdentityService } from '../services/identity.service';
import type { AppState } from './state';

/**
 * `X-Brand-ID` (seed 000): required on brand-scoped routes and must be a brand the caller belongs to
 * (admins may act for any existing brand); an API key forces its own brand. Everything after this reads `ctx.state.brand` only.
 */
export function brandScope(identity: IdentityService): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const raw = ctx.get('x-brand-id').trim();
    const { apiKey } = ctx.state;
    // An API key acts for its own brand only: X-Brand-ID may be left out, and may not name another brand.
    if (apiKey) {
      if (raw && raw !== String(apiKey.brandId)) {
        throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'This API key is scoped to another brand', { api_key_brand_id: apiKey.brandId });
      }
      const brand = await identity.brand(apiKey.brandId);
      if (!brand) throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'You do not have permission to access this brand');
      ctx.state.brand = brand;
      return next();
    }
    if (!raw) throw AppError.validation({ 'X-Brand-ID': ['This header is required'] }, 'X-Brand-ID header is required');
    if (!/^\d{1,9}$/.test(raw)) throw AppError.validation({ 'X-Brand-ID': ['Must be a brand id (integer)'] }, 'Invalid X-Brand-ID header');
    const brandId = Number(raw);
    const { principal } = ctx.state;
    const member = principal.brandIds.includes(brandId);
    const brand = member || principal.isAdmin ? await identity.brand(brandId) : null;
    if (!brand) throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'You do not have permission to access this brand');
    ctx.state.brand = brand;
    await next();
  };
}
