import { z } from 'zod';
import { defineTaskWorkflow } from '../task-lifecycle';

/**
 * `report_generation`: a self-contained HTML report of the brand's tasks created in a period (counts by status,
 * type and priority, success rate, duration percentiles, failures, recent results), written to the export
 * folder. Everything is computed in SQL on the mirror table `tasks`; the file is written to `.part` and renamed.
 */
export const REPORT_SECTIONS = ['summary', 'by_type', 'by_status', 'by_priority', 'durations', 'failures', 'recent_results'] as const;
export type ReportSection = (typeof REPORT_SECTIONS)[number];
export const REPORT_PRESETS = ['last_24_hours', 'last_7_days', 'last_30_days'] as const;
export type ReportPreset = (typeof REPORT_PRESETS)[number];
export const REPORT_MAX_PERIOD_DAYS = 366;
const DAY_MS = 86_400_000;

const isoInstant = z.iso.datetime({ offset: true });

export const reportPeriodSchema = z
  .object({
    preset: z.enum(REPORT_PRESETS).optional(),
    from: isoInstant.optional(),
    to: isoInstant.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.preset) {
      for (const key of ['from', 'to'] as const) {
        if (p[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'Give either a preset or from/to, not both' });
      }
      return;
    }
    if (p.from === undefined) ctx.addIssue({ code: 'custom', path: ['from'], message: 'Required (or give a preset)' });
    if (p.to === undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: 'Required (or give a preset)' });
    if (p.from === undefined || p.to === undefined) return;
    const from = Date.parse(p.from);
    const to = Date.parse(p.to);
    if (!(from < to)) ctx.addIssue({ code: 'custom', path: ['to'], message: 'Must be after from' });
    else if (to - from > REPORT_MAX_PERIOD_DAYS * DAY_MS) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: `The period may span at most ${REPORT_MAX_PERIOD_DAYS} days` });
    }
  });

export const reportGenerationContextSchema = z
  .object({
    period: reportPeriodSchema,
    title: z.string().trim().min(1).max(200).optional(),
    /** Rendered in the canonical order of REPORT_SECTIONS whatever the order given. */
    sections: z
      .array(z.enum(REPORT_SECTIONS))
      .min(1)
      .max(REPORT_SECTIONS.length)
      .default([...REPORT_SECTIONS]),
    /** Rows of the `failures` and `recent_results` tables. */
    max_rows: z.number().int().min(1).max(500).default(50),
  })
  .strict();
export type ReportGenerationContext = z.infer<typeof reportGenerationContextSchema>;

export interface ReportTotals {
  tasks: number;
  completed: number;
  failed: number;
  cancelled: number;
  pending: number;
  running: number;
  /** completed / (completed + failed + cancelled) in percent, one decimal; null when no task of the period has finished. */
  success_rate: number | null;
}

/** `result_data` of a completed `report_generation` task. */
export interface ReportGenerationResult {
  file_path: string;
  bytes: number;
  period: { from: string; to: string };
  totals: ReportTotals;
  sections: ReportSection[];
}

export const report_generation = defineTaskWorkflow<ReportGenerationContext>({
  type: 'report_generation',
  contextSchema: reportGenerationContextSchema,
  async run({ input, context, activities }) {
    const { generateTaskReport } = activities({ startToCloseTimeout: '30 minutes', retry: { maximumAttempts: 5 } });
    const result = await generateTaskReport({ brandId: input.brandId, taskId: input.taskId, context });
    return { ...result };
  },
});
