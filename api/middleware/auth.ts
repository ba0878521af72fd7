import type Koa from 'koa';
import koaJwt from 'koa-jwt';
import { LRUCache } from 'lru-cache';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import { lowerRole, type ApiKeyService } from '../services/api-key.service';
import type { IdentityService } from '../services/identity.service';
import { JWT_ALGORITHMS, type AccessClaims } from '../services/token.service';
import type { AppState } from './state';

/** Where a `worker` key may go: the worker endpoints (heartbeats of workers written in other languages). */
const WORKER_KEY_PATHS = /^\/(api\/v1\/)?workers(\/|$)/;

/**
 * Bearer JWT authentication with koa-jwt (HS256 only, so `alg: none` and algorithm swaps fail; issuer,
 * audience and `exp` required). Verifying a signature costs more than the rest of a simple request, so
 * verified claims are kept in a bounded LRU keyed by the token until its `exp`.
 *
 * Without a Bearer token, an `X-API-Key` (api/services/api-key.service.ts) authenticates instead: the key acts as its
 * creator, for its one brand only, with the lower of its role and the creator's current role. Keys are cached like
 * tokens (API_KEY_CACHE_TTL_MS: a revocation reaches every API process within that bound).
 */
export function authenticate(config: AppConfig, identity: IdentityService, apiKeys: ApiKeyService): Koa.Middleware<AppState> {
  const verified = new LRUCache<string, AccessClaims>({ max: 50_000 });
  const verify = koaJwt({
    secret: config.JWT_SECRET,
    algorithms: JWT_ALGORITHMS,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    key: 'claims',
  });

  return async (ctx, next) => {
    const header = ctx.get('authorization');
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token) {
      const apiKey = ctx.get('x-api-key');
      if (apiKey) return authenticateApiKey(ctx, next, apiKey);
      throw new AppError(ErrorCode.AUTHENTICATION_FAILED, 401, 'Authentication credentials were not provided');
    }

    let claims = verified.get(token);
    if (claims && claims.exp * 1000 <= Date.now()) {
      verified.delete(token);
      claims = undefined;
    }
    if (!claims) {
      await verify(ctx as never, async () => undefined);
      const decoded = (ctx.state as { claims?: AccessClaims }).claims;
      if (!decoded || typeof decoded.exp !== 'number' || typeof decoded.sub !== 'string') {
        throw new AppError(ErrorCode.AUTHENTICATION_FAILED, 401, 'Token must carry sub and exp');
      }
      claims = decoded;
      verified.set(token, claims, { ttl: Math.max(1, claims.exp * 1000 - Date.now()) });
    }

    const userId = Number(claims.sub);
    const principal = Number.isInteger(userId) ? await identity.principal(userId) : null;
    if (!principal || !principal.isActive) throw new AppError(ErrorCode.AUTHENTICATION_FAILED, 401, 'User not found or inactive');
    ctx.state.principal = principal;
    await next();
  };

  async function authenticateApiKey(ctx: Koa.ParameterizedContext<AppState>, next: Koa.Next, raw: string): Promise<void> {
    const key = await apiKeys.verify(raw);
    if (!key) throw new AppError(ErrorCode.AUTHENTICATION_FAILED, 401, 'Invalid, expired or revoked API key');
    const creator = await identity.principal(key.createdById);
    // A key never outlives its creator's access: deactivated, or no longer a member of the key's brand.
    if (!creator || !creator.isActive || (!creator.isAdmin && !creator.brandIds.includes(key.brandId))) {
      throw new AppError(ErrorCode.AUTHENTICATION_FAILED, 401, 'API key no longer valid: its creator is inactive or has lost access to its brand');
    }
    const role = lowerRole(key.role, creator.role);
    if (role === 'worker' && !WORKER_KEY_PATHS.test(ctx.path)) {
      throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'A worker key may only call the worker endpoints');
    }
    ctx.state.principal = {
      id: creator.id,
      username: creator.username,
      // A worker key acts as a plain member on the few routes it may call.
      role: role === 'worker' ? 'user' : role,
      isAdmin: role === 'admin',
      isActive: true,
      brandIds: [key.brandId],
    };
    ctx.state.apiKey = { id: key.id, brandId: key.brandId, role };
    apiKeys.markUsed(key.id);
    await next();
  }
}
