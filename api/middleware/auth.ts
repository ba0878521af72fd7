import type Koa from 'koa';
import koaJwt from 'koa-jwt';
import { LRUCache } from 'lru-cache';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import type { IdentityService } from '../services/identity.service';
import { JWT_ALGORITHMS, type AccessClaims } from '../services/token.service';
import type { AppState } from './state';

/**
 * Bearer JWT authentication with koa-jwt (HS256 only, so `alg: none` and algorithm swaps fail; issuer,
 * audience and `exp` required). Verifying a signature costs more than the rest of a simple request, so
 * verified claims are kept in a bounded LRU keyed by the token until its `exp`.
 */
export function authenticate(config: AppConfig, identity: IdentityService): Koa.Middleware<AppState> {
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
    if (!token) throw new AppError(ErrorCode.AUTHENTICATION_FAILED, 401, 'Authentication credentials were not provided');

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
}
