import { Migration } from '@mikro-orm/migrations';

/**
 * tasks.is_resumable was never written: whether a task can resume is its persistent job's state, so the
 * `is_resumable` filter now derives it from persistent_jobs instead of a second copy that could drift.
 */
export class Migration20261125213000_drop_task_is_resumable extends Migration {
  override name = 'Migration20261125213000_drop_task_is_resumable';

  override up(): void | Promise<void> {
    this.addSql(`alter table "tasks" drop column "is_resumable";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "tasks" add column "is_resumable" boolean not null default false;`);
  }
}
