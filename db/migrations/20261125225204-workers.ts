import { Migration } from '@mikro-orm/migrations';

/** The worker registry (task_monitoring `workers/`): platform-wide, one row per worker process or external worker. */
export class Migration20261125225204_workers extends Migration {
  override name = 'Migration20261125225204_workers';

  override up(): void | Promise<void> {
    this.addSql(`create table "workers" ("id" serial primary key, "worker_id" varchar(200) not null, "host" varchar(255) not null, "pid" int null, "task_queues" jsonb not null, "queue_name" varchar(200) not null, "version" varchar(64) null, "build_id" varchar(128) null, "sdk" varchar(32) not null, "source" varchar(16) not null, "status" text not null, "active_tasks" int not null default 0, "max_concurrency" int null, "load" double precision null, "memory_mb" double precision null, "cpu_percent" double precision null, "heartbeat_interval_seconds" double precision null, "metadata" jsonb not null default '{}', "started_at" timestamptz not null, "last_heartbeat_at" timestamptz not null, "stopped_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null);`);
    this.addSql(`alter table "workers" add constraint "workers_worker_id_unique" unique ("worker_id");`);
    this.addSql(`create index "workers_queue_name_index" on "workers" ("queue_name");`);
    this.addSql(`create index "workers_last_heartbeat_at_index" on "workers" ("last_heartbeat_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "workers" cascade;`);
  }
}
