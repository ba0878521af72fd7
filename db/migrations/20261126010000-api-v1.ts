import { Migration } from '@mikro-orm/migrations';

/**
 * Public API v1 (issue 9):
 * - `tasks.name`: the seed's task name (a label; /tasks/ shows it too). Null for tasks created without one.
 * - `tasks.worker_id`: identity of the worker that ran the task's latest activity, written by the worker's activity
 *   interceptor when an activity starts, so `GET /api/v1/tasks?worker_id=` is one index range per brand
 *   (`tasks_brand_worker_idx`) instead of a join over every activity attempt.
 * - `activity_executions.worker_id`: the same identity per measured attempt (which worker ran which attempt).
 */
export class Migration20261126010000_api_v1 extends Migration {
  override name = 'Migration20261126010000_api_v1';

  override up(): void | Promise<void> {
    this.addSql(`alter table "tasks" add column "name" varchar(200) null;`);
    this.addSql(`alter table "tasks" add column "worker_id" varchar(200) null;`);
    this.addSql(
      `create index "tasks_brand_worker_idx" on "tasks" ("brand_id", "worker_id", "created_at" desc, "id" desc) ` +
        `where "deleted_at" is null and "worker_id" is not null;`,
    );
    this.addSql(`alter table "activity_executions" add column "worker_id" varchar(200) null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "activity_executions" drop column "worker_id";`);
    this.addSql(`drop index if exists "tasks_brand_worker_idx";`);
    this.addSql(`alter table "tasks" drop column "worker_id";`);
    this.addSql(`alter table "tasks" drop column "name";`);
  }
}
