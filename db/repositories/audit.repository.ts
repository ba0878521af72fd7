import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * The append-only audit trail; call inside the transaction of the change, so both commit or roll back together.
 * id, prev_hash and hash are assigned by the database (trigger `audit_log_chain`, migration audit-chain), never here.
 */
export interface AuditEntry {
  actorId: number | null;
  brandId: number | null;
  action: string;
  targetType: string;
  targetId: string;
  details: Record<string, unknown>;
  requestId: string | null;
  /** The actor's username at the time (`cli:<os user>` for the admin CLI, `system` for system actors). */
  actorName?: string | null;
  actorRole?: string | null;
  ip?: string | null;
  /** Short summaries of the target around the change (the fields that changed or matter), not whole rows. */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

/** Who acts, as services know it (structurally the `Actor` of api/services/task.service.ts, or a system actor). */
export interface AuditActorSource {
  userId: number | null;
  username: string;
  brandId: number | null;
  requestId: string | null;
  role?: string;
  ip?: string | null;
}

export type AuditActorFields<A extends AuditActorSource = AuditActorSource> = Pick<AuditEntry, 'actorName' | 'actorRole' | 'requestId' | 'ip'> & {
  actorId: A['userId'];
  brandId: A['brandId'];
};

/** The actor's part of an audit row: `insertAudit(tx, { ...auditActor(actor), action, ... })`. */
export function auditActor<A extends AuditActorSource>(actor: A): AuditActorFields<A> {
  return {
    actorId: actor.userId,
    actorName: actor.username,
    actorRole: actor.role ?? null,
    brandId: actor.brandId,
    requestId: actor.requestId,
    ip: actor.ip ?? null,
  };
}

const json = (v: Record<string, unknown> | null | undefined): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

/** The SQL parameters of an entry, in the column order of AUDIT_INSERT_COLUMNS. */
export function auditParams(entry: AuditEntry): unknown[] {
  return [
    entry.actorId,
    entry.actorName ?? null,
    entry.actorRole ?? null,
    entry.brandId,
    entry.action,
    entry.targetType,
    entry.targetId,
    JSON.stringify(entry.details),
    json(entry.before),
    json(entry.after),
    entry.requestId,
    entry.ip ?? null,
  ];
}

/** Columns written by callers (occurred_at first, as `clock_timestamp()`); placeholders for the rest are AUDIT_INSERT_VALUES. */
export const AUDIT_INSERT_COLUMNS = 'occurred_at, actor_id, actor_name, actor_role, brand_id, action, target_type, target_id, details, before, after, request_id, ip';
export const AUDIT_INSERT_VALUES = 'clock_timestamp(), ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?';

export async function insertAudit(em: EntityManager, entry: AuditEntry): Promise<void> {
  await em.execute(`insert into audit_log (${AUDIT_INSERT_COLUMNS}) values (${AUDIT_INSERT_VALUES})`, auditParams(entry));
}

// ---- reading ----

export interface AuditRow {
  id: number;
  occurred_at: Date;
  actor_id: number | null;
  actor_name: string | null;
  actor_role: string | null;
  brand_id: number | null;
  action: string;
  target_type: string;
  target_id: string;
  details: Record<string, unknown>;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  request_id: string | null;
  ip: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditFilter {
  /** A user id (digits) or a name: the recorded actor_name, or the current username of the actor. */
  actor?: string;
  /** Exact action, or a prefix when it ends with `*` (`task.*`). */
  action?: string;
  targetType?: string;
  targetId?: string;
  brandId?: number;
  since?: string;
  until?: string;
}

/** A keyset position: rows after `id` going to older rows (next), or before it going to newer rows (previous). */
export interface AuditPosition {
  id: number;
  direction: 'next' | 'previous';
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function whereOf(filter: AuditFilter): { sql: string[]; params: unknown[] } {
  const sql: string[] = [];
  const params: unknown[] = [];
  if (filter.actor !== undefined) {
    if (/^\d+$/.test(filter.actor)) {
      sql.push('a.actor_id = ?');
      params.push(Number(filter.actor));
    } else {
      // Rows written before actor_name existed carry only the id: the current username finds those too.
      sql.push('(a.actor_name = ? or a.actor_id in (select u.id from users u where u.username = ?))');
      params.push(filter.actor, filter.actor);
    }
  }
  if (filter.action !== undefined) {
    if (filter.action.endsWith('*')) {
      sql.push(`a.action like ? escape '\\'`);
      params.push(`${escapeLike(filter.action.slice(0, -1))}%`);
    } else {
      sql.push('a.action = ?');
      params.push(filter.action);
    }
  }
  if (filter.targetType !== undefined) {
    sql.push('a.target_type = ?');
    params.push(filter.targetType);
  }
  if (filter.targetId !== undefined) {
    sql.push('a.target_id = ?');
    params.push(filter.targetId);
  }
  if (filter.brandId !== undefined) {
    sql.push('a.brand_id = ?');
    params.push(filter.brandId);
  }
  if (filter.since !== undefined) {
    sql.push('a.occurred_at >= ?::timestamptz');
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    sql.push('a.occurred_at < ?::timestamptz');
    params.push(filter.until);
  }
  return { sql, params };
}

/**
 * One page, newest first (id desc), in keyset order: `limit + 1` rows are read to know whether there is more in the
 * direction of travel. Rows come back in display order (id desc) whatever the direction.
 */
export async function listAudit(
  em: EntityManager,
  filter: AuditFilter,
  cursor: AuditPosition | null,
  limit: number,
): Promise<{ rows: AuditRow[]; more: boolean }> {
  const { sql, params } = whereOf(filter);
  const backwards = cursor?.direction === 'previous';
  if (cursor) {
    sql.push(backwards ? 'a.id > ?' : 'a.id < ?');
    params.push(cursor.id);
  }
  const rows = await em.execute<AuditRow[]>(
    `select a.id::float8 as id, a.occurred_at, a.actor_id, coalesce(a.actor_name, u.username) as actor_name, a.actor_role,
            a.brand_id, a.action, a.target_type, a.target_id, a.details, a.before, a.after, a.request_id, a.ip,
            a.prev_hash, a.hash
       from audit_log a left join users u on u.id = a.actor_id and a.actor_name is null
      ${sql.length ? `where ${sql.join(' and ')}` : ''}
      order by a.id ${backwards ? 'asc' : 'desc'}
      limit ?`,
    [...params, limit + 1],
  );
  const more = rows.length > limit;
  const page = rows.slice(0, limit).map((r) => ({ ...r, id: Number(r.id) }));
  return { rows: backwards ? page.reverse() : page, more };
}

// ---- the hash chain ----

const ZERO_HASH = '0'.repeat(64);

/**
 * The fields of the canonical text (migration audit-chain documents it), rendered by PostgreSQL exactly as the
 * trigger renders them; null stays null here and becomes the empty string in `canonicalText`.
 */
const CANONICAL_FIELDS_SQL = `a.prev_hash::text as prev_hash, a.id::text as id,
  to_char(a.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
  a.actor_id::text as actor_id, a.actor_name::text as actor_name, a.actor_role::text as actor_role, a.brand_id::text as brand_id,
  a.action::text as action, a.target_type::text as target_type, a.target_id::text as target_id,
  a.details::text as details, a.before::text as before, a.after::text as after, a.request_id::text as request_id, a.ip::text as ip,
  a.hash::text as hash`;

const CANONICAL_ORDER = [
  'prev_hash', 'id', 'occurred_at', 'actor_id', 'actor_name', 'actor_role', 'brand_id', 'action',
  'target_type', 'target_id', 'details', 'before', 'after', 'request_id', 'ip',
] as const;

type CanonicalRow = Record<(typeof CANONICAL_ORDER)[number] | 'hash', string | null>;

/** `prev_hash|id|…|ip`, each field escaped (`\` → `\\`, `|` → `\|`), null as empty. */
export function canonicalText(row: Record<(typeof CANONICAL_ORDER)[number], string | null>): string {
  return CANONICAL_ORDER.map((k) => (row[k] ?? '').replace(/\\/g, '\\\\').replace(/\|/g, '\\|')).join('|');
}

export function chainHash(row: Record<(typeof CANONICAL_ORDER)[number], string | null>): string {
  return createHash('sha256').update(canonicalText(row), 'utf8').digest('hex');
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  first_broken: { id: number; reason: 'hash_mismatch' | 'prev_hash_mismatch' } | null;
}

/**
 * Walks the chain in id order from `fromId` (default: the first row), `batch` rows per query, recomputing each
 * row's hash here (independently of the database's function) and checking that it names its predecessor's hash.
 * Stops at the first broken link.
 */
export async function verifyAuditChain(em: EntityManager, opts: { fromId?: number; batch?: number } = {}): Promise<ChainVerification> {
  const batch = opts.batch ?? 1000;
  let previous: string;
  let after: number;
  if (opts.fromId !== undefined && opts.fromId > 1) {
    const before = await em.execute<{ hash: string }[]>(
      `select a.hash::text as hash from audit_log a where a.id < ? order by a.id desc limit 1`,
      [opts.fromId],
    );
    previous = before[0]?.hash ?? ZERO_HASH;
    after = opts.fromId - 1;
  } else {
    previous = ZERO_HASH;
    after = 0;
  }
  let checked = 0;
  for (;;) {
    const rows = await em.execute<CanonicalRow[]>(
      `select ${CANONICAL_FIELDS_SQL} from audit_log a where a.id > ? order by a.id limit ?`,
      [after, batch],
    );
    for (const row of rows) {
      const id = Number(row.id);
      if (row.prev_hash !== previous) return { ok: false, checked, first_broken: { id, reason: 'prev_hash_mismatch' } };
      if (chainHash(row) !== row.hash) return { ok: false, checked, first_broken: { id, reason: 'hash_mismatch' } };
      checked += 1;
      previous = row.hash;
      after = id;
    }
    if (rows.length < batch) return { ok: true, checked, first_broken: null };
  }
}
