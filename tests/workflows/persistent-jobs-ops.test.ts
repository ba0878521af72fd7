import { AUTO_RESUME_SCHEDULE_ID, ensureAutoResumeSchedule } from '../../api/temporal/system-schedules';
import { checksumOf } from '../../db/repositories/persistent-job.repository';
import { createTestContext, type TestContext } from '../support/harness';

const JOBS = '/tasks/persistent-jobs/persistent-jobs';
const CPS = '/tasks/persistent-jobs/checkpoints';

interface CpRow {
  id: string;
  sequence: number;
  generation: number;
  items_done: number;
  is_milestone: boolean;
  compacted: boolean;
  size_bytes: number;
  source: string;
  state: Record<string, unknown> | null;
}

describe('persistent job operations: auto-resume, cleanup, storage, checkpoint CRUD', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const sql = <T>(query: string, params: unknown[] = []) => t.orm.em.fork().execute<T[]>(query, params);
  const createJob = async (jobData: Record<string, unknown>, settings: Record<string, unknown> = {}, extra: Record<string, unknown> = {}, headers = t.headers()) => {
    const res = await t.http.post(`${JOBS}/`).set(headers).send({ base_task: { task_type: 'noop', description: 'ops' }, job_data: jobData, settings, ...extra });
    expect(res.status).toBe(201);
    return res.body as { id: number; base_task: { id: number; task_id: string } };
  };
  const getJob = async (id: number) => (await t.http.get(`${JOBS}/${id}/`).set(t.headers())).body;
  const waitJob = async (id: number, pred: (j: any) => boolean, timeoutMs = 60_000, headers = t.headers()) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const j = (await t.http.get(`${JOBS}/${id}/`).set(headers)).body;
      if (pred(j)) return j;
      if (Date.now() > deadline) throw new Error(`job ${id} did not reach the state; last ${JSON.stringify(j)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const cancel = async (job: { id: number; base_task: { id: number } }) => {
    expect((await t.http.post(`/tasks/${job.base_task.id}/cancel/`).set(t.headers()).send({})).status).toBe(200);
    return waitJob(job.id, (j) => j.status === 'cancelled');
  };
  const ledger = (jobId: number) =>
    sql<{ item_key: string; attempts: number; generation: number }>(`select item_key, attempts, generation from persistent_job_items where job_id = ? order by item_key`, [jobId]);
  const checkpoints = (jobId: number) =>
    sql<CpRow>(`select id, sequence, generation, items_done, is_milestone, compacted, size_bytes, source, state from job_checkpoints where job_id = ? order by generation, sequence`, [jobId]);
  const audits = (action: string, targetId: string) =>
    sql<{ actor_id: number | null; brand_id: number; details: Record<string, any> }>(`select actor_id, brand_id, details from audit_log where action = ? and target_id = ? order by id`, [action, targetId]);

  it('auto-resume/ resumes this brand\'s auto_resume jobs that can resume (dry run first), reports each, audits them', async () => {
    const data = { total_items: 30, item_ms: 100 };
    const settings = { batch_size: 10, checkpoint_every_items: 5 };
    const paused = await createJob(data, settings, { auto_resume: true });
    await waitJob(paused.id, (j) => j.items_done >= 5);
    expect((await t.http.post(`${JOBS}/${paused.id}/pause/`).set(t.headers()).send({})).body.job.status).toBe('paused');
    const cancelled = await createJob(data, settings, { auto_resume: true });
    await waitJob(cancelled.id, (j) => j.items_done >= 5);
    await cancel(cancelled);
    const manualOnly = await createJob(data, settings, { auto_resume: false });
    await waitJob(manualOnly.id, (j) => j.items_done >= 5);
    await cancel(manualOnly);

    const bad = await t.http.post(`${JOBS}/auto-resume/`).set(t.headers()).send({ dry_run: 'yes', extra: 1 });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.field_errors).sort()).toEqual(['dry_run', 'extra']);

    const dry = await t.http.post(`${JOBS}/auto-resume/`).set(t.headers()).send({ dry_run: true });
    expect(dry.status).toBe(200);
    expect(dry.body.dry_run).toBe(true);
    expect(dry.body.count).toBe(2);
    expect(dry.body.results.map((r: any) => r.job_id).sort((a: number, b: number) => a - b)).toEqual([paused.id, cancelled.id]);
    expect(dry.body.results.find((r: any) => r.job_id === paused.id)).toMatchObject({ status_before: 'paused', action: 'would_resume', outcome: 'skipped' });
    expect(dry.body.results.find((r: any) => r.job_id === cancelled.id)).toMatchObject({ status_before: 'cancelled', action: 'would_resume', outcome: 'skipped' });
    expect((await getJob(paused.id)).status).toBe('paused');
    expect((await getJob(cancelled.id)).status).toBe('cancelled');

    // another brand sees none of these jobs
    const outsider = await t.http.post(`${JOBS}/auto-resume/`).set(t.headers(t.outsider, t.otherBrand.id)).send({});
    expect(outsider.body).toEqual({ dry_run: false, count: 0, results: [] });
    expect((await getJob(paused.id)).status).toBe('paused');

    const real = await t.http.post(`${JOBS}/auto-resume/`).set(t.headers()).send({});
    expect(real.status).toBe(200);
    expect(real.body).toMatchObject({ dry_run: false, count: 2 });
    for (const r of real.body.results) expect(r).toMatchObject({ action: 'resume', outcome: 'resumed' });
    for (const job of [paused, cancelled]) {
      const done = await waitJob(job.id, (j) => j.status === 'completed');
      expect(done.items_done).toBe(30);
      const items = await ledger(job.id);
      expect(items).toHaveLength(30);
      expect(items.filter((i) => i.attempts !== 1)).toEqual([]);
      const [audit] = (await audits('job.resume', String(job.id))).slice(-1);
      expect(audit).toMatchObject({ actor_id: t.user.id, brand_id: t.brand.id, details: { by: 'auto-resume' } });
    }
    expect((await getJob(manualOnly.id)).status).toBe('cancelled'); // auto_resume false: left alone
    // nothing left to resume
    expect((await t.http.post(`${JOBS}/auto-resume/`).set(t.headers()).send({})).body).toEqual({ dry_run: false, count: 0, results: [] });
  });

  it('the system workflow resumes auto_resume jobs as the system (actor null) and the schedule is created idempotently', async () => {
    // Long enough that the pause lands mid-job (a pause reaches the activity with its next heartbeat, within ~1 s).
    const job = await createJob({ total_items: 60, item_ms: 100 }, { batch_size: 10, checkpoint_every_items: 5 }, { auto_resume: true });
    await waitJob(job.id, (j) => j.items_done >= 5);
    expect((await t.http.post(`${JOBS}/${job.id}/pause/`).set(t.headers()).send({})).body.job.status).toBe('paused');
    const report = await t.client.workflow.execute('autoResumeJobsWorkflow', {
      taskQueue: t.config.TEMPORAL_TASK_QUEUE,
      workflowId: `auto-resume-test-${job.id}`,
      args: [{ brandIds: [t.brand.id] }],
    });
    expect(report).toEqual({ dry_run: false, count: 1, results: [{ job_id: job.id, status_before: 'paused', action: 'resume', outcome: 'resumed' }] });
    await waitJob(job.id, (j) => j.status === 'completed');
    expect(await ledger(job.id)).toHaveLength(60);
    const [audit] = (await audits('job.resume', String(job.id))).slice(-1);
    expect(audit).toMatchObject({ actor_id: null, brand_id: t.brand.id, details: { by: 'auto-resume schedule', from: 'paused' } });

    // On a task queue no worker polls, so that a firing during the test starts nothing.
    const queue = `${t.config.TEMPORAL_TASK_QUEUE}-schedule-check`;
    await ensureAutoResumeSchedule(t.client, queue, 300);
    await ensureAutoResumeSchedule(t.client, queue, 300); // idempotent
    const handle = t.client.schedule.getHandle(AUTO_RESUME_SCHEDULE_ID);
    const desc = await handle.describe();
    expect(desc.action).toMatchObject({ type: 'startWorkflow', workflowType: 'autoResumeJobsWorkflow' });
    if (desc.action.type === 'startWorkflow' && desc.action.taskQueue === queue) {
      expect(desc.spec.intervals?.[0]?.every).toBe(300_000);
      await handle.delete();
    }
  });

  it('cleanup-old/ counts (dry run by default) then deletes old finished jobs, their checkpoints and ledger, and old generations', async () => {
    const old = await createJob({ total_items: 10 }, { checkpoint_every_items: 5 });
    const recent = await createJob({ total_items: 10 }, { checkpoint_every_items: 5 });
    const restarted = await createJob({ total_items: 10 }, { checkpoint_every_items: 5 });
    for (const j of [old, recent, restarted]) await waitJob(j.id, (x) => x.status === 'completed');
    expect((await t.http.post(`${JOBS}/${restarted.id}/restart/`).set(t.headers()).send({})).status).toBe(200);
    await waitJob(restarted.id, (x) => x.status === 'completed' && x.generation === 1);
    await sql(`update persistent_jobs set completed_at = now() - interval '40 days' where id = ?`, [old.id]);
    await sql(`update job_checkpoints set created_at = now() - interval '40 days' where job_id = ? and generation = 0`, [restarted.id]);

    const oldCps = await checkpoints(old.id);
    const gen0 = (await checkpoints(restarted.id)).filter((c) => c.generation === 0);
    expect(oldCps.length).toBeGreaterThan(0);
    expect(gen0.length).toBeGreaterThan(0);
    const expected = {
      older_than_days: 30,
      jobs: 1,
      checkpoints: oldCps.length + gen0.length,
      ledger_items: 10,
      bytes: [...oldCps, ...gen0].reduce((s, c) => s + c.size_bytes, 0),
    };

    for (const body of [{ older_than_days: 0 }, { older_than_days: 3651, dry_run: 'no' }, { extra: true }]) {
      const bad = await t.http.post(`${JOBS}/cleanup-old/`).set(t.headers()).send(body);
      expect(bad.status).toBe(400);
      expect(Object.keys(bad.body.field_errors).length).toBeGreaterThan(0);
    }
    const badFields = await t.http.post(`${JOBS}/cleanup-old/`).set(t.headers()).send({ older_than_days: 3651, dry_run: 'no' });
    expect(Object.keys(badFields.body.field_errors).sort()).toEqual(['dry_run', 'older_than_days']);

    const dry = await t.http.post(`${JOBS}/cleanup-old/`).set(t.headers()).send({});
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({ dry_run: true, ...expected });
    expect((await checkpoints(old.id)).length).toBe(oldCps.length);
    expect(await ledger(old.id)).toHaveLength(10);

    const foreign = await t.http.post(`${JOBS}/cleanup-old/`).set(t.headers(t.outsider, t.otherBrand.id)).send({ older_than_days: 1, dry_run: false });
    expect(foreign.body).toMatchObject({ jobs: 0, checkpoints: 0, ledger_items: 0 });
    expect((await t.http.get(`${JOBS}/${old.id}/`).set(t.headers())).status).toBe(200);

    const real = await t.http.post(`${JOBS}/cleanup-old/`).set(t.headers()).send({ older_than_days: 30, dry_run: false });
    expect(real.status).toBe(200);
    expect(real.body).toEqual({ dry_run: false, ...expected });
    expect((await t.http.get(`${JOBS}/${old.id}/`).set(t.headers())).status).toBe(404);
    expect(await checkpoints(old.id)).toEqual([]);
    expect(await ledger(old.id)).toEqual([]);
    const left = await checkpoints(restarted.id);
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((c) => c.generation === 1)).toBe(true);
    expect((await getJob(restarted.id)).status).toBe('completed');
    expect((await getJob(recent.id)).checkpoints_count).toBeGreaterThan(0);
    expect(await ledger(recent.id)).toHaveLength(10);
    const [audit] = await audits('job.cleanup', String(t.brand.id));
    expect(audit).toMatchObject({ actor_id: t.user.id, details: { dry_run: false, ...expected, job_ids: [old.id] } });

    const again = await t.http.post(`${JOBS}/cleanup-old/`).set(t.headers()).send({ dry_run: false });
    expect(again.body).toMatchObject({ jobs: 0, checkpoints: 0, ledger_items: 0, bytes: 0 });
  });

  it('optimize-storage/ compacts all but the last K, milestones and the newest valid checkpoint; the job still resumes', async () => {
    const job = await createJob({ total_items: 100, item_ms: 20 }, { batch_size: 10, checkpoint_every_items: 5 });
    await waitJob(job.id, (j) => j.items_done >= 40);
    await cancel(job);
    const before = await checkpoints(job.id);
    const newest = before[before.length - 1]!;
    const secondNewest = before[before.length - 2]!;
    expect(newest.is_milestone || secondNewest.is_milestone).toBe(false);
    // the newest state is altered: the newest valid checkpoint is the one before it
    await sql(`update job_checkpoints set state = jsonb_set(state, '{next}', '0') where id = ?`, [newest.id]);
    const keep = new Set([newest.id, secondNewest.id, ...before.filter((c) => c.is_milestone).map((c) => c.id)]);
    const victims = before.filter((c) => !keep.has(c.id));
    expect(victims.length).toBeGreaterThan(3);
    const bytesBefore = before.reduce((s, c) => s + c.size_bytes, 0);
    const bytesAfter = before.filter((c) => keep.has(c.id)).reduce((s, c) => s + c.size_bytes, 0);

    for (const body of [{ keep_last: 0 }, { keep_last: 101 }, { keep_last: 2, extra: 1 }, { job: 'abc' }]) {
      const bad = await t.http.post(`${CPS}/optimize-storage/`).set(t.headers()).send(body);
      expect(bad.status).toBe(400);
      expect(Object.keys(bad.body.field_errors).length).toBe(1);
    }
    const foreign = await createJob({ total_items: 3 }, {}, {}, t.headers(t.outsider, t.otherBrand.id));
    expect((await t.http.post(`${CPS}/optimize-storage/`).set(t.headers()).send({ job: foreign.id })).status).toBe(404);

    const dry = await t.http.post(`${CPS}/optimize-storage/`).set(t.headers()).send({ keep_last: 1, job: job.id, dry_run: true });
    expect(dry.body).toEqual({ dry_run: true, jobs: 1, compacted: victims.length, bytes_before: bytesBefore, bytes_after: bytesAfter });
    expect((await checkpoints(job.id)).filter((c) => c.compacted)).toEqual([]);

    const real = await t.http.post(`${CPS}/optimize-storage/`).set(t.headers()).send({ keep_last: 1, job: String(job.id) });
    expect(real.body).toEqual({ dry_run: false, jobs: 1, compacted: victims.length, bytes_before: bytesBefore, bytes_after: bytesAfter });
    const after = await checkpoints(job.id);
    for (const c of after) {
      expect(c.compacted).toBe(!keep.has(c.id));
      if (c.compacted) expect(c.state).toBeNull();
      else expect(c.state).not.toBeNull();
    }
    const view = await t.http.get(`${CPS}/${victims[0]!.id}/`).set(t.headers());
    expect(view.body).toMatchObject({ compacted: true, valid: false, state: null });
    expect(view.body.error_code).toBeUndefined();
    expect((await audits('checkpoint.optimize', String(t.brand.id)))[0]).toMatchObject({ actor_id: t.user.id, details: { compacted: victims.length } });
    // idempotent
    expect((await t.http.post(`${CPS}/optimize-storage/`).set(t.headers()).send({ keep_last: 1, job: job.id })).body).toMatchObject({ compacted: 0, bytes_before: bytesAfter, bytes_after: bytesAfter });

    const resume = await t.http.post(`${JOBS}/${job.id}/resume/`).set(t.headers()).send({});
    expect(resume.status).toBe(200);
    expect(resume.body.resumed_from.checkpoint_id).toBe(Number(secondNewest.id));
    await waitJob(job.id, (j) => j.status === 'completed');
    expect(await ledger(job.id)).toHaveLength(100);
  });

  it('manual checkpoint CRUD: validated per job type, 409 while running, 404 across brands; a resume starts at the manual item k', async () => {
    const job = await createJob({ total_items: 30, item_ms: 300 }, { batch_size: 10, checkpoint_every_items: 1 });
    const state = (next: number, extra: Record<string, unknown> = {}) => ({ step: 'processing', next, total: 30, failed: [], ...extra });
    const running = await t.http.post(`${CPS}/`).set(t.headers()).send({ job: job.id, step: 'processing', items_done: 20, state: state(20) });
    expect(running.status).toBe(409);
    expect(running.body).toMatchObject({ error_code: 'INVALID_JOB_STATE', current_status: expect.stringMatching(/pending|running/) });
    // Let the job write a checkpoint of its own first (on a loaded machine a cancel could otherwise beat the first item).
    for (let i = 0; i < 100; i++) {
      const [n] = await sql<{ n: number }>(`select count(*)::int as n from job_checkpoints where job_id = ? and source = 'job'`, [job.id]);
      if (n!.n > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await cancel(job);
    const before = await ledger(job.id);
    const k = 20;
    expect(before.every((i) => Number(i.item_key.slice(5)) < k)).toBe(true);

    const missing = await t.http.post(`${CPS}/`).set(t.headers()).send({});
    expect(missing.status).toBe(400);
    expect(Object.keys(missing.body.field_errors).sort()).toEqual(['items_done', 'job', 'state', 'step']);
    const badState = await t.http.post(`${CPS}/`).set(t.headers()).send({ job: job.id, step: 'processing', items_done: 20, state: state(20, { extra: 1, next: -1 }) });
    expect(badState.status).toBe(400);
    expect(Object.keys(badState.body.field_errors).sort()).toEqual(['state.extra', 'state.next']);
    const incoherent = await t.http.post(`${CPS}/`).set(t.headers()).send({ job: job.id, step: 'finalization', items_done: 19, state: state(20, { total: 31 }) });
    expect(incoherent.status).toBe(400);
    expect(Object.keys(incoherent.body.field_errors).sort()).toEqual(['items_done', 'state.total', 'step']);
    const foreignJob = await t.http.post(`${CPS}/`).set(t.headers(t.outsider, t.otherBrand.id)).send({ job: job.id, step: 'processing', items_done: k, state: state(k) });
    expect(foreignJob.status).toBe(404);

    const created = await t.http.post(`${CPS}/`).set(t.headers()).send({ job: job.id, step: 'processing', items_done: 15, state: state(15) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ job: job.id, source: 'manual', items_done: 15, valid: true, compacted: false, checksum: checksumOf(state(15)), state: state(15) });
    const cpId = created.body.id as number;
    expect((await audits('checkpoint.create', String(cpId)))[0]).toMatchObject({ actor_id: t.user.id, details: { job_id: job.id, items_done: 15 } });

    // PATCH then PUT: the checksum follows the state
    const patched = await t.http.patch(`${CPS}/${cpId}/`).set(t.headers()).send({ items_done: k, state: state(k) });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ items_done: k, valid: true, checksum: checksumOf(state(k)), state: state(k) });
    const badPatch = await t.http.patch(`${CPS}/${cpId}/`).set(t.headers()).send({});
    expect(badPatch.status).toBe(400);
    const put = await t.http.put(`${CPS}/${cpId}/`).set(t.headers()).send({ step: 'processing', items_done: k, state: state(k, { failed: [3] }) });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ valid: true, checksum: checksumOf(state(k, { failed: [3] })) });
    const incompletePut = await t.http.put(`${CPS}/${cpId}/`).set(t.headers()).send({ items_done: k });
    expect(Object.keys(incompletePut.body.field_errors).sort()).toEqual(['state', 'step']);
    const [row] = await sql<{ checksum: string; size_bytes: number }>(`select checksum, size_bytes from job_checkpoints where id = ?`, [cpId]);
    expect(row).toEqual({ checksum: checksumOf(state(k, { failed: [3] })), size_bytes: Buffer.byteLength(JSON.stringify((await sql<{ state: unknown }>(`select state from job_checkpoints where id = ?`, [cpId]))[0]!.state)) });
    expect((await audits('checkpoint.update', String(cpId))).length).toBe(2);

    // job-written checkpoints are immutable
    const [jobWritten] = await sql<{ id: string }>(`select id from job_checkpoints where job_id = ? and source = 'job' order by id limit 1`, [job.id]);
    const immutable = await t.http.patch(`${CPS}/${jobWritten!.id}/`).set(t.headers()).send({ items_done: 1 });
    expect(immutable.status).toBe(409);
    expect(immutable.body.error_code).toBe('INVALID_OPERATION');

    // another brand can neither see nor change it
    for (const res of [
      await t.http.get(`${CPS}/${cpId}/`).set(t.headers(t.outsider, t.otherBrand.id)),
      await t.http.patch(`${CPS}/${cpId}/`).set(t.headers(t.outsider, t.otherBrand.id)).send({ items_done: 1 }),
      await t.http.delete(`${CPS}/${cpId}/`).set(t.headers(t.outsider, t.otherBrand.id)),
    ]) expect(res.status).toBe(404);

    // a newer manual checkpoint, deleted again: the resume uses the one at k
    const extra = await t.http.post(`${CPS}/`).set(t.headers()).send({ job: job.id, step: 'processing', items_done: 25, state: state(25) });
    expect(extra.status).toBe(201);
    expect((await t.http.delete(`${CPS}/${extra.body.id}/`).set(t.headers())).status).toBe(204);
    expect((await t.http.get(`${CPS}/${extra.body.id}/`).set(t.headers())).status).toBe(404);
    expect((await audits('checkpoint.delete', String(extra.body.id)))[0]).toMatchObject({ actor_id: t.user.id, details: { job_id: job.id, source: 'manual', items_done: 25 } });

    const resume = await t.http.post(`${JOBS}/${job.id}/resume/`).set(t.headers()).send({});
    expect(resume.status).toBe(200);
    expect(resume.body.resumed_from).toMatchObject({ checkpoint_id: cpId, items_done: k });
    const whileRunning = await t.http.delete(`${CPS}/${cpId}/`).set(t.headers());
    expect(whileRunning.status).toBe(409);
    expect(whileRunning.body.error_code).toBe('INVALID_JOB_STATE');
    await waitJob(job.id, (j) => j.status === 'completed');
    const items = await ledger(job.id);
    const keys = new Set(items.map((i) => i.item_key));
    for (let i = k; i < 30; i++) expect(keys.has(`item-${i}`)).toBe(true);
    const skipped = Array.from({ length: k }, (_, i) => `item-${i}`).filter((key) => !before.some((b) => b.item_key === key));
    for (const key of skipped) expect(keys.has(key)).toBe(false);
    expect(items).toHaveLength(before.length + (30 - k));
    expect(items.filter((i) => i.attempts !== 1)).toEqual([]);
  });
});
