import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * A worker process of the platform (task_monitoring `workers/`). Platform-wide, not per brand: every worker serves all
 * brands. TypeScript workers register themselves at start (`source` self) and heartbeat every WORKER_HEARTBEAT_SECONDS;
 * workers in other languages are registered and heartbeat through the API (`source` manual). `worker_id` is also the
 * Temporal worker identity, so a row can be matched with the pollers Temporal reports for its task queues. Whether a
 * worker is online is computed when read (heartbeat age + Temporal pollers), never stored.
 */
export const WorkerRegistration = defineEntity({
  name: 'WorkerRegistration',
  tableName: 'workers',
  indexes: [{ properties: ['queueName'] }, { properties: ['lastHeartbeatAt'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    /** `<host>:<pid>:<random>` for self-registered workers; any stable id for external ones. */
    workerId: p.string().length(200).unique(),
    host: p.string().length(255),
    pid: p.integer().nullable(),
    taskQueues: p.json<string[]>(),
    /** The primary task queue (the first of `taskQueues` unless told otherwise). */
    queueName: p.string().length(200),
    version: p.string().length(64).nullable(),
    buildId: p.string().length(128).nullable(),
    /** typescript, go, java, python, dotnet, php, ruby, other. */
    sdk: p.string().length(32),
    /** `self` (the worker registered itself) or `manual` (registered through the API). */
    source: p.string().length(16),
    /** Reported lifecycle: starting, running, draining, stopped. */
    status: p.text(),
    activeTasks: p.integer().default(0),
    maxConcurrency: p.integer().nullable(),
    /** active_tasks / max_concurrency, 0..1. */
    load: p.double().nullable(),
    memoryMb: p.double().nullable(),
    cpuPercent: p.double().nullable(),
    /** How often this worker promises to heartbeat; it is offline after three missed beats. */
    heartbeatIntervalSeconds: p.double().nullable(),
    /** Anything else the worker reports (SDK status breakdown, runtime versions). */
    metadata: p.json<Record<string, unknown>>().default('{}'),
    startedAt: p.datetime(),
    lastHeartbeatAt: p.datetime(),
    stoppedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    deletedAt: p.datetime().nullable(),
  },
});
export type IWorkerRegistration = InferEntity<typeof WorkerRegistration>;
