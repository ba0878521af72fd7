import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { auditActor, insertAudit } from '../../db/repositories/audit.repository';
import {
  CalendarFilter,
  countEvents,
  deleteAllEvents,
  deleteEvent,
  findCalendar,
  findEvent,
  insertCalendar,
  insertEvent,
  listCalendars,
  listEvents,
  lockCalendar,
  scheduleDetailsUsingCalendar,
  softDeleteCalendar,
  touchCalendar,
  unlinkCalendar,
  updateCalendarFields,
  updateEvent,
  type CalendarEventFullRow,
  type CalendarEventInput,
  type CalendarRow,
  type CalendarScheduleRow,
} from '../../db/repositories/calendar.repository';
import type { AppConfig } from '../config';
import { AppError, ErrorCode } from '../errors';
import {
  CALENDAR_ORDERING,
  eventBody,
  MAX_EVENTS_PER_CALENDAR,
  type CalendarBody,
  type CalendarPatch,
  type EventBody,
  type EventPatch,
  type ListCalendarsQuery,
  type ListEventsQuery,
} from '../schemas/calendars.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import {
  addLocalDays,
  businessHoursSummary,
  eventOccurrences,
  outsideBusinessHours,
  type CalendarEventRow,
  type CalendarOccurrence,
} from './calendar-spec';
import { nextRuns, normalizeCron, offsetMinutesAt } from './cron.service';
import type { PeriodicTaskService } from './periodic-task.service';
import type { Actor } from './task.service';

/** A calendar with its events (what every response shows). */
export interface CalendarView {
  row: CalendarRow;
  events: CalendarEventFullRow[];
  schedules?: CalendarScheduleRow[];
}

/** How many schedules a write re-synced in Temporal, and why it could not when it could not (the write itself stands). */
export interface ScheduleSync {
  schedules_updated: number;
  schedules_sync_error?: string;
}

export interface SuppressedRun {
  periodic_task_id: number;
  name: string;
  scheduled_at: string;
}

/** Runs listed per occurrence and schedule at most (an every-minute schedule over a long closure is summarised). */
const MAX_SUPPRESSED_PER_OCCURRENCE = 200;
/** Runs listed per schedule for the whole period (counts, business hours); beyond, occurrences are scanned one by one. */
const MAX_RUNS_PER_SCHEDULE = 2000;

const calendarNotFound = () => new AppError(ErrorCode.CALENDAR_NOT_FOUND, 404, 'Calendar not found');
const eventNotFound = () => new AppError(ErrorCode.NOT_FOUND, 404, 'Calendar event not found');
const parseId = (id: string): number => (/^\d{1,10}$/.test(id) ? Number(id) : 0);
const toEventRow = (e: CalendarEventFullRow): CalendarEventRow => ({
  id: e.id,
  calendar_id: e.calendar_id,
  kind: e.kind,
  name: e.name,
  start_date: e.start_date,
  end_date: e.end_date,
  start_time: e.start_time,
  end_time: e.end_time,
  recurs_yearly: e.recurs_yearly,
  days_of_week: e.days_of_week,
});
const eventSnapshot = (e: CalendarEventInput) => ({ ...e });

/**
 * task_scheduling: per-brand business calendars. Each write is audited and then re-synced into every Schedule using
 * the calendar (their skip specs are rebuilt by the periodic task service), so a calendar change takes effect in
 * Temporal at once. `events/` shows the upcoming windows and which runs of those schedules they suppress.
 */
export class CalendarService {
  constructor(private readonly deps: { orm: MikroORM; config: AppConfig; periodic: Pick<PeriodicTaskService, 'resyncCalendar'> }) {}

  private em(): EntityManager {
    return this.deps.orm.em.fork() as EntityManager;
  }

  // ---- reads ----

  async list(brandId: number, q: ListCalendarsQuery): Promise<{ count: number; views: CalendarView[]; page: number; pageSize: number }> {
    const filter = new CalendarFilter(brandId);
    if (q.brand !== undefined && q.brand !== brandId) filter.add('false');
    if (q.has_events !== undefined) filter.hasEvents(q.has_events);
    if (q.search) filter.search(q.search);
    if (q.created_after) filter.add('c.created_at >= ?', q.created_after);
    if (q.created_before) filter.add('c.created_at <= ?', q.created_before);
    if (q.updated_after) filter.add('c.updated_at >= ?', q.updated_after);
    const orderBy = (q.ordering ?? ['-created_at'])
      .map((f) => `${CALENDAR_ORDERING[f.replace(/^-/, '') as keyof typeof CALENDAR_ORDERING]} ${f.startsWith('-') ? 'desc' : 'asc'}`)
      .concat('c.id desc')
      .join(', ');
    const pageSize = Math.min(q.page_size ?? this.deps.config.PAGE_SIZE_DEFAULT, this.deps.config.PAGE_SIZE_MAX);
    const em = this.em();
    const { count, rows } = await listCalendars(em, filter, orderBy, pageSize, (q.page - 1) * pageSize);
    const events = await listEvents(em, rows.map((r) => r.id));
    const byCalendar = new Map<number, CalendarEventFullRow[]>();
    for (const e of events) byCalendar.set(e.calendar_id, [...(byCalendar.get(e.calendar_id) ?? []), e]);
    return { count, views: rows.map((row) => ({ row, events: byCalendar.get(row.id) ?? [] })), page: q.page, pageSize };
  }

  async get(brandId: number, id: string): Promise<CalendarView> {
    return this.view(this.em(), brandId, parseId(id));
  }

  private async view(em: EntityManager, brandId: number, id: number): Promise<CalendarView> {
    const row = await findCalendar(em, brandId, id);
    if (!row) throw calendarNotFound();
    const [events, schedules] = await Promise.all([listEvents(em, [id]), scheduleDetailsUsingCalendar(em, id)]);
    return { row, events, schedules };
  }

  // ---- calendar writes ----

  async create(actor: Actor, body: CalendarBody): Promise<CalendarView & ScheduleSync> {
    const id = await this.em().transactional(async (tx) => {
      const calendarId = await insertCalendar(tx, { brandId: actor.brandId, createdById: actor.userId, name: body.name, description: body.description });
      for (const e of body.events ?? []) await insertEvent(tx, calendarId, e);
      await insertAudit(tx, {
        ...auditActor(actor),
        action: 'calendar.create',
        targetType: 'calendar',
        targetId: String(calendarId),
        details: { name: body.name, description: body.description, events: (body.events ?? []).map(eventSnapshot) },
        after: { name: body.name, events_count: body.events?.length ?? 0 },
      });
      return calendarId;
    });
    // A new calendar is used by no schedule yet.
    return { ...(await this.view(this.em(), actor.brandId, id)), schedules_updated: 0 };
  }

  /** PUT (every field; `events`, when given, replaces them all) and PATCH (the fields given). */
  async update(actor: Actor, idParam: string, body: CalendarBody | CalendarPatch): Promise<CalendarView & ScheduleSync> {
    const id = parseId(idParam);
    await this.em().transactional(async (tx) => {
      if (!(await lockCalendar(tx, actor.brandId, id))) throw calendarNotFound();
      const before = await findCalendar(tx, actor.brandId, id);
      await updateCalendarFields(tx, id, { name: body.name, description: body.description });
      let removed = 0;
      if (body.events !== undefined) {
        removed = await deleteAllEvents(tx, id);
        for (const e of body.events) await insertEvent(tx, id, e);
      }
      await insertAudit(tx, {
        ...auditActor(actor),
        action: 'calendar.update',
        targetType: 'calendar',
        targetId: String(id),
        details: {
          before: { name: before!.name, description: before!.description },
          changes: {
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(body.description !== undefined ? { description: body.description } : {}),
            ...(body.events !== undefined ? { events_replaced: removed, events: body.events.map(eventSnapshot) } : {}),
          },
        },
        before: { name: before!.name, description: before!.description, events_count: before!.events_count },
        after: {
          name: body.name ?? before!.name,
          description: body.description ?? before!.description,
          events_count: body.events?.length ?? before!.events_count,
        },
      });
    });
    const sync = await this.resync(actor, id);
    return { ...(await this.view(this.em(), actor.brandId, id)), ...sync };
  }

  /**
   * Soft delete. A calendar still used by schedules is refused (409, listing them) unless `force`: then it leaves
   * those schedules, whose Schedules are re-synced without it.
   */
  async remove(actor: Actor, idParam: string, force: boolean): Promise<ScheduleSync & { schedules_unlinked: number[] }> {
    const id = parseId(idParam);
    const users = await this.em().transactional(async (tx) => {
      if (!(await lockCalendar(tx, actor.brandId, id))) throw calendarNotFound();
      const schedules = await scheduleDetailsUsingCalendar(tx, id);
      if (schedules.length > 0 && !force) {
        throw new AppError(
          ErrorCode.INVALID_OPERATION,
          409,
          `The calendar is used by ${schedules.length} schedule(s): remove it from them first, or delete with ?force=true`,
          { schedules: schedules.map((s) => ({ id: s.id, schedule_id: s.schedule_id, name: s.name })) },
        );
      }
      const row = await findCalendar(tx, actor.brandId, id);
      await softDeleteCalendar(tx, id);
      await insertAudit(tx, {
        ...auditActor(actor),
        action: 'calendar.delete',
        targetType: 'calendar',
        targetId: String(id),
        details: { name: row!.name, events_count: row!.events_count, force, schedules_unlinked: schedules.map((s) => s.id) },
        before: { name: row!.name, events_count: row!.events_count },
      });
      return schedules;
    });
    if (users.length === 0) return { schedules_updated: 0, schedules_unlinked: [] };
    // The deleted calendar's events no longer count (deleted calendars are not loaded): rebuild the Schedules while
    // the links still name them, then drop the links.
    try {
      return { ...(await this.resync(actor, id)), schedules_unlinked: users.map((s) => s.id) };
    } finally {
      await unlinkCalendar(this.em(), id);
    }
  }

  // ---- events ----

  async createEvent(actor: Actor, idParam: string, body: EventBody): Promise<{ event: CalendarEventFullRow } & ScheduleSync> {
    const id = parseId(idParam);
    const eventId = await this.em().transactional(async (tx) => {
      if (!(await lockCalendar(tx, actor.brandId, id))) throw calendarNotFound();
      if ((await countEvents(tx, id)) >= MAX_EVENTS_PER_CALENDAR) {
        throw AppError.validation({ non_field_errors: [`A calendar holds at most ${MAX_EVENTS_PER_CALENDAR} events`] });
      }
      const newId = await insertEvent(tx, id, body);
      await touchCalendar(tx, id);
      await this.auditEvent(tx, actor, 'calendar.event.create', id, newId, { event: eventSnapshot(body) });
      return newId;
    });
    const sync = await this.resync(actor, id);
    return { event: (await findEvent(this.em(), id, eventId))!, ...sync };
  }

  /** PUT (`body` is a whole event) or PATCH (`patch` merged onto the stored event, then checked as a whole). */
  async updateEvent(
    actor: Actor,
    idParam: string,
    eventIdParam: string,
    change: { body: EventBody } | { patch: EventPatch },
  ): Promise<{ event: CalendarEventFullRow } & ScheduleSync> {
    const id = parseId(idParam);
    const eventId = parseId(eventIdParam);
    await this.em().transactional(async (tx) => {
      if (!(await lockCalendar(tx, actor.brandId, id))) throw calendarNotFound();
      const current = await findEvent(tx, id, eventId);
      if (!current) throw eventNotFound();
      const before = eventSnapshot(toEventRow(current));
      const next = 'body' in change ? change.body : parseOrThrow(eventBody, { ...stripIds(before), ...change.patch });
      await updateEvent(tx, eventId, next);
      await touchCalendar(tx, id);
      await this.auditEvent(tx, actor, 'calendar.event.update', id, eventId, { before: stripIds(before), after: eventSnapshot(next) });
    });
    const sync = await this.resync(actor, id);
    return { event: (await findEvent(this.em(), id, eventId))!, ...sync };
  }

  async deleteEvent(actor: Actor, idParam: string, eventIdParam: string): Promise<ScheduleSync> {
    const id = parseId(idParam);
    const eventId = parseId(eventIdParam);
    await this.em().transactional(async (tx) => {
      if (!(await lockCalendar(tx, actor.brandId, id))) throw calendarNotFound();
      const current = await findEvent(tx, id, eventId);
      if (!current) throw eventNotFound();
      await deleteEvent(tx, eventId);
      await touchCalendar(tx, id);
      await this.auditEvent(tx, actor, 'calendar.event.delete', id, eventId, { event: stripIds(toEventRow(current)) });
    });
    return this.resync(actor, id);
  }

  async getEvent(brandId: number, idParam: string, eventIdParam: string): Promise<CalendarEventFullRow> {
    const id = parseId(idParam);
    const em = this.em();
    if (!(await findCalendar(em, brandId, id))) throw calendarNotFound();
    const event = await findEvent(em, id, parseId(eventIdParam));
    if (!event) throw eventNotFound();
    return event;
  }

  /**
   * The upcoming windows of the calendar over the local days `from..until`, each with the runs it suppresses of every
   * schedule using the calendar (computed with the schedule's cron and timezone: a window is local time wherever the
   * schedule runs), the weekly business hours, and the raw event definitions.
   */
  async upcoming(brandId: number, idParam: string, q: ListEventsQuery, now = new Date()) {
    const id = parseId(idParam);
    const em = this.em();
    const row = await findCalendar(em, brandId, id);
    if (!row) throw calendarNotFound();
    const [events, schedules] = await Promise.all([listEvents(em, [id]), scheduleDetailsUsingCalendar(em, id)]);
    const from = q.from ?? now.toISOString().slice(0, 10);
    const until = q.until ?? addLocalDays(from, (q.days ?? 90) - 1);
    const rows = events.map(toEventRow);
    const occurrences = eventOccurrences(rows, from, until);
    const hours = businessHoursSummary(rows);
    const windowStart = `${from}T00:00`;
    const windowEnd = `${addLocalDays(until, 1)}T00:00`;

    const inOccurrence = (o: CalendarOccurrence, local: string) => local >= o.starts_at_local && local < o.ends_at_local;
    // One pass over the period per schedule; only a schedule with more runs than that is scanned occurrence by occurrence.
    const perSchedule = schedules.map((s) => ({ s, period: scheduleRuns(s, windowStart, windowEnd, MAX_RUNS_PER_SCHEDULE) }));
    const results = occurrences.map((o) => {
      const suppressed: SuppressedRun[] = [];
      let truncated = false;
      for (const { s, period } of perSchedule) {
        const runs = period.truncated
          ? scheduleRuns(s, o.starts_at_local, o.ends_at_local, MAX_SUPPRESSED_PER_OCCURRENCE)
          : (() => {
              const inside = period.runs.filter((r) => inOccurrence(o, r.local));
              return { runs: inside.slice(0, MAX_SUPPRESSED_PER_OCCURRENCE), truncated: inside.length > MAX_SUPPRESSED_PER_OCCURRENCE };
            })();
        truncated ||= runs.truncated;
        for (const r of runs.runs) suppressed.push({ periodic_task_id: s.id, name: s.name, scheduled_at: r.at });
      }
      suppressed.sort((a, b) => Date.parse(a.scheduled_at) - Date.parse(b.scheduled_at) || a.periodic_task_id - b.periodic_task_id);
      return { ...occurrenceJson(o), suppressed_runs: suppressed, suppressed_runs_truncated: truncated };
    });
    return {
      calendar: { id: row.id, name: row.name },
      from,
      until,
      count: results.length,
      next: null,
      previous: null,
      results,
      business_hours: hours,
      schedules: perSchedule.map(({ s, period }) => ({
        periodic_task_id: s.id,
        schedule_id: s.schedule_id,
        name: s.name,
        cron_expression: s.cron_expression,
        timezone: s.timezone,
        is_active: s.is_active,
        /** Counted over the first MAX_RUNS_PER_SCHEDULE runs of the period (`truncated` beyond). */
        runs_in_period: period.runs.length,
        suppressed_runs_in_period: period.runs.filter((r) => occurrences.some((o) => inOccurrence(o, r.local)) || outsideBusinessHours(rows, r.local)).length,
        truncated: period.truncated,
      })),
      events: events.map(serializeEvent),
    };
  }

  // ---- helpers ----

  private async auditEvent(tx: EntityManager, actor: Actor, action: string, calendarId: number, eventId: number, details: Record<string, unknown>) {
    await insertAudit(tx, {
      ...auditActor(actor),
      action,
      targetType: 'calendar_event',
      targetId: String(eventId),
      details: { calendar_id: calendarId, ...details },
    });
  }

  /** Rebuilds the skip specs of every Schedule using the calendar; a Temporal failure is reported, not thrown. */
  private async resync(actor: Actor, calendarId: number): Promise<ScheduleSync> {
    try {
      const { updated } = await this.deps.periodic.resyncCalendar(actor, calendarId);
      return { schedules_updated: updated };
    } catch (err) {
      return { schedules_updated: 0, schedules_sync_error: err instanceof Error ? err.message.slice(0, 500) : String(err) };
    }
  }
}

function stripIds(e: CalendarEventRow | CalendarEventInput): CalendarEventInput {
  return {
    kind: e.kind,
    name: e.name,
    start_date: e.start_date,
    end_date: e.end_date,
    start_time: e.start_time,
    end_time: e.end_time,
    recurs_yearly: e.recurs_yearly,
    days_of_week: e.days_of_week,
  };
}

/**
 * The runs of a schedule whose local wall-clock time lies in [startLocal, endLocal) (`YYYY-MM-DDTHH:MM`), within its
 * start/end dates, at most `cap` of them. Local times are matched as Temporal matches skip specs: literally.
 */
export function scheduleRuns(
  s: Pick<CalendarScheduleRow, 'cron_expression' | 'timezone' | 'start_at' | 'end_at'>,
  startLocal: string,
  endLocal: string,
  cap: number,
): { runs: { at: string; local: string }[]; truncated: boolean } {
  let normalized: string;
  try {
    normalized = normalizeCron(s.cron_expression).normalized;
  } catch {
    return { runs: [], truncated: false };
  }
  const startAt = s.start_at ? new Date(s.start_at).getTime() : -Infinity;
  const endAt = s.end_at ? new Date(s.end_at).getTime() : Infinity;
  const stop = Math.min(utcBounds(endLocal, s.timezone)[1], endAt);
  let from = new Date(Math.max(utcBounds(startLocal, s.timezone)[0], startAt) - 1);
  const runs: { at: string; local: string }[] = [];
  for (;;) {
    let batch: string[];
    try {
      batch = nextRuns(normalized, s.timezone, 100, from);
    } catch {
      break;
    }
    if (batch.length === 0) break;
    for (const at of batch) {
      const t = Date.parse(at);
      if (t > stop) return { runs, truncated: false };
      const local = at.slice(0, 16);
      if (local >= startLocal && local < endLocal && t >= startAt) {
        if (runs.length >= cap) return { runs, truncated: true };
        runs.push({ at, local });
      }
    }
    from = new Date(Date.parse(batch.at(-1)!));
  }
  return { runs, truncated: false };
}

/**
 * The instants whose wall-clock time in `timezone` is the local minute (two at a fall-back, none in a spring-forward
 * gap): [earliest, latest] of the candidates, enough to bound a scan of local times.
 */
function utcBounds(local: string, timezone: string): [number, number] {
  const asUtc = Date.parse(`${local}:00Z`);
  // The instant lies within ±14 h of `asUtc`; every offset in force there (one, or two around a change) is a candidate.
  const offsets = new Set<number>();
  for (let h = -15; h <= 15; h++) offsets.add(offsetMinutesAt(new Date(asUtc + h * 3_600_000), timezone));
  const candidates = [...offsets].map((o) => asUtc - o * 60_000);
  return [Math.min(...candidates), Math.max(...candidates)];
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

export function serializeEvent(e: CalendarEventFullRow) {
  return {
    id: e.id,
    calendar_id: e.calendar_id,
    kind: e.kind,
    name: e.name,
    start_date: e.start_date,
    end_date: e.end_date,
    start_time: e.start_time,
    end_time: e.end_time,
    recurs_yearly: e.recurs_yearly,
    days_of_week: e.days_of_week,
    created_at: iso(e.created_at),
    updated_at: iso(e.updated_at),
  };
}

function occurrenceJson(o: CalendarOccurrence) {
  return { event_id: o.event_id, name: o.name, kind: o.kind, starts_at_local: o.starts_at_local, ends_at_local: o.ends_at_local };
}

export function serializeCalendar(v: CalendarView) {
  return {
    id: v.row.id,
    name: v.row.name,
    description: v.row.description,
    brand: { id: v.row.brand_id, name: v.row.brand_name },
    events: v.events.map(serializeEvent),
    events_count: v.row.events_count,
    schedules_count: v.row.schedules_count,
    ...(v.schedules ? { schedules: v.schedules.map((s) => ({ id: s.id, schedule_id: s.schedule_id, name: s.name })) } : {}),
    created_at: iso(v.row.created_at),
    updated_at: iso(v.row.updated_at),
  };
}
