import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { PersistentJob } from './persistent-job.entity';

/** A job's resumable state at an item boundary, with a sha256 over it; a resume uses the newest one that verifies. */
export const JobCheckpoint = defineEntity({
  name: 'JobCheckpoint',
  tableName: 'job_checkpoints',
  uniques: [{ properties: ['job', 'generation', 'sequence'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    job: () => p.manyToOne(PersistentJob).deleteRule('cascade'),
    brandId: p.integer().index(),
    generation: p.integer(),
    sequence: p.integer(),
    step: p.string().length(64),
    itemsDone: p.integer(),
    /** Null once compacted by optimize-storage (the row stays as history). */
    state: p.json<Record<string, unknown>>().nullable(),
    checksum: p.string().length(64),
    sizeBytes: p.integer(),
    isMilestone: p.boolean().default(false),
    source: p.string().length(16).default('job'),
    compacted: p.boolean().default(false),
    createdAt: p.datetime(),
  },
});
export type IJobCheckpoint = InferEntity<typeof JobCheckpoint>;
