import type { EntityManager } from '@mikro-orm/postgresql';

/** The append-only audit trail (a trigger refuses UPDATE and DELETE); call inside the transaction of the change. */
export interface AuditEntry {
  actorId: number | null;
  brandId: number | null;
  action: string;
  targetType: string;
  targetId: string;
  details: Record<string, unknown>;
  requestId: string | null;
}

export async function insertAudit(em: EntityManager, entry: AuditEntry): Promise<void> {
  await em.execute(
    `insert into audit_log (occurred_at, actor_id, brand_id, action, target_type, target_id, details, request_id)
     values (clock_timestamp(), ?, ?, ?, ?, ?, ?::jsonb, ?)`,
    [entry.actorId, entry.brandId, entry.action, entry.targetType, entry.targetId, JSON.stringify(entry.details), entry.requestId],
  );
}
