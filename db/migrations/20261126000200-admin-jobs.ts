import { Migration } from '@mikro-orm/migrations';

/**
 * The admin API reads every brand's jobs at once, so it needs indexes that do not start with brand_id:
 * - keyset pagination over created_at, updated_at, duration (and status + created_at for the failed list);
 * - `duration_ms`, a stored generated column, so a duration can be sorted and paged on an index;
 * - containment search in the input (`data` filter) through a jsonb_path_ops GIN index;
 * - the platform-wide failure rate (global alert rules) by completion time.
 * `error_details` keeps the Temporal failure of a failed run (type, stack traces of the activity and workflow
 * frames, cause chain), written by the workflow with its terminal row.
 */
export class Migration20261126000200_admin_jobs extends Migration {
  override name = 'Migration20261126000200_admin_jobs';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "tasks" add column "duration_ms" double precision generated always as ` +
        `(extract(epoch from ("completed_at" - "started_at")) * 1000) stored;`,
    );
    this.addSql(`alter table "tasks" add column "error_details" jsonb null;`);
    this.addSql(`create index "tasks_created_idx" on "tasks" ("created_at" desc, "id" desc) where "deleted_at" is null;`);
    this.addSql(`create index "tasks_updated_idx" on "tasks" ("updated_at" desc, "id" desc) where "deleted_at" is null;`);
    this.addSql(`create index "tasks_status_created_idx" on "tasks" ("status", "created_at" desc, "id" desc) where "deleted_at" is null;`);
    this.addSql(`create index "tasks_duration_idx" on "tasks" ((coalesce("duration_ms", -1)) desc, "id" desc) where "deleted_at" is null;`);
    this.addSql(`create index "tasks_context_data_gin" on "tasks" using gin ("context_data" jsonb_path_ops) where "deleted_at" is null;`);
    this.addSql(`create index "tasks_finished_idx" on "tasks" ("completed_at") where "deleted_at" is null and "status" in ('completed', 'failed');`);
    this.addSql(`create index "tasks_created_by_idx" on "tasks" ("created_by_id", "created_at" desc) where "deleted_at" is null;`);
  }

  override down(): void | Promise<void> {
    for (const index of ['tasks_created_idx', 'tasks_updated_idx', 'tasks_status_created_idx', 'tasks_duration_idx', 'tasks_context_data_gin', 'tasks_finished_idx', 'tasks_created_by_idx']) {
      this.addSql(`drop index if exists "${index}";`);
    }
    this.addSql(`alter table "tasks" drop column "error_details";`);
    this.addSql(`alter table "tasks" drop column "duration_ms";`);
  }
}
