import type { MikroORM } from '@mikro-orm/postgresql';
import { listAudit, verifyAuditChain, type AuditPosition, type AuditRow, type ChainVerification } from '../../db/repositories/audit.repository';
import { AppError } from '../errors';
import type { AdminAuditQuery, AdminAuditVerifyQuery } from '../schemas/admin-audit.schemas';

/** A cursor is a keyset position (row id and direction of travel), opaque to clients: base64url JSON. */
export function encodeAuditCursor(p: AuditPosition): string {
  return Buffer.from(JSON.stringify({ d: p.direction, i: p.id })).toString('base64url');
}

function decodeAuditCursor(raw: string): AuditPosition {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { d?: unknown; i?: unknown };
    if (c && (c.d === 'next' || c.d === 'previous') && Number.isSafeInteger(c.i) && (c.i as number) > 0) {
      return { direction: c.d, id: c.i as number };
    }
  } catch {
    /* answered below */
  }
  throw AppError.validation({ cursor: ['Invalid cursor'] }, 'Invalid cursor');
}

export interface AuditPage {
  rows: AuditRow[];
  next: string | null;
  previous: string | null;
}

/** The audit trail for the back office: filtered, keyset-paged reads and chain verification. */
export class AuditService {
  constructor(private readonly deps: { orm: MikroORM }) {}

  private em() {
    return this.deps.orm.em.fork();
  }

  async list(q: AdminAuditQuery): Promise<AuditPage> {
    if (q.since && q.until && Date.parse(q.since) >= Date.parse(q.until)) {
      throw AppError.validation({ until: ['Must be later than since'] });
    }
    const cursor = q.cursor ? decodeAuditCursor(q.cursor) : null;
    const { rows, more } = await listAudit(
      this.em(),
      { actor: q.actor, action: q.action, targetType: q.target_type, targetId: q.target_id, brandId: q.brand_id, since: q.since, until: q.until },
      cursor,
      q.page_size,
    );
    const direction = cursor?.direction ?? 'next';
    // Going forward (to older rows), a previous page exists when we came from a cursor; going back, a next one always does.
    const hasNext = direction === 'next' ? more : true;
    const hasPrevious = direction === 'next' ? cursor !== null : more;
    const first = rows[0];
    const last = rows.at(-1);
    return {
      rows,
      next: hasNext && last ? encodeAuditCursor({ direction: 'next', id: last.id }) : null,
      previous: hasPrevious && first ? encodeAuditCursor({ direction: 'previous', id: first.id }) : null,
    };
  }

  verify(q: AdminAuditVerifyQuery = {}): Promise<ChainVerification> {
    return verifyAuditChain(this.em(), { fromId: q.from_id, batch: 1000 });
  }
}

export function serializeAuditRow(r: AuditRow) {
  return {
    id: r.id,
    occurred_at: new Date(r.occurred_at).toISOString(),
    actor: r.actor_id === null && r.actor_name === null ? null : { id: r.actor_id, username: r.actor_name, role: r.actor_role },
    brand_id: r.brand_id,
    action: r.action,
    target_type: r.target_type,
    target_id: r.target_id,
    before: r.before,
    after: r.after,
    details: r.details,
    request_id: r.request_id,
    ip: r.ip,
    hash: r.hash,
    prev_hash: r.prev_hash,
  };
}
