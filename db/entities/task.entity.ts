import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Brand } from './brand.entity';
import { User } from './user.entity';

/**
 * The mirror of one task workflow. Temporal is the truth; this row exists for filters, pagination and stats.
 * Written by the API (pending, right after start), the workflow itself (transitions, guarded by `seq`) and the reconciler.
 */
export const Task = defineEntity({
  name: 'Task',
  tableName: 'tasks',
  indexes: [{ properties: ['scheduleId', 'scheduledFor'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    /** The Temporal workflow id. */
    taskId: p.string().length(64).unique(),
    brand: () => p.manyToOne(Brand).index(),
    createdBy: () => p.manyToOne(User),
    taskType: p.string().length(64),
    status: p.string().length(16),
    priority: p.string().length(16),
    /** 1 (low) … 4 (critical), so ordering by priority sorts by importance. */
    priorityLevel: p.smallint(),
    description: p.text().default(''),
    contextData: p.json<Record<string, unknown>>(),
    resultData: p.json<Record<string, unknown>>().nullable(),
    errorMessage: p.text().nullable(),
    progressPercentage: p.double().default(0),
    retryCount: p.integer().default(0),
    maxRetries: p.integer().default(3),
    timeoutMinutes: p.double().nullable(),
    scheduledFor: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    /** Monotonic per transition; a write with a lower or equal seq is ignored (see workflows/contracts/task-workflow.ts). */
    seq: p.bigint('number').default(0),
    runId: p.string().length(64).nullable(),
    /** Last time the reconciler compared this unfinished row with Temporal. */
    reconciledAt: p.datetime().nullable(),
    /** The Temporal Schedule (periodic task or cron job) whose firing this task is; null for tasks created directly. */
    scheduleId: p.string().length(64).nullable(),
    /** Soft delete: the row leaves every list but the reconciler still knows the id was deleted on purpose. */
    deletedAt: p.datetime().nullable(),
  },
});
export type ITask = InferEntity<typeof Task>;
