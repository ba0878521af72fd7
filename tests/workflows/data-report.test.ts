import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createTestContext, type TestContext } from '../support/harness';
import { insertMirrorRows, type MirrorRowSpec } from '../support/mirror-fixtures';

/** A closed week in the past: the report tasks themselves (created now) are outside it. */
const FROM = '2020-03-01T00:00:00.000Z';
const TO = '2020-03-08T00:00:00.000Z';
const at = (iso: string) => new Date(iso);
const XSS = '<script>alert(1)</script>';

describe('report_generation task type', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
    const em = t.orm.em.fork();
    const mine = { brandId: t.brand.id, userId: t.user.id };
    const inPeriod = (spec: MirrorRowSpec, day = 2): MirrorRowSpec => ({ createdAt: at(`2020-03-0${day}T12:00:00.000Z`), ...spec });
    await insertMirrorRows(em, mine, [
      // report_alpha: 5 completed (10, 20, 30, 40, 100 s) and 1 pending
      inPeriod({ status: 'completed', taskType: 'report_alpha', durationSeconds: 10, description: 'alpha one' }, 2),
      inPeriod({ status: 'completed', taskType: 'report_alpha', durationSeconds: 20, priority: 'high' }, 3),
      inPeriod({ status: 'completed', taskType: 'report_alpha', durationSeconds: 30 }, 4),
      inPeriod({ status: 'completed', taskType: 'report_alpha', durationSeconds: 40, priority: 'high' }, 5),
      inPeriod({ status: 'completed', taskType: 'report_alpha', durationSeconds: 100, description: 'the newest result' }, 6),
      inPeriod({ status: 'pending', taskType: 'report_alpha', priority: 'critical' }, 6),
      // report_beta: 2 failed, 1 cancelled, 1 running
      inPeriod({ status: 'failed', taskType: 'report_beta', priority: 'high', description: XSS }, 3),
      inPeriod({ status: 'failed', taskType: 'report_beta', priority: 'high', description: 'second failure' }, 5),
      inPeriod({ status: 'cancelled', taskType: 'report_beta', priority: 'low' }, 4),
      inPeriod({ status: 'running', taskType: 'report_beta' }, 7),
      // outside the period (before it, and exactly at its exclusive end)
      { status: 'completed', taskType: 'report_alpha', createdAt: at('2020-02-20T00:00:00.000Z'), durationSeconds: 5000 },
      { status: 'failed', taskType: 'report_beta', createdAt: at(TO) },
    ]);
    // a deleted row in the period
    const [deleted] = await insertMirrorRows(em, mine, [inPeriod({ status: 'failed', taskType: 'report_beta', description: 'deleted one' })]);
    await em.execute(`update tasks set deleted_at = now() where task_id = ?`, [deleted!.taskId]);
    // another brand's row in the period
    await insertMirrorRows(em, { brandId: t.otherBrand.id, userId: t.outsider.id }, [inPeriod({ status: 'failed', taskType: 'report_beta', description: 'other brand' })]);
  });
  afterAll(async () => {
    await t.close();
  });

  const run = async (context: Record<string, unknown>) => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'report_generation', context_data: context });
    expect(res.status).toBe(201);
    return t.waitForTask(res.body.id, (x) => ['completed', 'failed'].includes(x.status));
  };
  /** The cells of the first table row of `kind` whose first cell contains `first`. */
  const row = (html: string, kind: string, first: string): string[] => {
    const tr = html.split('\n').find((l) => l.startsWith(`<tr data-kind="${kind}">`) && l.split('</td>')[0]!.includes(first));
    if (!tr) throw new Error(`no ${kind} row for ${first}`);
    return [...tr.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
  };

  it('writes an HTML report with the numbers of the period, computed in SQL, to the export folder', async () => {
    const task = await run({ period: { from: FROM, to: TO }, title: 'Week <b>10</b>' });
    expect(task.status).toBe('completed');
    expect(task.progress_percentage).toBe(100);
    const r = task.result_data;
    expect(r.period).toEqual({ from: FROM, to: TO });
    expect(r.totals).toEqual({ tasks: 10, completed: 5, failed: 2, cancelled: 1, pending: 1, running: 1, success_rate: 62.5 });
    expect(r.sections).toEqual(['summary', 'by_type', 'by_status', 'by_priority', 'durations', 'failures', 'recent_results']);
    expect(r.file_path).toBe(join(t.config.EXPORT_DIR, `brand-${t.brand.id}`, `${task.task_id}.html`));
    expect(statSync(r.file_path).size).toBe(r.bytes);
    expect(existsSync(`${r.file_path}.part`)).toBe(false);

    const html = readFileSync(r.file_path, 'utf8');
    // self-contained: no script, no external asset
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//i);
    expect(html).toContain('<title>Week &lt;b&gt;10&lt;/b&gt;</title>');
    expect(html).toContain('data-key="tasks">10<');
    expect(html).toContain('data-key="completed">5<');
    expect(html).toContain('data-key="failed">2<');
    expect(html).toContain('data-key="success_rate">62.5%<');
    // by type: total, completed, failed, cancelled, pending, running, success rate, avg duration
    expect(row(html, 'task_type', 'report_alpha')).toEqual(['report_alpha', '6', '5', '0', '0', '1', '0', '100%', '40']);
    expect(row(html, 'task_type', 'report_beta')).toEqual(['report_beta', '4', '0', '2', '1', '0', '1', '0%', '—']);
    expect(row(html, 'status', 'completed').slice(0, 3)).toEqual(['completed', '5', '50%']);
    expect(row(html, 'priority', 'high').slice(0, 4)).toEqual(['high', '4', '2', '2']);
    expect(row(html, 'priority', 'critical').slice(0, 6)).toEqual(['critical', '1', '0', '0', '0', '1']);
    // durations of completed tasks: count, avg, p50, p95 (percentile_cont: 40 + 0.8 * 60), min, max
    expect(row(html, 'duration', 'All types')).toEqual(['All types', '5', '40', '30', '88', '10', '100']);
    expect(row(html, 'duration', 'report_alpha')).toEqual(['report_alpha', '5', '40', '30', '88', '10', '100']);
    // failures, escaped; the deleted row, the other brand's row and rows outside the period are absent
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain(XSS);
    expect(html).toContain('second failure');
    expect(html).toContain('fixture failure');
    expect(html).not.toContain('deleted one');
    expect(html).not.toContain('other brand');
    // most recent results first
    expect(html.indexOf('the newest result')).toBeGreaterThan(0);
    expect(html.indexOf('the newest result')).toBeLessThan(html.indexOf('alpha one'));
    expect(html).toContain('Resource metrics: not collected yet');
  });

  it('renders only the chosen sections, in canonical order, with max_rows rows', async () => {
    const task = await run({ period: { from: FROM, to: TO }, sections: ['failures', 'summary'], max_rows: 1 });
    expect(task.result_data.sections).toEqual(['summary', 'failures']);
    const html = readFileSync(task.result_data.file_path, 'utf8');
    expect(html).toContain('<section id="summary">');
    expect(html).toContain('<section id="failures">');
    expect(html).not.toContain('<section id="by_type">');
    expect(html.indexOf('id="summary"')).toBeLessThan(html.indexOf('id="failures"'));
    expect(html.match(/<tr data-kind="failure">/g)).toHaveLength(1);
    expect(html).toContain('2 failed task(s), the 1 most recent shown.');
    expect(html).toContain('second failure'); // the most recent failure (2020-03-05)
  });

  it('resolves a preset period at run time', async () => {
    const em = t.orm.em.fork();
    const scope = { brandId: t.brand.id, userId: t.user.id };
    await insertMirrorRows(em, scope, [
      { status: 'completed', taskType: 'preset_probe', createdAt: new Date(Date.now() - 3_600_000), durationSeconds: 12 },
      { status: 'failed', taskType: 'preset_probe', createdAt: new Date(Date.now() - 3_600_000) },
      { status: 'completed', taskType: 'preset_old', createdAt: new Date(Date.now() - 3 * 86_400_000) },
    ]);
    const task = await run({ period: { preset: 'last_24_hours' }, sections: ['by_type'] });
    const { from, to } = task.result_data.period;
    expect(Date.parse(to) - Date.parse(from)).toBe(86_400_000);
    const html = readFileSync(task.result_data.file_path, 'utf8');
    expect(row(html, 'task_type', 'preset_probe')).toEqual(['preset_probe', '2', '1', '1', '0', '0', '0', '50%', '12']);
    expect(html).not.toContain('preset_old');
    // the report task itself was running when counted
    expect(row(html, 'task_type', 'report_generation')[6]).toBe('1');
  });

  it('rejects a bad period, unknown sections and max_rows out of range with field_errors', async () => {
    const res = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'report_generation', context_data: { period: { from: TO, to: FROM }, sections: ['summary', 'pie_chart'], max_rows: 0 } });
    expect(res.status).toBe(400);
    expect(Object.keys(res.body.field_errors).sort()).toEqual(['context_data.max_rows', 'context_data.period.to', 'context_data.sections.1']);

    const tooLong = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'report_generation', context_data: { period: { from: '2020-01-01T00:00:00Z', to: '2021-01-02T00:00:00Z' } } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.field_errors['context_data.period.to'][0]).toContain('366 days');

    const both = await t.http
      .post('/tasks/')
      .set(t.headers())
      .send({ task_type: 'report_generation', context_data: { period: { preset: 'last_7_days', from: FROM }, format: 'pdf' } });
    expect(both.status).toBe(400);
    expect(Object.keys(both.body.field_errors).sort()).toEqual(['context_data.format', 'context_data.period.from']);
  });
});
