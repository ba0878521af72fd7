import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_DEFINITIONS } from '../../workflows/contracts/search-attributes';

/** The project root: the nearest folder above this file with a package.json (works from tests/ and from dist/). */
function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The CLI binary scripts/setup.sh builds once with `go install` (never downloaded at test time). */
export const TEMPORAL_BIN = join(projectRoot(), '.tools', 'bin', 'temporal');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface DevServer {
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A real Temporal dev server (in-memory, headless) on a free port, with our search attributes and the
 * dynamic config task priority needs. Shared by every test file of a run and by the benchmarks.
 */
export async function startTemporalDevServer(options: { dbFilename?: string } = {}): Promise<DevServer> {
  if (!existsSync(TEMPORAL_BIN)) {
    throw new Error(`Temporal CLI not found at ${TEMPORAL_BIN}; run scripts/setup.sh (make setup) first`);
  }
  const port = await freePort();
  const args = [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--namespace', 'default',
    '--log-level', 'error', '--dynamic-config-value', 'matching.useNewMatcher=true',
    // A closed execution is deleted once its close task is acknowledged; the 30 s default ack interval would make
    // DELETE's effect in Temporal take up to a minute to observe.
    '--dynamic-config-value', 'history.transferProcessorUpdateAckInterval="1s"',
    // Priority is ordered within a task queue partition; one partition makes "critical first" strict.
    '--dynamic-config-value', 'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value', 'matching.numTaskqueueWritePartitions=1',
    ...SEARCH_ATTRIBUTE_DEFINITIONS.flatMap((a) => ['--search-attribute', `${a.name}=${a.type}`]),
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
  ];
  const child = spawn(TEMPORAL_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited (${child.exitCode}): ${stderr}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.workflowService.describeNamespace({ namespace: 'default' });
      await conn.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal dev server did not become ready: ${String(err)} ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
