import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { queueStats } from '../../db/repositories/task-query.repository';
import type { AppConfig } from '../config';
import { WorkerRegistryService } from '../services/worker-registry.service';
import { TaskQueueGateway } from '../temporal/task-queues';
import type { DashboardSource } from './metrics-feed';

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Interim: one brand's figures in the shape of `GET /api/v1/analytics/dashboard` (seed 003), until that endpoint's
 * service exists to be passed instead. Task counts come from the same per-status query as `/tasks/queue-stats/`,
 * workers from the registry service (workers are shared by every brand). `average_duration` is in seconds over
 * completed tasks; `pending_tasks` counts every task neither completed nor failed, so total = completed + failed +
 * pending as in the seed's example.
 */
export function createDashboardSource(deps: { orm: MikroORM; temporal: Client; config: AppConfig }): DashboardSource {
  const { orm, temporal, config } = deps;
  const workers = new WorkerRegistryService({ orm, config, queues: new TaskQueueGateway(temporal, config.TEMPORAL_NAMESPACE) });
  return async (brandId) => {
    const [rows, overview] = await Promise.all([queueStats(orm.em.fork(), brandId), workers.overview(0)]);
    let total = 0;
    let completed = 0;
    let failed = 0;
    let durationSum = 0;
    for (const r of rows) {
      const n = Number(r.total);
      total += n;
      if (r.status === 'failed') failed += n;
      if (r.status === 'completed') {
        completed += n;
        durationSum += Number(r.avg_seconds ?? 0) * n;
      }
    }
    return {
      total_tasks: total,
      completed_tasks: completed,
      failed_tasks: failed,
      pending_tasks: total - completed - failed,
      completion_rate: total ? round(completed / total, 4) : 0,
      average_duration: completed ? round(durationSum / completed, 2) : 0,
      workers_active: overview.totals.online,
      workers_total: overview.totals.workers,
    };
  };
}
