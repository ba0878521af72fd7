import { Counter, Gauge, Histogram } from 'prom-client';
import { apiRegistry } from '../observability/metrics';

/** WebSocket figures on the API's `GET /metrics`. */

export const wsConnections = new Gauge({
  name: 'ws_connections',
  help: 'Open WebSocket connections by endpoint',
  labelNames: ['endpoint'] as const,
  registers: [apiRegistry],
});

/**
 * From a task's row change (the trigger's clock_timestamp) to the API handing the event to its sockets: commit, the
 * notify lock, delivery to the LISTEN connection and the API's event loop. What a client measures adds the socket.
 */
export const wsTaskEventLag = new Histogram({
  name: 'ws_task_event_lag_seconds',
  help: 'Delay between a task status change in PostgreSQL and its fan-out to WebSockets',
  buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [apiRegistry],
});

export const wsClosedByServer = new Counter({
  name: 'ws_closed_by_server_total',
  help: 'WebSockets the server closed: slow_consumer (unsent bytes over WS_MAX_BUFFERED_BYTES), dead_peer (no pong), credentials (expired, revoked or access changed)',
  labelNames: ['reason'] as const,
  registers: [apiRegistry],
});

export const wsRefusedUpgrades = new Counter({
  name: 'ws_refused_upgrades_total',
  help: 'WebSocket upgrades answered with an HTTP error instead, by status',
  labelNames: ['status'] as const,
  registers: [apiRegistry],
});
