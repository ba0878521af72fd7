import Router from '@koa/router';
import { z } from 'zod';
import { AppError } from '../errors';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { loginBody } from '../schemas/auth.schemas';
import { isoTimestamp } from '../schemas/common-responses.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { AuthService } from '../services/auth.service';

const loginResult = z.strictObject({
  token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().describe('Seconds until the token expires'),
  user: z.strictObject({ id: z.number().int(), username: z.string(), role: z.enum(['user', 'admin', 'admin_viewer']) }),
});

/** The token at the top level (seed 003's `jq -r '.token'`) and, like every v1 answer, in `data`. */
export const v1LoginResponse = loginResult
  .extend({ status: z.literal('success'), data: loginResult, timestamp: isoTimestamp })
  .meta({ id: 'V1LoginResponse' });

/**
 * `POST /api/v1/auth/login` (no token needed): the AuthService of `POST /auth/login`, so the same password rules, the
 * same failed-login limits and the same audit rows; only the answer's shape differs.
 */
export function v1AuthRoutes(auth: AuthService, docs: ApiDocs): Router<AppState> {
  const router = new Router<AppState>();
  router.post(['/api/v1/auth/login', '/api/v1/auth/login/'], async (ctx) => {
    const { username, password } = parseOrThrow(loginBody, ctx.request.body ?? {});
    try {
      const result = await auth.login(username, password, ctx.ip, ctx.state.requestId);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'success', ...result, data: result, timestamp: new Date().toISOString() };
    } catch (err) {
      // Headers set here survive the error middleware, which only writes the status and the body.
      if (err instanceof AppError && err.status === 429 && typeof err.extra.retry_after === 'number') {
        ctx.set('Retry-After', String(err.extra.retry_after));
        ctx.set('X-RateLimit-Limit', String(err.extra.limit));
        ctx.set('X-RateLimit-Remaining', '0');
        // Seed 003: the Unix time at which the window resets.
        ctx.set('X-RateLimit-Reset', String(Math.ceil(Date.now() / 1000) + err.extra.retry_after));
      }
      throw err;
    }
  });
  docs.add({
    method: 'post',
    path: '/api/v1/auth/login',
    summary: 'Exchange a username and password for a Bearer token (`.token` and `.data.token`)',
    description:
      'Same rules as POST /auth/login: failed attempts limited per username (5 per 15 minutes) and per client IP (20 per ' +
      '15 minutes), then 429 RATE_LIMITED with Retry-After; every attempt audited.',
    tags: ['v1 auth'],
    public: true,
    body: loginBody,
    responses: {
      200: { description: 'The token and who it belongs to', schema: v1LoginResponse },
      400: 'INVALID_REQUEST: malformed body or unknown fields',
      401: 'UNAUTHORIZED: unknown user, wrong password, no password set, or inactive user (one answer for all)',
      429: 'RATE_LIMITED: too many failed attempts; see Retry-After',
    },
  });
  return router;
}
