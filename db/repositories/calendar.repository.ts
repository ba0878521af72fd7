import type { EntityManager } from '@mikro-orm/postgresql';
import type { CalendarEventRow } from '../../api/services/calendar-spec';
import { escapeLike } from './task-query.repository';
import { SqlWhere } from './sql-where';

/**
 * Business calendars (task_calendars, soft-deleted) and their events (calendar_events, deleted with the calendar), always
 * brand-scoped. Dates and times are local strings (`YYYY-MM-DD`, `HH:MM`) read in the timezone of the schedule using them.
 */

export interface CalendarRow {
  id: number;
  brand_id: number;
  brand_name: string;
  created_by_id: number;
  name: string;
  description: string;
  created_at: Date | string;
  updated_at: Date | string;
  events_count: number;
  schedules_count: number;
}

export interface CalendarEventInput {
  kind: CalendarEventRow['kind'];
  name: string;
  start_date: string | null;
  end_date: string | null;
  start_time: string | null;
  end_time: string | null;
  recurs_yearly: boolean;
  days_of_week: number[] | null;
}

export interface CalendarEventFullRow extends CalendarEventRow {
  created_at: Date | string;
  updated_at: Date | string;
}

const EVENT_COLUMNS = `e.id, e.calendar_id, e.kind, e.name, e.start_date, e.end_date, e.start_time, e.end_time, e.recurs_yearly, e.days_of_week`;

const SELECT_CALENDAR = `
  select c.id, c.brand_id, b.name as brand_name, c.created_by_id, c.name, c.description, c.created_at, c.updated_at,
         (select count(*)::int from calendar_events e where e.calendar_id = c.id) as events_count,
         (select count(*)::int from periodic_task_calendars ptc join periodic_tasks pt on pt.id = ptc.periodic_task_id
           where ptc.calendar_id = c.id and pt.deleted_at is null) as schedules_count
    from task_calendars c
    join brands b on b.id = c.brand_id`;

/** The events of some of a brand's live calendars (what a schedule using them skips), in a stable order. */
export async function loadCalendarEvents(em: EntityManager, brandId: number, calendarIds: number[]): Promise<CalendarEventRow[]> {
  if (calendarIds.length === 0) return [];
  return em.execute<CalendarEventRow[]>(
    `select ${EVENT_COLUMNS}
       from calendar_events e join task_calendars c on c.id = e.calendar_id
      where c.brand_id = ? and c.deleted_at is null and c.id in (${calendarIds.map(() => '?').join(', ')})
      order by e.calendar_id, e.id`,
    [brandId, ...calendarIds],
  );
}

/** Of `ids`, those that are not live calendars of the brand (unknown, deleted or another brand's), sorted, distinct. */
export async function missingCalendarIds(em: EntityManager, brandId: number, ids: number[]): Promise<number[]> {
  const wanted = [...new Set(ids)].sort((a, b) => a - b);
  const valid = wanted.filter((id) => Number.isInteger(id) && id > 0 && id <= 2_147_483_647);
  if (valid.length === 0) return wanted;
  const rows = await em.execute<{ id: number }[]>(
    `select id from task_calendars where brand_id = ? and deleted_at is null and id in (${valid.map(() => '?').join(', ')})`,
    [brandId, ...valid],
  );
  const found = new Set(rows.map((r) => r.id));
  return wanted.filter((id) => !found.has(id));
}

/** The live periodic tasks (and cron jobs) whose Schedule skips this calendar. */
export async function schedulesUsingCalendar(em: EntityManager, calendarId: number): Promise<{ id: number; schedule_id: string }[]> {
  return em.execute<{ id: number; schedule_id: string }[]>(
    `select pt.id, pt.schedule_id
       from periodic_task_calendars ptc join periodic_tasks pt on pt.id = ptc.periodic_task_id
      where ptc.calendar_id = ? and pt.deleted_at is null
      order by pt.id`,
    [calendarId],
  );
}

export interface CalendarScheduleRow {
  id: number;
  schedule_id: string;
  name: string;
  cron_expression: string;
  timezone: string;
  is_active: boolean;
  start_at: Date | string | null;
  end_at: Date | string | null;
}

/** The same schedules with what is needed to compute which of their runs the calendar suppresses. */
export async function scheduleDetailsUsingCalendar(em: EntityManager, calendarId: number): Promise<CalendarScheduleRow[]> {
  return em.execute<CalendarScheduleRow[]>(
    `select pt.id, pt.schedule_id, pt.name, pt.cron_expression, pt.timezone, pt.is_active, pt.start_at, pt.end_at
       from periodic_task_calendars ptc join periodic_tasks pt on pt.id = ptc.periodic_task_id
      where ptc.calendar_id = ? and pt.deleted_at is null
      order by pt.id`,
    [calendarId],
  );
}

/** Removes the calendar from the schedules using it (forced delete); returns the unlinked periodic task ids. */
export async function unlinkCalendar(em: EntityManager, calendarId: number): Promise<number[]> {
  const rows = await em.execute<{ periodic_task_id: number }[]>(
    `delete from periodic_task_calendars where calendar_id = ? returning periodic_task_id`,
    [calendarId],
  );
  return rows.map((r) => r.periodic_task_id).sort((a, b) => a - b);
}

/** A WHERE clause over `task_calendars c`: brand-scoped, live rows only, values bound. */
export class CalendarFilter extends SqlWhere {
  constructor(brandId: number) {
    super();
    this.add('c.brand_id = ?', brandId).add('c.deleted_at is null');
  }

  search(term: string): this {
    return this.add(`c.name ilike ?`, `%${escapeLike(term)}%`);
  }

  hasEvents(value: boolean): this {
    return this.add(`${value ? '' : 'not '}exists (select 1 from calendar_events e where e.calendar_id = c.id)`);
  }
}

export async function listCalendars(
  em: EntityManager,
  filter: CalendarFilter,
  orderBy: string,
  limit: number,
  offset: number,
): Promise<{ count: number; rows: CalendarRow[] }> {
  const [rows, countRows] = await Promise.all([
    em.execute<CalendarRow[]>(`${SELECT_CALENDAR} where ${filter.sql} order by ${orderBy} limit ? offset ?`, [...filter.params, limit, offset]),
    em.execute<{ count: string }[]>(`select count(*) as count from task_calendars c where ${filter.sql}`, filter.params),
  ]);
  return { count: Number(countRows[0]?.count ?? 0), rows };
}

export async function findCalendar(em: EntityManager, brandId: number, id: number): Promise<CalendarRow | null> {
  if (!Number.isInteger(id) || id <= 0 || id > 2_147_483_647) return null;
  const rows = await em.execute<CalendarRow[]>(`${SELECT_CALENDAR} where c.brand_id = ? and c.id = ? and c.deleted_at is null`, [brandId, id]);
  return rows[0] ?? null;
}

/** Locks the calendar row for the rest of the transaction (serialises concurrent edits of one calendar). */
export async function lockCalendar(em: EntityManager, brandId: number, id: number): Promise<boolean> {
  if (!Number.isInteger(id) || id <= 0 || id > 2_147_483_647) return false;
  const rows = await em.execute<{ id: number }[]>(
    `select id from task_calendars where brand_id = ? and id = ? and deleted_at is null for update`,
    [brandId, id],
  );
  return rows.length > 0;
}

export async function insertCalendar(
  em: EntityManager,
  c: { brandId: number; createdById: number; name: string; description: string },
): Promise<number> {
  const rows = await em.execute<{ id: number }[]>(
    `insert into task_calendars (brand_id, created_by_id, name, description, created_at, updated_at)
     values (?, ?, ?, ?, clock_timestamp(), clock_timestamp()) returning id`,
    [c.brandId, c.createdById, c.name, c.description],
  );
  return rows[0]!.id;
}

export async function updateCalendarFields(em: EntityManager, id: number, fields: { name?: string; description?: string }): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [];
  if (fields.name !== undefined) {
    sets.push('name = ?');
    params.push(fields.name);
  }
  if (fields.description !== undefined) {
    sets.push('description = ?');
    params.push(fields.description);
  }
  await em.execute(`update task_calendars set ${[...sets, 'updated_at = clock_timestamp()'].join(', ')} where id = ?`, [...params, id]);
}

/** Marks the calendar changed (an event was added, edited or removed). */
export async function touchCalendar(em: EntityManager, id: number): Promise<void> {
  await em.execute(`update task_calendars set updated_at = clock_timestamp() where id = ?`, [id]);
}

export async function softDeleteCalendar(em: EntityManager, id: number): Promise<void> {
  await em.execute(`update task_calendars set deleted_at = clock_timestamp(), updated_at = clock_timestamp() where id = ?`, [id]);
}

export async function listEvents(em: EntityManager, calendarIds: number[]): Promise<CalendarEventFullRow[]> {
  if (calendarIds.length === 0) return [];
  return em.execute<CalendarEventFullRow[]>(
    `select ${EVENT_COLUMNS}, e.created_at, e.updated_at from calendar_events e
      where e.calendar_id in (${calendarIds.map(() => '?').join(', ')}) order by e.calendar_id, e.id`,
    calendarIds,
  );
}

export async function findEvent(em: EntityManager, calendarId: number, eventId: number): Promise<CalendarEventFullRow | null> {
  if (!Number.isInteger(eventId) || eventId <= 0 || eventId > 2_147_483_647) return null;
  const rows = await em.execute<CalendarEventFullRow[]>(
    `select ${EVENT_COLUMNS}, e.created_at, e.updated_at from calendar_events e where e.calendar_id = ? and e.id = ?`,
    [calendarId, eventId],
  );
  return rows[0] ?? null;
}

const EVENT_VALUES = (e: CalendarEventInput) => [
  e.kind, e.name, e.start_date, e.end_date, e.start_time, e.end_time, e.recurs_yearly,
  e.days_of_week === null ? null : JSON.stringify(e.days_of_week),
];

export async function insertEvent(em: EntityManager, calendarId: number, e: CalendarEventInput): Promise<number> {
  const rows = await em.execute<{ id: number }[]>(
    `insert into calendar_events (calendar_id, kind, name, start_date, end_date, start_time, end_time, recurs_yearly, days_of_week, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, clock_timestamp(), clock_timestamp()) returning id`,
    [calendarId, ...EVENT_VALUES(e)],
  );
  return rows[0]!.id;
}

/** Replaces every field of the event (PATCH merges before calling this). */
export async function updateEvent(em: EntityManager, eventId: number, e: CalendarEventInput): Promise<void> {
  await em.execute(
    `update calendar_events set kind = ?, name = ?, start_date = ?, end_date = ?, start_time = ?, end_time = ?, recurs_yearly = ?,
            days_of_week = ?::jsonb, updated_at = clock_timestamp()
      where id = ?`,
    [...EVENT_VALUES(e), eventId],
  );
}

export async function deleteEvent(em: EntityManager, eventId: number): Promise<void> {
  await em.execute(`delete from calendar_events where id = ?`, [eventId]);
}

export async function deleteAllEvents(em: EntityManager, calendarId: number): Promise<number> {
  const rows = await em.execute<{ id: number }[]>(`delete from calendar_events where calendar_id = ? returning id`, [calendarId]);
  return rows.length;
}

export async function countEvents(em: EntityManager, calendarId: number): Promise<number> {
  const rows = await em.execute<{ n: number }[]>(`select count(*)::int as n from calendar_events where calendar_id = ?`, [calendarId]);
  return rows[0]?.n ?? 0;
}
