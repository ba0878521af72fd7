import type Router from '@koa/router';
import type { AdminBulkRow } from '../../db/repositories/admin-bulk.repository';
import type { AppConfig } from '../config';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { temporalUrl } from '../schemas/admin-job.serializer';
import { adminBulkDryRunBody, adminBulkExecuteBody, adminBulkListQuery } from '../schemas/admin-bulk.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { AdminCaller } from '../services/admin-jobs.service';
import { percentageOf, type AdminBulkService } from '../services/admin-bulk.service';
import type { AdminRouteRegistration } from './admin.routes';
import { both, type Ctx } from './route-context';

const READ = ['admin', 'admin_viewer'];
const WRITE = ['admin'];
const TAGS = ['admin bulk actions'];

function callerOf(ctx: Ctx): AdminCaller {
  const { principal } = ctx.state;
  return { userId: principal.id, username: principal.username, role: principal.role, requestId: ctx.state.requestId, ip: ctx.ip || null };
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** A bulk's progress view. */
export function serializeBulk(row: AdminBulkRow, config: AppConfig) {
  return {
    bulk_id: row.bulk_id,
    action: row.action,
    status: row.status,
    filter: row.filter,
    new_priority: row.new_priority,
    force: row.force,
    reason: row.reason,
    total: row.total_at_dry_run,
    processed: row.processed,
    succeeded: row.succeeded,
    skipped: row.skipped,
    failed: row.failed,
    percentage: percentageOf(row),
    max_task_id: row.max_task_id,
    last_task_id: row.last_task_id,
    errors: row.errors,
    last_error: row.last_error,
    created_by: { id: row.created_by_id, username: row.created_by_username },
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    finished_at: iso(row.finished_at),
    temporal_url: temporalUrl(config, row.bulk_id, null),
  };
}

/** The answer of `POST /admin/jobs/bulk` (the same for a replay of the same confirmed request). */
function startedBody(row: AdminBulkRow, config: AppConfig) {
  return { bulk_id: row.bulk_id, status: row.status, action: row.action, total: row.total_at_dry_run, temporal_url: temporalUrl(config, row.bulk_id, null) };
}

/**
 * `/admin/jobs/bulk` (seed 002): bulk actions by filter with a dry run, a confirmation token, progress, cancel and
 * resume. Registered before `/admin/jobs/:id`, which would read `bulk` as a job id.
 */
export function adminBulkRoutes(service: AdminBulkService, config: AppConfig): AdminRouteRegistration {
  return (router: Router<AppState>, docs: ApiDocs) => {
    router.post(both('/admin/jobs/bulk/dry-run'), async (ctx) => {
      const body = parseOrThrow(adminBulkDryRunBody, ctx.request.body ?? {});
      ctx.body = await service.dryRun(callerOf(ctx), body);
    });
    docs.add({
      method: 'post',
      path: '/admin/jobs/bulk/dry-run',
      summary: 'Counts the jobs a bulk action would touch, shows the first ones and issues a short-lived confirmation token bound to this request',
      tags: TAGS,
      body: adminBulkDryRunBody,
      roles: WRITE,
      responses: {
        200: '`{action, filter, count, sample, confirmation_token, expires_at}`',
        400: 'Invalid body, or the filter matches more than ADMIN_BULK_MAX_TARGETS jobs',
        403: 'Not an admin (admin_viewer is read-only)',
      },
    });

    router.post(both('/admin/jobs/bulk'), async (ctx) => {
      const body = parseOrThrow(adminBulkExecuteBody, ctx.request.body ?? {});
      const { row } = await service.execute(callerOf(ctx), body);
      ctx.status = 202;
      ctx.body = startedBody(row, config);
    });
    docs.add({
      method: 'post',
      path: '/admin/jobs/bulk',
      summary: 'Runs a bulk action confirmed by its dry-run token as a Temporal workflow (a replay returns the same bulk)',
      tags: TAGS,
      body: adminBulkExecuteBody,
      roles: WRITE,
      responses: {
        202: '`{bulk_id, status, action, total, temporal_url}`',
        400: 'CONFIRMATION_REQUIRED (no token) or CONFIRMATION_INVALID (expired, altered, another user, or the body differs from what it binds)',
        403: 'Not an admin',
        503: 'Recorded, but the workflow could not be started (resume it)',
      },
    });

    router.get(both('/admin/jobs/bulk'), async (ctx) => {
      const q = parseOrThrow(adminBulkListQuery, ctx.query);
      const { rows, next } = await service.list(q);
      const params = new URLSearchParams(ctx.querystring);
      if (next !== null) params.set('cursor', String(next));
      ctx.body = { next: next === null ? null : `${ctx.path}?${params.toString()}`, results: rows.map((r) => serializeBulk(r, config)) };
    });
    docs.add({
      method: 'get',
      path: '/admin/jobs/bulk',
      summary: 'Bulk actions, newest first',
      tags: TAGS,
      query: adminBulkListQuery,
      roles: READ,
      responses: { 200: '`{next, results}`', 403: 'Not an administrator' },
    });

    router.get(both('/admin/jobs/bulk/:bulk_id'), async (ctx) => {
      ctx.body = serializeBulk(await service.get(ctx.params.bulk_id!), config);
    });
    docs.add({
      method: 'get',
      path: '/admin/jobs/bulk/:bulk_id',
      summary: 'A bulk action\'s progress: counts, percentage, status, a sample of skipped and failed jobs with reasons',
      tags: TAGS,
      roles: READ,
      responses: { 200: 'The bulk action', 403: 'Not an administrator', 404: 'BULK_ACTION_NOT_FOUND' },
    });

    router.post(both('/admin/jobs/bulk/:bulk_id/cancel'), async (ctx) => {
      const row = await service.cancel(callerOf(ctx), ctx.params.bulk_id!);
      ctx.status = 202;
      ctx.body = { message: row.status === 'running' ? 'Cancellation requested' : `Bulk action ${row.status}`, ...serializeBulk(row, config) };
    });
    docs.add({
      method: 'post',
      path: '/admin/jobs/bulk/:bulk_id/cancel',
      summary: 'Cancels a running bulk action at the next job boundary (resumable)',
      tags: TAGS,
      roles: WRITE,
      responses: { 202: 'Cancellation requested', 403: 'Not an admin', 404: 'BULK_ACTION_NOT_FOUND', 409: 'INVALID_STATUS_TRANSITION (not running)' },
    });

    router.post(both('/admin/jobs/bulk/:bulk_id/resume'), async (ctx) => {
      const row = await service.resume(callerOf(ctx), ctx.params.bulk_id!);
      ctx.status = 202;
      ctx.body = serializeBulk(row, config);
    });
    docs.add({
      method: 'post',
      path: '/admin/jobs/bulk/:bulk_id/resume',
      summary: 'Resumes a cancelled or failed bulk action after its last handled job (a new run of the same workflow id)',
      tags: TAGS,
      roles: WRITE,
      responses: {
        202: 'The resumed bulk action',
        403: 'Not an admin',
        404: 'BULK_ACTION_NOT_FOUND',
        409: 'INVALID_STATUS_TRANSITION (running or completed)',
      },
    });
  };
}
