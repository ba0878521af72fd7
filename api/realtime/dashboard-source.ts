import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import { MetricsService } from '../services/metrics.service';
import { V1DashboardService } from '../services/v1-dashboard.service';
import { WorkerRegistryService } from '../services/worker-registry.service';
import { TaskQueueGateway } from '../temporal/task-queues';
import type { DashboardSource } from './metrics-feed';

/** `/ws/metrics` snapshots come from the same service as `GET /api/v1/analytics/dashboard`. */
export function createDashboardSource(deps: { orm: MikroORM; temporal: Client; config: AppConfig }): DashboardSource {
  const { orm, temporal, config } = deps;
  const dashboard = new V1DashboardService({
    metrics: new MetricsService({ orm, config }),
    workers: new WorkerRegistryService({ orm, config, queues: new TaskQueueGateway(temporal, config.TEMPORAL_NAMESPACE) }),
  });
  return (brandId) => dashboard.dashboard(brandId);
}
