import type { TaskRow } from '../../db/repositories/task-query.repository';

// Raw queries return timestamptz as text (MikroORM leaves pg's date parsing off); normalise to ISO 8601 UTC.
const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

/** The task JSON of seed 001, in its field order, plus the optional fields we accept at creation. */
export function serializeTask(row: TaskRow) {
  return {
    id: row.id,
    task_id: row.task_id,
    task_type: row.task_type,
    status: row.status,
    priority: row.priority,
    description: row.description,
    progress_percentage: row.progress_percentage,
    brand: { id: row.brand_id, name: row.brand_name },
    created_by: { id: row.created_by_id, username: row.created_by_username },
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    scheduled_for: iso(row.scheduled_for),
    context_data: row.context_data,
    result_data: row.result_data,
    error_message: row.error_message,
    retry_count: row.retry_count,
    max_retries: row.max_retries,
    timeout_minutes: row.timeout_minutes,
  };
}

/**
 * Detail view: the one-to-one extensions of seed 001 (null until their features exist for this task) and where
 * to watch the execution in the Temporal Web UI.
 */
export function serializeTaskDetail(row: TaskRow, temporal: { uiUrl: string; namespace: string }) {
  return {
    ...serializeTask(row),
    metrics: null,
    persistent_job: null,
    periodic: null,
    temporal: {
      namespace: temporal.namespace,
      workflow_id: row.task_id,
      run_id: row.run_id,
      workflow_type: row.task_type,
      ui_url: `${temporal.uiUrl}/namespaces/${encodeURIComponent(temporal.namespace)}/workflows/${encodeURIComponent(row.task_id)}${
        row.run_id ? `/${encodeURIComponent(row.run_id)}` : ''
      }/history`,
    },
  };
}
