import { Migration } from '@mikro-orm/migrations';

/**
 * Scheduling (issue 6): the mirror of Temporal Schedules (periodic tasks and cron jobs), per-brand business calendars
 * and their events, which calendars each schedule skips, and the link from a firing's task to its schedule.
 */
export class Migration20261125214126_scheduling extends Migration {
  override name = 'Migration20261125214126_scheduling';

  override up(): void | Promise<void> {
    this.addSql(`create table "task_calendars" ("id" serial primary key, "brand_id" int not null, "created_by_id" int not null, "name" varchar(200) not null, "description" text not null default '', "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null);`);
    this.addSql(`create index "task_calendars_brand_id_index" on "task_calendars" ("brand_id");`);

    this.addSql(`create table "calendar_events" ("id" serial primary key, "calendar_id" int not null, "kind" varchar(16) not null, "name" varchar(200) not null, "start_date" varchar(10) null, "end_date" varchar(10) null, "start_time" varchar(5) null, "end_time" varchar(5) null, "recurs_yearly" boolean not null default false, "days_of_week" jsonb null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`);
    this.addSql(`create index "calendar_events_calendar_id_index" on "calendar_events" ("calendar_id");`);

    this.addSql(`create table "periodic_tasks" ("id" serial primary key, "schedule_id" varchar(64) not null, "kind" varchar(16) not null default 'periodic', "brand_id" int not null, "created_by_id" int not null, "name" varchar(200) not null, "base_task_id" int null, "task_type" varchar(64) not null, "priority" varchar(16) not null, "description" text not null default '', "context_data" jsonb not null, "max_retries" int not null default 3, "timeout_minutes" double precision null, "cron_expression" varchar(200) not null, "frequency" varchar(16) null, "job_type" varchar(32) null, "timezone" varchar(64) not null, "start_at" timestamptz null, "end_at" timestamptz null, "overlap_policy" varchar(16) not null, "catchup_window_seconds" int not null, "jitter_seconds" int not null default 0, "is_active" boolean not null default true, "paused_note" text null, "next_run_at" timestamptz null, "last_run_at" timestamptz null, "last_run_status" varchar(16) null, "last_task_id" varchar(64) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null);`);
    this.addSql(`alter table "periodic_tasks" add constraint "periodic_tasks_schedule_id_unique" unique ("schedule_id");`);
    this.addSql(`create index "periodic_tasks_brand_id_index" on "periodic_tasks" ("brand_id");`);
    this.addSql(`create index "periodic_tasks_base_task_id_index" on "periodic_tasks" ("base_task_id");`);
    this.addSql(`create index "periodic_tasks_brand_id_next_run_at_index" on "periodic_tasks" ("brand_id", "next_run_at");`);

    this.addSql(`create table "periodic_task_calendars" ("periodic_task_id" int not null, "calendar_id" int not null, primary key ("periodic_task_id", "calendar_id"));`);
    this.addSql(`create index "periodic_task_calendars_calendar_id_index" on "periodic_task_calendars" ("calendar_id");`);

    this.addSql(`alter table "tasks" add "schedule_id" varchar(64) null;`);
    this.addSql(`create index "tasks_schedule_id_scheduled_for_index" on "tasks" ("schedule_id", "scheduled_for");`);

    this.addSql(`alter table "task_calendars" add constraint "task_calendars_brand_id_foreign" foreign key ("brand_id") references "brands" ("id");`);
    this.addSql(`alter table "task_calendars" add constraint "task_calendars_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id");`);

    this.addSql(`alter table "calendar_events" add constraint "calendar_events_calendar_id_foreign" foreign key ("calendar_id") references "task_calendars" ("id") on delete cascade;`);

    this.addSql(`alter table "periodic_tasks" add constraint "periodic_tasks_brand_id_foreign" foreign key ("brand_id") references "brands" ("id");`);
    this.addSql(`alter table "periodic_tasks" add constraint "periodic_tasks_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id");`);

    this.addSql(`alter table "periodic_task_calendars" add constraint "periodic_task_calendars_periodic_task_id_foreign" foreign key ("periodic_task_id") references "periodic_tasks" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "periodic_task_calendars" add constraint "periodic_task_calendars_calendar_id_foreign" foreign key ("calendar_id") references "task_calendars" ("id") on update cascade on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "calendar_events" drop constraint "calendar_events_calendar_id_foreign";`);
    this.addSql(`alter table "periodic_task_calendars" drop constraint "periodic_task_calendars_calendar_id_foreign";`);
    this.addSql(`alter table "periodic_task_calendars" drop constraint "periodic_task_calendars_periodic_task_id_foreign";`);

    this.addSql(`drop table if exists "task_calendars" cascade;`);
    this.addSql(`drop table if exists "calendar_events" cascade;`);
    this.addSql(`drop table if exists "periodic_tasks" cascade;`);
    this.addSql(`drop table if exists "periodic_task_calendars" cascade;`);

    this.addSql(`drop index "tasks_schedule_id_scheduled_for_index";`);
    this.addSql(`alter table "tasks" drop column "schedule_id";`);
  }

}
