import { z } from 'zod';

/** task_scheduling (seed 000): the stateless scheduling tools. */
export const validateCronBody = z
  .object({
    cron_expression: z.string({ error: 'Must be a cron expression string' }).min(1, { error: 'This field may not be blank' }).max(200),
    /** IANA name; checked against the runtime's time zone data by the service (TIMEZONE_INVALID). */
    timezone: z.string({ error: 'Must be an IANA timezone name' }).max(64).default('UTC'),
    count: z.number({ error: 'Must be an integer between 1 and 50' }).int({ error: 'Must be an integer between 1 and 50' }).min(1, { error: 'Must be an integer between 1 and 50' }).max(50, { error: 'Must be an integer between 1 and 50' }).default(5),
    /** Next runs are computed strictly after this instant (default: now). */
    from: z.iso.datetime({ offset: true, error: 'Must be an ISO 8601 date-time with a timezone, e.g. 2024-12-20T00:00:00Z' }).optional(),
  })
  .strict();
export type ValidateCronBody = z.infer<typeof validateCronBody>;

/** GET timezone-info/: the IANA name is checked by the service (TIMEZONE_INVALID, also when missing). */
export const timezoneInfoQuery = z.object({ timezone: z.string().max(64).optional() }).strict();
