import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** `admin` may do everything; `admin_viewer` reads every admin route and changes nothing; `user` acts in its brands only. */
export const USER_ROLES = ['user', 'admin', 'admin_viewer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.integer().primary().autoincrement(),
    username: p.string().length(150).unique(),
    role: p.enum([...USER_ROLES]).default('user'),
    isActive: p.boolean().default(true),
    /** `scrypt$N$r$p$salt$hash` (api/services/auth.service.ts); null = this user cannot log in with a password. */
    passwordHash: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IUser = InferEntity<typeof User>;
