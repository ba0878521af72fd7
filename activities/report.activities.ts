import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CancelledFailure, Context } from '@temporalio/activity';
import {
  brandName,
  reportByPriority,
  reportByStatus,
  reportByType,
  reportDurations,
  reportFailures,
  reportRecentResults,
  reportTotals,
  type DurationStats,
  type FailureRow,
  type PriorityCounts,
  type RecentResultRow,
  type StatusCounts,
  type TypeCounts,
} from '../db/repositories/task-report.repository';
import {
  REPORT_SECTIONS,
  type ReportGenerationContext,
  type ReportGenerationResult,
  type ReportPreset,
  type ReportSection,
} from '../workflows/tasks/report-generation';
import type { ActivityDeps } from './deps';
import { createProgressReporter, startHeartbeat } from './progress';

const PRESET_MS: Record<ReportPreset, number> = {
  last_24_hours: 86_400_000,
  last_7_days: 7 * 86_400_000,
  last_30_days: 30 * 86_400_000,
};

/** Heartbeat details: a retried attempt reports on the same period as the first one. */
interface ReportCheckpoint {
  period: { from: string; to: string };
}

export interface ReportData {
  title: string;
  brandName: string;
  taskId: string;
  generatedAt: string;
  period: { from: string; to: string; preset: ReportPreset | null };
  sections: ReportSection[];
  maxRows: number;
  totals: StatusCounts;
  byStatus?: { status: string; total: number }[];
  byType?: TypeCounts[];
  byPriority?: PriorityCounts[];
  durations?: DurationStats[];
  failures?: FailureRow[];
  recentResults?: RecentResultRow[];
}

export function createReportActivities(deps: ActivityDeps) {
  return {
    /** Runs the report's queries (one per section), renders one self-contained HTML file and renames it into place. */
    async generateTaskReport(input: { brandId: number; taskId: string; context: ReportGenerationContext }): Promise<ReportGenerationResult> {
      const ctx = Context.current();
      const { context } = input;
      const report = createProgressReporter(deps);
      const saved = ctx.info.heartbeatDetails as ReportCheckpoint | undefined;
      const period = saved?.period ?? resolvePeriod(context.period, new Date());
      const checkpoint: ReportCheckpoint = { period };
      const step = async (percent: number) => {
        await report(percent, checkpoint);
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('Report generation cancelled');
      };
      await step(1);
      // One query can outlast the heartbeat timeout on a big brand: keep heartbeating (and receiving a cancel) meanwhile.
      const stopBeat = startHeartbeat(2000, () => checkpoint);
      try {
        return await render();
      } finally {
        stopBeat();
      }

      async function render(): Promise<ReportGenerationResult> {
        const em = deps.orm.em.fork();
        const scope = { brandId: input.brandId, from: period.from, to: period.to };
        const sections = REPORT_SECTIONS.filter((s) => context.sections.includes(s));
        const has = (s: ReportSection) => sections.includes(s);
        const name = (await brandName(em, input.brandId)) ?? `brand ${input.brandId}`;
        const data: ReportData = {
          title: context.title ?? `Task report: ${name}`,
          brandName: name,
          taskId: input.taskId,
          generatedAt: new Date().toISOString(),
          period: { ...period, preset: context.period.preset ?? null },
          sections,
          maxRows: context.max_rows,
          totals: await reportTotals(em, scope),
        };
        await step(15);
        if (has('by_status')) data.byStatus = await reportByStatus(em, scope);
        await step(25);
        if (has('by_type')) data.byType = await reportByType(em, scope);
        await step(40);
        if (has('by_priority')) data.byPriority = await reportByPriority(em, scope);
        await step(50);
        if (has('durations')) data.durations = await reportDurations(em, scope);
        await step(65);
        if (has('failures')) data.failures = await reportFailures(em, scope, context.max_rows);
        await step(75);
        if (has('recent_results')) data.recentResults = await reportRecentResults(em, scope, context.max_rows);
        await step(85);

        const html = renderReport(data);
        const dir = join(deps.config.EXPORT_DIR, `brand-${input.brandId}`);
        const finalPath = join(dir, `${input.taskId}.html`);
        const partPath = `${finalPath}.part`;
        await mkdir(dir, { recursive: true });
        await writeFile(partPath, html, { encoding: 'utf8', flush: true });
        await rename(partPath, finalPath); // atomic: readers see no file or the whole report
        await report(99, checkpoint, true);

        const t = data.totals;
        return {
          file_path: finalPath,
          bytes: Buffer.byteLength(html),
          period,
          totals: {
            tasks: t.total,
            completed: t.completed,
            failed: t.failed,
            cancelled: t.cancelled,
            pending: t.pending,
            running: t.running,
            success_rate: t.success_rate,
          },
          sections,
        };
      }
    },
  };
}

export function resolvePeriod(period: ReportGenerationContext['period'], now: Date): { from: string; to: string } {
  if (period.preset) return { from: new Date(now.getTime() - PRESET_MS[period.preset]).toISOString(), to: now.toISOString() };
  return { from: new Date(period.from!).toISOString(), to: new Date(period.to!).toISOString() };
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering: one HTML document, inline CSS, no script and no external asset; every value goes through esc().

export function esc(value: unknown): string {
  const s = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value);
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const iso = (v: Date | string | null | undefined) => (v === null || v === undefined ? '' : new Date(v).toISOString());
/** Seconds (or any number) with at most two decimals; an em dash for no value. */
const num = (v: number | string | null | undefined, digits = 2) => (v === null || v === undefined ? '—' : String(Number(Number(v).toFixed(digits))));
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${num(v, 1)}%`);

const SECTION_TITLES: Record<ReportSection, string> = {
  summary: 'Summary',
  by_type: 'By task type',
  by_status: 'By status',
  by_priority: 'By priority',
  durations: 'Durations of completed tasks',
  failures: 'Failures',
  recent_results: 'Most recent results',
};

const CSS = `
:root{color-scheme:light;--fg:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bg:#f5f7fa;--ok:#2f855a;--bad:#c53030;--warn:#b7791f}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
header,section,footer{max-width:1100px;margin:0 auto;padding:16px 24px}header{border-bottom:3px solid var(--fg)}
h1{margin:0 0 4px;font-size:24px}h2{font-size:18px;margin:8px 0 12px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);margin:0}.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:12px;margin:0}
.kpis div{background:var(--bg);border-radius:6px;padding:10px 12px}.kpis dt{color:var(--muted);font-size:12px;text-transform:uppercase}
.kpis dd{margin:0;font-size:22px;font-weight:600}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{background:var(--bg);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}.bar{height:8px;background:var(--line);border-radius:4px;min-width:80px}
.bar span{display:block;height:8px;border-radius:4px;background:var(--fg)}.status-completed{color:var(--ok)}.status-failed{color:var(--bad)}
.status-cancelled{color:var(--warn)}code,.pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.empty,.note{color:var(--muted);font-style:italic}footer{border-top:1px solid var(--line);color:var(--muted);font-size:12px}
@media print{header,section,footer{padding:8px 0}section{break-inside:avoid}}`;

export function renderReport(d: ReportData): string {
  const parts = d.sections.map((s) => `<section id="${s}">\n<h2>${esc(SECTION_TITLES[s])}</h2>\n${renderSection(s, d)}\n</section>`);
  const period = `${esc(d.period.from)} → ${esc(d.period.to)}${d.period.preset ? ` (${esc(d.period.preset)})` : ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(d.title)}</h1>
<p class="meta">Brand <strong>${esc(d.brandName)}</strong> · tasks created from ${period} · generated ${esc(d.generatedAt)} by task <code>${esc(d.taskId)}</code></p>
</header>
${parts.join('\n')}
<footer>
<p class="note" id="resource-metrics">Resource metrics: not collected yet (CPU, memory and I/O per task are not recorded by the platform, so this report shows none).</p>
<p>Counts cover the brand's tasks created in the period, deleted tasks excluded. Success rate = completed / (completed + failed + cancelled). Durations run from started_at to completed_at of completed tasks (last run).</p>
</footer>
</body>
</html>
`;
}

function renderSection(s: ReportSection, d: ReportData): string {
  switch (s) {
    case 'summary':
      return renderSummary(d.totals);
    case 'by_status':
      return renderByStatus(d.byStatus ?? [], d.totals.total);
    case 'by_type':
      return table(
        [['Task type'], ['Total', 'num'], ['Completed', 'num'], ['Failed', 'num'], ['Cancelled', 'num'], ['Pending', 'num'], ['Running', 'num'], ['Success rate', 'num'], ['Avg duration (s)', 'num']],
        (d.byType ?? []).map((r) => [
          `<code>${esc(r.task_type)}</code>`,
          num(r.total),
          num(r.completed),
          num(r.failed),
          num(r.cancelled),
          num(r.pending),
          num(r.running),
          pct(r.success_rate),
          num(r.avg_seconds),
        ]),
        'No tasks in this period.',
        'task_type',
      );
    case 'by_priority':
      return table(
        [['Priority'], ['Total', 'num'], ['Completed', 'num'], ['Failed', 'num'], ['Cancelled', 'num'], ['Pending', 'num'], ['Running', 'num'], ['Success rate', 'num']],
        (d.byPriority ?? []).map((r) => [esc(r.priority), num(r.total), num(r.completed), num(r.failed), num(r.cancelled), num(r.pending), num(r.running), pct(r.success_rate)]),
        'No tasks in this period.',
        'priority',
      );
    case 'durations':
      return (
        table(
          [['Task type'], ['Completed', 'num'], ['Average (s)', 'num'], ['p50 (s)', 'num'], ['p95 (s)', 'num'], ['Min (s)', 'num'], ['Max (s)', 'num']],
          (d.durations ?? []).map((r) => [
            r.task_type === null ? '<strong>All types</strong>' : `<code>${esc(r.task_type)}</code>`,
            num(r.count),
            num(r.avg_seconds),
            num(r.p50_seconds),
            num(r.p95_seconds),
            num(r.min_seconds),
            num(r.max_seconds),
          ]),
          'No completed task in this period.',
          'duration',
        ) + '\n<p class="note">Resource metrics: not collected yet.</p>'
      );
    case 'failures':
      return (
        `<p>${num(d.totals.failed)} failed task(s)${d.totals.failed > (d.failures?.length ?? 0) ? `, the ${d.failures?.length ?? 0} most recent shown` : ''}.</p>\n` +
        table(
          [['Task'], ['Type'], ['Priority'], ['Description'], ['Error'], ['Retries', 'num'], ['Failed at']],
          (d.failures ?? []).map((r) => [
            `<code>${esc(r.task_id)}</code><br>#${esc(r.id)}`,
            `<code>${esc(r.task_type)}</code>`,
            esc(r.priority),
            esc(r.description),
            `<span class="pre">${esc(r.error_message)}</span>`,
            num(r.retry_count),
            esc(iso(r.completed_at)),
          ]),
          'No failure in this period.',
          'failure',
        )
      );
    case 'recent_results':
      return table(
        [['Task'], ['Type'], ['Description'], ['Completed at'], ['Duration (s)', 'num'], ['Result']],
        (d.recentResults ?? []).map((r) => [
          `<code>${esc(r.task_id)}</code><br>#${esc(r.id)}`,
          `<code>${esc(r.task_type)}</code>`,
          esc(r.description),
          esc(iso(r.completed_at)),
          num(r.duration_seconds),
          `<span class="pre">${esc(r.result_preview && r.result_preview.length >= 300 ? `${r.result_preview}…` : r.result_preview)}</span>`,
        ]),
        'No completed task in this period.',
        'result',
      );
  }
}

function renderSummary(t: StatusCounts): string {
  const kpi = (key: string, label: string, value: string) => `<div><dt>${esc(label)}</dt><dd data-key="${key}">${value}</dd></div>`;
  return `<dl class="kpis">
${kpi('tasks', 'Tasks', num(t.total))}
${kpi('completed', 'Completed', num(t.completed))}
${kpi('failed', 'Failed', num(t.failed))}
${kpi('cancelled', 'Cancelled', num(t.cancelled))}
${kpi('pending', 'Pending', num(t.pending))}
${kpi('running', 'Running', num(t.running))}
${kpi('success_rate', 'Success rate', pct(t.success_rate))}
</dl>`;
}

function renderByStatus(rows: { status: string; total: number }[], total: number): string {
  return table(
    [['Status'], ['Tasks', 'num'], ['Share', 'num'], ['']],
    rows.map((r) => {
      const share = total ? (r.total / total) * 100 : 0;
      return [
        `<span class="status-${esc(r.status)}">${esc(r.status)}</span>`,
        num(r.total),
        pct(share),
        `<div class="bar"><span style="width:${share.toFixed(1)}%"></span></div>`,
      ];
    }),
    'No tasks in this period.',
    'status',
  );
}

/** `cells` are already-escaped HTML; each row says what it lists (data-kind), for readers and tests. */
function table(head: [string, string?][], rows: string[][], empty: string, kind: string): string {
  if (!rows.length) return `<p class="empty">${esc(empty)}</p>`;
  const th = head.map(([label, cls]) => `<th${cls ? ` class="${cls}"` : ''}>${esc(label)}</th>`).join('');
  const body = rows
    .map((cells) => `<tr data-kind="${kind}">${cells.map((c, i) => `<td${head[i]?.[1] ? ` class="${head[i]![1]}"` : ''}>${c}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>\n<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}
