import { Migration } from '@mikro-orm/migrations';

/**
 * Monitoring (issue 7): alert rules, their events (fired, resolved, test) and each delivery attempt to a channel; plus a
 * partial index on finished tasks so a failure-rate rule reads only its window of the brand's tasks every minute.
 */
export class Migration20261125224501_alert_rules extends Migration {
  override name = 'Migration20261125224501_alert_rules';

  override up(): void | Promise<void> {
    this.addSql(`create table "alert_rules" ("id" serial primary key, "brand_id" int not null, "created_by_id" int not null, "name" varchar(200) not null, "description" text not null default '', "metric_field" varchar(32) not null, "aggregation" varchar(8) null, "condition" varchar(4) not null, "threshold" double precision not null, "window_minutes" double precision not null, "min_samples" int not null default 1, "scope_task_type" varchar(64) null, "scope_priority" varchar(16) null, "cooldown_minutes" double precision not null, "channels" jsonb not null, "is_active" boolean not null default true, "state" varchar(8) not null default 'ok', "last_value" double precision null, "last_samples" int null, "last_evaluated_at" timestamptz null, "firing_since" timestamptz null, "fired_value" double precision null, "firing_event_id" bigint null, "last_triggered_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null);`);
    this.addSql(`create index "alert_rules_brand_id_created_at_index" on "alert_rules" ("brand_id", "created_at");`);
    this.addSql(`alter table "alert_rules" add constraint "alert_rules_brand_id_foreign" foreign key ("brand_id") references "brands" ("id");`);
    this.addSql(`alter table "alert_rules" add constraint "alert_rules_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id");`);

    this.addSql(`create table "alert_events" ("id" bigserial primary key, "rule_id" int not null, "brand_id" int not null, "kind" varchar(16) not null, "value" double precision null, "threshold" double precision not null, "samples" int null, "payload" jsonb not null, "delivery_workflow_id" varchar(128) null, "occurred_at" timestamptz not null);`);
    this.addSql(`create index "alert_events_brand_id_occurred_at_index" on "alert_events" ("brand_id", "occurred_at");`);
    this.addSql(`create index "alert_events_rule_id_occurred_at_index" on "alert_events" ("rule_id", "occurred_at");`);
    this.addSql(`alter table "alert_events" add constraint "alert_events_rule_id_foreign" foreign key ("rule_id") references "alert_rules" ("id");`);

    this.addSql(`create table "alert_deliveries" ("id" bigserial primary key, "event_id" bigint not null, "channel" varchar(16) not null, "channel_index" int not null, "target" text not null, "attempt" int not null, "status" varchar(16) not null, "response_status" int null, "error" text null, "idempotency_key" varchar(200) not null, "created_at" timestamptz not null, "delivered_at" timestamptz null);`);
    this.addSql(`create index "alert_deliveries_event_id_index" on "alert_deliveries" ("event_id");`);
    this.addSql(`alter table "alert_deliveries" add constraint "alert_deliveries_event_id_foreign" foreign key ("event_id") references "alert_events" ("id");`);

    this.addSql(`create index "tasks_brand_finished_idx" on "tasks" ("brand_id", "completed_at") where "deleted_at" is null and "status" in ('completed', 'failed');`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "tasks_brand_finished_idx";`);
    this.addSql(`drop table if exists "alert_deliveries" cascade;`);
    this.addSql(`drop table if exists "alert_events" cascade;`);
    this.addSql(`drop table if exists "alert_rules" cascade;`);
  }
}
