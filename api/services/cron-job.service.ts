import { AppError, ErrorCode } from '../errors';
import { CRON_JOB_FREQUENCIES, type CronJobBody, type CronJobPatch, type CronJobType } from '../schemas/periodic-tasks.schemas';
import type { PeriodicTaskRow } from '../../db/repositories/periodic-task.repository';
import { resolveTimezone } from './cron.service';
import { normalizeCronStrict, type PeriodicTaskService, type PeriodicView, type ScheduleDraft } from './periodic-task.service';
import type { Actor } from './task.service';

/**
 * Cron jobs (seed 000 `cron-jobs/`): system-style jobs named by what they do, each mapped to a real task workflow type
 * with a default configuration, run on a Schedule like any periodic task (same table, kind `cron_job`).
 */
export const CRON_JOB_WORKFLOWS: Record<CronJobType, { workflowType: string; defaults: Record<string, unknown>; what: string }> = {
  /** An export of every task of the brand (CSV) into the export folder. */
  backup: { workflowType: 'data_export', defaults: { format: 'csv' }, what: 'exports all of the brand’s tasks (data_export)' },
  /** The brand's weekly report (HTML, report_generation) over the last 7 days. */
  report: { workflowType: 'report_generation', defaults: { period: { preset: 'last_7_days' } }, what: 'the brand’s report of the last 7 days (report_generation)' },
  /** Removes the brand's finished tasks older than 30 days (cleanup_old_tasks). */
  cleanup: { workflowType: 'cleanup_old_tasks', defaults: { older_than_days: 30 }, what: 'removes finished tasks older than 30 days (cleanup_old_tasks)' },
};

export class CronJobService {
  constructor(private readonly periodic: PeriodicTaskService) {}

  async create(actor: Actor, body: CronJobBody, idempotencyKey?: string): Promise<{ view: PeriodicView; replayed: boolean }> {
    return this.periodic.createFromDraft(actor, await this.draft(actor, body), idempotencyKey);
  }

  async update(actor: Actor, id: string, body: CronJobBody | CronJobPatch, mode: 'put' | 'patch'): Promise<PeriodicView> {
    const row = await this.periodic.find(actor.brandId, id, 'cron_job');
    const merged = mode === 'put' ? (body as CronJobBody) : ({ ...bodyOf(row), ...(body as CronJobPatch) } as CronJobBody);
    // Leaving frequency "cron" for a named frequency drops the old expression (time/day fields take over).
    if (mode === 'patch' && body.frequency !== undefined && body.frequency !== 'cron' && body.cron_expression === undefined) delete merged.cron_expression;
    return this.periodic.updateFromDraft(actor, row, await this.draft(actor, merged));
  }

  private async draft(actor: Actor, body: CronJobBody): Promise<ScheduleDraft> {
    const frequency = body.frequency.trim().toLowerCase();
    if (!(CRON_JOB_FREQUENCIES as readonly string[]).includes(frequency)) {
      throw new AppError(ErrorCode.FREQUENCY_NOT_SUPPORTED, 400, `Frequency "${body.frequency}" is not supported. Choices: ${CRON_JOB_FREQUENCIES.join(', ')}`, {
        field_errors: { frequency: [`Choices: ${CRON_JOB_FREQUENCIES.join(', ')}`] },
      });
    }
    const [hour, minute] = (body.time ?? '00:00').split(':').map(Number) as [number, number];
    let expression: string;
    if (frequency === 'cron') {
      if (!body.cron_expression) throw AppError.validation({ cron_expression: ['Required when frequency is cron'] });
      expression = body.cron_expression;
    } else {
      if (body.cron_expression !== undefined && body.cron_expression !== cronFor(frequency, hour, minute, body)) {
        throw AppError.validation({ cron_expression: ['Only with frequency cron; use time, day_of_week or day_of_month'] });
      }
      expression = cronFor(frequency, hour, minute, body);
    }
    const cron = normalizeCronStrict(expression);
    const job = CRON_JOB_WORKFLOWS[body.task_type];
    const contextData = this.periodic.validateTemplate(job.workflowType, { ...job.defaults, ...(body.config ?? {}) }, 'config');
    return this.periodic.finishDraft(
      actor,
      {
        kind: 'cron_job',
        name: body.name,
        baseTaskId: null,
        taskType: job.workflowType,
        priority: body.priority ?? 'low',
        description: body.description ?? `${body.name}: ${job.what}`,
        contextData,
        maxRetries: 3,
        timeoutMinutes: null,
        cronExpression: expression.trim().replace(/\s+/g, ' '),
        frequency,
        jobType: body.task_type,
        timezone: resolveTimezone(body.timezone ?? 'UTC'),
        startAt: null,
        endAt: null,
        overlapPolicy: body.overlap_policy ?? 'skip',
        catchupWindowSeconds: body.catchup_window_seconds ?? 3600,
        jitterSeconds: body.jitter_seconds ?? 0,
        calendarIds: [...new Set(body.calendars ?? [])],
        isActive: body.is_active ?? true,
        note: null,
      },
      cron,
    );
  }
}

function cronFor(frequency: string, hour: number, minute: number, body: Pick<CronJobBody, 'day_of_week' | 'day_of_month'>): string {
  switch (frequency) {
    case 'daily':
      return `${minute} ${hour} * * *`;
    case 'weekly':
      return `${minute} ${hour} * * ${body.day_of_week ?? 1}`;
    default:
      return `${minute} ${hour} ${body.day_of_month ?? 1} * *`;
  }
}

function bodyOf(row: PeriodicTaskRow): CronJobBody {
  const parts = row.cron_expression.split(' ');
  const timed = row.frequency !== 'cron' && parts.length === 5;
  return {
    name: row.name,
    frequency: row.frequency ?? 'cron',
    task_type: row.job_type as CronJobType,
    ...(row.frequency === 'cron' ? { cron_expression: row.cron_expression } : {}),
    ...(timed ? { time: `${parts[1]!.padStart(2, '0')}:${parts[0]!.padStart(2, '0')}` } : {}),
    ...(timed && row.frequency === 'weekly' ? { day_of_week: Number(parts[4]) } : {}),
    ...(timed && row.frequency === 'monthly' ? { day_of_month: Number(parts[2]) } : {}),
    timezone: row.timezone,
    description: row.description,
    priority: row.priority as CronJobBody['priority'] & string,
    config: row.context_data,
    overlap_policy: row.overlap_policy as CronJobBody['overlap_policy'] & string,
    catchup_window_seconds: row.catchup_window_seconds,
    jitter_seconds: row.jitter_seconds,
    calendars: row.calendar_ids,
    is_active: row.is_active,
  };
}
