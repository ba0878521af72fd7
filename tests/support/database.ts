import { randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { migrateUp } from '../../db/migrate';
import { createOrmConfig } from '../../db/mikro-orm.config';

/** The machine's PostgreSQL (trust auth); each run gets a throwaway database, migrated with the committed migrations. */
export const ADMIN_DATABASE_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export async function createThrowawayDatabase(prefix = 'durable_tasks_test'): Promise<{ url: string; name: string }> {
  const name = `${prefix}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = await MikroORM.init(createOrmConfig(ADMIN_DATABASE_URL, { migrations: undefined }));
  try {
    await admin.em.getConnection().execute(`create database "${name}"`);
  } finally {
    await admin.close(true);
  }
  const url = withDatabase(ADMIN_DATABASE_URL, name);
  await migrateUp(url);
  return { url, name };
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = await MikroORM.init(createOrmConfig(ADMIN_DATABASE_URL));
  try {
    await admin.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.close(true);
  }
}
