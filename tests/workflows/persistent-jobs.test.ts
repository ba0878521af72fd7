import { createTestContext, type TestContext } from '../support/harness';

const JOBS = '/tasks/persistent-jobs/persistent-jobs';

describe('persistent jobs on real Temporal and PostgreSQL', () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => {
    await t.close();
  });

  const baseTask = async () => {
    const res = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', description: 'job base' });
    await t.waitForTask(res.body.id, (x) => x.status === 'completed');
    return res.body as { id: number; task_id: string };
  };
  const createJob = async (jobData: Record<string, unknown>, settings: Record<string, unknown> = {}) => {
    const base = await baseTask();
    const res = await t.http.post(`${JOBS}/`).set(t.headers()).send({ base_task: base.id, job_data: jobData, settings });
    expect(res.status).toBe(201);
    return { job: res.body, base };
  };
  const getJob = async (id: number) => (await t.http.get(`${JOBS}/${id}/`).set(t.headers())).body;
  const waitJob = async (id: number, pred: (j: any) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const j = await getJob(id);
      if (pred(j)) return j;
      if (Date.now() > deadline) throw new Error(`job ${id} did not reach the state; last ${JSON.stringify(j)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const ledger = async (jobId: number) =>
    t.orm.em.fork().execute<{ item_key: string; attempts: number; generation: number }[]>(
      `select item_key, attempts, generation from persistent_job_items where job_id = ? order by item_key`,
      [jobId],
    );

  it('runs seed 000 example flow 2: create from a base task, follow to completion, shown on the task', async () => {
    const { job, base } = await createJob({ total_items: 50 }, { batch_size: 20, checkpoint_every_items: 10 });
    expect(job).toMatchObject({
      id: expect.any(Number),
      base_task: { id: base.id, task_id: base.task_id },
      job_data: { total_items: 50, item_ms: 0 },
      total_steps: 1,
      can_resume: false,
    });
    for (const key of ['current_step', 'progress_percentage', 'checkpoints_count', 'estimated_completion']) expect(job).toHaveProperty(key);
    const done = await waitJob(job.id, (j) => j.status === 'completed');
    expect(done).toMatchObject({ items_done: 50, items_total: 50, progress_percentage: 100, current_step: 'processing' });
    expect(done.checkpoints_count).toBeGreaterThanOrEqual(2);
    expect(done.last_checkpoint.items_done).toBe(50);
    const items = await ledger(job.id);
    expect(items).toHaveLength(50);
    expect(items.every((i) => i.attempts === 1)).toBe(true);
    const task = (await t.http.get(`/tasks/${base.id}/`).set(t.headers())).body;
    expect(task.status).toBe('completed');
    expect(task.persistent_job).toMatchObject({ id: job.id, status: 'completed', progress_percentage: 100 });
    // one execution per task at a time, one job per task
    const again = await t.http.post(`${JOBS}/`).set(t.headers()).send({ base_task: base.id, job_data: { total_items: 5 } });
    expect(again.status).toBe(409);
    expect(again.body.error_code).toBe('INVALID_JOB_STATE');
    const resume = await t.http.post(`${JOBS}/${job.id}/resume/`).set(t.headers()).send({});
    expect(resume.status).toBe(409);
    expect(resume.body.error_code).toBe('JOB_NOT_RESUMABLE');
  });

  it('pauses at an item boundary and resumes with no item processed twice and none skipped', async () => {
    const { job, base } = await createJob({ total_items: 80, item_ms: 40 }, { batch_size: 10, checkpoint_every_items: 5 });
    await waitJob(job.id, (j) => j.items_done >= 8);
    const pause = await t.http.post(`${JOBS}/${job.id}/pause/`).set(t.headers()).send({ reason: 'maintenance' });
    expect(pause.status).toBe(200);
    expect(pause.body.job).toMatchObject({ status: 'paused', can_resume: true });
    const doubled = await t.http.post(`${JOBS}/${job.id}/pause/`).set(t.headers()).send({});
    expect(doubled.status).toBe(409);
    expect(doubled.body).toMatchObject({ error_code: 'INVALID_JOB_STATE', current_status: 'paused' });
    const pausedAt = (await ledger(job.id)).length;
    await new Promise((r) => setTimeout(r, 800));
    expect((await ledger(job.id)).length).toBe(pausedAt); // really stopped
    expect((await t.http.get(`/tasks/${base.id}/`).set(t.headers())).body.status).toBe('paused');
    expect((await t.http.get(`${JOBS}/resumable/`).set(t.headers())).body.results.map((j: any) => j.id)).toContain(job.id);

    const resume = await t.http.post(`${JOBS}/${job.id}/resume/`).set(t.headers()).send({});
    expect(resume.status).toBe(200);
    expect(resume.body.resumed_from).toBe('pause');
    await waitJob(job.id, (j) => j.status === 'completed');
    const items = await ledger(job.id);
    expect(items.map((i) => i.item_key).sort()).toEqual(Array.from({ length: 80 }, (_, i) => `item-${i}`).sort());
    expect(items.filter((i) => i.attempts !== 1)).toEqual([]);
    // the Web UI shows pause and resume as signals in the job's history
    const history = await t.client.workflow.getHandle(base.task_id).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
    expect(signals).toEqual(['pauseJob', 'resumeJob']);
  });

  it('resumes a cancelled job from its checkpoint, not from zero', async () => {
    const { job, base } = await createJob({ total_items: 120, item_ms: 30 }, { batch_size: 10, checkpoint_every_items: 5 });
    await waitJob(job.id, (j) => j.items_done >= 20);
    const cancel = await t.http.post(`/tasks/${base.id}/cancel/`).set(t.headers()).send({});
    expect(cancel.status).toBe(200);
    const cancelled = await waitJob(job.id, (j) => j.status === 'cancelled');
    expect(cancelled.can_resume).toBe(true);
    const k = cancelled.last_checkpoint.items_done;
    expect(k).toBeGreaterThanOrEqual(20);
    expect((await ledger(job.id)).length).toBe(k);

    const resume = await t.http.post(`${JOBS}/${job.id}/resume/`).set(t.headers()).send({});
    expect(resume.status).toBe(200);
    expect(resume.body.resumed_from.items_done).toBe(k);
    const done = await waitJob(job.id, (j) => j.status === 'completed');
    expect(done.items_done).toBe(120);
    const items = await ledger(job.id);
    expect(items).toHaveLength(120);
    expect(items.filter((i) => i.attempts !== 1)).toEqual([]);
    expect((await t.http.get(`/tasks/${base.id}/`).set(t.headers())).body.status).toBe('completed');
  });

  it('skips a corrupted checkpoint on resume, reports CHECKPOINT_CORRUPTED, and still finishes every item', async () => {
    const { job, base } = await createJob({ total_items: 200, item_ms: 20 }, { batch_size: 20, checkpoint_every_items: 10 });
    await waitJob(job.id, (j) => j.items_done >= 25);
    await t.http.post(`/tasks/${base.id}/cancel/`).set(t.headers()).send({});
    await waitJob(job.id, (j) => j.status === 'cancelled');
    const [newest] = await t.orm.em.fork().execute<{ id: string; items_done: number; sequence: number }[]>(
      `select id, items_done, sequence from job_checkpoints where job_id = ? order by sequence desc limit 1`,
      [job.id],
    );
    // Someone (or a torn write) altered the newest state: its sha256 no longer matches.
    await t.orm.em.fork().execute(`update job_checkpoints set state = jsonb_set(state, '{next}', '0') where id = ?`, [newest!.id]);
    const view = await t.http.get(`/tasks/persistent-jobs/checkpoints/${newest!.id}/`).set(t.headers());
    expect(view.body).toMatchObject({ valid: false, error_code: 'CHECKPOINT_CORRUPTED' });

    const resume = await t.http.post(`${JOBS}/${job.id}/resume/`).set(t.headers()).send({});
    expect(resume.status).toBe(200);
    expect(resume.body.corrupted_checkpoints).toEqual([{ id: Number(newest!.id), error_code: 'CHECKPOINT_CORRUPTED' }]);
    expect(resume.body.resumed_from.sequence).toBeLessThan(newest!.sequence);
    expect(resume.body.resumed_from.items_done).toBeLessThanOrEqual(newest!.items_done);
    await waitJob(job.id, (j) => j.status === 'completed');
    const items = await ledger(job.id);
    expect(items).toHaveLength(200); // items redone after the older checkpoint are idempotent: one ledger row each
  });

  it('keeps history bounded over 10,000 items by continuing as new', async () => {
    const { job, base } = await createJob({ total_items: 10_000 }, { batch_size: 500, checkpoint_every_items: 1000, continue_as_new_after_batches: 4 });
    await waitJob(job.id, (j) => j.status === 'completed', 170_000);
    const runs: { runId: string; historyLength: number; type: string }[] = [];
    for await (const wf of t.client.workflow.list({ query: `WorkflowId = '${base.task_id}'` })) runs.push({ runId: wf.runId, historyLength: wf.historyLength, type: wf.type });
    const jobRuns = runs.filter((r) => r.type === 'persistent_job');
    expect(jobRuns.length).toBeGreaterThanOrEqual(5); // 20 batches / 4 per run
    expect(Math.max(...jobRuns.map((r) => r.historyLength))).toBeLessThan(100);
    expect((await ledger(job.id)).length).toBe(10_000);
  }, 180_000);

  it('validates job_data for the job type, refuses unsupported types and active base tasks', async () => {
    const bad = await t.http.post(`${JOBS}/validate-config/`).set(t.headers()).send({ job_type: 'noop', job_data: { total_items: 0, extra: 1 } });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.field_errors).sort()).toEqual(['job_data.extra', 'job_data.total_items']);
    const ok = await t.http.post(`${JOBS}/validate-config/`).set(t.headers()).send({ job_type: 'noop', job_data: { total_items: 10 } });
    expect(ok.body).toMatchObject({ valid: true, steps: ['processing'], job_data: { total_items: 10, item_ms: 0 }, settings: { batch_size: 100 } });
    const http = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'http_request', context_data: { url: 'http://127.0.0.1:9/' , max_attempts: 1 } });
    const unsupported = await t.http.post(`${JOBS}/`).set(t.headers()).send({ base_task: http.body.id, job_data: {} });
    expect(unsupported.status).toBe(400);
    const running = await t.http.post('/tasks/').set(t.headers()).send({ task_type: 'noop', context_data: { duration_ms: 30_000 } });
    const active = await t.http.post(`${JOBS}/`).set(t.headers()).send({ base_task: running.body.id, job_data: { total_items: 5 } });
    expect(active.status).toBe(409);
    expect(active.body).toMatchObject({ error_code: 'INVALID_JOB_STATE', current_status: expect.stringMatching(/pending|running/) });
    await t.http.post(`/tasks/${running.body.id}/cancel/`).set(t.headers()).send({});
    const other = await t.http.get(`${JOBS}/`).set(t.headers(t.outsider, t.otherBrand.id));
    expect(other.body.count).toBe(0);
  });

  it('filters jobs (can_resume, current_step, progress_gte/lte, has_checkpoints) and patches only what is safe', async () => {
    const { job: done } = await createJob({ total_items: 10 }, { batch_size: 10 });
    await waitJob(done.id, (j) => j.status === 'completed');
    const { job: paused } = await createJob({ total_items: 200, item_ms: 30 }, { batch_size: 10, checkpoint_every_items: 5 });
    await waitJob(paused.id, (j) => j.items_done >= 10);
    await t.http.post(`${JOBS}/${paused.id}/pause/`).set(t.headers()).send({});
    const list = async (query: string) => {
      const res = await t.http.get(`${JOBS}/?${query}&page_size=500`).set(t.headers());
      expect(res.status).toBe(200);
      return res.body.results as any[];
    };
    const resumable = await list('can_resume=true');
    expect(resumable.every((j) => j.can_resume)).toBe(true);
    expect(resumable.map((j) => j.id)).toContain(paused.id);
    expect((await list('can_resume=false')).map((j) => j.id)).toContain(done.id);
    const full = await list('progress_gte=100');
    expect(full.length).toBeGreaterThan(0);
    expect(full.every((j) => j.progress_percentage >= 100)).toBe(true);
    expect((await list('progress_lte=99')).map((j) => j.id)).toContain(paused.id);
    expect((await list('current_step=processing')).every((j) => j.current_step === 'processing')).toBe(true);
    expect((await list('has_checkpoints=true')).every((j) => j.checkpoints_count > 0)).toBe(true);
    expect((await list('status=paused')).map((j) => j.id)).toEqual([paused.id]);
    // The task list's is_resumable is the job's can_resume, derived, not stored twice.
    const resumableTasks = (await t.http.get('/tasks/?is_resumable=true&page_size=500').set(t.headers())).body.results.map((r: any) => r.task_id);
    expect(resumableTasks).toContain(paused.base_task.task_id);
    expect(resumableTasks).not.toContain(done.base_task.task_id);
    const bad = await t.http.get(`${JOBS}/?progress_gte=200&can_resume=maybe`).set(t.headers());
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.field_errors).sort()).toEqual(['can_resume', 'progress_gte']);

    const patchData = await t.http.patch(`${JOBS}/${done.id}/`).set(t.headers()).send({ job_data: { total_items: 5 } });
    expect(patchData.status).toBe(409);
    expect(patchData.body.error_code).toBe('INVALID_JOB_STATE');
    const patchFlag = await t.http.patch(`${JOBS}/${paused.id}/`).set(t.headers()).send({ auto_resume: true, settings: { batch_size: 5 } });
    expect(patchFlag.status).toBe(200);
    expect(patchFlag.body).toMatchObject({ auto_resume: true, settings: { batch_size: 5 } });
    const stats = await t.http.get(`${JOBS}/stats/`).set(t.headers());
    expect(stats.body.by_status.paused).toBeGreaterThanOrEqual(1);
    expect(stats.body.checkpoints.count).toBeGreaterThan(0);
    await t.http.post(`${JOBS}/${paused.id}/resume/`).set(t.headers()).send({});
    await waitJob(paused.id, (j) => j.status === 'completed');
  });
});
