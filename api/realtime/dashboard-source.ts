import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config';
import { MetricsService } from '../services/metrics.service';
import { WorkerRegistryService } from '../services/worker-registry.service';
import { TaskQueueGateway } from '../temporal/task-queues';
import type { DashboardSource } from './metrics-feed';

/**
 * One brand's figures as `GET /api/v1/analytics/dashboard` answers them (api/routes/v1-analytics.routes.ts), from the
 * same two services: the brand's task summary, and the workers (platform-wide).
 */
export function createDashboardSource(deps: { orm: MikroORM; temporal: Client; config: AppConfig }): DashboardSource {
  const { orm, temporal, config } = deps;
  const metrics = new MetricsService({ orm, config });
  const workers = new WorkerRegistryService({ orm, config, queues: new TaskQueueGateway(temporal, config.TEMPORAL_NAMESPACE) });
  // Workers are the same for every brand: one reading serves all the brands of a metrics tick.
  let workerTotals: { at: number; totals: Promise<{ online: number; workers: number }> } | null = null;
  const totals = () => {
    if (!workerTotals || Date.now() - workerTotals.at > 1000) {
      const reading = workers.overview(0).then((o) => o.totals);
      reading.catch(() => {
        if (workerTotals?.totals === reading) workerTotals = null;
      });
      workerTotals = { at: Date.now(), totals: reading };
    }
    return workerTotals.totals;
  };
  return async (brandId) => {
    const [summary, w] = await Promise.all([metrics.v1Summary(brandId), totals()]);
    return { ...summary, workers_active: w.online, workers_total: w.workers };
  };
}
