import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Brand } from './brand.entity';
import { User } from './user.entity';

/**
 * Roles a key may carry, lowest first: `worker` may only call the worker endpoints (heartbeats of workers outside
 * TypeScript); the others mean what they mean for users (db/entities/user.entity.ts).
 */
export const API_KEY_ROLES = ['worker', 'user', 'admin_viewer', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/**
 * An API key `dtk_<prefix>_<secret>`: the prefix is public (lists show it), the secret is never stored, only its
 * sha256 (`keyHash`). Acts as its creator, limited to one brand and to `role`.
 */
export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(100),
    prefix: p.string().length(16).unique(),
    keyHash: p.string().length(64),
    brand: () => p.manyToOne(Brand).deleteRule('cascade').index(),
    role: p.enum(() => API_KEY_ROLES).default('user'),
    createdBy: () => p.manyToOne(User).deleteRule('cascade').index(),
    createdAt: p.datetime(),
    /** Written at most once a minute per key: a hint for spotting unused keys, not an access log. */
    lastUsedAt: p.datetime().nullable(),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type IApiKey = InferEntity<typeof ApiKey>;

/**
 * The counters of rate-limiter-flexible's RateLimiterPostgres (api/middleware/rate-limit.ts): the library reads and
 * writes this table with its own SQL; declared here so the schema is listed in one place.
 */
export const RateLimitCounter = defineEntity({
  name: 'RateLimitCounter',
  tableName: 'rate_limits',
  properties: {
    key: p.string().length(255).primary(),
    points: p.integer().default(0),
    /** Epoch milliseconds. */
    expire: p.bigint().nullable().index(),
  },
});
export type IRateLimitCounter = InferEntity<typeof RateLimitCounter>;
