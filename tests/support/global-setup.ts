import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
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
  ensureFreshBuild();
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

const ROOT = join(__dirname, '..', '..');
const SOURCE_DIRS = ['api', 'workflows', 'activities', 'worker', 'db'];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Some tests run the real worker process (dist/worker/main.js) to kill it with SIGKILL; make sure it is built
 * from the current sources (`make test` has just built it, so this is usually a no-op).
 */
function ensureFreshBuild(): void {
  if (process.env.TEST_SKIP_BUILD === '1') return;
  const entry = join(ROOT, 'dist', 'worker', 'main.js');
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
  const sources = Math.max(...SOURCE_DIRS.map((d) => newestMtime(join(ROOT, d))));
  if (sources > built) {
    console.log('\n[global-setup] dist/ is older than the sources: npm run build');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
}
