import { Migration } from '@mikro-orm/migrations';

/** Daily rollups beside the hourly ones: long dashboard periods add up days, not hours. */
export class Migration20261125231000_metric_rollups_daily extends Migration {
  override name = 'Migration20261125231000_metric_rollups_daily';

  override up(): void | Promise<void> {
    this.addSql(`create table "metric_rollups_daily" ("id" bigserial primary key, "bucket" timestamptz not null, "brand_id" int not null, "task_type" varchar(64) not null, "priority" varchar(16) not null, "tasks" int not null default 0, "failed" int not null default 0, "with_errors" int not null default 0, "error_count" int not null default 0, "exec_ms_sum" double precision not null default 0, "exec_ms_max" double precision not null default 0, "cpu_pct_sum" double precision not null default 0, "mem_mb_sum" double precision not null default 0, "mem_mb_max" double precision not null default 0, "cost_sum" double precision not null default 0, "durations" jsonb not null);`);
    this.addSql(`alter table "metric_rollups_daily" add constraint "metric_rollups_daily_bucket_brand_id_task_type_priority_unique" unique ("bucket", "brand_id", "task_type", "priority");`);
    this.addSql(`create index "metric_rollups_daily_brand_bucket_index" on "metric_rollups_daily" ("brand_id", "bucket");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "metric_rollups_daily" cascade;`);
  }
}
