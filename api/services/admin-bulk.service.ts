import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import {
  countsOf,
  findBulkAction,
  insertBulkAction,
  listBulkActions,
  measureTargets,
  setBulkStatus,
  type AdminBulkRow,
} from '../../db/repositories/admin-bulk.repository';
import { AdminJobWhere, listAdminJobs } from '../../db/repositories/admin-jobs.repository';
import { auditActor, insertAudit, type AuditActorSource } from '../../db/repositories/audit.repository';
import { stableJson } from '../../db/repositories/persistent-job.repository';
import {
  ADMIN_BULK_ID_PREFIX,
  type AdminBulkAction,
  type AdminBulkStatus,
  type AdminBulkWorkflowInput,
} from '../../workflows/contracts/admin-bulk';
import type { TaskPriority } from '../../workflows/contracts/task-types';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import { canonicalFilter, type AdminBulkDryRunBody, type AdminBulkExecuteBody, type AdminBulkListQuery } from '../schemas/admin-bulk.schemas';
import type { AdminJobFilter } from '../schemas/admin.schemas';
import type { AdminBulkWorkflowGateway } from '../temporal/admin-bulk-workflows';
import type { AdminCaller } from './admin-jobs.service';

/** Jobs shown by a dry run: the first ones the bulk would take (id order). */
const SAMPLE_SIZE = 10;
/** A resume that finds the previous run still closing (it records its end just before it closes) waits this many times 100 ms. */
const CLOSE_WAIT_STEPS = 50;
const TOKEN_VERSION = 'v1';
/** The HMAC key is derived from JWT_SECRET for this purpose only: a token of one kind is never valid as another. */
const TOKEN_KEY_LABEL = 'durable-tasks/admin-bulk-confirmation/v1';

/** What a confirmation token binds: exactly this action on exactly this filter, this snapshot, this admin, until exp. */
interface TokenClaims {
  action: AdminBulkAction;
  filter: AdminJobFilter;
  new_priority: TaskPriority | null;
  force: boolean;
  max_task_id: number;
  total: number;
  user_id: number;
  /** Seconds since the epoch. */
  exp: number;
}

/**
 * Admin bulk actions by filter: a dry run counts the jobs, shows the first ones and issues a short-lived HMAC token
 * bound to the action, the canonical filter and the id snapshot; the execution with that token records the bulk and
 * starts its workflow (id derived from the token, so a replay finds the same bulk). Cancel and resume act on the
 * workflow; the row (written by the workflow's activities) holds the progress.
 */
export class AdminBulkService {
  private readonly tokenKey: Buffer;

  constructor(
    private readonly deps: {
      orm: MikroORM;
      bulk: AdminBulkWorkflowGateway;
      config: AppConfig;
    },
  ) {
    this.tokenKey = Buffer.from(hkdfSync('sha256', deps.config.JWT_SECRET, '', TOKEN_KEY_LABEL, 32));
  }

  private em() {
    return this.deps.orm.em.fork();
  }

  async dryRun(caller: AdminCaller, body: AdminBulkDryRunBody) {
    const filter = canonicalFilter(body.filter);
    const where = new AdminJobWhere(filter);
    const { count, maxTaskId } = await measureTargets(this.em(), where);
    const max = this.deps.config.ADMIN_BULK_MAX_TARGETS;
    if (count > max) {
      throw AppError.validation(
        { filter: [`Matches ${count} jobs; a bulk action may touch at most ${max}. Narrow the filter.`] },
        `The filter matches ${count} jobs, more than the ${max} a bulk action may touch: narrow the filter`,
      );
    }
    const { rows } = await listAdminJobs(this.em(), where, 'id', SAMPLE_SIZE, null, 'next');
    const exp = Math.floor(Date.now() / 1000) + this.deps.config.ADMIN_BULK_TOKEN_TTL_SECONDS;
    const token = this.sign({
      action: body.action,
      filter,
      new_priority: body.new_priority ?? null,
      force: body.force,
      max_task_id: maxTaskId,
      total: count,
      user_id: caller.userId,
      exp,
    });
    return {
      action: body.action,
      filter,
      new_priority: body.new_priority ?? null,
      force: body.force,
      count,
      sample: rows.map((r) => ({ id: r.id, task_id: r.task_id, task_type: r.task_type, status: r.status, brand_id: r.brand_id })),
      confirmation_token: token,
      expires_at: new Date(exp * 1000).toISOString(),
    };
  }

  /**
   * Runs a confirmed bulk. The token must be intact, issued to this admin, and bind exactly this body; a replay of a
   * request already executed (same token) returns that bulk and starts nothing. Row and `admin.bulk.start` audit row
   * are written in one transaction before the workflow starts, so a crash in between leaves a running row whose
   * missing workflow the next replay (or resume) starts from the row's cursor.
   */
  async execute(caller: AdminCaller, body: AdminBulkExecuteBody): Promise<{ row: AdminBulkRow; replayed: boolean }> {
    if (!body.confirmation_token) {
      throw new AppError(ErrorCode.CONFIRMATION_REQUIRED, 400, 'A bulk action needs the confirmation_token of its dry run (POST /admin/jobs/bulk/dry-run)');
    }
    const token = body.confirmation_token;
    const claims = this.verify(token);
    if (claims.user_id !== caller.userId) throw invalid('This confirmation token was issued to another user');
    const filter = canonicalFilter(body.filter);
    const mismatched = [
      claims.action !== body.action && 'action',
      stableJson(claims.filter) !== stableJson(filter) && 'filter',
      claims.new_priority !== (body.new_priority ?? null) && 'new_priority',
      claims.force !== body.force && 'force',
    ].filter((f): f is string => Boolean(f));
    if (mismatched.length) {
      throw invalid(`The confirmation token was issued for another request (${mismatched.join(', ')} differ): run the dry run again`, { mismatched });
    }

    const bulkId = bulkIdOf(token);
    const existing = await findBulkAction(this.em(), bulkId);
    if (existing) return { row: await this.reconcile(existing, caller), replayed: true };
    if (claims.exp * 1000 <= Date.now()) throw invalid('The confirmation token has expired: run the dry run again');

    const inserted = await this.em().transactional(async (tx) => {
      const created = await insertBulkAction(tx, {
        bulkId,
        action: claims.action,
        filter: claims.filter,
        newPriority: claims.new_priority,
        force: claims.force,
        reason: body.reason ?? null,
        maxTaskId: claims.max_task_id,
        totalAtDryRun: claims.total,
        createdById: caller.userId,
      });
      if (created) {
        await insertAudit(tx, {
          ...auditActor(auditSource(caller)),
          action: 'admin.bulk.start',
          targetType: 'admin_bulk',
          targetId: bulkId,
          details: { action: claims.action, filter: claims.filter, new_priority: claims.new_priority, force: claims.force, reason: body.reason ?? null },
          after: { total: claims.total, max_task_id: claims.max_task_id },
        });
      }
      return created;
    });
    const row = (await findBulkAction(this.em(), bulkId))!;
    if (!inserted) return { row: await this.reconcile(row, caller), replayed: true }; // a concurrent replay won the insert
    await this.startRun(row, caller, 'first');
    return { row: (await findBulkAction(this.em(), bulkId))!, replayed: false };
  }

  async list(q: AdminBulkListQuery): Promise<{ rows: AdminBulkRow[]; next: number | null }> {
    const { rows, more } = await listBulkActions(this.em(), { limit: q.page_size, beforeId: q.cursor, status: q.status, action: q.action });
    return { rows, next: more ? rows.at(-1)!.id : null };
  }

  async get(bulkId: string): Promise<AdminBulkRow> {
    const row = await findBulkAction(this.em(), bulkId);
    if (!row) throw new AppError(ErrorCode.BULK_ACTION_NOT_FOUND, 404, 'Bulk action not found');
    return row;
  }

  /** Cancels a running bulk: its page stops at the next job boundary and records what it did; resumable later. */
  async cancel(caller: AdminCaller, bulkId: string): Promise<AdminBulkRow> {
    const row = await this.get(bulkId);
    if (row.status !== 'running') throw notRunning(row.status, 'cancel');
    const found = await this.deps.bulk.cancel(bulkId);
    await this.em().transactional(async (tx) => {
      // Never started (a crash between the row and the start): nothing will record the end, so record it here.
      if (!found) await setBulkStatus(tx, bulkId, ['running'], 'cancelled');
      await insertAudit(tx, {
        ...auditActor(auditSource(caller)),
        action: 'admin.bulk.cancel',
        targetType: 'admin_bulk',
        targetId: bulkId,
        details: { action: row.action },
        before: { status: row.status, ...countsOf(row), last_task_id: row.last_task_id },
      });
    });
    return this.get(bulkId);
  }

  /** A cancelled or failed bulk goes on from its cursor in a new run of the same workflow id, as the caller. */
  async resume(caller: AdminCaller, bulkId: string): Promise<AdminBulkRow> {
    let row = await this.get(bulkId);
    if (row.status === 'running') {
      row = await this.reconcile(row, caller);
      if (row.status === 'running') throw notRunning('running', 'resume');
    }
    if (row.status !== 'cancelled' && row.status !== 'failed') throw notRunning(row.status, 'resume');
    const resumed = await this.em().transactional(async (tx) => {
      const updated = await setBulkStatus(tx, bulkId, ['cancelled', 'failed'], 'running');
      if (!updated) return null;
      await insertAudit(tx, {
        ...auditActor(auditSource(caller)),
        action: 'admin.bulk.resume',
        targetType: 'admin_bulk',
        targetId: bulkId,
        details: { action: row.action, from_task_id: row.last_task_id },
        before: { status: row.status, ...countsOf(row) },
      });
      return updated;
    });
    if (!resumed) throw notRunning((await this.get(bulkId)).status, 'resume'); // a concurrent resume won
    await this.startRun(resumed, caller, 'resume');
    return this.get(bulkId);
  }

  /**
   * A row that says running must have a live workflow. None ever started (crash between the row and the start): start
   * it from the row's cursor, which is a resume. Closed without recording its end (e.g. terminated in the Web UI):
   * record that end now.
   */
  private async reconcile(row: AdminBulkRow, caller: AdminCaller): Promise<AdminBulkRow> {
    if (row.status !== 'running') return row;
    const status = await this.deps.bulk.status(row.bulk_id);
    if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') return row;
    if (status === null) {
      await this.startRun(row, caller, 'first');
    } else {
      const ended: AdminBulkStatus = status === 'TERMINATED' || status === 'CANCELLED' ? 'cancelled' : status === 'COMPLETED' ? 'completed' : 'failed';
      await setBulkStatus(this.em(), row.bulk_id, ['running'], ended, ended === 'failed' ? `The workflow closed as ${status} without recording its end` : null);
    }
    return this.get(row.bulk_id);
  }

  /** Starts a run from the row's cursor; if Temporal refuses, the row says failed (resumable) and the caller gets a 503. */
  private async startRun(row: AdminBulkRow, caller: AdminCaller, mode: 'first' | 'resume'): Promise<void> {
    const input: AdminBulkWorkflowInput = {
      bulkId: row.bulk_id,
      action: row.action,
      filter: row.filter as AdminJobFilter,
      newPriority: row.new_priority as TaskPriority | null,
      force: row.force,
      reason: row.reason,
      maxTaskId: row.max_task_id,
      actorId: caller.userId,
      pageSize: this.deps.config.ADMIN_BULK_PAGE_SIZE,
      pagesPerRun: this.deps.config.ADMIN_BULK_PAGES_PER_RUN,
      heartbeatTimeoutSeconds: this.deps.config.ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS,
      cursor: row.last_task_id,
      counts: countsOf(row),
      runsSoFar: 0,
    };
    try {
      for (let waited = 0; ; waited++) {
        try {
          await this.deps.bulk.start(input, mode, caller.requestId);
          return;
        } catch (err) {
          // The previous run records its end just before it closes: a resume in that instant waits for the close.
          if (!(err instanceof WorkflowExecutionAlreadyStartedError) || waited >= CLOSE_WAIT_STEPS) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await setBulkStatus(this.em(), row.bulk_id, ['running'], 'failed', `The workflow could not be started: ${message}`.slice(0, 2000));
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw notRunning('running', 'resume');
      throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, 503, 'The bulk action was recorded but its workflow could not be started; resume it later', {
        bulk_id: row.bulk_id,
      });
    }
  }

  private sign(claims: TokenClaims): string {
    const payload = Buffer.from(stableJson(claims)).toString('base64url');
    return `${TOKEN_VERSION}.${payload}.${this.mac(payload)}`;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.tokenKey).update(`${TOKEN_VERSION}.${payload}`).digest('base64url');
  }

  /** The token's claims if its signature holds (expiry is checked by the caller: a replay of an executed bulk is fine). */
  private verify(token: string): TokenClaims {
    const [version, payload, mac, ...rest] = token.split('.');
    if (version !== TOKEN_VERSION || !payload || !mac || rest.length) throw invalid('Malformed confirmation token');
    const expected = Buffer.from(this.mac(payload));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid('The confirmation token is not valid (altered or forged)');
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      throw invalid('Malformed confirmation token');
    }
  }
}

/** The workflow id of the bulk a token confirms: the same token always names the same bulk. */
export function bulkIdOf(token: string): string {
  return `${ADMIN_BULK_ID_PREFIX}${createHash('sha256').update(token).digest('hex').slice(0, 26)}`;
}

function invalid(detail: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError(ErrorCode.CONFIRMATION_INVALID, 400, detail, extra);
}

function notRunning(status: string, verb: 'cancel' | 'resume'): AppError {
  const allowed = verb === 'cancel' ? ['running'] : ['cancelled', 'failed'];
  return AppError.invalidTransition(`Cannot ${verb} a ${status} bulk action`, status, allowed);
}

function auditSource(caller: AdminCaller): AuditActorSource {
  return { userId: caller.userId, username: caller.username, brandId: null, requestId: caller.requestId, role: caller.role, ip: caller.ip };
}

/** Share of the dry run's count handled so far (a bulk may handle more: jobs under the snapshot that started matching). */
export function percentageOf(row: AdminBulkRow): number {
  if (row.status === 'completed') return 100;
  if (row.total_at_dry_run === 0) return 0;
  return Math.min(100, Math.round((row.processed / row.total_at_dry_run) * 1000) / 10);
}
