import { z } from 'zod';
import { TASK_PRIORITIES, TASK_STATUSES, type TaskPriority } from '../contracts/task-types';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `bulk_operations`: cancels, retries or re-prioritises a list or a filter of the brand's tasks with exactly the
 * REST API's rules (the activity calls TaskService as the bulk task's creator, in the bulk task's brand). One
 * activity resolves the targets, then each batch of `batch_size` items is one activity call that heartbeats per
 * item: a worker crash costs at most the batch in flight, and the workflow keeps every item's result.
 */
export const BULK_OPERATIONS = ['cancel', 'retry', 'reprioritize'] as const;
export type BulkOperation = (typeof BULK_OPERATIONS)[number];
export const BULK_MAX_TARGETS = 1000;

const isoInstant = z.iso.datetime({ offset: true });
/** An integer `id` or a `task_id`, as `GET /tasks/{id}/` accepts. */
const taskRef = z.union([z.number().int().min(1).max(2_147_483_647), z.string().trim().min(1).max(64)]);

export const bulkFilterSchema = z
  .object({
    status: z.array(z.enum(TASK_STATUSES)).min(1).optional(),
    task_type: z.array(z.string().min(1).max(64)).min(1).optional(),
    priority: z.array(z.enum(TASK_PRIORITIES)).min(1).optional(),
    created_after: isoInstant.optional(),
    created_before: isoInstant.optional(),
  })
  .strict()
  .refine((f) => Object.values(f).some((v) => v !== undefined), 'Give at least one of status, task_type, priority, created_after, created_before');
export type BulkFilter = z.infer<typeof bulkFilterSchema>;

export const bulkOperationsContextSchema = z
  .object({
    operation: z.enum(BULK_OPERATIONS),
    task_ids: z.array(taskRef).min(1).max(BULK_MAX_TARGETS).optional(),
    filter: bulkFilterSchema.optional(),
    new_priority: z.enum(TASK_PRIORITIES).optional(),
    /** Recorded in the audit trail of each cancel. */
    reason: z.string().max(500).optional(),
    batch_size: z.number().int().min(1).max(200).default(25),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.task_ids !== undefined && c.filter !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['filter'], message: 'Give either task_ids or filter, not both' });
    }
    if (c.task_ids === undefined && c.filter === undefined) {
      ctx.addIssue({ code: 'custom', path: ['task_ids'], message: 'Required: give task_ids or filter' });
    }
    if (c.operation === 'reprioritize' && c.new_priority === undefined) {
      ctx.addIssue({ code: 'custom', path: ['new_priority'], message: 'Required for the reprioritize operation' });
    }
    if (c.operation !== 'reprioritize' && c.new_priority !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['new_priority'], message: 'Only allowed with the reprioritize operation' });
    }
  });
export type BulkOperationsContext = z.infer<typeof bulkOperationsContextSchema>;

/** One target, resolved in the bulk task's brand: `id`/`task_id` are null when the reference matched nothing there. */
export interface BulkTarget {
  ref: string;
  id: number | null;
  task_id: string | null;
}

export interface BulkActor {
  userId: number;
  username: string;
  brandId: number;
  brandName: string;
}

export interface BulkTargets {
  targets: BulkTarget[];
  /** More than BULK_MAX_TARGETS tasks matched the filter; only the first ones (by id) were processed. */
  truncated: boolean;
  actor: BulkActor;
}

export type BulkItemOutcome = 'done' | 'skipped' | 'failed';

export interface BulkItemResult {
  task_id: string | null;
  id: number | null;
  outcome: BulkItemOutcome;
  /** `ERROR_CODE: detail` for a skipped item (the API's answer), the error message for a failed one. */
  reason?: string;
  /** The API's error_code, for a skipped item. */
  error_code?: string;
}

export interface BulkBatchInput {
  operation: BulkOperation;
  newPriority: TaskPriority | null;
  reason: string | null;
  /** The bulk task itself: never a target. */
  selfTaskId: string;
  actor: BulkActor;
  targets: BulkTarget[];
  /** Items processed before this batch, and in all: for progress. */
  offset: number;
  total: number;
}

/** `result_data` of a completed `bulk_operations` task. */
export interface BulkOperationsResult {
  operation: BulkOperation;
  total: number;
  done: number;
  skipped: number;
  failed: number;
  items: BulkItemResult[];
  truncated: boolean;
}

export const bulk_operations = defineTaskWorkflow<BulkOperationsContext>({
  type: 'bulk_operations',
  contextSchema: bulkOperationsContextSchema,
  async run({ input, context, activities }) {
    const { resolveBulkTargets } = activities({ startToCloseTimeout: '5 minutes', retry: { maximumAttempts: 5 } });
    const { processBulkBatch } = activities({ startToCloseTimeout: '2 hours', retry: { maximumAttempts: 5 } });
    const { targets, truncated, actor } = await resolveBulkTargets({
      brandId: input.brandId,
      createdById: input.createdById,
      selfTaskId: input.taskId,
      taskIds: context.task_ids?.map(String) ?? null,
      filter: context.filter ?? null,
    });
    const items: BulkItemResult[] = [];
    for (let offset = 0; offset < targets.length; offset += context.batch_size) {
      const batch = await processBulkBatch({
        operation: context.operation,
        newPriority: context.new_priority ?? null,
        reason: context.reason ?? null,
        selfTaskId: input.taskId,
        actor,
        targets: targets.slice(offset, offset + context.batch_size),
        offset,
        total: targets.length,
      });
      items.push(...batch);
    }
    const count = (outcome: BulkItemOutcome) => items.filter((i) => i.outcome === outcome).length;
    const result: BulkOperationsResult = {
      operation: context.operation,
      total: targets.length,
      done: count('done'),
      skipped: count('skipped'),
      failed: count('failed'),
      items,
      truncated,
    };
    return { ...result };
  },
});
