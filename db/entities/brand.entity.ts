import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const Brand = defineEntity({
  name: 'Brand',
  tableName: 'brands',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(200),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IBrand = InferEntity<typeof Brand>;
