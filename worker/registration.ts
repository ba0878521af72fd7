import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Worker, WorkerStatus } from '@temporalio/worker';
import type { AppConfig } from '../api/config';
import { insertAudit } from '../db/repositories/audit.repository';
import { heartbeatWorker, upsertWorker, type WorkerRegistrationInput, type WorkerReport } from '../db/repositories/worker.repository';
import { PREBUILT_BUNDLE_PATH } from './worker-options';

/**
 * Self-registration of a TypeScript worker in the `workers` registry: a row at start, a heartbeat every
 * WORKER_HEARTBEAT_SECONDS (in-flight work from the SDK, RSS, CPU), `stopped` on a graceful shutdown. The row's
 * worker_id is the SDK worker's `identity`, which Temporal reports for the pollers of the task queue, so the API can
 * tell a registration whose process still polls from one that only looks alive. A SIGKILLed worker writes nothing
 * more: its heartbeat ages past the offline delay (three intervals) and the API shows it offline.
 */

/** `<host>:<pid>:<random>`: unique per process start, readable in the Web UI's pollers and in activity histories. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface RegistrationLog {
  warn(message: string): void;
}

export interface RegisteredWorkerOptions {
  orm: MikroORM;
  config: Pick<AppConfig, 'WORKER_HEARTBEAT_SECONDS' | 'WORKER_BUILD_ID' | 'TEMPORAL_NAMESPACE'>;
  log?: RegistrationLog;
}

/**
 * Runs `worker` (as `worker.run()`) registered under its identity: registers, heartbeats while it runs, marks it stopped
 * when run() ends (graceful shutdown or failure), then settles like run(). Registry writes never stop the worker: a
 * failed write is logged and the next beat tries again.
 */
export async function runRegisteredWorker(worker: Worker, options: RegisteredWorkerOptions): Promise<void> {
  const registration = new SelfRegistration(worker, options);
  // run() starts at once (the worker is RUNNING when this returns, as with a bare run()); registering runs alongside.
  const running = worker.run();
  const registered = registration.start();
  try {
    await running;
  } finally {
    await registered;
    await registration.stop();
  }
}

class SelfRegistration {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private stopped = false;
  private failing = false;
  private lastCpu = process.cpuUsage();
  private lastCpuAt = performance.now();
  private readonly workerId: string;
  private readonly startedAt = new Date();
  private readonly intervalMs: number;
  private readonly log: RegistrationLog;
  private readonly sdkVersion = sdkVersion();

  constructor(
    private readonly worker: Worker,
    private readonly options: RegisteredWorkerOptions,
  ) {
    this.workerId = worker.options.identity;
    this.intervalMs = options.config.WORKER_HEARTBEAT_SECONDS * 1000;
    this.log = options.log ?? { warn: (m) => console.warn(m) };
  }

  private em(): EntityManager {
    return this.options.orm.em.fork() as EntityManager;
  }

  async start(): Promise<void> {
    await this.guard('register', () => this.register(this.status()));
    this.schedule();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.beating;
    await this.guard('stop', async () => {
      await this.em().transactional(async (tx) => {
        const id = await heartbeatWorker(tx, this.workerId, this.report('stopped'));
        if (id !== null) await this.audit(tx, id, 'worker.stopped', {});
      });
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.guard('heartbeat', () => this.beat()).finally(() => this.schedule());
    }, this.intervalMs);
    // The heartbeat never keeps a process alive on its own.
    this.timer.unref();
  }

  private status(): string {
    const state = this.worker.getState();
    return state === 'RUNNING' ? 'running' : state === 'INITIALIZED' ? 'starting' : 'draining';
  }

  private async beat(): Promise<void> {
    const status = this.status();
    // A registration deleted through the API while this worker still runs comes back: the registry shows what runs.
    if ((await heartbeatWorker(this.em(), this.workerId, this.report(status))) === null) await this.register(status);
  }

  private async register(status: string): Promise<void> {
    const queue = this.worker.options.taskQueue;
    const input: WorkerRegistrationInput = {
      worker_id: this.workerId,
      host: hostname(),
      pid: process.pid,
      task_queues: [queue],
      queue_name: queue,
      version: packageVersion(),
      build_id: this.options.config.WORKER_BUILD_ID ?? bundleBuildId(this.worker),
      sdk: 'typescript',
      heartbeat_interval_seconds: this.options.config.WORKER_HEARTBEAT_SECONDS,
      started_at: this.startedAt,
      ...this.report(status),
    };
    await this.em().transactional(async (tx) => {
      const { id, existed } = await upsertWorker(tx, 'self', input);
      if (!existed) await this.audit(tx, id, 'worker.started', { host: input.host, pid: input.pid, task_queues: input.task_queues, version: input.version, build_id: input.build_id });
    });
  }

  private report(status: string): WorkerReport {
    const s = this.worker.getStatus();
    const capacity = slotCapacity(this.worker);
    const active = s.numInFlightActivities + s.numInFlightWorkflowActivations;
    const now = performance.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const elapsedUs = (now - this.lastCpuAt) * 1000;
    this.lastCpu = process.cpuUsage();
    this.lastCpuAt = now;
    return {
      status,
      active_tasks: active,
      max_concurrency: capacity,
      load: capacity ? Math.round((Math.min(active, capacity) / capacity) * 10_000) / 10_000 : null,
      memory_mb: Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10,
      cpu_percent: elapsedUs > 0 ? Math.round(((cpu.user + cpu.system) / elapsedUs) * 1000) / 10 : null,
      metadata: { namespace: this.options.config.TEMPORAL_NAMESPACE, node_version: process.version, sdk_version: this.sdkVersion, ...statusFigures(s) },
    };
  }

  private audit(tx: EntityManager, id: number, action: string, details: Record<string, unknown>): Promise<void> {
    return insertAudit(tx, { actorId: null, brandId: null, action, targetType: 'worker', targetId: String(id), details: { worker_id: this.workerId, ...details }, requestId: null });
  }

  private async guard(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      if (this.failing) this.log.warn(`worker registry: ${what} of ${this.workerId} succeeded again`);
      this.failing = false;
    } catch (err) {
      // One line per failure streak: a database outage must not flood the log every beat.
      if (!this.failing) this.log.warn(`worker registry: ${what} of ${this.workerId} failed: ${err instanceof Error ? err.message : String(err)}`);
      this.failing = true;
    }
  }
}

function statusFigures(s: WorkerStatus): Record<string, unknown> {
  return {
    in_flight_activities: s.numInFlightNonLocalActivities,
    in_flight_local_activities: s.numInFlightLocalActivities,
    in_flight_workflow_activations: s.numInFlightWorkflowActivations,
    cached_workflows: s.numCachedWorkflows,
    heartbeating_activities: s.numHeartbeatingActivities,
    workflow_poller: s.workflowPollerState,
    activity_poller: s.activityPollerState,
  };
}

/** Slots the worker can fill at once (workflow tasks, activities, local activities); null with a resource-based tuner. */
function slotCapacity(worker: Worker): number | null {
  const tuner = worker.options.tuner as unknown as Record<string, { type?: string; numSlots?: number } | undefined>;
  let total = 0;
  for (const key of ['workflowTaskSlotSupplier', 'activityTaskSlotSupplier', 'localActivityTaskSlotSupplier']) {
    const supplier = tuner?.[key];
    if (supplier?.type !== 'fixed-size' || typeof supplier.numSlots !== 'number') return null;
    total += supplier.numSlots;
  }
  return total;
}

/** The nearest package.json's version (works from the sources and from dist/). */
function packageVersion(): string | null {
  let dir = __dirname;
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? null;
    if (dirname(dir) === dir) return null;
    dir = dirname(dir);
  }
}

function sdkVersion(): string | null {
  try {
    return (JSON.parse(readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** The workflow code this worker runs, as the first 12 hex digits of its bundle's sha256. */
function bundleBuildId(worker: Worker): string | null {
  const bundle = (worker.options as { workflowBundle?: { code?: string; codePath?: string } }).workflowBundle;
  const path = bundle?.codePath ?? (existsSync(PREBUILT_BUNDLE_PATH) ? PREBUILT_BUNDLE_PATH : undefined);
  const code = bundle?.code ?? (path && existsSync(path) ? readFileSync(path) : undefined);
  return code ? createHash('sha256').update(code).digest('hex').slice(0, 12) : null;
}
