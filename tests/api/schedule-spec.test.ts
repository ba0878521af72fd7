import { normalizeCron } from '../../api/services/cron.service';
import { dstCompensation, temporalCronString } from '../../api/services/schedule-spec';

describe('schedule spec translation (pure)', () => {
  it('turns a seconds-first 6-field expression into Temporal’s 7-field form and keeps 5 fields as they are', () => {
    expect(temporalCronString(normalizeCron('*/2 * * * * *'))).toBe('*/2 * * * * * *');
    expect(temporalCronString(normalizeCron('0 9 * * 1-5'))).toBe('0 9 * * 1-5');
    expect(temporalCronString(normalizeCron('@daily'))).toBe('0 0 * * *');
  });

  it('adds the run a spring-forward gap swallows, once per gap, and nothing for times that always exist', () => {
    const from = new Date('2026-12-01T00:00:00Z');
    const early = dstCompensation(normalizeCron('30 2 * * *'), 'Europe/Paris', from, 800);
    expect(early.map((c) => [c.year, c.month, c.dayOfMonth, c.hour, c.minute])).toEqual([
      [2027, 'MARCH', 28, 3, 30],
      [2028, 'MARCH', 26, 3, 30],
    ]);
    expect(dstCompensation(normalizeCron('0 9 * * *'), 'Europe/Paris', from, 800)).toEqual([]);
    // Every 5 minutes: the moved times are regular matches already, so nothing is added (no duplicate runs).
    expect(dstCompensation(normalizeCron('*/5 * * * *'), 'Europe/Paris', from, 800)).toEqual([]);
    // Only on the gap's weekday rule: a weekday-only 02:30 gains nothing when the change falls on a Sunday.
    expect(dstCompensation(normalizeCron('30 2 * * 1-5'), 'Europe/Paris', from, 800)).toEqual([]);
    // No DST, no entries.
    expect(dstCompensation(normalizeCron('30 2 * * *'), 'UTC', from, 800)).toEqual([]);
    // Southern hemisphere: Sydney springs forward in October.
    const sydney = dstCompensation(normalizeCron('30 2 * * *'), 'Australia/Sydney', from, 400);
    expect(sydney.map((c) => [c.year, c.month, c.dayOfMonth, c.hour])).toEqual([[2027, 'OCTOBER', 3, 3]]);
  });
});
