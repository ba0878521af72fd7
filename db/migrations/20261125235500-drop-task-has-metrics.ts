import { Migration } from '@mikro-orm/migrations';

/**
 * tasks.has_metrics repeated what the task_metrics row already says (a row exists or not): the `has_metrics` filter now
 * derives it from task_metrics, like `is_resumable` from persistent_jobs, so the two can never disagree.
 */
export class Migration20261125235500_drop_task_has_metrics extends Migration {
  override name = 'Migration20261125235500_drop_task_has_metrics';

  override up(): void | Promise<void> {
    this.addSql(`alter table "tasks" drop column "has_metrics";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "tasks" add column "has_metrics" boolean not null default false;`);
    this.addSql(`update "tasks" t set "has_metrics" = true where exists (select 1 from "task_metrics" m where m.task_id = t.task_id);`);
  }
}
