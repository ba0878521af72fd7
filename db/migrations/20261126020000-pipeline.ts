import { Migration } from '@mikro-orm/migrations';

/**
 * The tasks a `pipeline` starts for its steps (and their compensations) name it in `parent_task_id` (its task_id), so
 * `GET /tasks/?parent_task_id=` lists a pipeline's children. Partial index: almost every task has no parent.
 */
export class Migration20261126020000_pipeline extends Migration {
  override name = 'Migration20261126020000_pipeline';

  override up(): void | Promise<void> {
    this.addSql(`alter table "tasks" add column "parent_task_id" varchar(64) null;`);
    this.addSql(`create index "tasks_parent_task_id_idx" on "tasks" ("parent_task_id") where "parent_task_id" is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "tasks_parent_task_id_idx";`);
    this.addSql(`alter table "tasks" drop column "parent_task_id";`);
  }
}
