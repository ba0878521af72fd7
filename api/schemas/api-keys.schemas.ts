import { z } from 'zod';
import { API_KEY_ROLES } from '../../db/entities/api-key.entity';
import { MAX_EXPIRES_IN_DAYS } from '../services/api-key.service';

const choices = (values: readonly string[]) => `Invalid value. Choices: ${values.join(', ')}`;

/** POST /api/v1/api-keys: unknown fields are refused. */
export const createApiKeyBody = z
  .object({
    name: z.string({ error: 'This field is required' }).trim().min(1, 'Must not be empty').max(100, 'At most 100 characters'),
    /** Default: the caller's first brand (lowest id). */
    brand_id: z.number().int().positive().optional(),
    role: z.enum(API_KEY_ROLES, { error: choices(API_KEY_ROLES) }).default('user'),
    /** Absent or null: the key does not expire. */
    expires_in_days: z.number().int().min(1).max(MAX_EXPIRES_IN_DAYS).nullable().optional(),
  })
  .strict();
export type CreateApiKeyBody = z.infer<typeof createApiKeyBody>;

export const listApiKeysQuery = z
  .object({
    skip: z.coerce.number().int().min(0).max(1_000_000).default(0),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  })
  .strict();

export const apiKeyIdParam = z.coerce.number({ error: 'Must be an API key id (integer)' }).int().positive().max(2_147_483_647);

const iso = z.iso.datetime({ offset: true });

/** A key as lists show it: the public prefix only, never the secret nor its hash. */
export const apiKeyResponse = z
  .strictObject({
    id: z.number().int(),
    name: z.string(),
    prefix: z.string(),
    brand: z.strictObject({ id: z.number().int(), name: z.string() }),
    role: z.enum(API_KEY_ROLES),
    created_by: z.strictObject({ id: z.number().int(), username: z.string() }),
    status: z.enum(['active', 'revoked', 'expired']),
    created_at: iso,
    last_used_at: iso.nullable(),
    expires_at: iso.nullable(),
    revoked_at: iso.nullable(),
  })
  .meta({ id: 'ApiKey' });

/** The creation answer: the only time the full key is shown. */
export const createdApiKeyResponse = apiKeyResponse
  .extend({ key: z.string().describe('The full key `dtk_<prefix>_<secret>`: shown once, store it now') })
  .meta({ id: 'CreatedApiKey' });

const envelope = <T extends z.ZodType>(data: T) => z.strictObject({ status: z.literal('success'), data, timestamp: iso });

export const createApiKeyResponse = envelope(createdApiKeyResponse);
export const revokeApiKeyResponse = envelope(apiKeyResponse);
export const listApiKeysResponse = z.strictObject({
  status: z.literal('success'),
  data: z.array(apiKeyResponse),
  pagination: z.strictObject({ skip: z.number().int(), limit: z.number().int(), total: z.number().int(), pages: z.number().int() }),
  timestamp: iso,
});
