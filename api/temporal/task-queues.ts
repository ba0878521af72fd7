import type { Client } from '@temporalio/client';
import { optionalTsToDate } from '@temporalio/common/lib/time';

/** temporal.api.enums.v1 values (the proto package is not a direct dependency). */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPES = { workflow: 1, activity: 2 } as const;
type TaskQueueTypeName = keyof typeof TASK_QUEUE_TYPES;

export interface TaskQueuePoller {
  identity: string;
  last_access_at: string | null;
  /** Which pollers of the queue this identity runs (workflow tasks, activity tasks). */
  types: TaskQueueTypeName[];
  rate_per_second: number | null;
}

export interface TaskQueueBacklog {
  approximate_count: number;
  approximate_age_seconds: number;
  tasks_add_rate: number;
  tasks_dispatch_rate: number;
}

export interface TaskQueueDescription {
  name: string;
  pollers: TaskQueuePoller[];
  /** Per task type; null when the server did not report statistics. */
  backlog: Record<TaskQueueTypeName, TaskQueueBacklog | null>;
  /** Set when Temporal could not be asked: pollers are then unknown, not absent. */
  error?: string;
}

const numberOf = (v: unknown): number => (v === null || v === undefined ? 0 : Number(String(v)));

/**
 * `describeTaskQueue` for the worker registry: who polls a task queue (identity, last poll) and its backlog. Answers
 * are cached per queue for `cacheMs` (one request asks once per queue, however many rows it shows). A poll lasts up
 * to a minute and Temporal keeps a poller listed for five minutes after its last poll, so a poller counts as live
 * while its last access is younger than `liveWindowMs`.
 */
export class TaskQueueGateway {
  private readonly cache = new Map<string, { at: number; value: Promise<TaskQueueDescription> }>();

  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    private readonly options: { cacheMs?: number; liveWindowMs?: number; timeoutMs?: number } = {},
  ) {}

  get liveWindowMs(): number {
    return this.options.liveWindowMs ?? 120_000;
  }

  async describe(names: string[]): Promise<Map<string, TaskQueueDescription>> {
    const now = Date.now();
    const cacheMs = this.options.cacheMs ?? 2_000;
    for (const [name, entry] of this.cache) if (now - entry.at > cacheMs) this.cache.delete(name);
    const out = await Promise.all(
      [...new Set(names)].map(async (name) => {
        let entry = this.cache.get(name);
        if (!entry) {
          entry = { at: now, value: this.describeOne(name) };
          this.cache.set(name, entry);
        }
        return [name, await entry.value] as const;
      }),
    );
    return new Map(out);
  }

  /** The identities polling any of `names` whose last poll is recent enough to count as live. */
  static liveIdentities(descriptions: Iterable<TaskQueueDescription>, liveWindowMs: number, now = Date.now()): Set<string> {
    const live = new Set<string>();
    for (const d of descriptions) {
      for (const p of d.pollers) {
        if (p.last_access_at && now - Date.parse(p.last_access_at) <= liveWindowMs) live.add(p.identity);
      }
    }
    return live;
  }

  private async describeOne(name: string): Promise<TaskQueueDescription> {
    const byIdentity = new Map<string, TaskQueuePoller>();
    const backlog: Record<TaskQueueTypeName, TaskQueueBacklog | null> = { workflow: null, activity: null };
    try {
      await Promise.all(
        (Object.keys(TASK_QUEUE_TYPES) as TaskQueueTypeName[]).map(async (type) => {
          const res = await this.client.withDeadline(Date.now() + (this.options.timeoutMs ?? 3_000), () =>
            this.client.workflowService.describeTaskQueue({
              namespace: this.namespace,
              taskQueue: { name, kind: TASK_QUEUE_KIND_NORMAL },
              taskQueueType: TASK_QUEUE_TYPES[type],
              reportStats: true,
            }),
          );
          for (const p of res.pollers ?? []) {
            const identity = p.identity ?? '';
            const at = optionalTsToDate(p.lastAccessTime)?.toISOString() ?? null;
            const prev = byIdentity.get(identity);
            if (!prev) {
              byIdentity.set(identity, { identity, last_access_at: at, types: [type], rate_per_second: p.ratePerSecond ?? null });
            } else {
              prev.types.push(type);
              if (at && (!prev.last_access_at || at > prev.last_access_at)) prev.last_access_at = at;
            }
          }
          if (res.stats) {
            const age = res.stats.approximateBacklogAge;
            backlog[type] = {
              approximate_count: numberOf(res.stats.approximateBacklogCount),
              approximate_age_seconds: numberOf(age?.seconds) + numberOf(age?.nanos) / 1e9,
              tasks_add_rate: res.stats.tasksAddRate ?? 0,
              tasks_dispatch_rate: res.stats.tasksDispatchRate ?? 0,
            };
          }
        }),
      );
    } catch (err) {
      this.cache.delete(name);
      return { name, pollers: [], backlog, error: err instanceof Error ? err.message : String(err) };
    }
    const pollers = [...byIdentity.values()].sort((a, b) => (b.last_access_at ?? '').localeCompare(a.last_access_at ?? '') || a.identity.localeCompare(b.identity));
    for (const p of pollers) p.types.sort();
    return { name, pollers, backlog };
  }
}
