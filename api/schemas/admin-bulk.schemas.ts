import { z } from 'zod';
import { ADMIN_BULK_ACTIONS, ADMIN_BULK_STATUSES } from '../../workflows/contracts/admin-bulk';
import { adminJobFilter, type AdminJobFilter } from './admin.schemas';
import { choices, priority } from './tasks.schemas';

/**
 * Admin bulk actions by filter: the dry run and the confirmed execution take the same body (the execution adds the
 * dry run's token), so the token can be checked against exactly what is asked for.
 */
const bulkFilter = adminJobFilter.refine((f) => Object.values(f).some((v) => v !== undefined), {
  message: 'Give at least one criterion: a bulk action never targets every job by default',
});

const bulkFields = {
  action: z.enum(ADMIN_BULK_ACTIONS, { error: choices(ADMIN_BULK_ACTIONS) }),
  filter: bulkFilter,
  /** Required by (and only allowed with) `reprioritize`. */
  new_priority: priority.optional(),
  /** `delete` only: a job that is still running is terminated in Temporal and deleted instead of skipped. */
  force: z.boolean().default(false),
  /** Recorded in the audit trail (and passed to each cancel). */
  reason: z.string().trim().max(500).optional(),
};

function actionRules(b: { action: string; new_priority?: string; force: boolean }, ctx: z.RefinementCtx): void {
  if (b.action === 'reprioritize' && b.new_priority === undefined) {
    ctx.addIssue({ code: 'custom', path: ['new_priority'], message: 'Required for the reprioritize action' });
  }
  if (b.action !== 'reprioritize' && b.new_priority !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['new_priority'], message: 'Only allowed with the reprioritize action' });
  }
  if (b.action !== 'delete' && b.force) {
    ctx.addIssue({ code: 'custom', path: ['force'], message: 'Only allowed with the delete action' });
  }
}

/** `POST /admin/jobs/bulk/dry-run`. */
export const adminBulkDryRunBody = z.object(bulkFields).strict().superRefine(actionRules);
export type AdminBulkDryRunBody = z.infer<typeof adminBulkDryRunBody>;

/** `POST /admin/jobs/bulk`: the dry run's body plus its token (a missing token is answered CONFIRMATION_REQUIRED). */
export const adminBulkExecuteBody = z
  .object({ ...bulkFields, confirmation_token: z.string().min(1).max(4096).optional() })
  .strict()
  .superRefine(actionRules);
export type AdminBulkExecuteBody = z.infer<typeof adminBulkExecuteBody>;

const csv = (s: string) => s.split(',').map((v) => v.trim()).filter(Boolean);

/** `GET /admin/jobs/bulk`: newest first, keyset pagination on the bulk's row id. */
export const adminBulkListQuery = z
  .object({
    status: z
      .string()
      .transform(csv)
      .pipe(z.array(z.enum(ADMIN_BULK_STATUSES, { error: choices(ADMIN_BULK_STATUSES) })).min(1))
      .optional(),
    action: z
      .string()
      .transform(csv)
      .pipe(z.array(z.enum(ADMIN_BULK_ACTIONS, { error: choices(ADMIN_BULK_ACTIONS) })).min(1))
      .optional(),
    page_size: z.coerce.number({ error: 'Must be an integer' }).int('Must be an integer').min(1).max(100, 'At most 100').default(20),
    cursor: z.coerce.number({ error: 'Invalid cursor' }).int('Invalid cursor').min(1).max(2_147_483_647).optional(),
  })
  .strict();
export type AdminBulkListQuery = z.infer<typeof adminBulkListQuery>;

/**
 * The filter in canonical form: keys sorted (by the token's JSON), list values sorted and deduplicated, so
 * `status: ["failed", "cancelled"]` and `["cancelled", "failed"]` are the same filter, and nothing else is.
 */
export function canonicalFilter(f: AdminJobFilter): AdminJobFilter {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(f)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      const unique = [...new Set(value as (string | number)[])];
      out[key] = unique.sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
    } else {
      out[key] = value;
    }
  }
  return out as AdminJobFilter;
}
