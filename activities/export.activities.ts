import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Context } from '@temporalio/activity';
import { readExportBatch, snapshotExport } from '../db/repositories/task-export.repository';
import { EXPORTABLE_TASK_FIELDS, type DataExportContext } from '../workflows/tasks/data-export';
import type { ActivityDeps } from './deps';
import { createProgressReporter } from './progress';

/** Heartbeat details: enough to resume on another worker after a crash without writing a row twice. */
interface ExportCheckpoint {
  maxId: number;
  total: number;
  lastId: number;
  rowsWritten: number;
  /** File length after the last complete batch; a resumed attempt truncates the partial file back to it. */
  bytesWritten: number;
}

export function createExportActivities(deps: ActivityDeps) {
  return {
    async exportBrandTasks(input: { brandId: number; taskId: string; context: DataExportContext }): Promise<Record<string, unknown>> {
      const ctx = Context.current();
      const { context } = input;
      const fields = context.fields ?? [...EXPORTABLE_TASK_FIELDS];
      const dir = join(deps.config.EXPORT_DIR, `brand-${input.brandId}`);
      const finalPath = join(dir, `${input.taskId}.${context.format}`);
      const partPath = `${finalPath}.part`;
      await mkdir(dir, { recursive: true });

      // A previous attempt finished the file but died before reporting: the side effect is done, report it.
      const done = await stat(finalPath).catch(() => null);
      if (done) return { file_path: finalPath, format: context.format, row_count: await countRows(finalPath, context.format), bytes: done.size, fields, resumed: true };

      const em = deps.orm.em.fork();
      const report = createProgressReporter(deps);
      let cp = ctx.info.heartbeatDetails as ExportCheckpoint | undefined;
      const resumed = Boolean(cp);
      const file = await open(partPath, cp ? 'r+' : 'w');
      try {
        if (cp) {
          await file.truncate(cp.bytesWritten);
        } else {
          const snap = await snapshotExport(em, input.brandId, context.filters);
          const header = context.format === 'csv' ? `${fields.map(csvCell).join(',')}\n` : '[';
          await file.write(header, 0);
          cp = { maxId: snap.maxId, total: snap.total, lastId: 0, rowsWritten: 0, bytesWritten: Buffer.byteLength(header) };
          await report(0, cp, true);
        }
        for (;;) {
          const rows = await readExportBatch(em, {
            brandId: input.brandId,
            filters: context.filters,
            fields,
            afterId: cp.lastId,
            maxId: cp.maxId,
            limit: context.batch_size,
          });
          if (rows.length === 0) break;
          const chunk = rows
            .map((row, i) =>
              context.format === 'csv'
                ? `${fields.map((f) => csvCell(row[f])).join(',')}\n`
                : `${cp!.rowsWritten + i === 0 ? '\n' : ',\n'}${JSON.stringify(pick(row, fields))}`,
            )
            .join('');
          const { bytesWritten }: { bytesWritten: number } = await file.write(chunk, cp.bytesWritten);
          cp = {
            ...cp,
            lastId: Number(rows[rows.length - 1]!.id),
            rowsWritten: cp.rowsWritten + rows.length,
            bytesWritten: cp.bytesWritten + bytesWritten,
          };
          await report(cp.total ? (cp.rowsWritten / cp.total) * 99 : 99, cp);
          if (context.throttle_ms) await ctx.sleep(context.throttle_ms);
        }
        if (context.format === 'json') {
          const footer = cp.rowsWritten ? '\n]\n' : ']\n';
          await file.write(footer, cp.bytesWritten);
          cp.bytesWritten += Buffer.byteLength(footer);
        }
        await file.truncate(cp.bytesWritten);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(partPath, finalPath); // atomic: readers see no file or the whole file
      await report(100, cp, true);
      return { file_path: finalPath, format: context.format, row_count: cp.rowsWritten, bytes: cp.bytesWritten, fields, resumed };
    },
  };
}

export function pick(row: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f, row[f] ?? null]));
}

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function countRows(path: string, format: 'csv' | 'json'): Promise<number> {
  let lines = 0;
  for await (const line of createInterface({ input: createReadStream(path) })) if (line.length) lines += 1;
  return format === 'csv' ? lines - 1 : Math.max(0, lines - 2);
}
