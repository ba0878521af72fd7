import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ADMIN_BULK_ACTIONS, ADMIN_BULK_STATUSES, type AdminBulkItemResult } from '../../workflows/contracts/admin-bulk';
import { User } from './user.entity';

/**
 * An admin bulk action by filter (retry, cancel, delete, reprioritize across brands), confirmed with its dry run's
 * token and run by the `adminBulkWorkflow` whose workflow id is `bulkId`. Counts and the cursor `lastTaskId` are
 * written together after each page: the row is where a resume starts.
 */
export const AdminBulkAction = defineEntity({
  name: 'AdminBulkAction',
  tableName: 'admin_bulk_actions',
  properties: {
    id: p.integer().primary().autoincrement(),
    bulkId: p.text().unique(),
    action: p.enum(() => ADMIN_BULK_ACTIONS),
    /** The canonical admin job filter (api/schemas/admin.schemas.ts `adminJobFilter`) the token was bound to. */
    filter: p.json<Record<string, unknown>>(),
    newPriority: p.string().length(16).nullable(),
    /** Delete only: terminate a job that is still running instead of skipping it. */
    force: p.boolean().default(false),
    reason: p.text().nullable(),
    /** The dry run's snapshot: only jobs with an id up to this one are touched. */
    maxTaskId: p.integer(),
    totalAtDryRun: p.integer(),
    processed: p.integer().default(0),
    succeeded: p.integer().default(0),
    skipped: p.integer().default(0),
    failed: p.integer().default(0),
    /** Cursor: the id of the last job handled (jobs are taken in id order). */
    lastTaskId: p.integer().default(0),
    status: p.enum(() => ADMIN_BULK_STATUSES).default('running'),
    createdBy: () => p.manyToOne(User),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    finishedAt: p.datetime().nullable(),
    lastError: p.text().nullable(),
    /** The first skipped or failed items, with their reasons. */
    errors: p.json<AdminBulkItemResult[]>().default('[]'),
  },
});
export type IAdminBulkAction = InferEntity<typeof AdminBulkAction>;
