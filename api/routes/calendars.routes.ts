import type Router from '@koa/router';
import type { AppState } from '../middleware/state';
import type { ApiDocs, RouteDoc } from '../openapi/api-docs';
import {
  calendarBody,
  calendarPatch,
  deleteCalendarQuery,
  eventBody,
  eventPatch,
  listCalendarsQuery,
  listEventsQuery,
} from '../schemas/calendars.schemas';
import { parseOrThrow } from '../schemas/zod-errors';
import { serializeCalendar, serializeEvent, type CalendarService } from '../services/calendar.service';
import { both, actorOf, pageLink } from './route-context';

const BASE = '/tasks/scheduled/calendars';

/**
 * task_scheduling (seed 000): business calendars and their events, registered on the scheduling router. Every path
 * answers with and without its trailing slash. Deletes answer 204 with the number of re-synced Schedules in the
 * `Schedules-Updated` header.
 */
export function calendarRoutes(router: Router<AppState>, service: CalendarService, docs: ApiDocs): void {
  const doc = (route: Omit<RouteDoc, 'tags'>) =>
    docs.add({ ...route, tags: ['calendars'], description: [route.description, 'Scoped to the X-Brand-ID brand.'].filter(Boolean).join(' ') });
  const SYNC = 'Schedules using the calendar are re-synced: `schedules_updated` counts them (`schedules_sync_error` when Temporal refused one).';
  router.get(both(BASE), async (ctx) => {
    const r = await service.list(ctx.state.brand.id, parseOrThrow(listCalendarsQuery, ctx.query));
    ctx.body = {
      count: r.count,
      next: r.page * r.pageSize < r.count ? pageLink(ctx, r.page + 1) : null,
      previous: r.page > 1 ? pageLink(ctx, Math.min(r.page - 1, Math.max(1, Math.ceil(r.count / r.pageSize)))) : null,
      results: r.views.map(serializeCalendar),
    };
  });
  doc({
    method: 'get',
    path: BASE,
    summary: 'The brand\'s business calendars (holidays, business hours, maintenance windows): filters, DRF pages',
    query: listCalendarsQuery,
    responses: { 200: 'A page of calendars' },
  });

  router.post(both(BASE), async (ctx) => {
    const { schedules_updated, schedules_sync_error, ...view } = await service.create(actorOf(ctx), parseOrThrow(calendarBody, ctx.request.body ?? {}));
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${view.row.id}/`);
    ctx.body = { ...serializeCalendar(view), schedules_updated, ...(schedules_sync_error ? { schedules_sync_error } : {}) };
  });
  doc({
    method: 'post',
    path: BASE,
    summary: 'Create a calendar (its events become the skip specs of the Schedules that use it); audited',
    body: calendarBody,
    responses: { 201: 'The calendar' },
  });

  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeCalendar(await service.get(ctx.state.brand.id, ctx.params.id!));
  });
  doc({
    method: 'get',
    path: `${BASE}/:id`,
    summary: 'One calendar with its rules',
    responses: { 200: 'The calendar', 404: 'CALENDAR_NOT_FOUND' },
  });

  for (const [method, schema] of [
    ['put', calendarBody],
    ['patch', calendarPatch],
  ] as const) {
    router[method](both(`${BASE}/:id`), async (ctx) => {
      const body = parseOrThrow(schema, ctx.request.body ?? {});
      const { schedules_updated, schedules_sync_error, ...view } = await service.update(actorOf(ctx), ctx.params.id!, body);
      ctx.body = { ...serializeCalendar(view), schedules_updated, ...(schedules_sync_error ? { schedules_sync_error } : {}) };
    });
    doc({
      method,
      path: `${BASE}/:id`,
      summary: method === 'put' ? 'Replace a calendar; audited' : 'Change part of a calendar; audited',
      description: SYNC,
      body: schema,
      responses: { 200: 'The calendar', 404: 'CALENDAR_NOT_FOUND' },
    });
  }

  router.delete(both(`${BASE}/:id`), async (ctx) => {
    const { force } = parseOrThrow(deleteCalendarQuery, ctx.query);
    const r = await service.remove(actorOf(ctx), ctx.params.id!, force ?? false);
    ctx.set('Schedules-Updated', String(r.schedules_updated));
    ctx.status = 204;
  });
  doc({
    method: 'delete',
    path: `${BASE}/:id`,
    summary: 'Delete a calendar; one still used by schedules needs force=true (they stop skipping its dates); audited',
    description: 'The Schedules-Updated response header counts the re-synced Schedules.',
    query: deleteCalendarQuery,
    responses: { 204: 'Deleted', 404: 'CALENDAR_NOT_FOUND', 409: 'Still used by schedules (send force=true)' },
  });

  // ---- events ----

  router.get(both(`${BASE}/:id/events`), async (ctx) => {
    ctx.body = await service.upcoming(ctx.state.brand.id, ctx.params.id!, parseOrThrow(listEventsQuery, ctx.query));
  });
  doc({
    method: 'get',
    path: `${BASE}/:id/events`,
    summary: 'A calendar\'s events, and the occurrences of its recurring rules in a window',
    query: listEventsQuery,
    responses: { 200: 'The events and occurrences', 404: 'CALENDAR_NOT_FOUND' },
  });

  router.post(both(`${BASE}/:id/events`), async (ctx) => {
    const body = parseOrThrow(eventBody, ctx.request.body ?? {});
    const { event, ...sync } = await service.createEvent(actorOf(ctx), ctx.params.id!, body);
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${event.calendar_id}/events/${event.id}/`);
    ctx.body = { ...serializeEvent(event), ...sync };
  });
  doc({
    method: 'post',
    path: `${BASE}/:id/events`,
    summary: 'Add an event (holiday, closure, maintenance window) to a calendar; audited',
    description: SYNC,
    body: eventBody,
    responses: { 201: 'The event', 404: 'CALENDAR_NOT_FOUND' },
  });

  router.get(both(`${BASE}/:id/events/:eventId`), async (ctx) => {
    ctx.body = serializeEvent(await service.getEvent(ctx.state.brand.id, ctx.params.id!, ctx.params.eventId!));
  });
  doc({
    method: 'get',
    path: `${BASE}/:id/events/:eventId`,
    summary: 'One event of a calendar',
    responses: { 200: 'The event', 404: 'CALENDAR_NOT_FOUND or no such event' },
  });

  router.put(both(`${BASE}/:id/events/:eventId`), async (ctx) => {
    const body = parseOrThrow(eventBody, ctx.request.body ?? {});
    const { event, ...sync } = await service.updateEvent(actorOf(ctx), ctx.params.id!, ctx.params.eventId!, { body });
    ctx.body = { ...serializeEvent(event), ...sync };
  });
  doc({
    method: 'put',
    path: `${BASE}/:id/events/:eventId`,
    summary: 'Replace an event; audited',
    description: SYNC,
    body: eventBody,
    responses: { 200: 'The event', 404: 'CALENDAR_NOT_FOUND or no such event' },
  });

  router.patch(both(`${BASE}/:id/events/:eventId`), async (ctx) => {
    const patch = parseOrThrow(eventPatch, ctx.request.body ?? {});
    const { event, ...sync } = await service.updateEvent(actorOf(ctx), ctx.params.id!, ctx.params.eventId!, { patch });
    ctx.body = { ...serializeEvent(event), ...sync };
  });
  doc({
    method: 'patch',
    path: `${BASE}/:id/events/:eventId`,
    summary: 'Change part of an event; audited',
    description: SYNC,
    body: eventPatch,
    responses: { 200: 'The event', 404: 'CALENDAR_NOT_FOUND or no such event' },
  });

  router.delete(both(`${BASE}/:id/events/:eventId`), async (ctx) => {
    const r = await service.deleteEvent(actorOf(ctx), ctx.params.id!, ctx.params.eventId!);
    ctx.set('Schedules-Updated', String(r.schedules_updated));
    ctx.status = 204;
  });
  doc({
    method: 'delete',
    path: `${BASE}/:id/events/:eventId`,
    summary: 'Delete an event; audited',
    description: 'The Schedules-Updated response header counts the re-synced Schedules.',
    responses: { 204: 'Deleted', 404: 'CALENDAR_NOT_FOUND or no such event' },
  });
}
