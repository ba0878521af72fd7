import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createThrowawayDatabase } from './database';
import { startTemporalDevServer } from './temporal-server';

/**
 * Once per run: a real Temporal dev server, a migrated throwaway database and the workflow bundle.
 * Their coordinates reach the test files through environment variables (jest workers inherit them).
 */
export default async function globalSetup(): Promise<void> {
  const [server, db, bundle] = await Promise.all([
    startTemporalDevServer(),
    createThrowawayDatabase(),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: console.warn, error: console.error, log: () => undefined },
    }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'durable-tasks-test-'));
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_DATABASE_URL = db.url;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_TMP_DIR = dir;
  (globalThis as Record<string, unknown>).__TEST_RESOURCES__ = { server, dbName: db.name, dir };
}
