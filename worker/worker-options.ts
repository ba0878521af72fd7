import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { AppConfig } from '../api/config';
import { JobWorkflowGateway } from '../api/temporal/job-workflows';
import { ScheduleGateway } from '../api/temporal/schedules';
import { temporalConnectionOptions } from '../api/temporal/connection';
import { assignTaskWorker } from '../db/repositories/task-mirror.repository';
import { insertActivityExecution } from '../db/repositories/task-metrics.repository';
import { activityMetricsInterceptor } from './activity-metrics.interceptor';
import { TaskWorkflowGateway } from '../api/temporal/task-workflows';

/** Written by `npm run build` (worker/build-bundle.ts); without it the worker bundles workflows at start (slower). */
export const PREBUILT_BUNDLE_PATH = join(__dirname, '..', 'workflow-bundle.js');

export interface TaskWorkerDeps {
  orm: MikroORM;
  client: Client;
  connection: NativeConnection;
  config: AppConfig;
  /** Tests pass a bundle built once for the whole run. */
  workflowBundle?: { code: string } | { codePath: string };
  overrides?: Partial<WorkerOptions>;
}

export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  return existsSync(PREBUILT_BUNDLE_PATH)
    ? { workflowBundle: { codePath: PREBUILT_BUNDLE_PATH } }
    : { workflowsPath: require.resolve('../workflows') };
}

export async function createTaskWorker(deps: TaskWorkerDeps): Promise<Worker> {
  const { config } = deps;
  const tasks = new TaskWorkflowGateway(deps.client, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_NAMESPACE);
  // Named here (the SDK's default spelling) rather than left to the SDK, so activities can record which worker ran them.
  const identity = deps.overrides?.identity ?? `${process.pid}@${hostname()}`;
  return Worker.create({
    connection: deps.connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : workflowSource()),
    activities: createActivities({
      orm: deps.orm,
      config,
      tasks,
      jobs: new JobWorkflowGateway(deps.client, config.TEMPORAL_TASK_QUEUE),
      schedules: new ScheduleGateway(deps.client, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_NAMESPACE),
    }),
    identity,
    // Every activity attempt of a task is measured into activity_executions (monitoring, issue 7) and names the worker
    // that ran it; the task's row keeps the worker of its latest activity (public API `worker_id`).
    interceptors: {
      activity: [
        activityMetricsInterceptor((execution) => insertActivityExecution(deps.orm.em.fork(), execution), {
          workerId: identity,
          assignWorker: (taskId, workerId) => assignTaskWorker(deps.orm.em.fork(), taskId, workerId),
        }),
      ],
    },
    // Sleeping tasks stay cached; a 2-core machine still handles thousands of them.
    maxCachedWorkflows: 2000,
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentLocalActivityExecutions: 200,
    shutdownGraceTime: '10 seconds',
    // Heartbeats also carry cancellation to activities; by default they are throttled to 80% of the heartbeat
    // timeout, which would delay a cancel by up to 12 s.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
    ...deps.overrides,
  });
}

export async function connectWorker(config: AppConfig): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(config));
}
