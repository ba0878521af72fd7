import { randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { durationBucket, emptyHistogram } from '../../activities/metrics/duration-histogram';
import { createOrmConfig } from '../../db/mikro-orm.config';
import { MIGRATIONS } from '../../db/migrations';
import { deleteTaskMetrics, sumRollups, writeTaskMetrics, type TaskMetricsWrite } from '../../db/repositories/task-metrics.repository';
import { ADMIN_DATABASE_URL, dropDatabase } from '../support/database';

const MINE = 'Migration20261126011000_rollup_cancelled';
const BEFORE = MIGRATIONS[MIGRATIONS.findIndex((m) => m.name === MINE) - 1]!.name;

/**
 * The rollups' `cancelled` column on a database of its own (migrated up to the migration before it, then through it),
 * so the rows written the old way and the migration's global backfill touch nothing the other test files read.
 */
describe('metric rollups count cancelled tasks (Migration20261126011000_rollup_cancelled)', () => {
  let orm: MikroORM;
  let dbName: string;
  const H1 = '2026-11-20T10:00:00.000Z';
  const H2 = '2026-11-20T15:00:00.000Z';
  const H3 = '2026-11-20T18:00:00.000Z';
  const DAY = '2026-11-20T00:00:00.000Z';

  beforeAll(async () => {
    dbName = `rollup_cancelled_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
    const admin = await MikroORM.init(createOrmConfig(ADMIN_DATABASE_URL, { migrations: undefined }));
    try {
      await admin.em.getConnection().execute(`create database "${dbName}"`);
    } finally {
      await admin.close(true);
    }
    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${dbName}`;
    const config = createOrmConfig(url.toString());
    orm = await MikroORM.init({ ...config, migrations: { ...config.migrations, silent: true } });
    await orm.migrator.up({ to: BEFORE });
  });
  afterAll(async () => {
    await orm?.close(true);
    if (dbName) await dropDatabase(dbName);
  });

  /**
   * What the writer did before the column existed (and what an old binary still does during a deploy): `rolled` without
   * `cancelled`, the rollup rows' `tasks` and `failed` moved, `cancelled` never named.
   */
  const oldWrite = async (taskId: string, status: string, finishedAt: string) => {
    const em = orm.em.fork();
    const bucket = `${finishedAt.slice(0, 13)}:00:00.000Z`;
    const failed = status === 'failed' ? 1 : 0;
    const rolled = {
      bucket, brandId: 1, taskType: 'noop', priority: 'normal', failed, withErrors: failed, errorCount: failed, execMs: 1000,
      cpuPct: 1, memMb: 1, costUsd: 0.001, durationBucket: durationBucket(1000),
    };
    await em.execute(
      `insert into task_metrics (task_id, brand_id, task_type, priority, status, execution_time_ms, cpu_usage_percent, memory_usage_mb,
                                 cost_usd, error_count, source, finished_at, rolled, created_at, updated_at)
       values (?, 1, 'noop', 'normal', ?, 1000, 1, 1, 0.001, ?, 'worker', ?, ?::jsonb, now(), now())`,
      [taskId, status, failed, finishedAt, JSON.stringify(rolled)],
    );
    const histogram = emptyHistogram();
    histogram[rolled.durationBucket] = 1;
    for (const [table, b] of [['metric_rollups', bucket], ['metric_rollups_daily', `${bucket.slice(0, 10)}T00:00:00.000Z`]] as const) {
      await em.execute(
        `insert into ${table} (bucket, brand_id, task_type, priority, tasks, failed, with_errors, error_count, exec_ms_sum, exec_ms_max,
                               cpu_pct_sum, mem_mb_sum, mem_mb_max, cost_sum, durations)
         values (?, 1, 'noop', 'normal', 1, ?, ?, ?, 1000, 1000, 1, 1, 1, 0.001, ?::jsonb)
         on conflict (bucket, brand_id, task_type, priority) do update set
           tasks = ${table}.tasks + 1, failed = ${table}.failed + excluded.failed, with_errors = ${table}.with_errors + excluded.with_errors,
           error_count = ${table}.error_count + excluded.error_count`,
        [b, failed, failed, failed, JSON.stringify(histogram)],
      );
    }
  };
  const write = (taskId: string, status: string, finishedAt: string): TaskMetricsWrite => ({
    taskId, brandId: 1, taskType: 'noop', priority: 'normal', status, executionTimeMs: 1000, cpuTimeMs: 0, cpuUsagePercent: 1,
    memoryUsageMb: 1, costUsd: 0.001, errorCount: status === 'failed' ? 1 : 0, attempts: 1, activityCount: 1, source: 'worker',
    details: null, finishedAt,
  });
  const idOf = async (taskId: string) =>
    (await orm.em.fork().execute<{ id: number }[]>(`select id from task_metrics where task_id = ?`, [taskId]))[0]!.id;
  /** `bucket: tasks/failed/cancelled` of both tables. */
  const rollups = async () => {
    const rows = await orm.em.fork().execute<{ t: string; bucket: Date; tasks: number; failed: number; cancelled: number }[]>(
      `select 'hour' as t, bucket, tasks, failed, cancelled from metric_rollups
        union all select 'day', bucket, tasks, failed, cancelled from metric_rollups_daily order by 1 desc, 2`,
    );
    return Object.fromEntries(rows.map((r) => [`${r.t} ${new Date(r.bucket).toISOString()}`, `${r.tasks}/${r.failed}/${r.cancelled}`]));
  };
  const rolledOf = async (taskId: string) =>
    (await orm.em.fork().execute<{ rolled: Record<string, unknown> }[]>(`select rolled from task_metrics where task_id = ?`, [taskId]))[0]!.rolled;

  it('backfills the cancelled rows per hour and day, marks their contribution, and removes every kind of contribution exactly', async () => {
    await oldWrite('a', 'completed', '2026-11-20T10:05:00.000Z');
    await oldWrite('b', 'cancelled', '2026-11-20T10:10:00.000Z');
    await oldWrite('c', 'cancelled', '2026-11-20T10:20:00.000Z');
    await oldWrite('d', 'failed', '2026-11-20T15:05:00.000Z');
    await oldWrite('e', 'cancelled', '2026-11-20T15:10:00.000Z');

    await orm.migrator.up();
    expect(await rollups()).toEqual({ [`hour ${H1}`]: '3/0/2', [`hour ${H2}`]: '2/1/1', [`day ${DAY}`]: '5/1/3' });
    // The counted rows say so in their contribution; the others keep theirs as they were (no key: nothing to take back).
    expect(await rolledOf('b')).toMatchObject({ cancelled: 1 });
    expect(await rolledOf('e')).toMatchObject({ cancelled: 1 });
    expect(await rolledOf('a')).not.toHaveProperty('cancelled');
    expect(await rolledOf('d')).not.toHaveProperty('cancelled');
    const [all] = await sumRollups(orm.em.fork(), 1, DAY, `'all'`);
    expect(all).toMatchObject({ tasks: 5, failed: 1, cancelled: 3 });

    // A backfilled row deleted, another rewritten (retried, then completed), an old completed row rewritten as cancelled.
    expect(await deleteTaskMetrics(orm.em.fork(), await idOf('b'))).toBe(true);
    await writeTaskMetrics(orm.em.fork(), write('c', 'completed', '2026-11-20T10:40:00.000Z'));
    await writeTaskMetrics(orm.em.fork(), write('a', 'cancelled', '2026-11-20T10:50:00.000Z'));
    expect(await rolledOf('a')).toMatchObject({ cancelled: 1 });
    expect(await rollups()).toEqual({ [`hour ${H1}`]: '2/0/1', [`hour ${H2}`]: '2/1/1', [`day ${DAY}`]: '4/1/2' });
    await deleteTaskMetrics(orm.em.fork(), await idOf('a'));
    expect(await rollups()).toEqual({ [`hour ${H1}`]: '1/0/0', [`hour ${H2}`]: '2/1/1', [`day ${DAY}`]: '3/1/1' });

    // An old-format contribution of a cancelled task written after the migration (an old binary during the deploy) never
    // reached `cancelled`: removing it leaves the count at 0, where deriving it from the status would leave -1.
    await oldWrite('f', 'cancelled', '2026-11-20T18:30:00.000Z');
    expect(await rolledOf('f')).not.toHaveProperty('cancelled');
    expect((await rollups())[`hour ${H3}`]).toBe('1/0/0');
    await deleteTaskMetrics(orm.em.fork(), await idOf('f'));
    expect(await rollups()).toEqual({ [`hour ${H1}`]: '1/0/0', [`hour ${H2}`]: '2/1/1', [`hour ${H3}`]: '0/0/0', [`day ${DAY}`]: '3/1/1' });
  });

  it('migrates down and up again to the same counts (down forgets which rows were counted)', async () => {
    const before = await rollups();
    await orm.migrator.down({ to: BEFORE });
    const [marked] = await orm.em.fork().execute<{ n: number }[]>(`select count(*)::int as n from task_metrics where rolled->'cancelled' is not null`);
    expect(marked!.n).toBe(0);
    await orm.migrator.up();
    expect(await rollups()).toEqual(before);
  });
});
