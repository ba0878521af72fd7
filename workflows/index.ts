/**
 * Workflow bundle entry: every exported function is a workflow type, named by its export.
 * Task workflows are named after their task type so the Temporal Web UI's "Workflow Type" column reads as the API's `task_type`.
 */
export { noop } from './tasks/noop';
export { http_request } from './tasks/http-request';
export { generic } from './tasks/generic';
export { data_export } from './tasks/data-export';
// SEO & research
export { seo_keyword_analysis } from './tasks/seo-keyword-analysis';
export { seo_competitor_analysis } from './tasks/seo-competitor-analysis';
export { seo_content_audit } from './tasks/seo-content-audit';
// Site & pages
export { website_structure_analysis } from './tasks/website-structure-analysis';
export { page_performance_audit } from './tasks/page-performance-audit';
export { sitemap_generation } from './tasks/sitemap-generation';
// Content & AI
export { ai_content_generation } from './tasks/ai-content-generation';
export { content_optimization } from './tasks/content-optimization';
export { meta_tags_generation } from './tasks/meta-tags-generation';
// Data & export
export { report_generation } from './tasks/report-generation';
export { bulk_operations } from './tasks/bulk-operations';
export { cleanup_old_tasks } from './tasks/cleanup-old-tasks';
export { pipeline } from './tasks/pipeline';
// Work done by the Go worker (workers/go)
export { text_statistics } from './tasks/text-statistics';
// @generator (npm run new:task-type adds exports above this line)
// Persistent jobs (a run of their base task's workflow id)
export { persistent_job } from './jobs/persistent-job';
export { reconcileMirrorWorkflow } from './system/reconcile-mirror';
export { autoResumeJobsWorkflow } from './system/auto-resume-jobs';
export { evaluateAlertsWorkflow, deliverAlertWorkflow } from './system/evaluate-alerts';
export { adminBulkWorkflow } from './system/admin-bulk';
