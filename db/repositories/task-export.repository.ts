import type { EntityManager } from '@mikro-orm/postgresql';

export interface ExportFilters {
  status?: string[];
  priority?: string[];
  task_type?: string[];
  created_after?: string;
  created_before?: string;
}

function whereClause(brandId: number, filters: ExportFilters): { sql: string; params: unknown[] } {
  const parts = ['brand_id = ?', 'deleted_at is null'];
  const params: unknown[] = [brandId];
  const inList = (col: string, values?: string[]) => {
    if (values?.length) {
      parts.push(`${col} in (${values.map(() => '?').join(', ')})`);
      params.push(...values);
    }
  };
  inList('status', filters.status);
  inList('priority', filters.priority);
  inList('task_type', filters.task_type);
  if (filters.created_after) {
    parts.push('created_at >= ?');
    params.push(filters.created_after);
  }
  if (filters.created_before) {
    parts.push('created_at <= ?');
    params.push(filters.created_before);
  }
  return { sql: parts.join(' and '), params };
}

/** The snapshot an export works on: rows with id <= maxId, fixed at the export's start so a resumed export sees the same set. */
export async function snapshotExport(
  em: EntityManager,
  brandId: number,
  filters: ExportFilters,
): Promise<{ maxId: number; total: number }> {
  const where = whereClause(brandId, filters);
  const [row] = await em.execute<{ max_id: number | null; total: string }[]>(
    `select max(id) as max_id, count(*) as total from tasks where ${where.sql}`,
    where.params,
  );
  return { maxId: row?.max_id ?? 0, total: Number(row?.total ?? 0) };
}

/** One keyset page of the export, in id order. `fields` come from a fixed allow-list (EXPORTABLE_TASK_FIELDS). */
export async function readExportBatch(
  em: EntityManager,
  args: { brandId: number; filters: ExportFilters; fields: readonly string[]; afterId: number; maxId: number; limit: number },
): Promise<Record<string, unknown>[]> {
  const where = whereClause(args.brandId, args.filters);
  const columns = [...new Set(['id', ...args.fields])].map((f) => `"${f}"`).join(', ');
  return em.execute<Record<string, unknown>[]>(
    `select ${columns} from tasks where ${where.sql} and id > ? and id <= ? order by id limit ?`,
    [...where.params, args.afterId, args.maxId, args.limit],
  );
}
