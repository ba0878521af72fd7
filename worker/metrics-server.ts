import { createServer, type Server } from 'node:http';
import type { TelemetryOptions } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import type { AppConfig } from '../api/config';

/** A tiny HTTP server answering `GET /metrics` with `registry` in Prometheus text format (404 for anything else). */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** The Temporal SDK Runtime's own Prometheus exporter on TEMPORAL_SDK_METRICS_PORT (same host as the other endpoints), or none. */
export function sdkMetricsOptions(config: Pick<AppConfig, 'HOST' | 'TEMPORAL_SDK_METRICS_PORT'>): Pick<TelemetryOptions, 'metrics'> {
  if (!config.TEMPORAL_SDK_METRICS_PORT) return {};
  const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  return { metrics: { prometheus: { bindAddress: `${host}:${config.TEMPORAL_SDK_METRICS_PORT}` } } };
}
