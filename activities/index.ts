import type { ActivityDeps } from './deps';
import { createExportActivities } from './export.activities';
import { createHttpActivities } from './http.activities';
import { createMirrorActivities } from './mirror.activities';
import { createNoopActivities } from './noop.activities';
import { createReconcileActivities } from './reconcile.activities';
import { createSeoActivities } from './seo.activities';
import { createSiteActivities } from './site.activities';
import { createContentActivities } from './content.activities';
import { createBulkActivities } from './bulk.activities';
import { createReportActivities } from './report.activities';
import { createJobActivities } from './jobs.activities';
import { createJobMaintenanceActivities } from './job-maintenance.activities';
import { createCleanupOldTasksActivities } from './cleanup-old-tasks.activities';
import { createAlertActivities } from './alerts.activities';
import { createAdminBulkActivities } from './admin-bulk.activities';
import { createGenericActivities } from './generic.activities';
// @generator-imports (npm run new:task-type adds imports above this line)

export type { ActivityDeps } from './deps';

/** Every activity the worker registers. Workflows import only the type (`import type`), never this code. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createMirrorActivities(deps),
    ...createNoopActivities(deps),
    // The public API's default type (a task created without `type`)
    ...createGenericActivities(deps),
    ...createHttpActivities(deps),
    ...createExportActivities(deps),
    ...createReconcileActivities(deps),
    // SEO & research
    ...createSeoActivities(deps),
    // Site & pages
    ...createSiteActivities(deps),
    // Content & AI
    ...createContentActivities(deps),
    // Data & export
    ...createReportActivities(deps),
    ...createBulkActivities(deps),
    // Persistent jobs
    ...createJobActivities(deps),
    ...createJobMaintenanceActivities(deps),
    ...createCleanupOldTasksActivities(deps),
    // Alert rules: evaluation and channel deliveries
    ...createAlertActivities(deps),
    // Admin bulk actions by filter (workflows/system/admin-bulk.ts)
    ...createAdminBulkActivities(deps),
    // @generator (npm run new:task-type adds activities above this line)
  };
}

export type TaskActivities = ReturnType<typeof createActivities>;
