import { MikroORM } from '@mikro-orm/postgresql';
import { Runtime, makeTelemetryFilterString, DefaultLogger } from '@temporalio/worker';
import { workerRegistry } from '../activities/observability';
import { loadConfig } from '../api/config';
import { loadServicesAndClients } from '../api/services-config/services-config.loader';
import { enableProcessMetrics } from '../api/observability/metrics';
import { createTemporalClient } from '../api/temporal/connection';
import { ensureAlertEvaluationSchedule, ensureAutoResumeSchedule, ensureReconcilerSchedule } from '../api/temporal/system-schedules';
import { createOrmConfig } from '../db/mikro-orm.config';
import { serveMetrics, sdkMetricsOptions } from './metrics-server';
import { newWorkerId, runRegisteredWorker } from './registration';
import { connectWorker, createTaskWorker } from './worker-options';

async function main(): Promise<void> {
  const config = loadConfig();
  // Fail fast on a bad services.yaml / clients.yaml (the error names file, path and reason); read once, so a change
  // takes effect on restart.
  loadServicesAndClients();
  Runtime.install({
    logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'INFO'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) }, ...sdkMetricsOptions(config) },
  });
  const orm = await MikroORM.init(createOrmConfig(config.DATABASE_URL));
  const { client, connection: clientConnection } = createTemporalClient(config);
  const connection = await connectWorker(config);
  const worker = await createTaskWorker({ orm, client, connection, config, overrides: { identity: newWorkerId() } });
  enableProcessMetrics(workerRegistry);
  const metricsServer = config.WORKER_METRICS_PORT ? await serveMetrics(workerRegistry, config.HOST, config.WORKER_METRICS_PORT) : null;
  await ensureReconcilerSchedule(client, config.TEMPORAL_TASK_QUEUE, config.RECONCILE_INTERVAL_SECONDS);
  await ensureAutoResumeSchedule(client, config.TEMPORAL_TASK_QUEUE, config.AUTO_RESUME_INTERVAL_SECONDS);
  await ensureAlertEvaluationSchedule(client, config.TEMPORAL_TASK_QUEUE, config.ALERT_EVAL_INTERVAL_SECONDS);
  console.log(`worker polling task queue "${config.TEMPORAL_TASK_QUEUE}" on ${config.TEMPORAL_ADDRESS}`);
  // Worker.run() shuts down gracefully on SIGINT/SIGTERM (installed by the SDK's Runtime); the registry row heartbeats
  // while it runs and is marked stopped after.
  await runRegisteredWorker(worker, { orm, config });
  metricsServer?.close();
  await Promise.allSettled([orm.close(), connection.close(), clientConnection.close()]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
