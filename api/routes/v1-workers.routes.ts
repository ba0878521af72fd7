import type Router from '@koa/router';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { v1Envelope, v1ListEnvelope } from '../schemas/common-responses.schemas';
import { v1List, v1Success } from '../schemas/v1-envelope.serializer';
import {
  serializeV1Worker,
  serializeV1WorkersStatus,
  STORED_WORKER_STATUS,
  v1HeartbeatBody,
  v1ListWorkersQuery,
  v1WorkerResponse,
  v1WorkersStatusResponse,
} from '../schemas/v1-workers.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { WorkerRegistryService } from '../services/worker-registry.service';
import { both, type Ctx } from './route-context';

const TAGS = ['v1 workers'];
const PLATFORM_WIDE = 'Workers serve every brand: no X-Brand-ID needed.';

/** Heartbeats come from worker processes: an API key with role `worker` (or `admin`), or an administrator's token. */
function requireHeartbeatCaller(ctx: Ctx): void {
  const keyRole = ctx.state.apiKey?.role;
  if (keyRole === 'worker' || keyRole === 'admin' || (!ctx.state.apiKey && ctx.state.principal.isAdmin)) return;
  throw new AppError(ErrorCode.PERMISSION_DENIED, 403, 'Heartbeats are sent with an API key of role worker or admin, or by an administrator', {
    required_role: ['worker', 'admin'],
  });
}

/**
 * `/api/v1/workers` (seed 003): list, one worker, an external worker's heartbeat, and the health summary, which the seed
 * also writes as `/workers/status`. The registry of /tasks/monitoring/workers/ underneath (WorkerRegistryService).
 */
export function v1WorkerRoutes(deps: { workers: WorkerRegistryService }) {
  const { workers } = deps;
  return (router: Router<AppState>, docs: ApiDocs): void => {
    router.get(both('/api/v1/workers'), async (ctx) => {
      const q = parseOrThrow(v1ListWorkersQuery, ctx.query);
      const { count, views } = await workers.search({ online: q.status === undefined ? undefined : q.status === 'active', skip: q.skip, limit: q.limit });
      ctx.body = v1List(views.map(serializeV1Worker), { skip: q.skip, limit: q.limit, total: count });
    });
    docs.add({
      method: 'get',
      path: '/api/v1/workers',
      summary: 'List workers (status active|inactive), active first, then by latest heartbeat',
      description: PLATFORM_WIDE,
      tags: TAGS,
      query: v1ListWorkersQuery,
      responses: { 200: { description: 'A page of workers', schema: v1ListEnvelope(v1WorkerResponse) }, 400: 'INVALID_REQUEST' },
    });

    // Before `:worker_id`, so `status` is never read as a worker id.
    router.get([...both('/api/v1/workers/status'), ...both('/workers/status')], async (ctx) => {
      ctx.body = v1Success(serializeV1WorkersStatus(await workers.overview(0)));
    });
    for (const path of ['/api/v1/workers/status', '/workers/status']) {
      docs.add({
        method: 'get',
        path,
        summary: 'Health of all workers: healthy, degraded (a worker went quiet, Temporal unreachable) or unhealthy (none active)',
        description: `${PLATFORM_WIDE} Totals of load and capacity, and per task queue the live Temporal pollers and backlog.`,
        tags: TAGS,
        responses: { 200: { description: 'The summary', schema: v1Envelope(v1WorkersStatusResponse) } },
      });
    }

    router.post(both('/api/v1/workers/heartbeat'), async (ctx) => {
      requireHeartbeatCaller(ctx);
      const body = parseOrThrow(v1HeartbeatBody, ctx.request.body ?? {});
      const { principal, requestId } = ctx.state;
      const { view, created } = await workers.heartbeat(
        { userId: principal.id, username: principal.username, role: ctx.state.apiKey?.role ?? principal.role, requestId, ip: ctx.ip || null },
        { worker_id: body.worker_id, status: STORED_WORKER_STATUS[body.status], active_tasks: body.current_load, max_concurrency: body.max_capacity },
      );
      ctx.status = created ? 201 : 200;
      ctx.body = v1Success(serializeV1Worker(view));
    });
    docs.add({
      method: 'post',
      path: '/api/v1/workers/heartbeat',
      summary: "An external worker's heartbeat: registers it on first call, then updates status and load",
      description:
        `${PLATFORM_WIDE} Sent by workers outside TypeScript every few seconds (a worker is inactive after 3 × WORKER_HEARTBEAT_SECONDS ` +
        'without one); `inactive` marks it stopped at once. Callers: an API key with role worker or admin, or an administrator. ' +
        'A TypeScript worker registers and heartbeats by itself: its worker_id is refused with 409.',
      tags: TAGS,
      body: v1HeartbeatBody,
      roles: ['worker', 'admin'],
      responses: {
        200: { description: 'The worker after the beat', schema: v1Envelope(v1WorkerResponse) },
        201: { description: 'The worker, registered by this first beat', schema: v1Envelope(v1WorkerResponse) },
        400: 'INVALID_REQUEST',
        403: 'FORBIDDEN: not a worker or admin key, not an administrator',
        409: 'CONFLICT: a self-registered worker (details.error_code INVALID_OPERATION)',
      },
    });

    router.get(both('/api/v1/workers/:worker_id'), async (ctx) => {
      ctx.body = v1Success(serializeV1Worker(await workers.get(ctx.params.worker_id!)));
    });
    docs.add({
      method: 'get',
      path: '/api/v1/workers/:worker_id',
      summary: 'One worker by worker_id',
      description: PLATFORM_WIDE,
      tags: TAGS,
      responses: { 200: { description: 'The worker', schema: v1Envelope(v1WorkerResponse) }, 404: 'NOT_FOUND' },
    });
  };
}
