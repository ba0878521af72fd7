import type { MikroORM } from '@mikro-orm/postgresql';
import { LRUCache } from 'lru-cache';
import { findBrandById, findPrincipal, type Principal } from '../../db/repositories/identity.repository';

/**
 * Who the caller is and which brands they may act for. Cached for a few seconds: a request must not pay two
 * queries for identity, and a revoked membership takes effect within IDENTITY_TTL_MS.
 */
const IDENTITY_TTL_MS = 5_000;

export class IdentityService {
  private readonly principals = new LRUCache<number, Principal | 'missing'>({ max: 10_000, ttl: IDENTITY_TTL_MS });
  private readonly brands = new LRUCache<number, { id: number; name: string } | 'missing'>({ max: 10_000, ttl: IDENTITY_TTL_MS });

  constructor(private readonly orm: MikroORM) {}

  async principal(userId: number): Promise<Principal | null> {
    let hit = this.principals.get(userId);
    if (hit === undefined) {
      hit = (await findPrincipal(this.orm.em.fork(), userId)) ?? 'missing';
      this.principals.set(userId, hit);
    }
    return hit === 'missing' ? null : hit;
  }

  async brand(brandId: number): Promise<{ id: number; name: string } | null> {
    let hit = this.brands.get(brandId);
    if (hit === undefined) {
      hit = (await findBrandById(this.orm.em.fork(), brandId)) ?? 'missing';
      this.brands.set(brandId, hit);
    }
    return hit === 'missing' ? null : hit;
  }
}
