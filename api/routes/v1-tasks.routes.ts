import type Router from '@koa/router';
import type Koa from 'koa';
import type { AppConfig } from '../config';
import { AppError, type FieldErrors } from '../errors';
import type { AppState } from '../middleware/state';
import type { ApiDocs } from '../openapi/api-docs';
import { v1Envelope, v1ListEnvelope } from '../schemas/common-responses.schemas';
import { v1List, v1Success } from '../schemas/v1-envelope.serializer';
import {
  serializeV1Task,
  STORED_PRIORITIES,
  STORED_PRIORITY,
  V1_TASK_FIELD_NAMES,
  v1CreateTaskBody,
  v1ListTasksQuery,
  v1TaskResponse,
  v1UpdateTaskBody,
} from '../schemas/v1-tasks.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import type { TaskService } from '../services/task.service';
import { both, actorOf } from './route-context';

const TAGS = ['v1 tasks'];
const SCOPE =
  "The caller's brand: the API key's, else X-Brand-ID (one of the caller's brands), else the caller's lowest brand id.";

/** The shared service names fields as /tasks/ does (context_data…); v1 answers with its own names (payload…). */
function renameFields(fieldErrors: FieldErrors): FieldErrors {
  return Object.fromEntries(
    Object.entries(fieldErrors).map(([path, messages]) => {
      const [head = '', ...rest] = path.split('.');
      const v1 = V1_TASK_FIELD_NAMES[head];
      return [v1 ? [v1, ...rest].join('.') : path, messages];
    }),
  );
}

async function withV1FieldNames<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const fieldErrors = err instanceof AppError ? (err.extra.field_errors as FieldErrors | undefined) : undefined;
    if (err instanceof AppError && fieldErrors) throw new AppError(err.code, err.status, err.detail, { ...err.extra, field_errors: renameFields(fieldErrors) });
    throw err;
  }
}

/**
 * `/api/v1/tasks` (seed 003): list, create, read, update or cancel (PUT), delete. The same TaskService as /tasks/, so
 * the same rules (pending-only edits, cancellable and deletable statuses, idempotency keys, audit rows); `{task_id}` is
 * the task_id or the integer id.
 */
export function v1TaskRoutes(deps: { tasks: TaskService; config: AppConfig; brand: Koa.Middleware<AppState> }) {
  const { tasks, config, brand } = deps;
  return (router: Router<AppState>, docs: ApiDocs): void => {
    router.get(both('/api/v1/tasks'), brand, async (ctx) => {
      const q = parseOrThrow(v1ListTasksQuery, ctx.query);
      const { count, rows } = await tasks.search(ctx.state.brand.id, {
        statuses: q.status,
        priorities: q.priority?.flatMap((p) => STORED_PRIORITIES[p]),
        workerId: q.worker_id,
        sort: q.sort,
        order: q.order,
        skip: q.skip,
        limit: q.limit,
      });
      ctx.body = v1List(rows.map(serializeV1Task), { skip: q.skip, limit: q.limit, total: count });
    });
    docs.add({
      method: 'get',
      path: '/api/v1/tasks',
      summary: 'List tasks: status, priority (low|medium|high), worker_id filters; sort by created_at, updated_at or duration',
      description: `${SCOPE} \`limit\` defaults to 50; above 100 is a 400 INVALID_REQUEST. \`priority=high\` includes critical tasks.`,
      tags: TAGS,
      query: v1ListTasksQuery,
      responses: {
        200: { description: 'A page of tasks with pagination {skip, limit, total, pages}', schema: v1ListEnvelope(v1TaskResponse) },
        400: 'INVALID_REQUEST: unknown parameter, bad value, limit above 100',
        403: 'FORBIDDEN: X-Brand-ID not one of your brands, or no brand at all',
      },
    });

    router.post(both('/api/v1/tasks'), brand, async (ctx) => {
      const body = parseOrThrow(v1CreateTaskBody, ctx.request.body ?? {});
      const { task, replayed } = await withV1FieldNames(() =>
        tasks.create(
          actorOf(ctx),
          {
            task_type: body.type ?? config.V1_DEFAULT_TASK_TYPE,
            name: body.name,
            priority: STORED_PRIORITY[body.priority],
            description: body.description,
            context_data: body.payload,
            scheduled_for: body.scheduled_for,
            max_retries: body.retry_count,
            timeout_minutes: body.timeout ? body.timeout / 60 : null,
          },
          ctx.get('idempotency-key') || undefined,
        ),
      );
      if (replayed) ctx.set('Idempotent-Replayed', 'true');
      ctx.status = 201;
      ctx.set('Location', `/api/v1/tasks/${task.task_id}`);
      ctx.body = v1Success(serializeV1Task(task));
    });
    docs.add({
      method: 'post',
      path: '/api/v1/tasks',
      summary: 'Create a task (without `type`: the default type, `generic`, which records a summary of its payload)',
      description:
        `${SCOPE} \`retry_count\` sets how many retries are allowed (answered as max_retries), \`timeout\` is in seconds, ` +
        '`payload` is the input of the task type (validated by it). An Idempotency-Key header makes the request safe to ' +
        'repeat (same key and body: the same task, header Idempotent-Replayed: true; another body: 409 CONFLICT).',
      tags: TAGS,
      body: v1CreateTaskBody,
      responses: {
        201: { description: 'The created task (pending)', schema: v1Envelope(v1TaskResponse) },
        400: 'INVALID_REQUEST: invalid body, unknown field, payload refused by the task type, unknown type',
        403: 'FORBIDDEN',
        409: 'CONFLICT: Idempotency-Key reused with another body',
      },
    });

    router.get(both('/api/v1/tasks/:task_id'), brand, async (ctx) => {
      ctx.body = v1Success(serializeV1Task(await tasks.get(ctx.state.brand.id, ctx.params.task_id!)));
    });
    docs.add({
      method: 'get',
      path: '/api/v1/tasks/:task_id',
      summary: 'One task, by task_id (or integer id)',
      description: SCOPE,
      tags: TAGS,
      responses: { 200: { description: 'The task', schema: v1Envelope(v1TaskResponse) }, 403: 'FORBIDDEN', 404: 'NOT_FOUND (another brand\'s task too)' },
    });

    router.put(both('/api/v1/tasks/:task_id'), brand, async (ctx) => {
      const body = parseOrThrow(v1UpdateTaskBody, ctx.request.body ?? {});
      const actor = actorOf(ctx);
      const id = ctx.params.task_id!;
      if (body.status === 'cancelled') {
        await tasks.cancel(actor, id);
      } else {
        await withV1FieldNames(() =>
          tasks.update(actor, id, {
            name: body.name,
            description: body.description,
            priority: body.priority ? STORED_PRIORITY[body.priority] : undefined,
            context_data: body.payload,
          }),
        );
      }
      ctx.body = v1Success(serializeV1Task(await tasks.get(actor.brandId, id)));
    });
    docs.add({
      method: 'put',
      path: '/api/v1/tasks/:task_id',
      summary: '`{"status": "cancelled"}` cancels the task; otherwise name, description, priority, payload of a pending task',
      description:
        `${SCOPE} A cancel is acknowledged by the workflow within a few seconds (the answer shows cancelled, or the status ` +
        'at that moment); it is audited. Other status values are refused (a status is what the workflow does).',
      tags: TAGS,
      body: v1UpdateTaskBody,
      responses: {
        200: { description: 'The task after the change', schema: v1Envelope(v1TaskResponse) },
        400: 'INVALID_REQUEST: another status, unknown field, status combined with other fields, invalid payload',
        403: 'FORBIDDEN',
        404: 'NOT_FOUND',
        409: 'CONFLICT: not cancellable (already finished) or not editable (no longer pending); details.error_code INVALID_STATUS_TRANSITION',
      },
    });

    router.delete(both('/api/v1/tasks/:task_id'), brand, async (ctx) => {
      await tasks.remove(actorOf(ctx), ctx.params.task_id!);
      ctx.status = 204;
    });
    docs.add({
      method: 'delete',
      path: '/api/v1/tasks/:task_id',
      summary: 'Delete a finished task (completed, failed or cancelled): its Temporal execution and its row; audited',
      description: SCOPE,
      tags: TAGS,
      responses: { 204: 'Deleted', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT: still pending or running (cancel it first)' },
    });
  };
}
