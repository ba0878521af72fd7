import { rmSync } from 'node:fs';
import { dropDatabase } from './database';
import type { DevServer } from './temporal-server';

export default async function globalTeardown(): Promise<void> {
  const res = (globalThis as Record<string, unknown>).__TEST_RESOURCES__ as { server: DevServer; dbName: string; dir: string } | undefined;
  if (!res) return;
  await res.server.stop();
  await dropDatabase(res.dbName);
  rmSync(res.dir, { recursive: true, force: true });
}
