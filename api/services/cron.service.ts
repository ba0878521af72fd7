import { CronExpressionParser } from 'cron-parser';
import cronstrue from 'cronstrue/i18n';
import { AppError, ErrorCode } from '../errors';

/**
 * task_scheduling (seed 000): pure cron and timezone logic behind the stateless scheduling tools. No database, no
 * Temporal: everything here is computed from cron-parser, cronstrue and the runtime's Intl (ICU) time zone data.
 */

/** The macros Temporal's cron string accepts, as the 5-field expression they stand for. */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const FIELD_NAMES_5 = ['minute', 'hour', 'day_of_month', 'month', 'day_of_week'] as const;
const FIELD_NAMES_6 = ['second', ...FIELD_NAMES_5] as const;

export interface CronDescription {
  en: string;
  fr: string;
}

export interface NormalizedCron {
  /** The 5- or 6-field expression (macros expanded, whitespace collapsed). */
  normalized: string;
  fields: 5 | 6;
}

export interface CronValidation extends NormalizedCron {
  valid: true;
  cron_expression: string;
  timezone: string;
  description: CronDescription;
  next_runs: string[];
}

function invalidCron(reason: string, position?: number, fieldName?: string): AppError {
  const extra: Record<string, unknown> = { field_errors: { cron_expression: [reason] }, reason };
  if (position !== undefined) {
    extra.position = position;
    extra.field = fieldName;
  }
  return new AppError(ErrorCode.INVALID_CRON_EXPRESSION, 400, `Invalid cron expression: ${reason}`, extra);
}

function notSupported(reason: string): AppError {
  return new AppError(ErrorCode.FREQUENCY_NOT_SUPPORTED, 400, `Cron expression not supported by the scheduler: ${reason}`, {
    field_errors: { cron_expression: [reason] },
    reason,
  });
}

export function timezoneInvalid(reason: string, field = 'timezone'): AppError {
  return new AppError(ErrorCode.TIMEZONE_INVALID, 400, reason, { field_errors: { [field]: [reason] } });
}

const IANA_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

/**
 * Returns the runtime's spelling of an IANA time zone name, or throws TIMEZONE_INVALID. Offsets such as "+01:00"
 * are refused on purpose: a schedule needs a zone with rules, not a fixed offset.
 */
const resolvedZones = new Map<string, string>();
let spellings: Map<string, string> | undefined;
function zoneSpellings(): Map<string, string> {
  spellings ??= new Map(Intl.supportedValuesOf('timeZone').map((z) => [z.toLowerCase(), z]));
  return spellings;
}

export function resolveTimezone(timezone: unknown, field = 'timezone'): string {
  if (typeof timezone !== 'string' || timezone.trim() === '') throw timezoneInvalid('A timezone is required, e.g. Europe/Paris', field);
  const name = timezone.trim();
  const known = resolvedZones.get(name);
  if (known) return known;
  const resolved = resolveZoneName(name, field);
  if (resolvedZones.size < 1000) resolvedZones.set(name, resolved);
  return resolved;
}

function resolveZoneName(name: string, field: string): string {
  if (!IANA_NAME.test(name)) throw timezoneInvalid(`Unknown timezone "${name}": use an IANA name such as Europe/Paris`, field);
  try {
    const resolved = new Intl.DateTimeFormat(undefined, { timeZone: name }).resolvedOptions().timeZone;
    // Keep the caller's zone (ICU may answer a legacy alias, e.g. Asia/Calcutta for Asia/Kolkata) but in its proper
    // case: Temporal's zone lookup is case-sensitive ("asia/kolkata" → "Asia/Kolkata").
    if (resolved.toLowerCase() === name.toLowerCase()) return resolved;
    return zoneSpellings().get(name.toLowerCase()) ?? (name === name.toLowerCase() || name === name.toUpperCase() ? resolved : name);
  } catch {
    throw timezoneInvalid(`Unknown timezone "${name}": use an IANA name such as Europe/Paris`, field);
  }
}

/** Macro expansion and the shape rules (field count, unsupported features); throws the API's errors. */
export function normalizeCron(expression: string): NormalizedCron {
  const text = expression.trim().replace(/\s+/g, ' ');
  if (text === '') throw invalidCron('The expression is empty');
  if (text.startsWith('@')) {
    const macro = text.toLowerCase();
    if (macro === '@reboot') throw notSupported('@reboot has no schedule: Temporal only runs time-based schedules');
    if (macro.startsWith('@every')) throw notSupported('@every intervals are not supported here: use a cron expression');
    const expanded = CRON_MACROS[macro];
    if (!expanded) throw invalidCron(`Unknown macro ${text}; supported: ${Object.keys(CRON_MACROS).join(', ')}`);
    return { normalized: expanded, fields: 5 };
  }
  const parts = text.split(' ');
  if (parts.length === 7) throw notSupported('7-field expressions (with a year) are not supported: use 5 fields, or 6 with seconds first');
  if (parts.length !== 5 && parts.length !== 6) {
    throw invalidCron(`Expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with seconds first), got ${parts.length}`);
  }
  const names = parts.length === 6 ? FIELD_NAMES_6 : FIELD_NAMES_5;
  const NAMES = /jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat/gi;
  const hashed = parts.findIndex((p) => /h/i.test(p.replace(NAMES, '')));
  if (hashed >= 0) throw invalidCron(`"${parts[hashed]}": the H (hash) syntax is not standard cron`, hashed, names[hashed]);
  // Quartz's "no specific value" is what "*" means to Temporal.
  const dom = parts.length - 3;
  const dow = parts.length - 1;
  for (const i of [dom, dow]) if (parts[i] === '?') parts[i] = '*';
  // Measured on the dev server: Temporal refuses L and W ("DayOfMonth is not in range") and silently ignores "#n"
  // (1#2 fires every Monday), so the extensions cron-parser knows would not run as described.
  const extension = parts.findIndex((p) => /[lw#?]/i.test(p.replace(NAMES, '')));
  if (extension >= 0) {
    throw notSupported(
      `${names[extension]} field "${parts[extension]}": Temporal schedules do not support L, W, # or ? (last day, nearest weekday, nth weekday); ` +
        'use plain values, ranges, lists and steps',
    );
  }
  return { normalized: parts.join(' '), fields: parts.length === 6 ? 6 : 5 };
}

/**
 * Temporal matches a day only when it satisfies both the day-of-month and the day-of-week fields; classic cron (and
 * cron-parser) fires on either when both are restricted. "0 9 1-7 * 1" is the first Monday of the month on Temporal,
 * every day 1–7 plus every Monday in cron(8). We follow Temporal, since it is what runs.
 */
function bothDaysRestricted(normalized: string): boolean {
  const parts = normalized.split(' ');
  return parts[parts.length - 3] !== '*' && parts[parts.length - 1] !== '*';
}

/**
 * An iterator over an expression's fire times strictly after `from`, in `timezone`, with Temporal's semantics for
 * day-of-month and day-of-week together; null when there is no further time (within cron-parser's horizon).
 */
export function cronIterator(normalized: string, timezone: string, from: Date): () => Date | null {
  let expr = parse(normalized, timezone, from);
  const both = bothDaysRestricted(normalized);
  const days = both ? new Set(expr.fields.dayOfMonth.values.map(Number)) : null;
  const weekdays = both ? new Set(expr.fields.dayOfWeek.values.map((d) => Number(d) % 7)) : null;
  return () => {
    // A day that fails the other day field is skipped whole (not minute by minute): "* * 13 * 5" finds Friday the 13th.
    for (let guard = 0; guard < 20_000; guard++) {
      let at;
      try {
        at = expr.next();
      } catch {
        return null; // no further occurrence (cron-parser gives up past its search horizon)
      }
      if (!both || (days!.has(at.getDate()) && weekdays!.has(at.getDay()))) return at.toDate();
      at.addDay();
      expr = parse(normalized, timezone, new Date(at.getTime() - 1));
    }
    return null;
  };
}

/**
 * Finds which field makes cron-parser fail, by parsing each field alone in an otherwise "every" expression.
 * Returns undefined when every field is fine alone (e.g. "0 0 31 2 *": day 31 of February).
 */
function offendingField(parts: string[]): { position: number; reason: string } | undefined {
  for (let i = 0; i < parts.length; i++) {
    const probe = parts.map((_, j) => (j === i ? parts[i]! : parts.length === 6 && j === 0 ? '0' : '*'));
    try {
      CronExpressionParser.parse(probe.join(' '), { tz: 'UTC' });
    } catch (err) {
      return { position: i, reason: (err as Error).message };
    }
  }
  return undefined;
}

function parse(normalized: string, timezone: string, from: Date) {
  try {
    return CronExpressionParser.parse(normalized, { tz: timezone, currentDate: from });
  } catch (err) {
    const parts = normalized.split(' ');
    const culprit = offendingField(parts);
    if (culprit) {
      const names = parts.length === 6 ? FIELD_NAMES_6 : FIELD_NAMES_5;
      throw invalidCron(`${names[culprit.position]} field "${parts[culprit.position]}": ${culprit.reason}`, culprit.position, names[culprit.position]);
    }
    throw invalidCron((err as Error).message);
  }
}

/** English and French descriptions from cronstrue (never hand-written). */
export function describeCron(normalized: string): CronDescription {
  const say = (locale: string) => {
    try {
      return cronstrue.toString(normalized, { locale, throwExceptionOnParseError: true });
    } catch {
      return normalized;
    }
  };
  if (!bothDaysRestricted(normalized)) return { en: say('en'), fr: say('fr') };
  return {
    en: `${say('en')} (only on days matching both the day of the month and the day of the week)`,
    fr: `${say('fr')} (uniquement les jours qui correspondent à la fois au jour du mois et au jour de la semaine)`,
  };
}

/** Runs strictly after `from`, as ISO strings with the zone's offset; a run is never listed twice (DST fall-back). */
export function nextRuns(normalized: string, timezone: string, count: number, from: Date): string[] {
  const next = cronIterator(normalized, timezone, from);
  const out: string[] = [];
  let last = from.getTime();
  for (let guard = 0; out.length < count && guard < count * 4; guard++) {
    const at = next()?.getTime();
    if (at === undefined) break;
    if (at <= last) continue;
    last = at;
    out.push(formatInZone(new Date(at), timezone));
  }
  return out;
}

/**
 * The checks of validate-cron without its descriptions: INVALID_CRON_EXPRESSION (with the field at fault) or
 * FREQUENCY_NOT_SUPPORTED, and "never fires". Returns the normalized expression. Used on every schedule write.
 */
export function checkCron(expression: string): NormalizedCron {
  const cron = normalizeCron(expression);
  if (!cronIterator(cron.normalized, 'UTC', new Date(0))()) throw invalidCron('The expression never fires');
  return cron;
}

export function validateCron(input: { cron_expression: string; timezone: string; count: number; from?: string }): CronValidation {
  const { normalized, fields } = normalizeCron(input.cron_expression);
  // Syntax first (in UTC), so a bad expression is reported as such even with a bad timezone too.
  parse(normalized, 'UTC', new Date(0));
  const timezone = resolveTimezone(input.timezone);
  const from = input.from ? new Date(input.from) : new Date();
  const next_runs = nextRuns(normalized, timezone, input.count, from);
  if (next_runs.length === 0) throw invalidCron('The expression never fires');
  return { valid: true, cron_expression: input.cron_expression, normalized, fields, timezone, description: describeCron(normalized), next_runs };
}

// ---------------------------------------------------------------------------------------------------------------
// Time zones (Intl only)

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
    formatters.set(timezone, f);
  }
  return f;
}

function zoneParts(date: Date, timezone: string) {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timezone).formatToParts(date)) parts[p.type] = p.value;
  // longOffset is "GMT", "GMT+01:00", "GMT-03:30" (or with seconds for some historical offsets).
  const m = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(parts.timeZoneName ?? '');
  if (!m) throw new Error(`Unexpected offset format "${parts.timeZoneName}" for ${timezone}`);
  const offsetMinutes = m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]) + Math.round(Number(m[4] ?? 0) / 60)) : 0;
  return { parts, offsetMinutes };
}

/** "+01:00", "-03:30", "+00:00". */
export function formatOffset(minutes: number): string {
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function offsetMinutesAt(date: Date, timezone: string): number {
  return zoneParts(date, timezone).offsetMinutes;
}

/** "2024-12-23T09:00:00+01:00": the instant as wall-clock time in the zone, with the zone's offset then. */
export function formatInZone(date: Date, timezone: string): string {
  const { parts: p, offsetMinutes } = zoneParts(date, timezone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${formatOffset(offsetMinutes)}`;
}

/** The short name ICU knows for the zone at that instant ("CET", "EST"), else its "GMT+9" form. */
export function abbreviationAt(date: Date, timezone: string): string {
  let fallback = '';
  for (const locale of ['en-US', 'en-GB']) {
    const name = new Intl.DateTimeFormat(locale, { timeZone: timezone, timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? '';
    if (name && !/^GMT[+-]/.test(name)) return name;
    fallback ||= name;
  }
  return fallback;
}

export interface DstTransition {
  at: string;
  offset_before: string;
  offset_after: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Offset changes in [from, from + days): scanned in steps of 6 hours (no zone changes its offset twice within 6 hours),
 * then each narrowed by binary search to the first minute of the new offset. `at` is that minute in UTC.
 */
export function dstTransitions(timezone: string, from: Date, days = 366): DstTransition[] {
  const out: DstTransition[] = [];
  const start = Math.floor(from.getTime() / MINUTE) * MINUTE;
  const end = start + days * 24 * HOUR;
  let prev = offsetMinutesAt(new Date(start), timezone);
  for (let t = start; t < end; ) {
    const next = Math.min(t + 6 * HOUR, end);
    const off = offsetMinutesAt(new Date(next), timezone);
    if (off !== prev) {
      let lo = t; // still the old offset
      let hi = next; // already the new one
      while (hi - lo > MINUTE) {
        const mid = lo + Math.floor((hi - lo) / MINUTE / 2) * MINUTE;
        if (offsetMinutesAt(new Date(mid), timezone) === prev) lo = mid;
        else hi = mid;
      }
      out.push({ at: new Date(hi).toISOString(), offset_before: formatOffset(prev), offset_after: formatOffset(off) });
      prev = off;
    }
    t = next;
  }
  return out;
}

export function timezoneInfo(timezoneInput: unknown, now = new Date()) {
  const timezone = resolveTimezone(timezoneInput);
  const offset = offsetMinutesAt(now, timezone);
  return {
    timezone,
    current_time: formatInZone(now, timezone),
    utc_offset: formatOffset(offset),
    utc_offset_minutes: offset,
    abbreviation: abbreviationAt(now, timezone),
    dst_transitions_next_year: dstTransitions(timezone, now),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Templates

const TEMPLATES: ReadonlyArray<{ key: string; cron_expression: string; category: string }> = [
  { key: 'every_minute', cron_expression: '* * * * *', category: 'minutes' },
  { key: 'every_5_minutes', cron_expression: '*/5 * * * *', category: 'minutes' },
  { key: 'every_15_minutes', cron_expression: '*/15 * * * *', category: 'minutes' },
  { key: 'every_30_minutes', cron_expression: '*/30 * * * *', category: 'minutes' },
  { key: 'hourly', cron_expression: '0 * * * *', category: 'hourly' },
  { key: 'every_6_hours', cron_expression: '0 */6 * * *', category: 'hourly' },
  { key: 'daily_midnight', cron_expression: '0 0 * * *', category: 'daily' },
  { key: 'daily_9am', cron_expression: '0 9 * * *', category: 'daily' },
  { key: 'twice_daily', cron_expression: '0 9,18 * * *', category: 'daily' },
  { key: 'weekdays_9am', cron_expression: '0 9 * * 1-5', category: 'weekly' },
  { key: 'weekly_monday_8am', cron_expression: '0 8 * * 1', category: 'weekly' },
  { key: 'weekends_10am', cron_expression: '0 10 * * 0,6', category: 'weekly' },
  { key: 'monthly_first_midnight', cron_expression: '0 0 1 * *', category: 'monthly' },
  { key: 'monthly_15th_9am', cron_expression: '0 9 15 * *', category: 'monthly' },
  { key: 'quarterly', cron_expression: '0 0 1 1,4,7,10 *', category: 'quarterly' },
  { key: 'yearly', cron_expression: '0 0 1 1 *', category: 'yearly' },
];

let templateCache: Array<{ key: string; cron_expression: string; description: CronDescription; category: string }> | undefined;

export function cronTemplates() {
  templateCache ??= TEMPLATES.map((t) => ({ key: t.key, cron_expression: t.cron_expression, description: describeCron(t.cron_expression), category: t.category }));
  return { count: templateCache.length, results: templateCache };
}
