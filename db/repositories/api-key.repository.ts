import type { EntityManager } from '@mikro-orm/postgresql';
import type { ApiKeyRole } from '../entities/api-key.entity';

/** What authentication needs of a key (the hash included: it is compared in the service, never returned to clients). */
export interface ApiKeyCredential {
  id: number;
  prefix: string;
  keyHash: string;
  brandId: number;
  role: ApiKeyRole;
  createdById: number;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** A key as lists show it: never the secret nor its hash. */
export interface ApiKeyRow {
  id: number;
  name: string;
  prefix: string;
  brand_id: number;
  brand_name: string;
  role: ApiKeyRole;
  created_by_id: number;
  created_by_username: string;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** The driver may answer timestamptz as text: every timestamp leaves this module as a Date. */
const toDate = (v: Date | string | null): Date | null => (v === null ? null : v instanceof Date ? v : new Date(v));
const toRow = (r: ApiKeyRow): ApiKeyRow => ({
  ...r,
  created_at: toDate(r.created_at)!,
  last_used_at: toDate(r.last_used_at),
  expires_at: toDate(r.expires_at),
  revoked_at: toDate(r.revoked_at),
});

const ROW_COLUMNS = `k.id, k.name, k.prefix, k.brand_id, b.name as brand_name, k.role, k.created_by_id, u.username as created_by_username,
  k.created_at, k.last_used_at, k.expires_at, k.revoked_at`;
const ROW_JOINS = `join brands b on b.id = k.brand_id join users u on u.id = k.created_by_id`;
const ROW_FROM = `api_keys k ${ROW_JOINS}`;

export interface NewApiKey {
  name: string;
  prefix: string;
  keyHash: string;
  brandId: number;
  role: ApiKeyRole;
  createdById: number;
  expiresAt: Date | null;
}

export async function insertApiKey(em: EntityManager, key: NewApiKey): Promise<ApiKeyRow> {
  const rows = await em.execute<ApiKeyRow[]>(
    // The inserted row is only visible through the CTE, not through the table, within this statement.
    `with k as (
       insert into api_keys (name, prefix, key_hash, brand_id, role, created_by_id, created_at, expires_at)
       values (?, ?, ?, ?, ?, ?, clock_timestamp(), ?) returning *)
     select ${ROW_COLUMNS} from k ${ROW_JOINS}`,
    [key.name, key.prefix, key.keyHash, key.brandId, key.role, key.createdById, key.expiresAt],
  );
  return toRow(rows[0]!);
}

export async function findApiKeyCredential(em: EntityManager, prefix: string): Promise<ApiKeyCredential | null> {
  const rows = await em.execute<
    { id: number; prefix: string; key_hash: string; brand_id: number; role: ApiKeyRole; created_by_id: number; expires_at: Date | null; revoked_at: Date | null }[]
  >(`select id, prefix, key_hash, brand_id, role, created_by_id, expires_at, revoked_at from api_keys where prefix = ?`, [prefix]);
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    prefix: r.prefix,
    keyHash: r.key_hash,
    brandId: r.brand_id,
    role: r.role,
    createdById: r.created_by_id,
    expiresAt: toDate(r.expires_at),
    revokedAt: toDate(r.revoked_at),
  };
}

export async function findApiKey(em: EntityManager, id: number): Promise<ApiKeyRow | null> {
  const rows = await em.execute<ApiKeyRow[]>(`select ${ROW_COLUMNS} from ${ROW_FROM} where k.id = ?`, [id]);
  return rows[0] ? toRow(rows[0]) : null;
}

export interface ApiKeyFilter {
  /** Only keys this user created (a non-admin sees only their own). */
  createdById?: number;
}

/** Newest first, with the total for pagination. */
export async function listApiKeys(em: EntityManager, filter: ApiKeyFilter, page: { skip: number; limit: number }): Promise<{ rows: ApiKeyRow[]; total: number }> {
  const where = filter.createdById === undefined ? '' : 'where k.created_by_id = ?';
  const params = filter.createdById === undefined ? [] : [filter.createdById];
  const [rows, count] = await Promise.all([
    em.execute<ApiKeyRow[]>(`select ${ROW_COLUMNS} from ${ROW_FROM} ${where} order by k.id desc offset ? limit ?`, [...params, page.skip, page.limit]),
    em.execute<{ total: string }[]>(`select count(*) as total from api_keys k ${where}`, params),
  ]);
  return { rows: rows.map(toRow), total: Number(count[0]?.total ?? 0) };
}

/** Sets revoked_at once; null when the key was already revoked (the first revocation time stays). */
export async function revokeApiKey(em: EntityManager, id: number): Promise<Date | null> {
  const rows = await em.execute<{ revoked_at: Date | string }[]>(
    `update api_keys set revoked_at = clock_timestamp() where id = ? and revoked_at is null returning revoked_at`,
    [id],
  );
  return rows[0] ? toDate(rows[0].revoked_at) : null;
}

/**
 * Records a use at most once a minute per key, whichever API process sees it first: the condition makes the
 * other processes' writes in that minute no-ops.
 */
export async function touchApiKeyLastUsed(em: EntityManager, id: number): Promise<void> {
  await em.execute(
    `update api_keys set last_used_at = clock_timestamp()
      where id = ? and (last_used_at is null or last_used_at < clock_timestamp() - interval '1 minute')`,
    [id],
  );
}
