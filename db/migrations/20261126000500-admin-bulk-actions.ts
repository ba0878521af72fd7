import { Migration } from '@mikro-orm/migrations';

/**
 * Admin bulk actions by filter: one row per confirmed bulk (its id is the Temporal workflow id). The row is the
 * durable truth of a bulk's progress: the activity writes counts and the cursor (`last_task_id`) together after each
 * page, so a resume continues after the last job handled and never redoes one. `max_task_id` is the dry run's
 * snapshot: jobs created after it are never touched, whatever the filter matches by then.
 */
export class Migration20261126000500_admin_bulk_actions extends Migration {
  override name = 'Migration20261126000500_admin_bulk_actions';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "admin_bulk_actions" ("id" serial primary key, "bulk_id" text not null, "action" varchar(16) not null, ` +
        `"filter" jsonb not null, "new_priority" varchar(16) null, "force" boolean not null default false, "reason" text null, ` +
        `"max_task_id" int not null, "total_at_dry_run" int not null, "processed" int not null default 0, ` +
        `"succeeded" int not null default 0, "skipped" int not null default 0, "failed" int not null default 0, ` +
        `"last_task_id" int not null default 0, "status" varchar(16) not null default 'running', "created_by_id" int not null, ` +
        `"created_at" timestamptz not null, "updated_at" timestamptz not null, "finished_at" timestamptz null, ` +
        `"last_error" text null, "errors" jsonb not null default '[]');`,
    );
    this.addSql(`alter table "admin_bulk_actions" add constraint "admin_bulk_actions_bulk_id_unique" unique ("bulk_id");`);
    this.addSql(
      `alter table "admin_bulk_actions" add constraint "admin_bulk_actions_action_check" check ("action" in ('retry', 'cancel', 'delete', 'reprioritize'));`,
    );
    this.addSql(
      `alter table "admin_bulk_actions" add constraint "admin_bulk_actions_status_check" check ("status" in ('running', 'completed', 'failed', 'cancelled'));`,
    );
    this.addSql(
      `alter table "admin_bulk_actions" add constraint "admin_bulk_actions_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id");`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "admin_bulk_actions" cascade;`);
  }
}
