import { Migration } from '@mikro-orm/migrations';

export class Migration20261125201612_persistent_jobs extends Migration {

  override name = 'Migration20261125201612_persistent_jobs';

  override up(): void | Promise<void> {
    this.addSql(`create table "persistent_jobs" ("id" serial primary key, "task_id" varchar(64) not null, "brand_id" int not null, "job_type" varchar(64) not null, "job_data" jsonb not null, "settings" jsonb not null, "steps" jsonb not null, "current_step" varchar(64) null, "total_steps" int not null, "items_total" int null, "items_done" int not null default 0, "progress_percentage" double precision not null default 0, "status" varchar(16) not null, "auto_resume" boolean not null default false, "generation" int not null default 0, "throughput_per_second" double precision null, "estimated_completion" timestamptz null, "error_message" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "started_at" timestamptz null, "paused_at" timestamptz null, "completed_at" timestamptz null, "seq" bigint not null default '0', "deleted_at" timestamptz null);`);
    this.addSql(`alter table "persistent_jobs" add constraint "persistent_jobs_task_id_unique" unique ("task_id");`);
    this.addSql(`create index "persistent_jobs_brand_id_index" on "persistent_jobs" ("brand_id");`);

    this.addSql(`create table "job_checkpoints" ("id" bigserial primary key, "job_id" int not null, "brand_id" int not null, "generation" int not null, "sequence" int not null, "step" varchar(64) not null, "items_done" int not null, "state" jsonb null, "checksum" varchar(64) not null, "size_bytes" int not null, "is_milestone" boolean not null default false, "source" varchar(16) not null default 'job', "compacted" boolean not null default false, "created_at" timestamptz not null);`);
    this.addSql(`create index "job_checkpoints_brand_id_index" on "job_checkpoints" ("brand_id");`);
    this.addSql(`alter table "job_checkpoints" add constraint "job_checkpoints_job_id_generation_sequence_unique" unique ("job_id", "generation", "sequence");`);

    this.addSql(`create table "persistent_job_items" ("job_id" int not null, "generation" int not null, "item_key" varchar(255) not null, "result" jsonb null, "attempts" int not null default 1, "processed_at" timestamptz not null, primary key ("job_id", "generation", "item_key"));`);

    this.addSql(`alter table "tasks" alter column "seq" type bigint using ("seq"::bigint);`);
    this.addSql(`alter table "tasks" alter column "seq" set default '0';`);

    this.addSql(`alter table "persistent_jobs" add constraint "persistent_jobs_brand_id_foreign" foreign key ("brand_id") references "brands" ("id");`);

    this.addSql(`alter table "job_checkpoints" add constraint "job_checkpoints_job_id_foreign" foreign key ("job_id") references "persistent_jobs" ("id") on delete cascade;`);

    // Hand-written: the job is bound to its base task; lists are brand-scoped; a resume reads the newest checkpoints first.
    this.addSql(`alter table "persistent_jobs" add constraint "persistent_jobs_task_id_foreign" foreign key ("task_id") references "tasks" ("task_id");`);
    this.addSql(`create index "persistent_jobs_brand_status_idx" on "persistent_jobs" ("brand_id", "status", "created_at" desc) where "deleted_at" is null;`);
    this.addSql(`create index "job_checkpoints_job_latest_idx" on "job_checkpoints" ("job_id", "generation", "sequence" desc);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "job_checkpoints" drop constraint "job_checkpoints_job_id_foreign";`);

    this.addSql(`drop table if exists "persistent_jobs" cascade;`);
    this.addSql(`drop table if exists "job_checkpoints" cascade;`);
    this.addSql(`drop table if exists "persistent_job_items" cascade;`);

    this.addSql(`alter table "tasks" alter column "seq" type int using ("seq"::int);`);
    this.addSql(`alter table "tasks" alter column "seq" set default 0;`);
  }

}
