import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { insertAudit } from '../../db/repositories/audit.repository';
import {
  countLoginAttempt,
  findCredentials,
  forgiveLoginAttempt,
  setPasswordHash,
  sweepLoginAttempts,
  type UserCredentials,
} from '../../db/repositories/credentials.repository';
import type { UserRole } from '../../db/entities/user.entity';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import { signAccessToken } from './token.service';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * scrypt cost of new hashes, measured on this 2-CPU machine while other work ran: N = 2^14 (16 MiB) takes 32–66 ms per
 * hash (median 37), 2^15 takes 90–160 ms (median 99); the target is about 50 ms. Each hash stores its own parameters,
 * so raising these later re-hashes every user at their next login.
 */
export const PASSWORD_SCRYPT_PARAMS: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };
export const MIN_PASSWORD_LENGTH = 8;
/** scrypt takes any length, but an unbounded body field is free CPU for whoever sends it. */
export const MAX_PASSWORD_LENGTH = 1024;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** A stored N above this is corrupt or hostile: refusing it bounds the memory one verification can take. */
const MAX_N = 2 ** 20;

function scryptAsync(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // Node's default maxmem (32 MiB) is less than 128·N·r for N = 2^15; allow what the parameters need.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash` with base64url salt and hash. */
export async function hashPassword(password: string, params: ScryptParams = PASSWORD_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scryptAsync(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const valid = Number.isInteger(N) && N > 1 && N <= MAX_N && (N & (N - 1)) === 0 && Number.isInteger(r) && r >= 1 && r <= 32 && Number.isInteger(p) && p >= 1 && p <= 16;
  if (!valid) return null;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length === 0 || key.length === 0) return null;
  return { params: { N, r, p }, salt, key };
}

/** Compares in constant time; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await scryptAsync(password, parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

function hasCurrentParams(stored: string): boolean {
  const p = parseHash(stored)?.params;
  return p !== undefined && p.N === PASSWORD_SCRYPT_PARAMS.N && p.r === PASSWORD_SCRYPT_PARAMS.r && p.p === PASSWORD_SCRYPT_PARAMS.p;
}

/** Refuses a password the CLI would otherwise store (too short to resist guessing, or too long to hash cheaply). */
export function checkNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new Error(`a password has at most ${MAX_PASSWORD_LENGTH} characters`);
}

export interface LoginLimits {
  /** Failed attempts allowed per username (case-insensitive) within one window. */
  maxFailuresPerUser: number;
  /** Failed attempts allowed per client IP within one window. */
  maxFailuresPerIp: number;
  windowSeconds: number;
  /** Lifetime of the access token a login returns. */
  tokenTtlSeconds: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { maxFailuresPerUser: 5, maxFailuresPerIp: 20, windowSeconds: 15 * 60, tokenTtlSeconds: 8 * 3600 };

export interface LoginResult {
  token: string;
  token_type: 'Bearer';
  expires_in: number;
  user: { id: number; username: string; role: UserRole };
}

type FailureReason = 'unknown_user' | 'no_password' | 'wrong_password' | 'inactive' | 'rate_limited';

/**
 * Password login, independent of the route that exposes it (`POST /auth/login` now, `/api/v1/auth/login` later).
 * Every outcome costs one scrypt hash (a missing user or a user without a password is checked against a dummy
 * hash) and answers the same 401, so neither the answer nor its timing tells which usernames exist.
 */
export class AuthService {
  private dummyHash: Promise<string> | undefined;
  private readonly limits: LoginLimits;

  constructor(private readonly deps: { orm: MikroORM; config: Pick<AppConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>; limits?: Partial<LoginLimits> }) {
    this.limits = { ...DEFAULT_LOGIN_LIMITS, ...deps.limits };
  }

  private em(): EntityManager {
    return this.deps.orm.em.fork() as EntityManager;
  }

  async login(username: string, password: string, clientIp: string, requestId: string | null): Promise<LoginResult> {
    const { maxFailuresPerUser, maxFailuresPerIp, windowSeconds, tokenTtlSeconds } = this.limits;
    const ip = (clientIp || 'unknown').slice(0, 64);
    const em = this.em();
    const keys = { username, ip };
    // Counted before the check, atomically: concurrent guesses cannot slip past the limit between read and write.
    const counts = await countLoginAttempt(em, keys, windowSeconds);
    const exceeded = counts.filter((c) => c.failures > (c.scope === 'user' ? maxFailuresPerUser : maxFailuresPerIp));
    const user = await findCredentials(em, username);
    if (exceeded.length > 0) {
      const retryAfter = Math.max(...exceeded.map((c) => c.windowEndsInSeconds));
      await this.recordFailure(em, { username, ip, requestId, user, reason: 'rate_limited', extra: { scopes: exceeded.map((c) => c.scope) } });
      throw new AppError(ErrorCode.RATE_LIMITED, 429, `Too many failed login attempts; retry in ${retryAfter} seconds`, {
        retry_after: retryAfter,
        limit: exceeded.some((c) => c.scope === 'user') ? maxFailuresPerUser : maxFailuresPerIp,
      });
    }

    const stored = user?.passwordHash ?? null;
    const matches = await verifyPassword(password, stored ?? (await this.dummy()));
    const reason: FailureReason | null = !user ? 'unknown_user' : stored === null ? 'no_password' : !matches ? 'wrong_password' : !user.isActive ? 'inactive' : null;
    if (reason !== null || !user || stored === null) {
      await this.recordFailure(em, { username, ip, requestId, user, reason: reason ?? 'unknown_user' });
      throw new AppError(ErrorCode.AUTHENTICATION_FAILED, 401, 'Invalid username or password');
    }

    await em.transactional(async (tx) => {
      await forgiveLoginAttempt(tx, keys);
      if (!hasCurrentParams(stored)) await setPasswordHash(tx, user.id, await hashPassword(password));
      await insertAudit(tx, {
        actorId: user.id,
        actorName: user.username,
        actorRole: user.role,
        ip,
        brandId: null,
        action: 'auth.login',
        targetType: 'user',
        targetId: String(user.id),
        details: { username: user.username },
        requestId,
      });
    });
    return {
      token: signAccessToken(this.deps.config, user, tokenTtlSeconds),
      token_type: 'Bearer',
      expires_in: tokenTtlSeconds,
      user: { id: user.id, username: user.username, role: user.role },
    };
  }

  /** One hash with the current parameters, made once: what a login without a stored hash is checked against. */
  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    return this.dummyHash;
  }

  private async recordFailure(
    em: EntityManager,
    f: { username: string; ip: string; requestId: string | null; user: UserCredentials | null; reason: FailureReason; extra?: Record<string, unknown> },
  ): Promise<void> {
    await em.transactional(async (tx) => {
      await sweepLoginAttempts(tx, this.limits.windowSeconds);
      await insertAudit(tx, {
        // Nobody is authenticated: the row has no actor, the name tried is in the details.
        actorId: null,
        ip: f.ip,
        brandId: null,
        action: 'auth.login.failed',
        targetType: 'user',
        // The attempted name when no such user exists (an attacker's guesses are worth seeing), bounded by the column.
        targetId: f.user ? String(f.user.id) : f.username.slice(0, 64),
        details: { username: f.username, reason: f.reason, ...f.extra },
        requestId: f.requestId,
      });
    });
  }
}
