import jwt from 'jsonwebtoken';
import type { AppConfig } from '../config';

export const JWT_ALGORITHMS: jwt.Algorithm[] = ['HS256'];

export interface AccessClaims {
  sub: string;
  username: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
}

/** Mints a short-lived access token (admin CLI, tests, later the login endpoint). */
export function signAccessToken(
  config: Pick<AppConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
  user: { id: number; username: string },
  ttlSeconds = 3600,
): string {
  return jwt.sign({ username: user.username }, config.JWT_SECRET, {
    algorithm: 'HS256',
    subject: String(user.id),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    expiresIn: ttlSeconds,
  });
}
