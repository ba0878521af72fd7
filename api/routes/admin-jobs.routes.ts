import { Readable } from 'node:stream';
import type Router from '@koa/router';
import type { AppConfig } from '../config';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import {
  adminJobDetailResponse,
  adminJobPageResponse,
  csvField,
  EXPORT_COLUMNS,
  exportRecord,
  failedJobPageResponse,
  serializeAdminJob,
  serializeFailedJob,
} from '../schemas/admin-job.serializer';
import {
  adminDeleteBody,
  adminJobsExportQuery,
  adminJobsQuery,
  adminRetryBody,
  adminStatsQuery,
  adminTrendsQuery,
  filterOf,
} from '../schemas/admin.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { AdminCaller, AdminJobPage, AdminJobService } from '../services/admin-jobs.service';
import type { AdminRouteRegistration } from './admin.routes';
import { both, type Ctx } from './route-context';

const READ = ['admin', 'admin_viewer'];
const WRITE = ['admin'];

function callerOf(ctx: Ctx): AdminCaller {
  const { principal } = ctx.state;
  return { userId: principal.id, username: principal.username, role: principal.role, requestId: ctx.state.requestId, ip: ctx.ip || null };
}

/** DRF CursorPagination links: the same path and query with another cursor. */
function cursorLink(ctx: Ctx, cursor: string | null): string | null {
  if (!cursor) return null;
  const params = new URLSearchParams(ctx.querystring);
  params.set('cursor', cursor);
  return `${ctx.path}?${params.toString()}`;
}

function pageBody(ctx: Ctx, page: AdminJobPage, results: unknown[]) {
  return {
    next: cursorLink(ctx, page.next),
    previous: cursorLink(ctx, page.previous),
    ...(page.count === null ? {} : { count: page.count }),
    results,
  };
}

/**
 * `/admin/jobs` (seed 002): list, failed, stats, trends, export, and per job: detail, retry, delete. Registered after the
 * other `/admin/jobs/<word>` areas (bulk) because `/admin/jobs/:id` would read their word as an id.
 */
export function adminJobRoutes(service: AdminJobService, config: AppConfig): AdminRouteRegistration {
  return (router: Router<AppState>, docs: ApiDocs) => {
    router.get(both('/admin/jobs'), async (ctx) => {
      const q = parseOrThrow(adminJobsQuery, ctx.query);
      const page = await service.list(q, filterOf(q));
      ctx.body = pageBody(ctx, page, page.rows.map((r) => serializeAdminJob(r, config)));
    });
    docs.add({
      method: 'get',
      path: '/admin/jobs',
      summary: 'Every job of every brand: search, filters, ordering, cursor pagination (fast on deep pages)',
      tags: ['admin jobs'],
      query: adminJobsQuery,
      roles: READ,
      responses: {
        200: { description: 'A page `{next, previous, count?, results}`', schema: adminJobPageResponse },
        400: 'Invalid filter or cursor',
        403: 'Not an administrator',
      },
    });

    router.get(both('/admin/jobs/failed'), async (ctx) => {
      const q = parseOrThrow(adminJobsQuery, ctx.query);
      const page = await service.list(q, { ...filterOf(q), status: ['failed'] });
      ctx.body = pageBody(ctx, page, page.rows.map((r) => serializeFailedJob(r, config)));
    });
    docs.add({
      method: 'get',
      path: '/admin/jobs/failed',
      summary: 'Failed jobs with the error, its type and stack traces from the Temporal failure, attempts and last input',
      tags: ['admin jobs'],
      query: adminJobsQuery,
      roles: READ,
      responses: { 200: { description: 'A page of failed jobs', schema: failedJobPageResponse }, 400: 'Invalid filter or cursor', 403: 'Not an administrator' },
    });

    router.get(both('/admin/jobs/stats'), async (ctx) => {
      ctx.body = await service.stats(parseOrThrow(adminStatsQuery, ctx.query));
    });
    docs.add({
      method: 'get',
      path: '/admin/jobs/stats',
      summary: 'Failure rate, pending/running, average and p95 duration, throughput; by type and brand (from rollups)',
      tags: ['admin jobs'],
      query: adminStatsQuery,
      roles: READ,
      responses: { 200: 'Statistics of the period', 400: 'Invalid period', 403: 'Not an administrator' },
    });

    router.get(both('/admin/jobs/trends'), async (ctx) => {
      ctx.body = await service.trends(parseOrThrow(adminTrendsQuery, ctx.query));
    });
    docs.add({
      method: 'get',
      path: '/admin/jobs/trends',
      summary: 'The same statistics per hour or day bucket (every bucket of the period, empty ones included)',
      tags: ['admin jobs'],
      query: adminTrendsQuery,
      roles: READ,
      responses: { 200: 'A series of buckets', 400: 'Invalid period', 403: 'Not an administrator' },
    });

    router.get(both('/admin/jobs/export'), (ctx) => {
      const q = parseOrThrow(adminJobsExportQuery, ctx.query);
      const rows = service.stream(filterOf(q), q.ordering, q.limit);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      ctx.set('Content-Disposition', `attachment; filename="jobs-${stamp}.${q.format}"`);
      ctx.set('Cache-Control', 'no-store');
      ctx.type = q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8';
      ctx.body = Readable.from(q.format === 'csv' ? csvLines(rows) : jsonChunks(rows));
    });
    docs.add({
      method: 'get',
      path: '/admin/jobs/export',
      summary: 'The filtered job list as CSV or JSON (ids and key fields), streamed in keyset batches',
      tags: ['admin jobs'],
      query: adminJobsExportQuery,
      roles: READ,
      responses: {
        200: { description: 'The export file', contentType: 'text/csv' },
        400: 'Invalid filter',
        403: 'Not an administrator',
      },
    });

    router.get(both('/admin/jobs/:id'), async (ctx) => {
      const { job, history, audit } = await service.detail(ctx.params.id!);
      ctx.body = { ...serializeFailedJob(job, config), history, audit };
    });
    docs.add({
      method: 'get',
      path: '/admin/jobs/:id',
      summary: 'One job (id or task_id) with its Temporal execution history summary and its audit rows',
      tags: ['admin jobs'],
      roles: READ,
      responses: { 200: { description: 'The job', schema: adminJobDetailResponse }, 403: 'Not an administrator', 404: 'No such job (TASK_NOT_FOUND)' },
    });

    router.post(both('/admin/jobs/:id/retry'), async (ctx) => {
      const body = parseOrThrow(adminRetryBody, ctx.request.body ?? {});
      ctx.body = await service.retry(callerOf(ctx), ctx.params.id!, body);
    });
    docs.add({
      method: 'post',
      path: '/admin/jobs/:id/retry',
      summary: 'Retry a failed or cancelled job with the same input (or overrides), under the task retry rules; audited',
      tags: ['admin jobs'],
      body: adminRetryBody,
      roles: WRITE,
      responses: {
        200: 'Queued for retry',
        400: 'Invalid body or context_data',
        403: 'Not an administrator (or read-only admin)',
        404: 'No such job',
        409: 'Not retryable (status) or MAX_RETRIES_EXCEEDED',
      },
    });

    router.delete(both('/admin/jobs/:id'), async (ctx) => {
      // The confirmation may come as a JSON body or as query parameters (some clients send no DELETE body).
      const raw = { ...(ctx.query as Record<string, unknown>), ...((ctx.request.body as Record<string, unknown> | undefined) ?? {}) };
      const body = parseOrThrow(adminDeleteBody, raw);
      ctx.body = await service.remove(callerOf(ctx), ctx.params.id!, body);
    });
    docs.add({
      method: 'delete',
      path: '/admin/jobs/:id',
      summary: 'Delete (purge) a job: `confirm` must repeat its id or task_id; a running job needs force=true (terminated first); audited',
      tags: ['admin jobs'],
      body: adminDeleteBody,
      roles: WRITE,
      responses: {
        200: 'Deleted',
        400: 'CONFIRMATION_REQUIRED',
        403: 'Not an administrator (or read-only admin)',
        404: 'No such job',
        409: 'Still running and not forced',
      },
    });
  };
}

async function* csvLines(rows: AsyncIterable<Parameters<typeof exportRecord>[0]>): AsyncGenerator<string> {
  yield `${EXPORT_COLUMNS.join(',')}\r\n`;
  for await (const row of rows) {
    const record = exportRecord(row);
    yield `${EXPORT_COLUMNS.map((c) => csvField(record[c])).join(',')}\r\n`;
  }
}

async function* jsonChunks(rows: AsyncIterable<Parameters<typeof exportRecord>[0]>): AsyncGenerator<string> {
  yield '[';
  let first = true;
  for await (const row of rows) {
    yield `${first ? '' : ','}\n${JSON.stringify(exportRecord(row))}`;
    first = false;
  }
  yield '\n]\n';
}

