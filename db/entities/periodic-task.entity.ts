import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Brand } from './brand.entity';
import { User } from './user.entity';

/**
 * The mirror of one Temporal Schedule: a periodic task (seed 000 `periodic-tasks/`) or a cron job (`cron-jobs/`,
 * kind `cron_job`). The Schedule is the truth (spec, pause state, firings); its memo carries this row's definition so
 * the reconciler can rebuild a missing row, and a row whose Schedule is gone is removed. Each firing is a task whose
 * `schedule_id` points here.
 */
export const PeriodicTask = defineEntity({
  name: 'PeriodicTask',
  tableName: 'periodic_tasks',
  indexes: [{ properties: ['brand', 'nextRunAt'] }],
  properties: {
    id: p.integer().primary().autoincrement(),
    /** The Temporal Schedule id. */
    scheduleId: p.string().length(64).unique(),
    /** `periodic` or `cron_job`. */
    kind: p.string().length(16).default('periodic'),
    brand: () => p.manyToOne(Brand).index(),
    createdBy: () => p.manyToOne(User),
    name: p.string().length(200),
    /** The task this schedule was created from (example flow 3), when it was; the template below is a copy of it. */
    baseTaskId: p.integer().nullable().index(),
    taskType: p.string().length(64),
    priority: p.string().length(16),
    description: p.text().default(''),
    contextData: p.json<Record<string, unknown>>(),
    maxRetries: p.integer().default(3),
    timeoutMinutes: p.double().nullable(),
    /** As the user wrote it (a macro stays a macro); what Temporal runs is derived from it. */
    cronExpression: p.string().length(200),
    /** Cron jobs: daily, weekly, monthly or cron; null for periodic tasks. */
    frequency: p.string().length(16).nullable(),
    /** Cron jobs: the job kind (backup, report, cleanup) mapped to `taskType`. */
    jobType: p.string().length(32).nullable(),
    timezone: p.string().length(64),
    startAt: p.datetime().nullable(),
    endAt: p.datetime().nullable(),
    overlapPolicy: p.string().length(16),
    catchupWindowSeconds: p.integer(),
    jitterSeconds: p.integer().default(0),
    isActive: p.boolean().default(true),
    pausedNote: p.text().nullable(),
    /** The Schedule's next action time, refreshed on every change and by each firing. */
    nextRunAt: p.datetime().nullable(),
    /** Nominal time of the most recent firing and its outcome (running, success, failed, cancelled, missed). */
    lastRunAt: p.datetime().nullable(),
    lastRunStatus: p.string().length(16).nullable(),
    lastTaskId: p.string().length(64).nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    deletedAt: p.datetime().nullable(),
  },
});
export type IPeriodicTask = InferEntity<typeof PeriodicTask>;

/** Which calendars a schedule skips; a calendar change rewrites the skip specs of every schedule listed here. */
export const PeriodicTaskCalendar = defineEntity({
  name: 'PeriodicTaskCalendar',
  tableName: 'periodic_task_calendars',
  properties: {
    periodicTask: () => p.manyToOne(PeriodicTask).primary().deleteRule('cascade'),
    calendar: () => p.manyToOne(TaskCalendar).primary().index(),
  },
});
export type IPeriodicTaskCalendar = InferEntity<typeof PeriodicTaskCalendar>;

/** A per-brand business calendar (holidays, closures, maintenance windows, business hours), reusable by schedules. */
export const TaskCalendar = defineEntity({
  name: 'TaskCalendar',
  tableName: 'task_calendars',
  properties: {
    id: p.integer().primary().autoincrement(),
    brand: () => p.manyToOne(Brand).index(),
    createdBy: () => p.manyToOne(User),
    name: p.string().length(200),
    description: p.text().default(''),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    deletedAt: p.datetime().nullable(),
  },
});
export type ITaskCalendar = InferEntity<typeof TaskCalendar>;

/**
 * One calendar entry, in the local time of the schedule that uses it (a holiday on Dec 25 is Dec 25 wherever the
 * schedule runs). `kind`: holiday, closure, maintenance (dates or a date range; with times for a window) or
 * business_hours (weekdays and a daily time range outside of which runs are skipped).
 */
export const CalendarEvent = defineEntity({
  name: 'CalendarEvent',
  tableName: 'calendar_events',
  properties: {
    id: p.integer().primary().autoincrement(),
    calendar: () => p.manyToOne(TaskCalendar).index().deleteRule('cascade'),
    kind: p.string().length(16),
    name: p.string().length(200),
    startDate: p.string().length(10).nullable(),
    endDate: p.string().length(10).nullable(),
    startTime: p.string().length(5).nullable(),
    endTime: p.string().length(5).nullable(),
    recursYearly: p.boolean().default(false),
    daysOfWeek: p.json<number[]>().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export type ICalendarEvent = InferEntity<typeof CalendarEvent>;

/**
 * A run asked for through the API (execute-now, execute-ready), written just before the Schedule is triggered: the
 * firing that follows was not due at a cron time, so it is never judged late against the catch-up window.
 */
export const ScheduleManualTrigger = defineEntity({
  name: 'ScheduleManualTrigger',
  tableName: 'schedule_manual_triggers',
  indexes: [{ properties: ['scheduleId', 'requestedAt'] }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    scheduleId: p.string().length(64),
    requestedAt: p.datetime(),
  },
});
export type IScheduleManualTrigger = InferEntity<typeof ScheduleManualTrigger>;
