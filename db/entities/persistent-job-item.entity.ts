import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * The per-item ledger of jobs whose items have their own side effect (the item job type): written in the same
 * statement as the effect, so a replayed item is idempotent and `attempts` shows replays.
 */
export const PersistentJobItem = defineEntity({
  name: 'PersistentJobItem',
  tableName: 'persistent_job_items',
  properties: {
    jobId: p.integer().primary(),
    generation: p.integer().primary(),
    itemKey: p.string().length(255).primary(),
    result: p.json<Record<string, unknown>>().nullable(),
    attempts: p.integer().default(1),
    processedAt: p.datetime(),
  },
});
export type IPersistentJobItem = InferEntity<typeof PersistentJobItem>;
