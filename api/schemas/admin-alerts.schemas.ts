import { z } from 'zod';
import { TASK_STATE_FIELDS } from '../../workflows/contracts/alerts';
import { alertHistoryQuery, alertRuleBody } from './alerts.schemas';

/**
 * Platform-wide alert rules (seed 002, `/admin/alerts`): the brand routes' definition, validation and error codes, with
 * the admin's defaults and one restriction.
 */

/** What can be measured over every brand at once: the fields computed from the tasks mirror (not per-brand task_metrics). */
export const GLOBAL_METRIC_FIELDS = TASK_STATE_FIELDS;

/**
 * The body of a platform-wide rule: `metric_field` defaults to failure_rate_percent and `condition` to gt (the
 * failure-rate alert is what the back office sets up); another field than failure_rate_percent or queue_depth is a
 * METRIC_FIELD_INVALID. Every other rule (ranges, channels, SMTP) is the brand routes' alertRuleBody.
 */
export function globalAlertRuleBody(opts: { smtpConfigured: boolean }) {
  return z.preprocess(
    (raw) => (raw && typeof raw === 'object' && !Array.isArray(raw) ? { metric_field: 'failure_rate_percent', condition: 'gt', ...raw } : raw),
    alertRuleBody(opts).superRefine((b, ctx) => {
      if (!(GLOBAL_METRIC_FIELDS as readonly string[]).includes(b.metric_field)) {
        ctx.addIssue({
          code: 'custom',
          path: ['metric_field'],
          message: `"${b.metric_field}" is measured per brand and cannot be platform-wide. Choices: ${GLOBAL_METRIC_FIELDS.join(', ')}`,
        });
      }
    }),
  );
}

/** `brand_id`: one brand's events (an id), or the platform-wide rules' (`global`). */
const brandOrGlobal = z
  .string()
  .regex(/^(global|\d{1,10})$/, 'Must be a brand id or "global"')
  .transform((v) => (v === 'global' ? null : Number(v)));

/** `/admin/alerts/history`: the brand routes' history filters, over every rule, plus which brand. */
export const adminAlertHistoryQuery = alertHistoryQuery.extend({ brand_id: brandOrGlobal.optional() });
export type AdminAlertHistoryQuery = z.infer<typeof adminAlertHistoryQuery>;
