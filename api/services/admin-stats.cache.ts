import { LRUCache } from 'lru-cache';
import { addHistograms, emptyHistogram } from '../../activities/metrics/duration-histogram';
import type { RollupRow } from '../../db/repositories/task-metrics.repository';

/**
 * Metrics of a task are written seconds after it ends, into the hour it ended in: an hour that ended this long ago no
 * longer receives writes in the normal flow (only backdated ones: imports, deletions of old jobs).
 */
export const LATE_WRITE_MARGIN_MS = 5 * 60_000;

export type StatsScope = { brandId?: number; taskType?: string };

/** The rollups of a stats period's older hours, one summed histogram per key. */
export interface ClosedRollups {
  from: number;
  until: Date;
  computedAt: number;
  rows: RollupRow[];
}

/**
 * The older part of a stats period, cached per query: across every brand, 30 days of rollups are tens of thousands of
 * rows with a histogram each (about half a second to add up), and all but the last hour of them no longer change. A
 * request adds the hours since `until` (a few hundred rows) live, so jobs finishing now show at once; the cached part is
 * served stale while one refresh runs in the background after `ttlMs` (so backdated writes show within `ttlMs` plus a
 * refresh), and is recomputed before answering when the period's first hour moved on. `ttlMs` 0: no cache.
 */
export class ClosedRollupsCache {
  private readonly entries = new LRUCache<string, ClosedRollups>({ max: 100 });
  private readonly refreshing = new Map<string, Promise<ClosedRollups>>();

  constructor(
    private readonly ttlMs: number,
    private readonly load: (scope: StatsScope, from: Date, until: Date) => Promise<RollupRow[]>,
  ) {}

  async get(key: string, scope: StatsScope, from: Date, until: Date): Promise<ClosedRollups> {
    if (this.ttlMs === 0) return this.compute(scope, from, until);
    const entry = this.entries.get(key);
    if (!entry || entry.from !== from.getTime()) {
      // A refresh already running may be for the previous first hour: then one more, for this one.
      const fresh = await this.refresh(key, scope, from, until);
      return fresh.from === from.getTime() ? fresh : this.refresh(key, scope, from, until);
    }
    if (Date.now() - entry.computedAt >= this.ttlMs || entry.until.getTime() !== until.getTime()) {
      // A failed background refresh leaves the entry as it was; the next request after it tries again.
      this.refresh(key, scope, from, until).catch(() => undefined);
    }
    return entry;
  }

  private refresh(key: string, scope: StatsScope, from: Date, until: Date): Promise<ClosedRollups> {
    const running = this.refreshing.get(key);
    if (running) return running;
    const next = this.compute(scope, from, until)
      .then((entry) => {
        this.entries.set(key, entry);
        return entry;
      })
      .finally(() => this.refreshing.delete(key));
    this.refreshing.set(key, next);
    return next;
  }

  private async compute(scope: StatsScope, from: Date, until: Date): Promise<ClosedRollups> {
    const computedAt = Date.now();
    const rows = await this.load(scope, from, until);
    // One histogram per key instead of one per rollup row: what is kept is small whatever the period.
    for (const r of rows) r.durations = [r.durations.reduce((sum, h) => addHistograms(sum, h), emptyHistogram())];
    return { from: from.getTime(), until, computedAt, rows };
  }
}
