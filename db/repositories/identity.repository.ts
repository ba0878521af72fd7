import type { EntityManager } from '@mikro-orm/postgresql';
import { Brand, BrandMembership, User } from '../entities';
import type { UserRole } from '../entities/user.entity';

export interface Principal {
  id: number;
  username: string;
  role: UserRole;
  /** role === 'admin': may change anything, in any brand. */
  isAdmin: boolean;
  isActive: boolean;
  brandIds: number[];
}

export async function findPrincipal(em: EntityManager, userId: number): Promise<Principal | null> {
  const rows = await em.execute<{ id: number; username: string; role: UserRole; is_active: boolean; brand_ids: number[] | null }[]>(
    `select u.id, u.username, u.role, u.is_active,
            array_remove(array_agg(m.brand_id order by m.brand_id), null) as brand_ids
       from users u left join brand_memberships m on m.user_id = u.id
      where u.id = ? group by u.id`,
    [userId],
  );
  const row = rows[0];
  if (!row) return null;
  return { id: row.id, username: row.username, role: row.role, isAdmin: row.role === 'admin', isActive: row.is_active, brandIds: row.brand_ids ?? [] };
}

export async function findBrandById(em: EntityManager, brandId: number): Promise<{ id: number; name: string } | null> {
  const brand = await em.findOne(Brand, { id: brandId });
  return brand ? { id: brand.id, name: brand.name } : null;
}

// ---- administration (admin CLI, tests) ----

export async function ensureBrand(em: EntityManager, name: string): Promise<{ id: number; name: string }> {
  const existing = await em.findOne(Brand, { name });
  if (existing) return { id: existing.id, name: existing.name };
  const brand = em.create(Brand, { name });
  await em.flush();
  return { id: brand.id, name: brand.name };
}

export interface UserSummary {
  id: number;
  username: string;
  role: UserRole;
}

/** Creates the user, or gives an existing one `role` when one is given. */
export async function ensureUser(em: EntityManager, username: string, role?: UserRole): Promise<UserSummary> {
  let user = await em.findOne(User, { username });
  if (!user) user = em.create(User, { username, role: role ?? 'user' });
  else if (role && user.role !== role) user.role = role;
  await em.flush();
  return { id: user.id, username: user.username, role: user.role };
}

export async function findUserByUsername(em: EntityManager, username: string): Promise<UserSummary | null> {
  const user = await em.findOne(User, { username });
  return user ? { id: user.id, username: user.username, role: user.role } : null;
}

/** True when the membership is new (the admin CLI audits only a real change). */
export async function grantMembership(em: EntityManager, userId: number, brandId: number): Promise<boolean> {
  const rows = await em.execute<{ user_id: number }[]>(
    `insert into brand_memberships (user_id, brand_id, created_at) values (?, ?, clock_timestamp()) on conflict do nothing returning user_id`,
    [userId, brandId],
  );
  return rows.length > 0;
}

export async function setRole(em: EntityManager, userId: number, role: UserRole): Promise<void> {
  await em.nativeUpdate(User, { id: userId }, { role });
}

export async function listBrands(em: EntityManager): Promise<{ id: number; name: string }[]> {
  const brands = await em.find(Brand, {}, { orderBy: { id: 'asc' } });
  return brands.map((b) => ({ id: b.id, name: b.name }));
}

export { BrandMembership };
