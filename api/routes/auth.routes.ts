import Router from '@koa/router';
import { AppError } from '../errors';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { loginBody, loginResponse } from '../schemas/auth.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { AuthService } from '../services/auth.service';

/** `POST /auth/login` (no token needed: it is how one gets a token). */
export function authRoutes(auth: AuthService, docs: ApiDocs): Router<AppState> {
  const router = new Router<AppState>();
  router.post(['/auth/login', '/auth/login/'], async (ctx) => {
    const { username, password } = parseOrThrow(loginBody, ctx.request.body);
    try {
      ctx.body = await auth.login(username, password, ctx.ip, ctx.state.requestId);
    } catch (err) {
      // Headers set here survive the error middleware, which only writes the status and the body.
      if (err instanceof AppError && err.status === 429 && typeof err.extra.retry_after === 'number') {
        ctx.set('Retry-After', String(err.extra.retry_after));
        ctx.set('X-RateLimit-Limit', String(err.extra.limit));
        ctx.set('X-RateLimit-Remaining', '0');
        ctx.set('X-RateLimit-Reset', String(err.extra.retry_after));
      }
      throw err;
    }
    ctx.set('Cache-Control', 'no-store');
  });
  docs.add({
    method: 'post',
    path: '/auth/login',
    summary: 'Exchange a username and password for a Bearer access token',
    description:
      'Failed attempts are limited per username (5 per 15 minutes) and per client IP (20 per 15 minutes); past the limit the ' +
      'answer is 429 RATE_LIMITED with Retry-After, even for the right password. Every attempt is audited.',
    tags: ['auth'],
    public: true,
    body: loginBody,
    responses: {
      200: { description: 'The token and who it belongs to', schema: loginResponse },
      400: 'Malformed body (unknown fields included)',
      401: 'AUTHENTICATION_FAILED: unknown user, wrong password, no password set, or inactive user (one answer for all)',
      429: 'RATE_LIMITED: too many failed attempts; see Retry-After',
    },
  });
  return router;
}
