import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Brand } from './brand.entity';
import { User } from './user.entity';

/** A user may act on a brand's data only through a membership (X-Brand-ID is checked against it). */
export const BrandMembership = defineEntity({
  name: 'BrandMembership',
  tableName: 'brand_memberships',
  properties: {
    user: () => p.manyToOne(User).primary().deleteRule('cascade'),
    brand: () => p.manyToOne(Brand).primary().deleteRule('cascade'),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IBrandMembership = InferEntity<typeof BrandMembership>;
