import { bodyParser } from '@koa/bodyparser';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import Koa from 'koa';
import type { AppConfig } from './config';
import { requireAdminRole } from './middleware/admin-role';
import { authenticate } from './middleware/auth';
import { brandScope } from './middleware/brand-scope';
import { rateLimit } from './middleware/rate-limit';
import { errorHandler, type Logger } from './middleware/error-handler';
import { requestContext } from './middleware/request-context';
import { responseObserver, type ObservedResponse } from './middleware/response-observer';
import type { AppState } from './middleware/state';
import { httpObservability } from './observability/http';
import { createLogger } from './observability/logger';
import { apiRegistry, enableProcessMetrics } from './observability/metrics';
import { metricsRoutes } from './observability/metrics.routes';
import { ApiDocs } from './openapi/api-docs';
import { adminAuditRoutes } from './routes/admin-audit.routes';
import { adminAlertRoutes } from './routes/admin-alerts.routes';
import { adminJobRoutes } from './routes/admin-jobs.routes';
import { adminRoutes } from './routes/admin.routes';
import { adminBulkRoutes } from './routes/admin-bulk.routes';
import { adminUiRoutes } from './routes/admin-ui.routes';
import { apiDocsUiRoutes } from './routes/api-docs-ui.routes';
import { openApiRoutes } from './routes/openapi.routes';
import { alertRoutes } from './routes/alerts.routes';
import { authRoutes } from './routes/auth.routes';
import { calendarRoutes } from './routes/calendars.routes';
import { taskMetricsRoutes } from './routes/metrics.routes';
import { healthRoutes } from './routes/health.routes';
import { persistentJobRoutes } from './routes/persistent-jobs.routes';
import { scheduleAnalysisRoutes } from './routes/schedule-analysis.routes';
import { schedulingRoutes } from './routes/scheduling.routes';
import { taskRoutes } from './routes/tasks.routes';
import { workerRoutes } from './routes/workers.routes';
import { v1ApiKeyRoutes } from './routes/v1-api-keys.routes';
import { v1AuthRoutes } from './routes/v1-auth.routes';
import { v1Fallback, v1Routes } from './routes/v1.routes';
import { AdminBulkService } from './services/admin-bulk.service';
import { AdminJobService } from './services/admin-jobs.service';
import { AlertService } from './services/alert.service';
import { ApiKeyService } from './services/api-key.service';
import { AuditService } from './services/audit.service';
import { AuthService } from './services/auth.service';
import { IdentityService } from './services/identity.service';
import { PersistentJobService } from './services/persistent-job.service';
import { CalendarService } from './services/calendar.service';
import { MetricsAnalysisService } from './services/metrics-analysis.service';
import { MetricsService } from './services/metrics.service';
import { CronJobService } from './services/cron-job.service';
import { PeriodicTaskService } from './services/periodic-task.service';
import { ScheduleAnalysisService } from './services/schedule-analysis.service';
import { TaskService } from './services/task.service';
import { WorkerRegistryService } from './services/worker-registry.service';
import { AdminBulkWorkflowGateway } from './temporal/admin-bulk-workflows';
import { AlertWorkflowGateway } from './temporal/alert-workflows';
import { JobWorkflowGateway } from './temporal/job-workflows';
import { ScheduleGateway } from './temporal/schedules';
import { TaskQueueGateway } from './temporal/task-queues';
import { TaskWorkflowGateway } from './temporal/task-workflows';

export interface AppDeps {
  orm: MikroORM;
  temporal: Client;
  config: AppConfig;
  /** Defaults to pino JSON logs on stdout at LOG_LEVEL. */
  logger?: Logger;
  /** Sees every response as sent, with its route template (the test suite checks them against /openapi.json). */
  observeResponses?: (response: ObservedResponse) => void;
}

/** Builds the Koa app from its dependencies; never listens (server.ts does, tests use supertest on callback()). */
export function createApp(deps: AppDeps): Koa<AppState> {
  const { orm, temporal, config } = deps;
  const app = new Koa<AppState>();
  app.proxy = false;
  const identity = new IdentityService(orm);
  const tasks = new TaskWorkflowGateway(temporal, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_NAMESPACE);
  const taskService = new TaskService({ orm, tasks, config });
  const jobService = new PersistentJobService({ orm, jobs: new JobWorkflowGateway(temporal, config.TEMPORAL_TASK_QUEUE), config });

  const logger = deps.logger ?? createLogger(config);
  enableProcessMetrics(apiRegistry);
  if (deps.observeResponses) app.use(responseObserver(deps.observeResponses));
  app.use(requestContext());
  app.use(httpObservability(logger));
  app.use(errorHandler(logger));
  // DELETE bodies too: an admin delete carries its confirmation in the body.
  app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', encoding: 'utf-8', parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'] }));

  const docs = new ApiDocs();
  const health = healthRoutes({ orm, temporal: temporal.connection, queues: new TaskQueueGateway(temporal, config.TEMPORAL_NAMESPACE), config }, docs);
  app.use(health.routes());
  app.use(metricsRoutes(apiRegistry, docs).routes());
  // @public-routes (no token: login, the dashboard page, /openapi.json)
  app.use(openApiRoutes(docs).routes());
  app.use(apiDocsUiRoutes().routes());
  const auth = new AuthService({ orm, config });
  app.use(authRoutes(auth, docs).routes());
  app.use(v1AuthRoutes(auth, docs).routes());
  app.use(adminUiRoutes().routes());

  // Everything below requires a valid token.
  const apiKeys = new ApiKeyService({ orm });
  app.use(authenticate(config, identity, apiKeys));
  // @rate-limit (per API key or user, shared by every API process; headers on every authenticated response)
  app.use(rateLimit(config, orm));
  app.use(v1ApiKeyRoutes(apiKeys, docs).routes());
  // @v1-routes (public API v1 of seed 003: it resolves its own brand, so it comes before the admin guard and brandScope)
  const v1Router = v1Routes(
    {
      tasks: taskService,
      workers: new WorkerRegistryService({ orm, config, queues: new TaskQueueGateway(temporal, config.TEMPORAL_NAMESPACE) }),
      metrics: new MetricsService({ orm, config }),
      identity,
      config,
    },
    docs,
  );
  app.use(v1Router.routes());
  app.use(v1Fallback());
  // The admin API spans every brand: role-guarded, no X-Brand-ID.
  app.use(requireAdminRole());
  const adminRouter = adminRoutes({
    config,
    docs,
    extra: [
      // @admin-extra (admin areas: add a registration function to this list)
      adminBulkRoutes(new AdminBulkService({ orm, config, bulk: new AdminBulkWorkflowGateway(temporal, config.TEMPORAL_TASK_QUEUE) }), config),
      adminAlertRoutes(new AlertService({ orm, config, workflows: new AlertWorkflowGateway(temporal, config.TEMPORAL_TASK_QUEUE) }), config),
      adminAuditRoutes(new AuditService({ orm })),
      // Last: its `/admin/jobs/:id` would read the other areas' `/admin/jobs/<word>` as an id.
      adminJobRoutes(new AdminJobService({ orm, tasks, taskService, config }), config),
    ],
  });
  app.use(adminRouter.routes());
  app.use(adminRouter.allowedMethods());
  // Everything below also requires an X-Brand-ID the caller belongs to.
  app.use(brandScope(identity));
  // Specific prefixes first: /tasks/persistent-jobs/... must not be read as /tasks/{id}/...
  const metricsService = new MetricsService({ orm, config });
  const metricsAnalysis = new MetricsAnalysisService({
    orm,
    // Recommendations include colliding schedules: the optimize-schedules dry run (reads only).
    scheduleCollisions: (brandId) =>
      scheduleAnalysis.optimize({ userId: 0, username: 'system', brandId, brandName: '', requestId: null }, undefined, {
        dry_run: true,
        horizon_hours: 24,
        min_group_size: 2,
        strategy: 'auto',
      }),
  });
  const taskMetricsRouter = taskMetricsRoutes(metricsService, metricsAnalysis, docs);
  app.use(taskMetricsRouter.routes());
  app.use(taskMetricsRouter.allowedMethods());
  const alertRouter = alertRoutes(new AlertService({ orm, config, workflows: new AlertWorkflowGateway(temporal, config.TEMPORAL_TASK_QUEUE) }), config, docs);
  app.use(alertRouter.routes());
  app.use(alertRouter.allowedMethods());
  const workerRouter = workerRoutes(new WorkerRegistryService({ orm, config, queues: new TaskQueueGateway(temporal, config.TEMPORAL_NAMESPACE) }), docs);
  app.use(workerRouter.routes());
  app.use(workerRouter.allowedMethods());
  const jobRouter = persistentJobRoutes(jobService, orm, config, docs);
  app.use(jobRouter.routes());
  app.use(jobRouter.allowedMethods());
  const schedules = new ScheduleGateway(temporal, config.TEMPORAL_TASK_QUEUE, config.TEMPORAL_NAMESPACE);
  const periodic = new PeriodicTaskService({ orm, schedules, config });
  const scheduleAnalysis = new ScheduleAnalysisService({ orm, periodic, schedules, config });
  const schedulingRouter = schedulingRoutes({
    periodic,
    cronJobs: new CronJobService(periodic),
    config,
    docs,
    // @scheduling-extra (calendar and analysis routes: add a registration function to this list)
    extra: [
      (router, routeDocs) => calendarRoutes(router, new CalendarService({ orm, config, periodic }), routeDocs),
      scheduleAnalysisRoutes(scheduleAnalysis),
    ],
  });
  app.use(schedulingRouter.routes());
  app.use(schedulingRouter.allowedMethods());
  const taskRouter = taskRoutes(taskService, config, docs, jobService, periodic, metricsService);
  app.use(taskRouter.routes());
  app.use(taskRouter.allowedMethods());
  return app;
}
