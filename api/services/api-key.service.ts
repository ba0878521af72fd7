import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { LRUCache } from 'lru-cache';
import { API_KEY_ROLES, type ApiKeyRole } from '../../db/entities/api-key.entity';
import type { UserRole } from '../../db/entities/user.entity';
import {
  findApiKey,
  findApiKeyCredential,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  touchApiKeyLastUsed,
  type ApiKeyCredential,
  type ApiKeyRow,
} from '../../db/repositories/api-key.repository';
import { auditActor, insertAudit, type AuditActorFields } from '../../db/repositories/audit.repository';
import { findBrandById } from '../../db/repositories/identity.repository';
import { AppError, ErrorCode } from '../errors';

/**
 * How long a key's row (or its absence) is served from memory. A revocation takes effect at once in the API process
 * that revoked it and within this bound in the others (expiry needs no bound: it is checked on every request).
 */
export const API_KEY_CACHE_TTL_MS = 5_000;
/** last_used_at is a hint for spotting unused keys: one write a minute per key at most. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PREFIX_LENGTH = 12;
/** 43 base62 characters carry 256 bits (43 · log2 62 ≈ 256.03). */
const SECRET_LENGTH = 43;
const KEY_PATTERN = new RegExp(`^dtk_([0-9A-Za-z]{${PREFIX_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})$`);
export const MAX_EXPIRES_IN_DAYS = 3650;

/** Lowest first: a key's role may not be above its creator's. */
const ROLE_RANK: Record<ApiKeyRole, number> = { worker: 0, user: 1, admin_viewer: 2, admin: 3 };

function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(62)];
  return out;
}

/**
 * sha256, not a slow KDF: the secret is 256 random bits, so there is nothing to brute-force from a leaked hash, and a
 * fast hash keeps per-request authentication cheap (a slow KDF exists for low-entropy human passwords).
 */
export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** `dtk_<prefix>_<secret>`, base62 so the whole key selects with a double click and needs no URL escaping. */
export function generateApiKey(): { key: string; prefix: string; keyHash: string } {
  const prefix = randomBase62(PREFIX_LENGTH);
  const secret = randomBase62(SECRET_LENGTH);
  return { key: `dtk_${prefix}_${secret}`, prefix, keyHash: hashApiKeySecret(secret) };
}

export function parseApiKey(raw: string): { prefix: string; secret: string } | null {
  const m = KEY_PATTERN.exec(raw.trim());
  return m ? { prefix: m[1]!, secret: m[2]! } : null;
}

/** The lower of two roles (a key never acts above its creator's current role). */
export function lowerRole(a: ApiKeyRole, b: ApiKeyRole): ApiKeyRole {
  return ROLE_RANK[a] <= ROLE_RANK[b] ? a : b;
}

export function isApiKeyRole(value: string): value is ApiKeyRole {
  return (API_KEY_ROLES as readonly string[]).includes(value);
}

/** Whom a key is created for: its creator as the identity service knows them. */
export interface ApiKeyCreator {
  id: number;
  username: string;
  role: UserRole;
  isAdmin: boolean;
  brandIds: number[];
}

export interface CreateApiKeyInput {
  name: string;
  brandId: number;
  role: ApiKeyRole;
  expiresInDays: number | null;
}

/** A key as the API shows it: never the secret nor its hash. */
export interface ApiKeyView {
  id: number;
  name: string;
  prefix: string;
  brand: { id: number; name: string };
  role: ApiKeyRole;
  created_by: { id: number; username: string };
  status: 'active' | 'revoked' | 'expired';
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export function apiKeyView(row: ApiKeyRow, now = Date.now()): ApiKeyView {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  const status = row.revoked_at ? 'revoked' : row.expires_at && new Date(row.expires_at).getTime() <= now ? 'expired' : 'active';
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    brand: { id: row.brand_id, name: row.brand_name },
    role: row.role,
    created_by: { id: row.created_by_id, username: row.created_by_username },
    status,
    created_at: new Date(row.created_at).toISOString(),
    last_used_at: iso(row.last_used_at),
    expires_at: iso(row.expires_at),
    revoked_at: iso(row.revoked_at),
  };
}

/**
 * Checks the creation rules and writes the key with its audit row in one transaction. Shared by the API and the
 * admin CLI, so a key the CLI makes obeys the same rules as one made through the API (the same checks run again at
 * every use: a key acts as its creator, who may since have lost the brand or the role).
 */
export async function createApiKey(
  em: EntityManager,
  creator: ApiKeyCreator,
  input: CreateApiKeyInput,
  audit: Omit<AuditActorFields, 'brandId'>,
): Promise<{ key: string; view: ApiKeyView }> {
  if (ROLE_RANK[input.role] > ROLE_RANK[creator.role]) {
    throw new AppError(ErrorCode.PERMISSION_DENIED, 403, `A ${creator.role} cannot create a key with the ${input.role} role`, {
      allowed_roles: API_KEY_ROLES.filter((r) => ROLE_RANK[r] <= ROLE_RANK[creator.role]),
    });
  }
  if (!creator.isAdmin && !creator.brandIds.includes(input.brandId)) {
    throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'You do not have permission to access this brand');
  }
  if (!(await findBrandById(em, input.brandId))) {
    throw AppError.validation({ brand_id: ['No such brand'] }, 'Invalid brand_id');
  }
  const expiresAt = input.expiresInDays === null ? null : new Date(Date.now() + input.expiresInDays * 86_400_000);
  return em.transactional(async (tx) => {
    // A prefix collision (71 random bits) is practically impossible; the unique constraint still guards it.
    const generated = generateApiKey();
    const row = await insertApiKey(tx, {
      name: input.name,
      prefix: generated.prefix,
      keyHash: generated.keyHash,
      brandId: input.brandId,
      role: input.role,
      createdById: creator.id,
      expiresAt,
    });
    const view = apiKeyView(row);
    await insertAudit(tx, {
      ...audit,
      brandId: input.brandId,
      action: 'api_key.create',
      targetType: 'api_key',
      targetId: String(row.id),
      // The row names the key by its public prefix, never the secret.
      details: { name: row.name, prefix: row.prefix, role: row.role, owner_id: creator.id, owner: creator.username },
      after: { role: row.role, brand_id: row.brand_id, expires_at: view.expires_at },
    });
    return { key: generated.key, view };
  });
}

/**
 * Revokes a key with its audit row in one transaction; `null` when there is no such key. Revoking a revoked key
 * changes nothing and writes no row.
 */
export async function revokeApiKeyAudited(
  em: EntityManager,
  id: number,
  audit: Omit<AuditActorFields, 'brandId'>,
  visible: (row: ApiKeyRow) => boolean = () => true,
): Promise<ApiKeyView | null> {
  return em.transactional(async (tx) => {
    const row = await findApiKey(tx, id);
    if (!row || !visible(row)) return null;
    if (row.revoked_at) return apiKeyView(row);
    const revokedAt = await revokeApiKey(tx, id);
    if (!revokedAt) return apiKeyView((await findApiKey(tx, id))!);
    await insertAudit(tx, {
      ...audit,
      brandId: row.brand_id,
      action: 'api_key.revoke',
      targetType: 'api_key',
      targetId: String(row.id),
      details: { name: row.name, prefix: row.prefix, owner_id: row.created_by_id, owner: row.created_by_username },
      before: { revoked: false },
      after: { revoked: true },
    });
    return apiKeyView({ ...row, revoked_at: revokedAt });
  });
}

/** Who calls the key routes (always a user token: keys do not manage keys). */
export interface ApiKeyActor extends ApiKeyCreator {
  requestId: string | null;
  ip: string | null;
}

const actorAudit = (actor: ApiKeyActor) =>
  auditActor({ userId: actor.id, username: actor.username, role: actor.role, brandId: null, requestId: actor.requestId, ip: actor.ip });

/**
 * API keys: creation, listing, revocation, and the per-request check of `X-API-Key`. A user manages their own keys;
 * an admin sees and revokes everyone's.
 */
export class ApiKeyService {
  private readonly orm: MikroORM;
  /** Keyed by the public prefix; the secret is compared on every request, so a wrong secret never hits the cache as valid. */
  private readonly verified = new LRUCache<string, ApiKeyCredential | 'missing'>({ max: 50_000, ttl: API_KEY_CACHE_TTL_MS });
  private readonly lastUsedWrites = new LRUCache<number, number>({ max: 50_000, ttl: LAST_USED_WRITE_INTERVAL_MS });

  constructor(deps: { orm: MikroORM }) {
    this.orm = deps.orm;
  }

  private em(): EntityManager {
    return this.orm.em.fork();
  }

  async create(actor: ApiKeyActor, input: CreateApiKeyInput): Promise<{ key: string; view: ApiKeyView }> {
    return createApiKey(this.em(), actor, input, actorAudit(actor));
  }

  async list(actor: ApiKeyActor, page: { skip: number; limit: number }): Promise<{ items: ApiKeyView[]; total: number }> {
    const { rows, total } = await listApiKeys(this.em(), actor.isAdmin ? {} : { createdById: actor.id }, page);
    const now = Date.now();
    return { items: rows.map((r) => apiKeyView(r, now)), total };
  }

  /** Another user's key is answered 404 to a non-admin, as if it did not exist. */
  async revoke(actor: ApiKeyActor, id: number): Promise<ApiKeyView> {
    const view = await revokeApiKeyAudited(this.em(), id, actorAudit(actor), (row) => actor.isAdmin || row.created_by_id === actor.id);
    if (!view) throw new AppError(ErrorCode.NOT_FOUND, 404, 'API key not found');
    this.verified.delete(view.prefix);
    return view;
  }

  /**
   * The key's credential if `raw` is a valid, unrevoked, unexpired key; null otherwise. One indexed lookup per prefix
   * per API_KEY_CACHE_TTL_MS; the secret's hash is compared in constant time on every call.
   */
  async verify(raw: string): Promise<ApiKeyCredential | null> {
    const parsed = parseApiKey(raw);
    if (!parsed) return null;
    let hit = this.verified.get(parsed.prefix);
    if (hit === undefined) {
      hit = (await findApiKeyCredential(this.em(), parsed.prefix)) ?? 'missing';
      this.verified.set(parsed.prefix, hit);
    }
    if (hit === 'missing' || hit.revokedAt) return null;
    if (hit.expiresAt && new Date(hit.expiresAt).getTime() <= Date.now()) return null;
    const given = Buffer.from(hashApiKeySecret(parsed.secret), 'hex');
    const stored = Buffer.from(hit.keyHash, 'hex');
    return given.length === stored.length && timingSafeEqual(given, stored) ? hit : null;
  }

  /** Off the request path: a lost last_used_at write costs nothing but a stale hint. */
  markUsed(id: number): void {
    if (this.lastUsedWrites.has(id)) return;
    this.lastUsedWrites.set(id, Date.now());
    touchApiKeyLastUsed(this.em(), id).catch(() => this.lastUsedWrites.delete(id));
  }
}
