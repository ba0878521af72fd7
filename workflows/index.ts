/**
 * Workflow bundle entry: every exported function is a workflow type, named by its export.
 * Task workflows are named after their task type so the Temporal Web UI's "Workflow Type" column reads as the API's `task_type`.
 */
export { noop } from './tasks/noop';
export { http_request } from './tasks/http-request';
export { data_export } from './tasks/data-export';
// @family:seo
// @family:site
// @family:content
// @family:data
export { reconcileMirrorWorkflow } from './system/reconcile-mirror';
