import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SOURCE_DIR = join(ROOT, 'workers', 'go');
export const GO_WORKER_BIN = join(ROOT, '.tools', 'bin', 'go-worker');

/**
 * Builds .tools/bin/go-worker (scripts/build-go-worker.sh) unless it is newer than every file of workers/go.
 * Go is part of this machine kind: a missing `go` fails with a message, it never skips.
 */
export function ensureGoWorkerBinary(): string {
  const newestSource = Math.max(...readdirSync(SOURCE_DIR)
    .filter((f) => /\.go$|^go\.(mod|sum)$/.test(f))
    .map((f) => statSync(join(SOURCE_DIR, f)).mtimeMs));
  if (existsSync(GO_WORKER_BIN) && statSync(GO_WORKER_BIN).mtimeMs > newestSource) return GO_WORKER_BIN;
  try {
    execFileSync('sh', ['-c', 'command -v go'], { stdio: 'ignore' });
  } catch {
    throw new Error('`go` is not on PATH: the Go worker (workers/go) needs Go 1.26; install it (see workers/go/README.md)');
  }
  execFileSync(join(ROOT, 'scripts', 'build-go-worker.sh'), { stdio: ['ignore', 'ignore', 'inherit'] });
  return GO_WORKER_BIN;
}

export interface GoWorkerProcess {
  child: ChildProcess;
  identity: string;
  /** SIGTERM (a graceful shutdown), then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts the Go worker and resolves once it has connected to Temporal and is about to poll `taskQueue`. */
export async function startGoWorker(options: { address: string; namespace: string; taskQueue: string; identity: string }): Promise<GoWorkerProcess> {
  const bin = ensureGoWorkerBinary();
  const child = spawn(bin, [], {
    env: {
      PATH: process.env.PATH,
      TEMPORAL_ADDRESS: options.address,
      TEMPORAL_NAMESPACE: options.namespace,
      GO_WORKER_TASK_QUEUE: options.taskQueue,
      GO_WORKER_IDENTITY: options.identity,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Go worker did not start within 30 s; output:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('go worker polling')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Go worker exited with ${code} before polling; output:\n${output}`));
    });
  });
  return {
    child,
    identity: options.identity,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
