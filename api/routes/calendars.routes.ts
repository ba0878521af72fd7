import type Router from '@koa/router';
import type { AppState } from '../middleware/state';
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
import { actorOf, pageLink } from './route-context';

const BASE = '/tasks/scheduled/calendars';
const both = (path: string) => [path, `${path}/`];

/**
 * task_scheduling (seed 000): business calendars and their events, registered on the scheduling router. Every path
 * answers with and without its trailing slash. Deletes answer 204 with the number of re-synced Schedules in the
 * `Schedules-Updated` header.
 */
export function calendarRoutes(router: Router<AppState>, service: CalendarService): void {
  router.get(both(BASE), async (ctx) => {
    const r = await service.list(ctx.state.brand.id, parseOrThrow(listCalendarsQuery, ctx.query));
    ctx.body = {
      count: r.count,
      next: r.page * r.pageSize < r.count ? pageLink(ctx, r.page + 1) : null,
      previous: r.page > 1 ? pageLink(ctx, Math.min(r.page - 1, Math.max(1, Math.ceil(r.count / r.pageSize)))) : null,
      results: r.views.map(serializeCalendar),
    };
  });

  router.post(both(BASE), async (ctx) => {
    const { schedules_updated, schedules_sync_error, ...view } = await service.create(actorOf(ctx), parseOrThrow(calendarBody, ctx.request.body ?? {}));
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${view.row.id}/`);
    ctx.body = { ...serializeCalendar(view), schedules_updated, ...(schedules_sync_error ? { schedules_sync_error } : {}) };
  });

  router.get(both(`${BASE}/:id`), async (ctx) => {
    ctx.body = serializeCalendar(await service.get(ctx.state.brand.id, ctx.params.id!));
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
  }

  router.delete(both(`${BASE}/:id`), async (ctx) => {
    const { force } = parseOrThrow(deleteCalendarQuery, ctx.query);
    const r = await service.remove(actorOf(ctx), ctx.params.id!, force ?? false);
    ctx.set('Schedules-Updated', String(r.schedules_updated));
    ctx.status = 204;
  });

  // ---- events ----

  router.get(both(`${BASE}/:id/events`), async (ctx) => {
    ctx.body = await service.upcoming(ctx.state.brand.id, ctx.params.id!, parseOrThrow(listEventsQuery, ctx.query));
  });

  router.post(both(`${BASE}/:id/events`), async (ctx) => {
    const body = parseOrThrow(eventBody, ctx.request.body ?? {});
    const { event, ...sync } = await service.createEvent(actorOf(ctx), ctx.params.id!, body);
    ctx.status = 201;
    ctx.set('Location', `${BASE}/${event.calendar_id}/events/${event.id}/`);
    ctx.body = { ...serializeEvent(event), ...sync };
  });

  router.get(both(`${BASE}/:id/events/:eventId`), async (ctx) => {
    ctx.body = serializeEvent(await service.getEvent(ctx.state.brand.id, ctx.params.id!, ctx.params.eventId!));
  });

  router.put(both(`${BASE}/:id/events/:eventId`), async (ctx) => {
    const body = parseOrThrow(eventBody, ctx.request.body ?? {});
    const { event, ...sync } = await service.updateEvent(actorOf(ctx), ctx.params.id!, ctx.params.eventId!, { body });
    ctx.body = { ...serializeEvent(event), ...sync };
  });

  router.patch(both(`${BASE}/:id/events/:eventId`), async (ctx) => {
    const patch = parseOrThrow(eventPatch, ctx.request.body ?? {});
    const { event, ...sync } = await service.updateEvent(actorOf(ctx), ctx.params.id!, ctx.params.eventId!, { patch });
    ctx.body = { ...serializeEvent(event), ...sync };
  });

  router.delete(both(`${BASE}/:id/events/:eventId`), async (ctx) => {
    const r = await service.deleteEvent(actorOf(ctx), ctx.params.id!, ctx.params.eventId!);
    ctx.set('Schedules-Updated', String(r.schedules_updated));
    ctx.status = 204;
  });
}
