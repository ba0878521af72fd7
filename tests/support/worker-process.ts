import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AppConfig } from '../../api/config';

/**
 * The real worker entry point (dist/worker/main.js) as a child process on the test's task queue, so a test can
 * kill it with SIGKILL. System schedules are pushed out of the way (one hour) so they do not fire during the test.
 * `env` adds or overrides variables (e.g. metrics ports).
 */
export function spawnWorkerProcess(config: AppConfig, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'worker', 'main.js')], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      NODE_ENV: 'test',
      DATABASE_URL: config.DATABASE_URL,
      TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
      JWT_SECRET: config.JWT_SECRET,
      EXPORT_DIR: config.EXPORT_DIR,
      PROGRESS_WRITE_INTERVAL_MS: '0',
      RECONCILE_INTERVAL_SECONDS: '3600',
      AUTO_RESUME_INTERVAL_SECONDS: '3600',
      ALERT_EVAL_INTERVAL_SECONDS: '3600',
      WORKER_HEARTBEAT_SECONDS: String(config.WORKER_HEARTBEAT_SECONDS),
      ...(config.WORKER_OFFLINE_AFTER_SECONDS ? { WORKER_OFFLINE_AFTER_SECONDS: String(config.WORKER_OFFLINE_AFTER_SECONDS) } : {}),
      LOG_LEVEL: 'warn',
      // Metrics endpoints off unless a test asks for them (fixed default ports would collide between test files).
      WORKER_METRICS_PORT: '0',
      TEMPORAL_SDK_METRICS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
