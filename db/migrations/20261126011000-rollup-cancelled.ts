import { Migration } from '@mikro-orm/migrations';

/**
 * The rollups count cancelled tasks apart (`cancelled`), so readers stop taking `tasks - failed` as completed: a task
 * cancelled while running has a metrics row (finalizeTaskMetrics writes one at every terminal status) and used to be
 * counted as completed.
 *
 * The backfill counts every cancelled metrics row into the hour and the UTC day its `rolled` contribution went to, and
 * writes `cancelled: 1` into that `rolled`, both in one statement (one snapshot): a later rewrite or removal of the row
 * then takes back exactly what was counted. A contribution still without the key can only come from an old binary
 * running during the deploy, which never adds to `cancelled`; the writer removes it as 0 (task-metrics.repository.ts).
 *
 * task_metrics is locked first (EXCLUSIVE: plain reads go on, writers wait): a writer holds its metrics row's lock when
 * it reaches the rollup tables, so taking the rollup tables first (ALTER) and that row second could deadlock with it,
 * and a row written between the count and the marking would be miscounted.
 */
export class Migration20261126011000_rollup_cancelled extends Migration {
  override name = 'Migration20261126011000_rollup_cancelled';

  override up(): void | Promise<void> {
    this.addSql(`lock table "task_metrics" in exclusive mode;`);
    this.addSql(`alter table "metric_rollups" add column "cancelled" int not null default 0;`);
    this.addSql(`alter table "metric_rollups_daily" add column "cancelled" int not null default 0;`);
    this.addSql(`with marked as (
        update "task_metrics" set "rolled" = "rolled" || '{"cancelled": 1}'::jsonb
         where "status" = 'cancelled' and "rolled" is not null and "rolled"->'cancelled' is null
        returning "rolled"
      ),
      hours as (
        select ("rolled"->>'bucket')::timestamptz as bucket, ("rolled"->>'brandId')::int as brand_id,
               "rolled"->>'taskType' as task_type, "rolled"->>'priority' as priority, count(*)::int as n
          from marked group by 1, 2, 3, 4
      ),
      hourly as (
        update "metric_rollups" r set "cancelled" = r."cancelled" + h.n
          from hours h
         where r."bucket" = h.bucket and r."brand_id" = h.brand_id and r."task_type" = h.task_type and r."priority" = h.priority
      )
      update "metric_rollups_daily" r set "cancelled" = r."cancelled" + d.n
        from (select date_trunc('day', bucket, 'UTC') as bucket, brand_id, task_type, priority, sum(n)::int as n
                from hours group by 1, 2, 3, 4) d
       where r."bucket" = d.bucket and r."brand_id" = d.brand_id and r."task_type" = d.task_type and r."priority" = d.priority;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`lock table "task_metrics" in exclusive mode;`);
    // Without the key again, a later `up` counts these rows afresh instead of skipping them as already counted.
    this.addSql(`update "task_metrics" set "rolled" = "rolled" - 'cancelled' where "rolled"->'cancelled' is not null;`);
    this.addSql(`alter table "metric_rollups_daily" drop column "cancelled";`);
    this.addSql(`alter table "metric_rollups" drop column "cancelled";`);
  }
}
