import { Migration } from '@mikro-orm/migrations';

/**
 * Monitoring (issue 7): activity attempts measured by the worker, one metrics row per task (seed 000 TaskMetrics), and
 * the hourly rollups dashboards read.
 */
export class Migration20261125224109_task_metrics extends Migration {
  override name = 'Migration20261125224109_task_metrics';

  override up(): void | Promise<void> {
    this.addSql(`create table "activity_executions" ("id" bigserial primary key, "task_id" varchar(64) not null, "run_id" varchar(64) not null, "activity_id" varchar(64) not null, "activity_type" varchar(128) not null, "attempt" int not null, "started_at" timestamptz not null, "wall_ms" double precision not null, "cpu_ms" double precision not null, "rss_delta_mb" double precision not null, "error" text null);`);
    this.addSql(`create index "activity_executions_task_id_index" on "activity_executions" ("task_id");`);
    this.addSql(`alter table "activity_executions" add constraint "activity_executions_task_id_run_id_activity_id_attempt_unique" unique ("task_id", "run_id", "activity_id", "attempt");`);
    this.addSql(`create table "metric_rollups" ("id" bigserial primary key, "bucket" timestamptz not null, "brand_id" int not null, "task_type" varchar(64) not null, "priority" varchar(16) not null, "tasks" int not null default 0, "failed" int not null default 0, "with_errors" int not null default 0, "error_count" int not null default 0, "exec_ms_sum" double precision not null default 0, "exec_ms_max" double precision not null default 0, "cpu_pct_sum" double precision not null default 0, "mem_mb_sum" double precision not null default 0, "mem_mb_max" double precision not null default 0, "cost_sum" double precision not null default 0, "durations" jsonb not null);`);
    this.addSql(`alter table "metric_rollups" add constraint "metric_rollups_bucket_brand_id_task_type_priority_unique" unique ("bucket", "brand_id", "task_type", "priority");`);
    this.addSql(`create table "task_metrics" ("id" serial primary key, "task_id" varchar(64) not null, "brand_id" int not null, "task_type" varchar(64) not null, "priority" varchar(16) not null, "status" varchar(16) null, "execution_time_ms" double precision not null, "cpu_time_ms" double precision not null default 0, "cpu_usage_percent" double precision not null, "memory_usage_mb" double precision not null, "cost_usd" double precision not null, "error_count" int not null default 0, "attempts" int not null default 0, "activity_count" int not null default 0, "source" varchar(16) not null, "details" jsonb null, "finished_at" timestamptz not null, "rolled" jsonb null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`);
    this.addSql(`alter table "task_metrics" add constraint "task_metrics_task_id_unique" unique ("task_id");`);
    this.addSql(`create index "task_metrics_brand_id_finished_at_index" on "task_metrics" ("brand_id", "finished_at");`);
    this.addSql(`create index "task_metrics_task_type_finished_at_index" on "task_metrics" ("task_type", "finished_at");`);
    this.addSql(`create index "metric_rollups_brand_bucket_index" on "metric_rollups" ("brand_id", "bucket");`);
    this.addSql(`create index "task_metrics_brand_cost_index" on "task_metrics" ("brand_id", "cost_usd" desc);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "activity_executions" cascade;`);
    this.addSql(`drop table if exists "metric_rollups" cascade;`);
    this.addSql(`drop table if exists "task_metrics" cascade;`);
  }
}
