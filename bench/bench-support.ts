import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';

import { loadConfig, type AppConfig } from '../api/config';
import { createThrowawayDatabase, dropDatabase } from '../tests/support/database';
import { freePort, startTemporalDevServer, TEMPORAL_BIN } from '../tests/support/temporal-server';
import { DefaultLogger, Runtime } from '@temporalio/worker';

/** Helpers shared by the benchmark scripts: env knobs, output tables, cleanup on exit, the stack under test. */

export function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got ${raw})`);
  return n;
}

/** The repository root (the first directory up from here with a package.json): dist/bench/ -> ./ */
export function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

export function table(rows: string[][], alignLeft = 1): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (i < alignLeft ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), sep, ...rows.slice(1).map(line)].join('\n');
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** Cleanup steps, run last-registered first, each one even if an earlier one failed. */
const cleanups: Array<{ name: string; run: () => Promise<unknown> }> = [];
let cleaning: Promise<void> | undefined;
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (let step = cleanups.pop(); step; step = cleanups.pop()) {
      try {
        await step.run();
      } catch (err) {
        console.error(`cleanup: ${step.name} failed:`, err);
      }
    }
  })();
  return cleaning;
}
export const onExit = (name: string, run: () => Promise<unknown>) => cleanups.push({ name, run });

/**
 * The stack a benchmark measures, as deployed: a Temporal dev server (or BENCH_TEMPORAL_ADDRESS), a throwaway
 * database, and the worker and API as their own processes from dist/ (the benchmark process only generates load).
 * Everything is stopped and dropped by `cleanup()`. BENCH_PROFILE=1 writes a CPU profile of the API into /tmp/prof.
 */
/**
 * What every bench does first: Ctrl-C cleans up (processes, databases) before exiting, the Temporal SDK logs only
 * warnings, and messages go out with a `[bench]` prefix.
 */
export function beginBench(): (msg: string) => void {
  process.once('SIGINT', () => {
    console.error('\ninterrupted, cleaning up...');
    void cleanup().finally(() => process.exit(130));
  });
  Runtime.install({ logger: new DefaultLogger('WARN') });
  return (msg: string) => console.log(`[bench] ${msg}`);
}

/** The variables of `names` that are set in `env`. */
function pick(env: NodeJS.ProcessEnv, names: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(names.filter((n) => env[n] !== undefined).map((n) => [n, env[n]]));
}

export async function startBenchStack(opts: { taskQueue: string; dbPrefix: string; log: (msg: string) => void }): Promise<{
  config: AppConfig;
  dbUrl: string;
  baseUrl: string;
}> {
  let temporalAddress = process.env.BENCH_TEMPORAL_ADDRESS;
  if (temporalAddress) {
    opts.log(`using the Temporal server at ${temporalAddress}`);
  } else {
    if (!existsSync(TEMPORAL_BIN)) {
      throw new Error(`Temporal CLI not found at ${TEMPORAL_BIN}; run scripts/setup.sh, or set BENCH_TEMPORAL_ADDRESS to a running dev server`);
    }
    opts.log('starting a Temporal dev server...');
    const server = await startTemporalDevServer();
    onExit('stop Temporal dev server', () => server.stop());
    temporalAddress = server.address;
  }
  const db = await createThrowawayDatabase(opts.dbPrefix);
  onExit(`drop database ${db.name}`, () => dropDatabase(db.name));

  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: opts.taskQueue,
    JWT_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    PORT: String(apiPort),
    LOG_LEVEL: 'warn',
    RECONCILE_INTERVAL_SECONDS: '3600',
    AUTO_RESUME_INTERVAL_SECONDS: '3600',
    // A dev stack (make up) may hold the worker's metrics ports: the bench's worker serves none.
    WORKER_METRICS_PORT: '0',
    TEMPORAL_SDK_METRICS_PORT: '0',
    // One bench user sends thousands of requests a minute: limits on (their cost is part of what is measured), never reached.
    RATE_LIMIT_PER_HOUR: '1000000000',
    RATE_LIMIT_PER_MINUTE: '1000000000',
    ...pick(process.env, ['RATE_LIMIT_ENABLED', 'RATE_LIMIT_PER_HOUR', 'RATE_LIMIT_PER_MINUTE']),
  };
  const service = (name: 'api' | 'worker', script: string) => {
    const profile = process.env.BENCH_PROFILE && name === 'api' ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];
    const child = spawn(process.execPath, [...profile, join(__dirname, '..', script)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    onExit(`stop ${name}`, () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
    );
  };
  service('worker', join('worker', 'main.js'));
  service('api', join('api', 'server.js'));
  const baseUrl = `http://127.0.0.1:${apiPort}`;
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${baseUrl}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error('the API process did not become healthy within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  // The bench process reads the same configuration the API and worker processes get.
  return { config: loadConfig(env), dbUrl: db.url, baseUrl };
}

/** GET over one keep-alive agent (destroyed at cleanup): the status and the body as text, read to the end. */
export function httpGetter(baseUrl: string, headers: Record<string, string>): (path: string) => Promise<{ status: number; text: string }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  onExit('destroy HTTP agent', async () => agent.destroy());
  return (path: string) =>
    new Promise((resolve, reject) => {
      const req = http.request(`${baseUrl}${path}`, { method: 'GET', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
}
