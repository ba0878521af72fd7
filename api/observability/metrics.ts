import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The API process's metrics, served by `GET /metrics` (api/observability/metrics.routes.ts). */
export const apiRegistry = new Registry();

const HTTP_LABELS = ['method', 'route', 'status_class'] as const;

/** Latency per route template (`/tasks/:id`, never the raw path: bounded cardinality) and status class (`2xx`…). */
export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request latency by method, matched route template and status class',
  labelNames: HTTP_LABELS,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [apiRegistry],
});

export const httpRequestsTotal = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests by method, matched route template and status class',
  labelNames: HTTP_LABELS,
  registers: [apiRegistry],
});

/**
 * New task workflow runs started through TaskWorkflowGateway.start (REST create and retry; an idempotent replay that
 * starts nothing is not counted). The worker registry serves it too: bulk retries start runs from the worker process.
 */
export const tasksStarted = new Counter({
  name: 'tasks_started_total',
  help: 'Task workflow runs started (create or retry), by task type',
  labelNames: ['task_type'] as const,
  registers: [apiRegistry],
});

const withProcessMetrics = new WeakSet<Registry>();

/** prom-client's process metrics (CPU, memory, event loop lag, GC, handles) on `registry`, once per registry. */
export function enableProcessMetrics(registry: Registry): void {
  if (withProcessMetrics.has(registry)) return;
  withProcessMetrics.add(registry);
  collectDefaultMetrics({ register: registry });
}
