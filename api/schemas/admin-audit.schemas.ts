import { z } from 'zod';
import { isoInstant } from './tasks.schemas';

export const AUDIT_PAGE_MAX = 200;

const intText = z.coerce.number({ error: 'Must be an integer' }).int('Must be an integer').min(1).max(Number.MAX_SAFE_INTEGER);

/** `GET /admin/audit`: filters, keyset cursor (opaque) and page size; newest first. */
export const adminAuditQuery = z
  .object({
    /** A user id, or a name (the username recorded with the row, `cli:<os user>`, or the user's current username). */
    actor: z.string().trim().min(1).max(150).optional(),
    /** Exact action (`task.retry`), or a prefix ending in `*` (`task.*`). */
    action: z
      .string()
      .trim()
      .min(1)
      .max(65)
      .regex(/^[A-Za-z0-9_.:-]*\*?$/, 'An action name (letters, digits, `_ . : -`), optionally ending with `*` for a prefix')
      .optional(),
    target_type: z.string().trim().min(1).max(32).optional(),
    target_id: z.string().trim().min(1).max(64).optional(),
    brand_id: intText.pipe(z.number().max(2_147_483_647)).optional(),
    /** occurred_at >= since */
    since: isoInstant.optional(),
    /** occurred_at < until */
    until: isoInstant.optional(),
    cursor: z.string().max(128).optional(),
    page_size: intText.pipe(z.number().max(AUDIT_PAGE_MAX, `At most ${AUDIT_PAGE_MAX}`)).default(50),
  })
  .strict();
export type AdminAuditQuery = z.infer<typeof adminAuditQuery>;

/** `GET /admin/audit/verify`: from the first row, or from `from_id` (its predecessor's stored hash is trusted). */
export const adminAuditVerifyQuery = z
  .object({
    from_id: intText.optional(),
  })
  .strict();
export type AdminAuditVerifyQuery = z.infer<typeof adminAuditVerifyQuery>;

const summary = z.record(z.string(), z.unknown()).nullable();

export const auditRowSchema = z.object({
  id: z.number().int(),
  occurred_at: z.string(),
  actor: z.object({ id: z.number().int().nullable(), username: z.string().nullable(), role: z.string().nullable() }).nullable(),
  brand_id: z.number().int().nullable(),
  action: z.string(),
  target_type: z.string(),
  target_id: z.string(),
  before: summary,
  after: summary,
  details: z.record(z.string(), z.unknown()),
  request_id: z.string().nullable(),
  ip: z.string().nullable(),
  hash: z.string(),
  prev_hash: z.string(),
});

export const auditPageSchema = z.object({
  next: z.string().nullable(),
  previous: z.string().nullable(),
  results: z.array(auditRowSchema),
});

export const auditVerifySchema = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  first_broken: z.object({ id: z.number().int(), reason: z.enum(['hash_mismatch', 'prev_hash_mismatch']) }).nullable(),
});
