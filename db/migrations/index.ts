import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125191457_initial_schema } from './20261125191457-initial-schema';

/** Every committed migration, in order. `node dist/db/migrate.js create <name>` writes a new file; add it here. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261125191457_initial_schema', class: Migration20261125191457_initial_schema },
];
