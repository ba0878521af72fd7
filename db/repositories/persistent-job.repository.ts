import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Persistent jobs and their checkpoints. A checkpoint's checksum is the sha256 of its state's canonical JSON, so
 * a state altered in the database (or a torn write) is detected before any resume uses it.
 */

export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function checksumOf(state: unknown): string {
  return createHash('sha256').update(stableJson(state)).digest('hex');
}

export interface CheckpointRow {
  id: number;
  job_id: number;
  brand_id: number;
  generation: number;
  sequence: number;
  step: string;
  items_done: number;
  state: Record<string, unknown> | null;
  checksum: string;
  size_bytes: number;
  is_milestone: boolean;
  source: string;
  compacted: boolean;
  created_at: Date | string;
}

export function isCheckpointValid(cp: Pick<CheckpointRow, 'state' | 'checksum'>): boolean {
  return cp.state !== null && checksumOf(cp.state) === cp.checksum;
}

export async function insertCheckpoint(
  em: EntityManager,
  cp: { jobId: number; brandId: number; generation: number; step: string; itemsDone: number; state: Record<string, unknown>; isMilestone: boolean; source?: 'job' | 'manual' },
): Promise<{ id: number; sequence: number }> {
  const json = JSON.stringify(cp.state);
  const rows = await em.execute<{ id: string; sequence: number }[]>(
    `insert into job_checkpoints (job_id, brand_id, generation, sequence, step, items_done, state, checksum, size_bytes, is_milestone, source, created_at)
     values (?, ?, ?, (select coalesce(max(sequence), 0) + 1 from job_checkpoints where job_id = ? and generation = ?), ?, ?, ?::jsonb, ?, ?, ?, ?, clock_timestamp())
     returning id, sequence`,
    [cp.jobId, cp.brandId, cp.generation, cp.jobId, cp.generation, cp.step, cp.itemsDone, json, checksumOf(cp.state), Buffer.byteLength(json), cp.isMilestone, cp.source ?? 'job'],
  );
  await em.execute(`update persistent_jobs set updated_at = clock_timestamp() where id = ?`, [cp.jobId]);
  return { id: Number(rows[0]!.id), sequence: rows[0]!.sequence };
}

/** The newest checkpoint of this generation whose checksum verifies, and the newer ones that did not. */
export async function newestValidCheckpoint(
  em: EntityManager,
  jobId: number,
  generation: number,
): Promise<{ valid: CheckpointRow | null; corrupted: CheckpointRow[] }> {
  const corrupted: CheckpointRow[] = [];
  let offset = 0;
  for (;;) {
    const rows = await em.execute<CheckpointRow[]>(
      `select * from job_checkpoints where job_id = ? and generation = ? and not compacted order by sequence desc limit 20 offset ?`,
      [jobId, generation, offset],
    );
    for (const row of rows) {
      if (isCheckpointValid(row)) return { valid: normalizeCheckpoint(row), corrupted };
      corrupted.push(normalizeCheckpoint(row));
    }
    if (rows.length < 20) return { valid: null, corrupted };
    offset += 20;
  }
}

function normalizeCheckpoint(row: CheckpointRow): CheckpointRow {
  return { ...row, id: Number(row.id) };
}

/** Progress written by the batch activity (the mirror of what the workflow's query reports). */
export async function updateJobProgress(
  em: EntityManager,
  jobId: number,
  p: { step: string; itemsDone: number; itemsTotal: number | null; throughput: number | null; estimatedCompletion: string | null },
): Promise<void> {
  const progress = p.itemsTotal ? Math.min(100, Math.round((p.itemsDone / p.itemsTotal) * 10_000) / 100) : 0;
  await em.execute(
    `update persistent_jobs set current_step = ?, items_done = ?, items_total = ?, progress_percentage = ?,
            throughput_per_second = coalesce(?, throughput_per_second), estimated_completion = ?, updated_at = clock_timestamp()
      where id = ? and status in ('running', 'pending')`,
    [p.step, p.itemsDone, p.itemsTotal, progress, p.throughput, p.estimatedCompletion, jobId],
  );
  await em.execute(
    `update tasks set progress_percentage = ?, updated_at = clock_timestamp()
      where task_id = (select task_id from persistent_jobs where id = ?) and status = 'running'`,
    [progress, jobId],
  );
}

/** Status transitions of the job row, guarded by the same monotonic seq as its task's mirror row. */
export async function applyJobTransition(
  em: EntityManager,
  t: { jobId: number; seq: number; status: string; step?: string | null; itemsDone?: number; itemsTotal?: number | null; startedAt?: string; pausedAt?: string; completedAt?: string; errorMessage?: string | null },
): Promise<boolean> {
  const rows = await em.execute<{ id: number }[]>(
    `update persistent_jobs set status = ?, seq = ?, current_step = coalesce(?, current_step),
            items_done = greatest(items_done, coalesce(?, items_done)), items_total = coalesce(?, items_total),
            progress_percentage = case when ? = 'completed' then 100 when coalesce(?, items_total) > 0
                                   then least(100, round((greatest(items_done, coalesce(?, items_done))::numeric / coalesce(?, items_total)) * 100, 2)) else progress_percentage end,
            started_at = coalesce(started_at, ?::timestamptz), paused_at = case when ? = 'paused' then ?::timestamptz else null end,
            completed_at = ?::timestamptz, error_message = ?, estimated_completion = case when ? in ('running') then estimated_completion else null end,
            updated_at = clock_timestamp()
      where id = ? and seq < ? returning id`,
    [
      t.status, t.seq, t.step ?? null, t.itemsDone ?? null, t.itemsTotal ?? null,
      t.status, t.itemsTotal ?? null, t.itemsDone ?? null, t.itemsTotal ?? null,
      t.startedAt ?? null, t.status, t.pausedAt ?? null,
      t.completedAt ?? null, t.errorMessage ?? null, t.status,
      t.jobId, t.seq,
    ],
  );
  return rows.length > 0;
}

/** The item job type's ledger: one row per item and generation; a replayed item only bumps `attempts`. */
export async function recordJobItem(em: EntityManager, jobId: number, generation: number, indexes: number[]): Promise<void> {
  if (indexes.length === 0) return;
  await em.execute(
    `insert into persistent_job_items (job_id, generation, item_key, result, attempts, processed_at)
     select ?, ?, 'item-' || i, jsonb_build_object('index', i), 1, clock_timestamp() from unnest(?::int[]) as i
     on conflict (job_id, generation, item_key) do update set attempts = persistent_job_items.attempts + 1`,
    [jobId, generation, `{${indexes.join(',')}}`],
  );
}
