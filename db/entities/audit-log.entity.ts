import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** Append-only trail of critical actions, written in the same transaction as the change it records. */
export const AuditLog = defineEntity({
  name: 'AuditLog',
  tableName: 'audit_log',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    occurredAt: p.datetime().onCreate(() => new Date()),
    actorId: p.integer().nullable(),
    brandId: p.integer().nullable().index(),
    action: p.string().length(64),
    targetType: p.string().length(32),
    targetId: p.string().length(64).index(),
    details: p.json<Record<string, unknown>>().default('{}'),
    requestId: p.string().length(64).nullable(),
  },
});
export type IAuditLog = InferEntity<typeof AuditLog>;
