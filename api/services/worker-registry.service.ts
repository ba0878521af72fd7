import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import {
  findWorker,
  heartbeatWorkerLoad,
  listWorkers,
  lockWorker,
  registeredWorkerIds,
  softDeleteWorker,
  updateWorker,
  upsertWorker,
  WorkerFilter,
  workerOverview,
  workerTaskQueues,
  type Liveness,
  type WorkerLiveRow,
  type WorkerReport,
} from '../../db/repositories/worker.repository';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import { checkWorkerFields, WORKER_ORDERING, type ListWorkersQuery, type WorkerBody, type WorkerPatch } from '../schemas/workers.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { TaskQueueGateway, type TaskQueueDescription } from '../temporal/task-queues';
import type { Actor } from './task.service';

/** Task queues asked about per request at most (those of the most recently heard-from workers first). */
const MAX_DESCRIBED_QUEUES = 50;

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
const workerNotFound = () => new AppError(ErrorCode.NOT_FOUND, 404, 'Worker not found');
const selfRegistered = () =>
  new AppError(ErrorCode.INVALID_OPERATION, 409, 'This worker registered itself and reports its own state; only manual registrations can be written (DELETE removes a stale one)');
const ratio = (active: number, max: number | null) => (max ? Math.round((Math.min(active, max) / max) * 10_000) / 10_000 : null);

export interface WorkerView {
  row: WorkerLiveRow;
  /** The worker's latest poll among the pollers Temporal lists for its task queues. */
  lastPollAt: string | null;
}

interface Reading {
  liveness: Liveness;
  descriptions: Map<string, TaskQueueDescription>;
}

/**
 * task_monitoring `workers/`: the registry of worker processes. A worker is online when its last heartbeat is younger
 * than its offline delay and, for self-registered workers, Temporal still lists its identity among the live pollers of
 * its task queues. A SIGKILLed worker stops heartbeating at once but stays listed by Temporal for minutes (its last
 * poll is only a few seconds old), so the heartbeat is what turns it offline quickly; the poller check catches a
 * process that keeps heartbeating after its Temporal worker died. When Temporal cannot be asked, the heartbeat decides.
 */
export class WorkerRegistryService {
  private readonly queues: TaskQueueGateway;

  constructor(private readonly deps: { orm: MikroORM; config: AppConfig; queues: TaskQueueGateway }) {
    this.queues = deps.queues;
  }

  private em(): EntityManager {
    return this.deps.orm.em.fork() as EntityManager;
  }

  /** Asks Temporal once per request (cached ~2 s per queue) about the queues of the registered workers. */
  private async read(em: EntityManager, extraQueues: string[] = []): Promise<Reading> {
    const names = [...new Set([...(await workerTaskQueues(em, MAX_DESCRIBED_QUEUES)), ...extraQueues])];
    const descriptions = await this.queues.describe(names);
    const answered = [...descriptions.values()].filter((d) => !d.error);
    return {
      descriptions,
      liveness: {
        offlineAfterSeconds: this.deps.config.WORKER_OFFLINE_AFTER_SECONDS ?? null,
        defaultIntervalSeconds: this.deps.config.WORKER_HEARTBEAT_SECONDS,
        pollingIdentities: [...TaskQueueGateway.liveIdentities(answered, this.queues.liveWindowMs)],
        describedQueues: answered.map((d) => d.name),
      },
    };
  }

  private view(row: WorkerLiveRow, descriptions: Map<string, TaskQueueDescription>): WorkerView {
    let lastPollAt: string | null = null;
    for (const q of row.task_queues) {
      const p = descriptions.get(q)?.pollers.find((x) => x.identity === row.worker_id);
      if (p?.last_access_at && (!lastPollAt || p.last_access_at > lastPollAt)) lastPollAt = p.last_access_at;
    }
    return { row, lastPollAt };
  }

  // ---- reads ----

  async list(q: ListWorkersQuery): Promise<{ count: number; views: WorkerView[]; page: number; pageSize: number }> {
    const em = this.em();
    const { liveness, descriptions } = await this.read(em);
    const filter = new WorkerFilter();
    if (q.is_online !== undefined) filter.add(q.is_online ? 'o.is_online' : 'not o.is_online');
    if (q.queue_name) filter.queueNames(q.queue_name);
    if (q.active_tasks__gte !== undefined) filter.add('o.active_tasks >= ?', q.active_tasks__gte);
    if (q.source) filter.add('o.source = ?', q.source);
    if (q.sdk) filter.add('o.sdk = ?', q.sdk);
    if (q.status) filter.add('o.status = ?', q.status);
    if (q.search) filter.search(q.search);
    const orderBy = (q.ordering ?? ['-is_online', 'queue_name', '-last_heartbeat_at'])
      .map((f) => `${WORKER_ORDERING[f.replace(/^-/, '') as keyof typeof WORKER_ORDERING]} ${f.startsWith('-') ? 'desc' : 'asc'} nulls last`)
      .concat('o.id desc')
      .join(', ');
    const pageSize = Math.min(q.page_size ?? this.deps.config.PAGE_SIZE_DEFAULT, this.deps.config.PAGE_SIZE_MAX);
    const { count, rows } = await listWorkers(em, liveness, filter, orderBy, pageSize, (q.page - 1) * pageSize);
    return { count, views: rows.map((r) => this.view(r, descriptions)), page: q.page, pageSize };
  }

  /** The public API v1 list: online or not, an offset window; online workers first, then the latest heartbeat. */
  async search(q: { online?: boolean; skip: number; limit: number }): Promise<{ count: number; views: WorkerView[] }> {
    const em = this.em();
    const { liveness, descriptions } = await this.read(em);
    const filter = new WorkerFilter();
    if (q.online !== undefined) filter.add(q.online ? 'o.is_online' : 'not o.is_online');
    const { count, rows } = await listWorkers(em, liveness, filter, 'o.is_online desc, o.last_heartbeat_at desc, o.id desc', q.limit, q.skip);
    return { count, views: rows.map((r) => this.view(r, descriptions)) };
  }

  async get(idOrWorkerId: string): Promise<WorkerView> {
    const em = this.em();
    const { liveness, descriptions } = await this.read(em);
    const row = await findWorker(em, liveness, idOrWorkerId);
    if (!row) throw workerNotFound();
    return this.view(row, descriptions);
  }

  /**
   * Totals, per primary queue (workers, active tasks and capacity of the online ones, Temporal's pollers and backlog),
   * per build, and the stale registrations (offline without a clean stop). The platform's own task queue is always
   * described, so pollers that never registered show up too.
   */
  async overview(staleLimit = 20) {
    const em = this.em();
    const { liveness, descriptions } = await this.read(em, [this.deps.config.TEMPORAL_TASK_QUEUE]);
    const o = await workerOverview(em, liveness, staleLimit);
    const figures = new Map(o.queues.map((q) => [q.queue_name, q]));
    for (const name of descriptions.keys()) {
      if (!figures.has(name)) figures.set(name, { queue_name: name, workers: 0, online: 0, offline: 0, active_tasks: 0, capacity: 0 });
    }
    const registered = await registeredWorkerIds(em, [...new Set([...descriptions.values()].flatMap((d) => d.pollers.map((p) => p.identity)))]);
    const byQueue = [...figures.values()]
      .sort((a, b) => a.queue_name.localeCompare(b.queue_name))
      .map((q) => {
        const d = descriptions.get(q.queue_name);
        const pollers = (d?.pollers ?? []).map((p) => ({
          ...p,
          live: !!p.last_access_at && Date.now() - Date.parse(p.last_access_at) <= this.queues.liveWindowMs,
          registered: registered.has(p.identity),
        }));
        return {
          ...q,
          load: q.capacity > 0 ? Math.round((q.active_tasks / q.capacity) * 10_000) / 10_000 : null,
          temporal: d
            ? {
                pollers,
                live_pollers: pollers.filter((p) => p.live).length,
                unregistered_pollers: pollers.filter((p) => p.live && !p.registered).length,
                backlog: d.backlog,
                ...(d.error ? { error: d.error } : {}),
              }
            : null,
        };
      });
    const errors = [...descriptions.values()].filter((d) => d.error);
    return {
      generated_at: new Date().toISOString(),
      heartbeat_seconds: this.deps.config.WORKER_HEARTBEAT_SECONDS,
      offline_after_seconds: this.deps.config.WORKER_OFFLINE_AFTER_SECONDS ?? 3 * this.deps.config.WORKER_HEARTBEAT_SECONDS,
      poller_live_window_seconds: this.queues.liveWindowMs / 1000,
      totals: { ...o.totals, load: o.totals.capacity > 0 ? Math.round((o.totals.active_tasks / o.totals.capacity) * 10_000) / 10_000 : null },
      by_queue: byQueue,
      by_build: o.builds,
      stale_registrations: { count: o.totals.stale, results: o.stale.map((r) => serializeWorker(this.view(r, descriptions))) },
      temporal: { available: descriptions.size === 0 || errors.length < descriptions.size, queues_described: descriptions.size, errors: errors.map((d) => ({ queue_name: d.name, error: d.error })) },
    };
  }

  // ---- writes (admin only; checked by the routes) ----

  /** POST: registers an external worker, or re-registers (heartbeat) the manual registration of the same worker_id. */
  async register(actor: Actor, body: WorkerBody): Promise<{ view: WorkerView; created: boolean }> {
    const report = reportOf(body);
    const { id, existed } = await this.em().transactional(async (tx) => {
      const current = await lockWorker(tx, body.worker_id, true);
      if (current && current.source === 'self' && !current.deleted) throw selfRegistered();
      const r = await upsertWorker(tx, 'manual', { ...body, ...report });
      await insertAudit(tx, {
        ...auditActor(actor),
        action: r.existed ? 'worker.reregister' : 'worker.register',
        targetType: 'worker',
        targetId: String(r.id),
        details: { worker_id: body.worker_id, host: body.host, task_queues: body.task_queues, sdk: body.sdk, status: report.status },
      });
      return r;
    });
    return { view: await this.get(String(id)), created: !existed };
  }

  /**
   * The public API v1 heartbeat of an external worker: status and load only. The first beat of a worker_id registers it
   * (audited, with defaults for what the beat does not say: host `unknown`, sdk `other`, the platform task queue); later
   * beats update status and load and keep the rest (a registration made through /tasks/monitoring/workers/ keeps its
   * host, queues and metadata). Beats are not audited: one every few seconds would drown the trail. A self-registered
   * TypeScript worker reports for itself: 409.
   */
  async heartbeat(
    caller: Omit<Actor, 'brandId' | 'brandName'>,
    beat: { worker_id: string; status: string; active_tasks: number; max_concurrency: number },
  ): Promise<{ view: WorkerView; created: boolean }> {
    const report = { status: beat.status, active_tasks: beat.active_tasks, max_concurrency: beat.max_concurrency, load: ratio(beat.active_tasks, beat.max_concurrency) };
    const { id, created } = await this.em().transactional(async (tx) => {
      const current = await lockWorker(tx, beat.worker_id, true);
      if (current && current.source === 'self' && !current.deleted) throw selfRegistered();
      if (current && !current.deleted) {
        await heartbeatWorkerLoad(tx, current.id, report);
        return { id: current.id, created: false };
      }
      const queue = this.deps.config.TEMPORAL_TASK_QUEUE;
      const r = await upsertWorker(tx, 'manual', {
        worker_id: beat.worker_id,
        host: 'unknown',
        pid: null,
        task_queues: [queue],
        queue_name: queue,
        version: null,
        build_id: null,
        sdk: 'other',
        heartbeat_interval_seconds: null,
        started_at: null,
        ...report,
        memory_mb: null,
        cpu_percent: null,
        metadata: {},
      });
      await insertAudit(tx, {
        ...auditActor({ ...caller, brandId: null }),
        action: 'worker.register',
        targetType: 'worker',
        targetId: String(r.id),
        details: { worker_id: beat.worker_id, via: 'heartbeat', status: beat.status, active_tasks: beat.active_tasks, max_concurrency: beat.max_concurrency },
      });
      return { id: r.id, created: true };
    });
    return { view: await this.get(String(id)), created };
  }

  /** PUT: replaces a manual registration (worker_id cannot change); counts as a heartbeat. */
  async replace(actor: Actor, idOrWorkerId: string, body: WorkerBody): Promise<WorkerView> {
    const id = await this.em().transactional(async (tx) => {
      const current = await this.lockManual(tx, idOrWorkerId);
      if (body.worker_id !== current.worker_id) {
        throw AppError.validation({ worker_id: ['Cannot change; register the new worker with POST'] });
      }
      const { worker_id: _unchanged, started_at, metadata: _metadata, status: _status, active_tasks: _a, max_concurrency: _m, load: _l, memory_mb: _mem, cpu_percent: _cpu, ...fields } = body;
      const report = reportOf(body);
      await updateWorker(tx, current.id, { ...fields, ...(started_at ? { started_at } : {}) }, report);
      await this.audit(tx, actor, 'worker.update', current, { method: 'PUT', status: report.status, active_tasks: report.active_tasks });
      return current.id;
    });
    return this.get(String(id));
  }

  /** PATCH: an external worker's heartbeat (status, active_tasks, load…) or an edit of some fields. */
  async patch(actor: Actor, idOrWorkerId: string, patch: WorkerPatch): Promise<WorkerView> {
    const em = this.em();
    const { liveness } = await this.read(em);
    const id = await em.transactional(async (tx) => {
      const current = await this.lockManual(tx, idOrWorkerId);
      const r = await findWorker(tx, liveness, String(current.id));
      if (!r) throw workerNotFound();
      const taskQueues = patch.task_queues ?? r.task_queues;
      const maxConcurrency = patch.max_concurrency !== undefined ? patch.max_concurrency : r.max_concurrency;
      const merged = {
        host: patch.host ?? r.host,
        pid: patch.pid !== undefined ? patch.pid : r.pid,
        task_queues: taskQueues,
        queue_name: patch.queue_name ?? (taskQueues.includes(r.queue_name) ? r.queue_name : taskQueues[0]!),
        version: patch.version !== undefined ? patch.version : r.version,
        build_id: patch.build_id !== undefined ? patch.build_id : r.build_id,
        sdk: patch.sdk ?? r.sdk,
        heartbeat_interval_seconds: patch.heartbeat_interval_seconds !== undefined ? patch.heartbeat_interval_seconds : r.heartbeat_interval_seconds,
        status: patch.status ?? (r.status === 'stopped' ? 'running' : r.status),
        active_tasks: patch.active_tasks ?? r.active_tasks,
        max_concurrency: maxConcurrency,
        // Without a load in the patch: recomputed from the new figures when there is a capacity, else the one reported before.
        load: patch.load !== undefined ? patch.load : maxConcurrency ? null : r.load,
        memory_mb: patch.memory_mb !== undefined ? patch.memory_mb : r.memory_mb,
        cpu_percent: patch.cpu_percent !== undefined ? patch.cpu_percent : r.cpu_percent,
        metadata: patch.metadata ?? r.metadata,
      };
      parseOrThrow(z.any().superRefine((v, ctx) => checkWorkerFields(v as Parameters<typeof checkWorkerFields>[0], ctx)), merged);
      const { status: _s, active_tasks: _a, max_concurrency: _m, load: _l, memory_mb: _mem, cpu_percent: _cpu, metadata: _meta, ...fields } = merged;
      const report = reportOf(merged);
      await updateWorker(tx, current.id, fields, report);
      await this.audit(tx, actor, 'worker.update', current, { method: 'PATCH', fields: Object.keys(patch), status: report.status, active_tasks: report.active_tasks });
      return current.id;
    });
    return this.get(String(id));
  }

  /** DELETE: removes a registration (soft delete). A live self-registered worker registers again at its next heartbeat. */
  async remove(actor: Actor, idOrWorkerId: string): Promise<void> {
    await this.em().transactional(async (tx) => {
      const current = await lockWorker(tx, idOrWorkerId);
      if (!current || current.deleted) throw workerNotFound();
      await softDeleteWorker(tx, current.id);
      await this.audit(tx, actor, 'worker.delete', current, { source: current.source });
    });
  }

  private async lockManual(tx: EntityManager, idOrWorkerId: string): Promise<{ id: number; worker_id: string; source: string }> {
    const current = await lockWorker(tx, idOrWorkerId);
    if (!current || current.deleted) throw workerNotFound();
    if (current.source === 'self') throw selfRegistered();
    return current;
  }

  private audit(tx: EntityManager, actor: Actor, action: string, w: { id: number; worker_id: string }, details: Record<string, unknown>): Promise<void> {
    return insertAudit(tx, {
      ...auditActor(actor),
      action,
      targetType: 'worker',
      targetId: String(w.id),
      details: { worker_id: w.worker_id, ...details },
    });
  }
}

/** What a write reports; `load` defaults to active_tasks / max_concurrency. */
function reportOf(b: Pick<WorkerReport, 'status' | 'active_tasks' | 'max_concurrency' | 'load' | 'memory_mb' | 'cpu_percent' | 'metadata'>): WorkerReport {
  return {
    status: b.status,
    active_tasks: b.active_tasks,
    max_concurrency: b.max_concurrency,
    load: b.load ?? ratio(b.active_tasks, b.max_concurrency),
    memory_mb: b.memory_mb,
    cpu_percent: b.cpu_percent,
    metadata: b.metadata,
  };
}

/** Why a worker is offline, most decisive first. */
export function offlineReason(r: WorkerLiveRow): 'stopped' | 'heartbeat_timeout' | 'not_polling' | null {
  if (r.is_online) return null;
  if (r.stopped_at) return 'stopped';
  if (!r.heartbeat_fresh) return 'heartbeat_timeout';
  return 'not_polling';
}

export function serializeWorker(v: WorkerView) {
  const r = v.row;
  const lastBeat = new Date(r.last_heartbeat_at).getTime();
  return {
    id: r.id,
    worker_id: r.worker_id,
    host: r.host,
    pid: r.pid,
    sdk: r.sdk,
    source: r.source,
    version: r.version,
    build_id: r.build_id,
    task_queues: r.task_queues,
    queue_name: r.queue_name,
    status: r.status,
    is_online: r.is_online,
    offline_reason: offlineReason(r),
    active_tasks: r.active_tasks,
    max_concurrency: r.max_concurrency,
    load: r.load,
    memory_mb: r.memory_mb,
    cpu_percent: r.cpu_percent,
    heartbeat_interval_seconds: r.heartbeat_interval_seconds,
    offline_after_seconds: r.offline_after_seconds,
    last_heartbeat_at: iso(r.last_heartbeat_at),
    seconds_since_heartbeat: Math.max(0, Math.round((Date.now() - lastBeat) / 100) / 10),
    temporal: {
      /** null: Temporal could not be asked about this worker's task queues. */
      polling: r.pollers_known ? r.temporal_polling : null,
      last_poll_at: v.lastPollAt,
    },
    started_at: iso(r.started_at),
    stopped_at: iso(r.stopped_at),
    metadata: r.metadata,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}
