import { MikroORM } from '@mikro-orm/postgresql';
import { createOrmConfig } from '../../db/mikro-orm.config';
import { ensureBrand, ensureUser } from '../../db/repositories/identity.repository';
import { findTaskByTaskId } from '../../db/repositories/task-query.repository';
import { upsertTaskTransition } from '../../db/repositories/task-mirror.repository';
import { mirrorSeq, type TaskTransition, type TaskWorkflowInput } from '../../workflows/contracts/task-workflow';

/** The mirror's ordering guarantee, on the real PostgreSQL: a transition lands only if it is newer. */
describe('task mirror upserts', () => {
  let orm: MikroORM;
  let scope: { brandId: number; userId: number };
  let n = 0;

  beforeAll(async () => {
    orm = await MikroORM.init(createOrmConfig(process.env.TEST_DATABASE_URL!));
    const em = orm.em.fork();
    scope = { brandId: (await ensureBrand(em, `mirror-${process.pid}`)).id, userId: (await ensureUser(em, `mirror-${process.pid}`)).id };
  });
  afterAll(async () => {
    await orm.close(true);
  });

  const input = (retryCount = 0): TaskWorkflowInput => ({
    taskId: `task_mirror_${Date.now()}_${n++}`,
    brandId: scope.brandId,
    createdById: scope.userId,
    taskType: 'noop',
    priority: 'normal',
    description: 'mirror test',
    contextData: {},
    maxRetries: 3,
    retryCount,
    timeoutMinutes: null,
    scheduledFor: null,
    createdAt: new Date().toISOString(),
  });
  const write = (t: TaskTransition) => upsertTaskTransition(orm.em.fork(), t);
  const row = async (taskId: string) => (await findTaskByTaskId(orm.em.fork(), taskId))!;

  it('ignores a late running write that arrives after completion', async () => {
    const i = input();
    expect(await write({ input: i, seq: mirrorSeq(0, 'pending'), status: 'pending' })).toBe(true);
    expect(await write({ input: i, seq: mirrorSeq(0, 'finished'), status: 'completed', completedAt: new Date().toISOString(), resultData: { ok: 1 } })).toBe(true);
    expect(await write({ input: i, seq: mirrorSeq(0, 'running'), status: 'running', startedAt: new Date().toISOString() })).toBe(false);
    expect(await write({ input: i, seq: mirrorSeq(0, 'pending'), status: 'pending' })).toBe(false);
    const r = await row(i.taskId);
    expect(r.status).toBe('completed');
    expect(r.result_data).toEqual({ ok: 1 });
    expect(r.seq).toBe(mirrorSeq(0, 'finished'));
  });

  it('creates the row from the workflow input when the first write to arrive is a later one', async () => {
    const i = input();
    expect(await write({ input: i, seq: mirrorSeq(0, 'running'), status: 'running', startedAt: new Date().toISOString() })).toBe(true);
    const r = await row(i.taskId);
    expect(r).toMatchObject({ status: 'running', task_type: 'noop', brand_id: scope.brandId, description: 'mirror test' });
    expect(await write({ input: i, seq: mirrorSeq(0, 'pending'), status: 'pending' })).toBe(false);
    expect((await row(i.taskId)).status).toBe('running');
  });

  it('applies a duplicated write once and keeps fields a later write does not carry', async () => {
    const i = input();
    const started = new Date().toISOString();
    await write({ input: i, seq: mirrorSeq(0, 'running'), status: 'running', startedAt: started });
    expect(await write({ input: i, seq: mirrorSeq(0, 'running'), status: 'running', startedAt: started })).toBe(false);
    await write({ input: i, seq: mirrorSeq(0, 'finished'), status: 'failed', errorMessage: 'x', completedAt: new Date().toISOString() });
    const r = await row(i.taskId);
    expect(r.status).toBe('failed');
    expect(new Date(r.started_at!).toISOString()).toBe(started);
  });

  it("lets a retry's new run win over the previous run's final write, whatever the arrival order", async () => {
    const first = input(0);
    const second = { ...first, retryCount: 1 };
    await write({ input: first, seq: mirrorSeq(0, 'running'), status: 'running' });
    await write({ input: second, seq: mirrorSeq(1, 'pending'), status: 'pending', startedAt: null, completedAt: null });
    // The first run's failure arrives late: it must not hide the new run.
    expect(await write({ input: first, seq: mirrorSeq(0, 'finished'), status: 'failed', errorMessage: 'old' })).toBe(false);
    const r = await row(first.taskId);
    expect(r).toMatchObject({ status: 'pending', retry_count: 1 });
  });

  it('converges to the same row when transitions of one run race concurrently', async () => {
    const i = input();
    const transitions: TaskTransition[] = [
      { input: i, seq: mirrorSeq(0, 'pending'), status: 'pending' },
      { input: i, seq: mirrorSeq(0, 'running'), status: 'running', startedAt: new Date().toISOString() },
      { input: i, seq: mirrorSeq(0, 'finished'), status: 'completed', completedAt: new Date().toISOString(), progressPercentage: 100 },
    ];
    await Promise.all([...transitions, ...transitions].reverse().map(write));
    const rows = await orm.em.fork().execute<{ n: number }[]>(`select count(*)::int as n from tasks where task_id = ?`, [i.taskId]);
    expect(rows[0]?.n).toBe(1);
    expect(await row(i.taskId)).toMatchObject({ status: 'completed', progress_percentage: 100 });
  });

  it('never resurrects a deleted row', async () => {
    const i = input();
    await write({ input: i, seq: mirrorSeq(0, 'finished'), status: 'completed' });
    await orm.em.fork().execute(`update tasks set deleted_at = now() where task_id = ?`, [i.taskId]);
    expect(await write({ input: { ...i, retryCount: 5 }, seq: mirrorSeq(5, 'pending'), status: 'pending' })).toBe(false);
    expect((await row(i.taskId)).status).toBe('completed');
  });

  it('refuses to edit or delete audit rows (append-only at the database level)', async () => {
    const em = orm.em.fork();
    await em.execute(`insert into audit_log (occurred_at, action, target_type, target_id, details) values (now(), 'test', 'task', 'x', '{}')`);
    await expect(em.execute(`update audit_log set action = 'tampered' where target_id = 'x'`)).rejects.toThrow(/append-only/);
    await expect(em.execute(`delete from audit_log where target_id = 'x'`)).rejects.toThrow(/append-only/);
  });
});
