import { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../api/config';
import { createOrmConfig } from './mikro-orm.config';

/**
 * `node dist/db/migrate.js` applies the committed migrations (the only way the schema changes; never schema:update at boot).
 * `node dist/db/migrate.js create <name>` generates a new migration from the entity diff into db/migrations/ (run from a checkout).
 */
export async function migrateUp(databaseUrl: string): Promise<string[]> {
  const orm = await MikroORM.init(createOrmConfig(databaseUrl));
  try {
    const applied = await orm.migrator.up();
    return applied.map((m: { name: string }) => m.name);
  } finally {
    await orm.close(true);
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const [command = 'up', name] = process.argv.slice(2);
  if (command === 'up') {
    const applied = await migrateUp(config.DATABASE_URL);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database schema is up to date');
    return;
  }
  if (command === 'create') {
    const orm = await MikroORM.init(
      createOrmConfig(config.DATABASE_URL, {
        migrations: { path: `${process.cwd()}/db/migrations`, emit: 'ts', fileName: (ts: string, n?: string) => `${ts}-${n ?? 'migration'}` },
      } as never),
    );
    try {
      const migrator = orm.migrator;
      const result = await migrator.create(undefined, false, false, name);
      console.log(result.fileName ? `created ${result.fileName}; add it to db/migrations/index.ts` : 'no schema changes');
    } finally {
      await orm.close(true);
    }
    return;
  }
  throw new Error(`unknown command ${command}; use "up" or "create <name>"`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
