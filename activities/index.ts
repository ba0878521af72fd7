import type { ActivityDeps } from './deps';
import { createExportActivities } from './export.activities';
import { createHttpActivities } from './http.activities';
import { createMirrorActivities } from './mirror.activities';
import { createNoopActivities } from './noop.activities';
import { createReconcileActivities } from './reconcile.activities';
// @family-imports:seo
// @family-imports:site
// @family-imports:content
// @family-imports:data

export type { ActivityDeps } from './deps';

/** Every activity the worker registers. Workflows import only the type (`import type`), never this code. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createMirrorActivities(deps),
    ...createNoopActivities(deps),
    ...createHttpActivities(deps),
    ...createExportActivities(deps),
    ...createReconcileActivities(deps),
    // @family:seo
    // @family:site
    // @family:content
    // @family:data
  };
}

export type TaskActivities = ReturnType<typeof createActivities>;
