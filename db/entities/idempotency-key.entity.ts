import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** One row per (brand, user, Idempotency-Key): the first request's body hash and the task it created. */
export const IdempotencyKey = defineEntity({
  name: 'IdempotencyKey',
  tableName: 'idempotency_keys',
  properties: {
    scopeHash: p.string().length(64).primary(),
    brandId: p.integer(),
    userId: p.integer(),
    key: p.string().length(255),
    requestHash: p.string().length(64),
    taskId: p.string().length(64),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IIdempotencyKey = InferEntity<typeof IdempotencyKey>;
