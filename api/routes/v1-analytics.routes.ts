import { Readable } from 'node:stream';
import type Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { TaskAnalyticsRow } from '../../db/repositories/task-analytics.repository';
import { AppError, ErrorCode } from '../errors';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { csvField } from '../schemas/admin-job.serializer';
import { v1Envelope } from '../schemas/common-responses.schemas';
import { v1Success } from '../schemas/v1-envelope.serializer';
import {
  V1_EXPORT_COLUMNS,
  v1DashboardQuery,
  v1DashboardResponse,
  v1ExportQuery,
  v1ExportRecord,
  v1ExportRecordResponse,
  v1TrendsQuery,
  v1TrendsResponse,
} from '../schemas/v1-analytics.schemas';
import { STORED_PRIORITIES } from '../schemas/v1-tasks.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { MetricsService } from '../services/metrics.service';
import type { V1DashboardService } from '../services/v1-dashboard.service';
import { both } from './route-context';

const TAGS = ['v1 analytics'];
const SCOPE = "For the caller's brand (the API key's, else X-Brand-ID, else the caller's lowest brand id).";
const EXPORT_TYPES = ['application/json', 'text/csv'] as const;

/**
 * `/api/v1/analytics` (seed 003): the dashboard (live counts and rollups), daily trends (rollups), and the export of the
 * brand's tasks as JSON or CSV by the Accept header, streamed in keyset batches.
 */
export function v1AnalyticsRoutes(deps: { metrics: MetricsService; dashboard: V1DashboardService; brand: Koa.Middleware<AppState> }) {
  const { metrics, dashboard, brand } = deps;
  return (router: Router<AppState>, docs: ApiDocs): void => {
    router.get(both('/api/v1/analytics/dashboard'), brand, async (ctx) => {
      parseOrThrow(v1DashboardQuery, ctx.query);
      ctx.body = v1Success(await dashboard.dashboard(ctx.state.brand.id));
    });
    docs.add({
      method: 'get',
      path: '/api/v1/analytics/dashboard',
      summary: 'Task counts, completion rate and average duration of the brand; active and registered workers',
      description:
        `${SCOPE} Counts are live; pending_tasks = pending, running or paused; completion_rate = completed / total (0..1); ` +
        'average_duration = mean measured execution time (seconds) of finished tasks. Workers are platform-wide.',
      tags: TAGS,
      query: v1DashboardQuery,
      responses: { 200: { description: 'The dashboard', schema: v1Envelope(v1DashboardResponse) }, 403: 'FORBIDDEN' },
    });

    router.get(both('/api/v1/analytics/trends'), brand, async (ctx) => {
      const q = parseOrThrow(v1TrendsQuery, ctx.query);
      ctx.body = v1Success(await metrics.v1DailyTrend(ctx.state.brand.id, q.days, q.metric));
    });
    docs.add({
      method: 'get',
      path: '/api/v1/analytics/trends',
      summary: 'A daily series of completion_rate, avg_duration or error_rate over the last `days` days (max 365)',
      description:
        `${SCOPE} One point per UTC day, oldest first, over the tasks that finished that day after running an activity ` +
        '(error_rate = failed / finished, completion_rate = completed / finished, a task cancelled while running in neither; ' +
        'avg_duration in seconds); null on a day without any.',
      tags: TAGS,
      query: v1TrendsQuery,
      responses: { 200: { description: 'The series', schema: v1Envelope(v1TrendsResponse) }, 400: 'INVALID_REQUEST (days above 365, unknown metric)', 403: 'FORBIDDEN' },
    });

    router.get(both('/api/v1/analytics/export'), brand, (ctx) => {
      const q = parseOrThrow(v1ExportQuery, ctx.query);
      const format = ctx.accepts(...EXPORT_TYPES);
      if (!format) {
        throw new AppError(ErrorCode.NOT_ACCEPTABLE, 406, 'The export is available as application/json or text/csv (Accept header)', {
          available: [...EXPORT_TYPES],
        });
      }
      const rows = metrics.exportRows(ctx.state.brand.id, {
        statuses: q.status,
        priorities: q.priority?.flatMap((p) => STORED_PRIORITIES[p]),
        createdAfter: q.created_after,
        createdBefore: q.created_before,
      });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const csv = format === 'text/csv';
      ctx.set('Content-Disposition', `attachment; filename="analytics-export-${stamp}.${csv ? 'csv' : 'json'}"`);
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Vary', 'Accept');
      ctx.type = csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8';
      ctx.body = Readable.from(csv ? csvLines(rows) : jsonChunks(rows));
    });
    docs.add({
      method: 'get',
      path: '/api/v1/analytics/export',
      summary: "The brand's tasks with their measurements, as JSON (Accept: application/json, the default) or CSV (Accept: text/csv)",
      description:
        `${SCOPE} Newest first, streamed in keyset batches of 1000 rows (any size, never held in memory). JSON is the v1 ` +
        `envelope with the rows in \`data\`; CSV has a header row: ${V1_EXPORT_COLUMNS.join(', ')}. Another Accept is 406.`,
      tags: TAGS,
      query: v1ExportQuery,
      responses: {
        200: { description: 'The export (JSON; CSV with Accept: text/csv)', schema: v1Envelope(z.array(v1ExportRecordResponse)) },
        400: 'INVALID_REQUEST',
        403: 'FORBIDDEN',
        406: 'INVALID_REQUEST: the Accept header names neither application/json nor text/csv (details.error_code NOT_ACCEPTABLE)',
      },
    });
  };
}

async function* csvLines(rows: AsyncIterable<TaskAnalyticsRow>): AsyncGenerator<string> {
  yield `${V1_EXPORT_COLUMNS.join(',')}\r\n`;
  for await (const row of rows) {
    const record = v1ExportRecord(row);
    yield `${V1_EXPORT_COLUMNS.map((c) => csvField(record[c])).join(',')}\r\n`;
  }
}

/** The v1 envelope written as the rows arrive: `timestamp` first, since `data` ends the document. */
async function* jsonChunks(rows: AsyncIterable<TaskAnalyticsRow>): AsyncGenerator<string> {
  yield `{"status":"success","timestamp":${JSON.stringify(new Date().toISOString())},"data":[`;
  let first = true;
  for await (const row of rows) {
    yield `${first ? '' : ','}\n${JSON.stringify(v1ExportRecord(row))}`;
    first = false;
  }
  yield '\n]}\n';
}
