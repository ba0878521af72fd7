import { mkdir, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readExportBatch, snapshotExport } from '../../db/repositories/task-export.repository';
import { EXPORTABLE_TASK_FIELDS, dataExportContextSchema } from '../../workflows/tasks/data-export';
import { csvCell, pick } from '../export.activities';
import type { JobRunner } from './job-runner';

interface ExportState extends Record<string, unknown> {
  step: 'export' | 'finalization' | 'done';
  maxId: number;
  total: number;
  lastId: number;
  rows: number;
  bytes: number;
  partPath: string;
  finalPath: string;
}


async function append(path: string, at: number, text: string, truncateFirst: boolean): Promise<number> {
  const file = await open(path, 'r+');
  try {
    if (truncateFirst) await file.truncate(at); // bytes after the checkpoint belong to items that will be redone
    const { bytesWritten } = await file.write(text, at);
    return bytesWritten;
  } finally {
    await file.close();
  }
}

/**
 * A large export as a persistent job: one item per row. The checkpoint holds the file length, so a resume (after
 * a pause, a crash or a failure) truncates the partial file back to it and writes each row exactly once.
 */
export const exportJob: JobRunner = {
  async init(ctx) {
    const data = dataExportContextSchema.parse(ctx.input.jobData);
    const fields = data.fields ?? [...EXPORTABLE_TASK_FIELDS];
    const { dir, finalPath, partPath } = exportJobPaths(ctx.deps.config.EXPORT_DIR, ctx.input, data.format);
    await mkdir(dir, { recursive: true });
    const snap = await snapshotExport(ctx.em, ctx.input.brandId, data.filters);
    const header = data.format === 'csv' ? `${fields.map(csvCell).join(',')}\n` : '[';
    const file = await open(partPath, 'w');
    await file.write(header);
    await file.close();
    return { step: 'export', maxId: snap.maxId, total: snap.total, lastId: 0, rows: 0, bytes: Buffer.byteLength(header), partPath, finalPath } satisfies ExportState;
  },
  step: (state) => ((state as ExportState).step === 'done' ? 'finalization' : (state as ExportState).step),
  total: (state) => (state as ExportState).total,
  async processNext(raw, ctx) {
    const state = raw as ExportState;
    const data = dataExportContextSchema.parse(ctx.input.jobData);
    const fields = data.fields ?? [...EXPORTABLE_TASK_FIELDS];
    if (state.step === 'export') {
      const rows = await readExportBatch(ctx.em, {
        brandId: ctx.input.brandId,
        filters: data.filters,
        fields,
        afterId: state.lastId,
        maxId: state.maxId,
        limit: data.batch_size,
      });
      if (rows.length === 0) return { state: { ...state, step: 'finalization' }, processed: 0, done: false };
      const chunk = rows
        .map((row, i) =>
          data.format === 'csv'
            ? `${fields.map((f) => csvCell(row[f])).join(',')}\n`
            : `${state.rows + i === 0 ? '\n' : ',\n'}${JSON.stringify(pick(row, fields))}`,
        )
        .join('');
      const written = await append(state.partPath, state.bytes, chunk, ctx.firstInAttempt);
      if (data.throttle_ms) await ctx.activity.sleep(data.throttle_ms);
      const next: ExportState = { ...state, lastId: Number(rows[rows.length - 1]!.id), rows: state.rows + rows.length, bytes: state.bytes + written };
      return { state: next, processed: rows.length, done: false };
    }
    // finalization: close the JSON array, then publish the file atomically (once: a replay finds it in place).
    const published = await stat(state.finalPath).catch(() => null);
    if (!published) {
      const footer = data.format === 'json' ? (state.rows ? '\n]\n' : ']\n') : '';
      const bytes = state.bytes + (await append(state.partPath, state.bytes, footer, true));
      const file = await open(state.partPath, 'r+');
      await file.truncate(bytes);
      await file.sync();
      await file.close();
      await rename(state.partPath, state.finalPath);
      return { state: { ...state, bytes, step: 'done' }, processed: 0, done: true };
    }
    return { state: { ...state, step: 'done' }, processed: 0, done: true };
  },
  result: (state) => {
    const s = state as ExportState;
    return { file_path: s.finalPath, row_count: s.rows, bytes: s.bytes };
  },
};

/** The export job's resumable state, as a manual checkpoint must give it (paths are checked against the job's own). */
export const exportJobStateSchema = z
  .object({
    step: z.enum(['export', 'finalization', 'done']),
    maxId: z.number().int().min(0),
    total: z.number().int().min(0),
    lastId: z.number().int().min(0),
    rows: z.number().int().min(0),
    bytes: z.number().int().min(0),
    partPath: z.string().min(1).max(4096),
    finalPath: z.string().min(1).max(4096),
  })
  .strict();

/** Where the export job of this job run writes; also used to check a manual checkpoint's paths. */
export function exportJobPaths(exportDir: string, job: { brandId: number; taskId: string; jobId: number; generation: number }, format: string) {
  const dir = join(exportDir, `brand-${job.brandId}`);
  const finalPath = join(dir, `${job.taskId}-job${job.jobId}-g${job.generation}.${format}`);
  return { dir, finalPath, partPath: `${finalPath}.part` };
}
