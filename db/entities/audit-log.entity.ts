import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * Append-only trail of critical actions, written in the same transaction as the change it records. Hash-chained by
 * the database (migration audit-chain: a BEFORE INSERT trigger assigns id, prev_hash and hash; UPDATE, DELETE and
 * TRUNCATE are refused), so rows are only ever inserted through SQL that lets the trigger fill those three.
 */
export const AuditLog = defineEntity({
  name: 'AuditLog',
  tableName: 'audit_log',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    occurredAt: p.datetime().onCreate(() => new Date()).index(),
    actorId: p.integer().nullable(),
    /** The actor's username (or `cli:<os user>`, `system`) at the time: survives a rename or a deleted user. */
    actorName: p.string().length(150).nullable(),
    actorRole: p.string().length(16).nullable(),
    brandId: p.integer().nullable().index(),
    action: p.string().length(64),
    targetType: p.string().length(32),
    targetId: p.string().length(64).index(),
    details: p.json<Record<string, unknown>>().default('{}'),
    /** Short summaries of the target before and after the change (not whole rows). */
    before: p.json<Record<string, unknown>>().nullable(),
    after: p.json<Record<string, unknown>>().nullable(),
    requestId: p.string().length(64).nullable(),
    ip: p.string().length(64).nullable(),
    prevHash: p.string().columnType('char(64)').unique(),
    hash: p.string().columnType('char(64)'),
  },
});
export type IAuditLog = InferEntity<typeof AuditLog>;
