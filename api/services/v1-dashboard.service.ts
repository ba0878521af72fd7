import type { MetricsService } from './metrics.service';
import type { WorkerRegistryService } from './worker-registry.service';

/**
 * The seed 003 dashboard of one brand (`GET /api/v1/analytics/dashboard` and every `/ws/metrics` snapshot): the brand's
 * task summary and the platform's workers. Workers are the same for every brand, so one reading (kept a second) serves
 * all the brands of a metrics tick and a burst of requests.
 */
export class V1DashboardService {
  private workerTotals: { at: number; totals: Promise<{ online: number; workers: number }> } | null = null;

  constructor(private readonly deps: { metrics: MetricsService; workers: WorkerRegistryService }) {}

  async dashboard(brandId: number) {
    const [summary, workers] = await Promise.all([this.deps.metrics.v1Summary(brandId), this.workers()]);
    return { ...summary, workers_active: workers.online, workers_total: workers.workers };
  }

  private workers(): Promise<{ online: number; workers: number }> {
    if (!this.workerTotals || Date.now() - this.workerTotals.at > 1000) {
      const reading = this.deps.workers.overview(0).then((o) => o.totals);
      reading.catch(() => {
        if (this.workerTotals?.totals === reading) this.workerTotals = null;
      });
      this.workerTotals = { at: Date.now(), totals: reading };
    }
    return this.workerTotals.totals;
  }
}
