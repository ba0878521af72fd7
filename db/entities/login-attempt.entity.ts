import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const LOGIN_ATTEMPT_SCOPES = ['user', 'ip'] as const;

/**
 * Failed-login counter of one username (lower-cased) or one client IP within a fixed window that starts at the
 * window's first attempt; read and written by db/repositories/login-attempt.repository.ts.
 */
export const LoginAttempt = defineEntity({
  name: 'LoginAttempt',
  tableName: 'login_attempts',
  properties: {
    scope: p.enum(() => LOGIN_ATTEMPT_SCOPES).primary(),
    key: p.string().length(160).primary(),
    windowStart: p.datetime().index(),
    failures: p.integer().default(0),
  },
});
export type ILoginAttempt = InferEntity<typeof LoginAttempt>;
