import type { Logger } from '../middleware/error-handler';

/** The figures of `GET /api/v1/analytics/dashboard` (seed 003), one brand. */
export interface DashboardSnapshot {
  total_tasks: number;
  completed_tasks: number;
  failed_tasks: number;
  pending_tasks: number;
  completion_rate: number;
  average_duration: number;
  workers_active: number;
  workers_total: number;
}

/** Computes one brand's dashboard; the same service answers the HTTP endpoint. */
export type DashboardSource = (brandId: number) => Promise<DashboardSnapshot>;

export interface MetricsSubscriber {
  /** Brand ids, or every brand (an admin who did not narrow with `?brand_id=`). */
  brands: readonly number[] | 'all';
  /** Receives the serialized message, the same string for every subscriber of the brand. */
  send(message: string): void;
}

export interface MetricsFeedOptions {
  intervalMs: number;
  source: DashboardSource;
  /** Every brand id, for subscribers of all brands. */
  allBrands: () => Promise<number[]>;
  logger: Logger;
}

/** The WebSocket message of one brand's snapshot. */
export function metricsMessage(brandId: number, snapshot: DashboardSnapshot, at = new Date()): string {
  return JSON.stringify({ type: 'metrics.snapshot', data: { brand_id: brandId, ...snapshot }, timestamp: at.toISOString() });
}

/**
 * Periodic dashboard snapshots for /ws/metrics. Each brand is computed once per interval however many sockets watch
 * it, and only brands somebody watches are computed. A new subscriber gets the latest snapshot at once (computed then
 * if none is fresh) instead of waiting for the next tick. A tick still running when the next is due is not doubled.
 */
export class MetricsFeed {
  private readonly subscribers = new Set<MetricsSubscriber>();
  private readonly latest = new Map<number, { message: string; at: number }>();
  private readonly inFlight = new Map<number, Promise<string | null>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  readonly stats = { computed: 0, failed: 0 };

  constructor(private readonly options: MetricsFeedOptions) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.subscribers.clear();
  }

  subscribe(subscriber: MetricsSubscriber): () => void {
    this.subscribers.add(subscriber);
    void this.greet(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  private async greet(subscriber: MetricsSubscriber): Promise<void> {
    const brands = subscriber.brands === 'all' ? await this.allBrands() : subscriber.brands;
    for (const brandId of brands) {
      const cached = this.latest.get(brandId);
      const message = cached && Date.now() - cached.at < this.options.intervalMs ? cached.message : await this.compute(brandId);
      if (message && this.subscribers.has(subscriber)) subscriber.send(message);
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.subscribers.size === 0) return;
    this.ticking = true;
    try {
      const subscribers = [...this.subscribers];
      const watched = new Set<number>();
      if (subscribers.some((s) => s.brands === 'all')) for (const b of await this.allBrands()) watched.add(b);
      for (const s of subscribers) if (s.brands !== 'all') for (const b of s.brands) watched.add(b);
      for (const brandId of watched) {
        const message = await this.compute(brandId);
        if (!message) continue;
        for (const s of this.subscribers) {
          if (s.brands === 'all' || s.brands.includes(brandId)) s.send(message);
        }
      }
      for (const brandId of this.latest.keys()) if (!watched.has(brandId)) this.latest.delete(brandId);
    } finally {
      this.ticking = false;
    }
  }

  /** One computation per brand at a time; concurrent callers (a greeting during a tick) share it. */
  private compute(brandId: number): Promise<string | null> {
    let pending = this.inFlight.get(brandId);
    if (!pending) {
      pending = this.options
        .source(brandId)
        .then((snapshot) => {
          this.stats.computed++;
          const message = metricsMessage(brandId, snapshot);
          this.latest.set(brandId, { message, at: Date.now() });
          return message;
        })
        .catch((err: unknown) => {
          this.stats.failed++;
          this.options.logger.error({ err, brand_id: brandId }, 'metrics feed: snapshot failed');
          return null;
        })
        .finally(() => this.inFlight.delete(brandId));
      this.inFlight.set(brandId, pending);
    }
    return pending;
  }

  private async allBrands(): Promise<number[]> {
    try {
      return await this.options.allBrands();
    } catch (err) {
      this.options.logger.error({ err }, 'metrics feed: cannot list brands');
      return [];
    }
  }
}
