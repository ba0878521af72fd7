import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Brand } from './brand.entity';

/**
 * The mirror of a persistent job: long work over many items bound one-to-one to its base task. Its execution is a
 * run of the base task's workflow id (workflow type `persistent_job`), so the task and the job share one history.
 */
export const PersistentJob = defineEntity({
  name: 'PersistentJob',
  tableName: 'persistent_jobs',
  properties: {
    id: p.integer().primary().autoincrement(),
    taskId: p.string().length(64).unique(),
    brand: () => p.manyToOne(Brand).index(),
    jobType: p.string().length(64),
    jobData: p.json<Record<string, unknown>>(),
    settings: p.json<Record<string, unknown>>(),
    steps: p.json<string[]>(),
    currentStep: p.string().length(64).nullable(),
    totalSteps: p.integer(),
    itemsTotal: p.integer().nullable(),
    itemsDone: p.integer().default(0),
    progressPercentage: p.double().default(0),
    status: p.string().length(16),
    autoResume: p.boolean().default(false),
    /** Restart count: checkpoints of an older generation are history, never resumed from. */
    generation: p.integer().default(0),
    throughputPerSecond: p.double().nullable(),
    estimatedCompletion: p.datetime().nullable(),
    errorMessage: p.text().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    startedAt: p.datetime().nullable(),
    pausedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    seq: p.bigint('number').default(0),
    deletedAt: p.datetime().nullable(),
  },
});
export type IPersistentJob = InferEntity<typeof PersistentJob>;
