import { z } from 'zod';
import { CALENDAR_EVENT_KINDS, daysBetween, isValidLocalDate, type CalendarEventKind } from '../services/calendar-spec';
import { bool, choices, int, isoInstant } from './tasks.schemas';

/**
 * Business calendars (task_scheduling): a calendar and its events. Dates and times are local (`YYYY-MM-DD`, `HH:MM`),
 * read in the timezone of each schedule that uses the calendar.
 */

export const MAX_EVENTS_PER_CALENDAR = 500;
/** A non-recurring range may span up to ten years; a yearly one less than a year. */
const MAX_RANGE_DAYS = 3660;

const START_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const END_TIME = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
const requiredString = (iss: { input: unknown }) => (iss.input === undefined ? 'This field is required' : 'Must be a string');

const localDate = z
  .string({ error: 'Must be a date YYYY-MM-DD' })
  .refine((s) => isValidLocalDate(s) && s >= '1970-01-01', { error: 'Must be a valid date YYYY-MM-DD (1970 or later)' });
const startTime = z.string({ error: 'Must be a time HH:MM' }).regex(START_TIME, 'Must be a time HH:MM (00:00 to 23:59)');
const endTime = z
  .string({ error: 'Must be a time HH:MM' })
  .regex(END_TIME, 'Must be a time HH:MM (00:00 to 24:00)');
const daysOfWeek = z
  .array(z.number({ error: 'Must be a day number 0 (Sunday) to 6 (Saturday)' }).int('Must be an integer').min(0, 'Must be 0 (Sunday) to 6 (Saturday)').max(6, 'Must be 0 (Sunday) to 6 (Saturday)'), {
    error: 'Must be a list of day numbers, 0 (Sunday) to 6 (Saturday)',
  })
  .min(1, 'Give at least one day')
  .refine((days) => new Set(days).size === days.length, { error: 'Days must not repeat' });

const eventShape = {
  kind: z.enum(CALENDAR_EVENT_KINDS as [CalendarEventKind, ...CalendarEventKind[]], {
    error: (iss) => (iss.input === undefined ? 'This field is required' : choices(CALENDAR_EVENT_KINDS)),
  }),
  name: z.string({ error: requiredString }).trim().min(1, 'Must not be empty').max(200, 'At most 200 characters'),
  start_date: localDate.nullable().optional(),
  end_date: localDate.nullable().optional(),
  start_time: startTime.nullable().optional(),
  end_time: endTime.nullable().optional(),
  recurs_yearly: z.boolean({ error: 'Must be true or false' }).optional(),
  days_of_week: daysOfWeek.nullable().optional(),
};

const eventObject = z.object(eventShape).strict();
type EventFields = z.infer<typeof eventObject>;

const KIND_LABEL: Record<CalendarEventKind, string> = {
  holiday: 'a holiday',
  closure: 'a closure',
  maintenance: 'a maintenance window',
  business_hours: 'business hours',
};

/**
 * The rules that depend on the kind, each reported on its own field. Zod runs this even when a field failed its own
 * format check, so values that are not well-formed are left to that field's error and ignored here.
 */
function checkEvent(raw: EventFields, ctx: z.RefinementCtx) {
  const e: EventFields = {
    ...raw,
    start_date: raw.start_date && !isValidLocalDate(raw.start_date) ? undefined : raw.start_date,
    end_date: raw.end_date && !isValidLocalDate(raw.end_date) ? undefined : raw.end_date,
    start_time: raw.start_time && !START_TIME.test(raw.start_time) ? undefined : raw.start_time,
    end_time: raw.end_time && !END_TIME.test(raw.end_time) ? undefined : raw.end_time,
  };
  const malformed = (field: keyof EventFields) => raw[field] !== undefined && raw[field] !== null && (e[field] === undefined || e[field] === null);
  const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
  const label = KIND_LABEL[e.kind];
  const required = (field: keyof EventFields) => {
    if ((e[field] === undefined || e[field] === null) && !malformed(field)) issue(field, `Required for ${label}`);
  };
  const forbidden = (field: keyof EventFields) => {
    if (e[field] !== undefined && e[field] !== null) issue(field, `Not allowed for ${label}`);
  };
  if (e.kind === 'business_hours') {
    required('days_of_week');
    required('start_time');
    required('end_time');
    forbidden('start_date');
    forbidden('end_date');
    if (e.recurs_yearly) issue('recurs_yearly', 'Business hours recur every week: recurs_yearly must be false');
    if (e.start_time && e.end_time && e.end_time <= e.start_time) issue('end_time', 'Must be after start_time');
    return;
  }
  required('start_date');
  forbidden('days_of_week');
  if (e.kind === 'maintenance') {
    required('start_time');
    required('end_time');
  } else {
    forbidden('start_time');
    forbidden('end_time');
  }
  if (!e.start_date) return;
  const endDate = e.end_date ?? e.start_date;
  const start = `${e.start_date}T${e.kind === 'maintenance' ? (e.start_time ?? '') : '00:00'}`;
  const end = `${endDate}T${e.kind === 'maintenance' ? (e.end_time ?? '') : '24:00'}`;
  if (endDate < e.start_date) {
    issue('end_date', 'Must be on or after start_date');
    return;
  }
  if (e.kind === 'maintenance' && e.start_time && e.end_time && end <= start) {
    issue(e.end_date && e.end_date !== e.start_date ? 'end_date' : 'end_time', 'The window must end after it starts (end_date + end_time after start_date + start_time)');
    return;
  }
  if (e.recurs_yearly) {
    const oneYearLater = `${String(Number(e.start_date.slice(0, 4)) + 1).padStart(4, '0')}${start.slice(4)}`;
    if (end > oneYearLater) issue('end_date', 'A yearly event must last less than a year');
  } else if (daysBetween(e.start_date, endDate) > MAX_RANGE_DAYS) {
    issue('end_date', `A range may span at most ${MAX_RANGE_DAYS} days`);
  }
}

/** One event, every field settled (absent optional fields become null, recurs_yearly false). */
export const eventBody = eventObject
  .superRefine(checkEvent)
  .transform((e) => ({
    kind: e.kind,
    name: e.name,
    start_date: e.start_date ?? null,
    end_date: e.end_date ?? null,
    start_time: e.start_time ?? null,
    end_time: e.end_time ?? null,
    recurs_yearly: e.recurs_yearly ?? false,
    days_of_week: e.days_of_week ? [...e.days_of_week].sort((a, b) => a - b) : null,
  }));
export type EventBody = z.infer<typeof eventBody>;

/** PATCH of an event: any subset of its fields, merged onto the stored event and then checked as a whole. */
export const eventPatch = z
  .object(eventShape)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: `Provide at least one of ${Object.keys(eventShape).join(', ')}` });
export type EventPatch = z.infer<typeof eventPatch>;

const calendarShape = {
  name: z.string({ error: requiredString }).trim().min(1, 'Must not be empty').max(200, 'At most 200 characters'),
  description: z.string({ error: 'Must be a string' }).max(5000, 'At most 5000 characters'),
  events: z.array(eventBody, { error: 'Must be a list of events' }).max(MAX_EVENTS_PER_CALENDAR, `At most ${MAX_EVENTS_PER_CALENDAR} events per calendar`),
};

/** POST and PUT: name required; `events`, when given, replaces every event of the calendar. */
export const calendarBody = z
  .object({ ...calendarShape, description: calendarShape.description.default(''), events: calendarShape.events.optional() })
  .strict();
export type CalendarBody = z.infer<typeof calendarBody>;

export const calendarPatch = z
  .object(calendarShape)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'Provide at least one of name, description, events' });
export type CalendarPatch = z.infer<typeof calendarPatch>;

export const CALENDAR_ORDERING = { id: 'c.id', name: 'c.name', created_at: 'c.created_at', updated_at: 'c.updated_at' } as const;

export const listCalendarsQuery = z
  .object({
    brand: int.optional(),
    has_events: bool.optional(),
    search: z.string().max(200).optional(),
    created_after: isoInstant.optional(),
    created_before: isoInstant.optional(),
    updated_after: isoInstant.optional(),
    ordering: z
      .string()
      .transform((s) => s.split(',').map((v) => v.trim()).filter(Boolean))
      .pipe(
        z
          .array(
            z.string().refine((f) => Object.hasOwn(CALENDAR_ORDERING, f.replace(/^-/, '')), {
              error: (iss) => `Cannot order by "${String(iss.input)}". Choices: ${Object.keys(CALENDAR_ORDERING).join(', ')}`,
            }),
          )
          .min(1)
          .max(4),
      )
      .optional(),
    page: int.pipe(z.number().min(1, 'Must be 1 or more').max(1_000_000, 'Must be at most 1000000')).default(1),
    page_size: int.pipe(z.number().min(1, 'Must be 1 or more').max(10_000, 'Must be at most 10000')).optional(),
  })
  .strict();
export type ListCalendarsQuery = z.infer<typeof listCalendarsQuery>;

export const MAX_WINDOW_DAYS = 366;

/** GET events/: the local days `from..until` (inclusive); `until` defaults to `from + days - 1` (days: 90). */
export const listEventsQuery = z
  .object({
    from: localDate.optional(),
    until: localDate.optional(),
    days: int.pipe(z.number().min(1, 'Must be 1 or more').max(MAX_WINDOW_DAYS, `At most ${MAX_WINDOW_DAYS}`)).optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.until !== undefined && q.days !== undefined) ctx.addIssue({ code: 'custom', path: ['days'], message: 'Give until or days, not both' });
    if (q.from && q.until && isValidLocalDate(q.from) && isValidLocalDate(q.until)) {
      const span = daysBetween(q.from, q.until);
      if (span < 0) ctx.addIssue({ code: 'custom', path: ['until'], message: 'Must be on or after from' });
      else if (span >= MAX_WINDOW_DAYS) ctx.addIssue({ code: 'custom', path: ['until'], message: `The period may cover at most ${MAX_WINDOW_DAYS} days` });
    }
  });
export type ListEventsQuery = z.infer<typeof listEventsQuery>;

export const deleteCalendarQuery = z.object({ force: bool.optional() }).strict();
