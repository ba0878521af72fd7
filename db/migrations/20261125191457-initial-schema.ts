import { Migration } from '@mikro-orm/migrations';

export class Migration20261125191457_initial_schema extends Migration {

  override name = 'Migration20261125191457_initial_schema';

  override up(): void | Promise<void> {
    this.addSql(`create table "audit_log" ("id" bigserial primary key, "occurred_at" timestamptz not null, "actor_id" int null, "brand_id" int null, "action" varchar(64) not null, "target_type" varchar(32) not null, "target_id" varchar(64) not null, "details" jsonb not null default '{}', "request_id" varchar(64) null);`);
    this.addSql(`create index "audit_log_brand_id_index" on "audit_log" ("brand_id");`);
    this.addSql(`create index "audit_log_target_id_index" on "audit_log" ("target_id");`);

    this.addSql(`create table "brands" ("id" serial primary key, "name" varchar(200) not null, "created_at" timestamptz not null);`);

    this.addSql(`create table "idempotency_keys" ("scope_hash" varchar(64) not null, "brand_id" int not null, "user_id" int not null, "key" varchar(255) not null, "request_hash" varchar(64) not null, "task_id" varchar(64) not null, "created_at" timestamptz not null, primary key ("scope_hash"));`);

    this.addSql(`create table "users" ("id" serial primary key, "username" varchar(150) not null, "is_admin" boolean not null default false, "is_active" boolean not null default true, "created_at" timestamptz not null);`);
    this.addSql(`alter table "users" add constraint "users_username_unique" unique ("username");`);

    this.addSql(`create table "tasks" ("id" serial primary key, "task_id" varchar(64) not null, "brand_id" int not null, "created_by_id" int not null, "task_type" varchar(64) not null, "status" varchar(16) not null, "priority" varchar(16) not null, "priority_level" smallint not null, "description" text not null default '', "context_data" jsonb not null, "result_data" jsonb null, "error_message" text null, "progress_percentage" double precision not null default 0, "retry_count" int not null default 0, "max_retries" int not null default 3, "timeout_minutes" double precision null, "scheduled_for" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "started_at" timestamptz null, "completed_at" timestamptz null, "seq" int not null default 0, "run_id" varchar(64) null, "reconciled_at" timestamptz null, "has_metrics" boolean not null default false, "is_resumable" boolean not null default false, "deleted_at" timestamptz null);`);
    this.addSql(`alter table "tasks" add constraint "tasks_task_id_unique" unique ("task_id");`);
    this.addSql(`create index "tasks_brand_id_index" on "tasks" ("brand_id");`);

    this.addSql(`create table "brand_memberships" ("user_id" int not null, "brand_id" int not null, "created_at" timestamptz not null, primary key ("user_id", "brand_id"));`);

    this.addSql(`alter table "tasks" add constraint "tasks_brand_id_foreign" foreign key ("brand_id") references "brands" ("id");`);
    this.addSql(`alter table "tasks" add constraint "tasks_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id");`);

    this.addSql(`alter table "brand_memberships" add constraint "brand_memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "brand_memberships" add constraint "brand_memberships_brand_id_foreign" foreign key ("brand_id") references "brands" ("id") on update cascade on delete cascade;`);

    // Hand-written below the generated part: what the entity definitions cannot express.
    this.addSql(`create extension if not exists pg_trgm;`);
    // List filters are always brand-scoped and skip soft-deleted rows; the default order is -created_at.
    this.addSql(`create index "tasks_brand_created_idx" on "tasks" ("brand_id", "created_at" desc, "id" desc) where "deleted_at" is null;`);
    this.addSql(`create index "tasks_brand_status_created_idx" on "tasks" ("brand_id", "status", "created_at" desc) where "deleted_at" is null;`);
    this.addSql(`create index "tasks_brand_type_created_idx" on "tasks" ("brand_id", "task_type", "created_at" desc) where "deleted_at" is null;`);
    this.addSql(`create index "tasks_brand_priority_status_idx" on "tasks" ("brand_id", "priority_level", "status") where "deleted_at" is null;`);
    // The reconciler scans only unfinished rows.
    this.addSql(`create index "tasks_active_updated_idx" on "tasks" ("updated_at") where "status" in ('pending', 'running', 'paused');`);
    // ?search= matches task_id, task_type and description with one trigram index on their concatenation.
    this.addSql(`create index "tasks_search_trgm_idx" on "tasks" using gin (("task_id" || ' ' || "task_type" || ' ' || "description") gin_trgm_ops);`);
    this.addSql(`create index "idempotency_keys_created_idx" on "idempotency_keys" ("created_at");`);
    // The audit trail is append-only: the database itself refuses edits and deletions.
    this.addSql(`create function audit_log_append_only() returns trigger language plpgsql as $$ begin raise exception 'audit_log is append-only'; end $$;`);
    this.addSql(`create trigger audit_log_no_update before update or delete on "audit_log" for each row execute function audit_log_append_only();`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists audit_log_no_update on "audit_log";`);
    this.addSql(`drop function if exists audit_log_append_only();`);
    this.addSql(`alter table "tasks" drop constraint "tasks_brand_id_foreign";`);
    this.addSql(`alter table "brand_memberships" drop constraint "brand_memberships_brand_id_foreign";`);
    this.addSql(`alter table "tasks" drop constraint "tasks_created_by_id_foreign";`);
    this.addSql(`alter table "brand_memberships" drop constraint "brand_memberships_user_id_foreign";`);

    this.addSql(`drop table if exists "audit_log" cascade;`);
    this.addSql(`drop table if exists "brands" cascade;`);
    this.addSql(`drop table if exists "idempotency_keys" cascade;`);
    this.addSql(`drop table if exists "users" cascade;`);
    this.addSql(`drop table if exists "tasks" cascade;`);
    this.addSql(`drop table if exists "brand_memberships" cascade;`);
  }

}
