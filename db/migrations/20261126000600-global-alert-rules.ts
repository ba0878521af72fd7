import { Migration } from '@mikro-orm/migrations';

/**
 * Platform-wide alert rules (issue 8): a rule without a brand watches every brand at once. Only the task-based
 * fields (failure rate, queue depth) can be measured over every brand, so the database refuses any other field on a
 * rule without a brand. Their events have no brand either; the admin history lists every event newest first, hence
 * an index on occurred_at alone (the per-brand history keeps its (brand_id, occurred_at) index).
 * The failure-rate window over every brand is served by tasks_finished_idx (completed_at) of migration admin-jobs.
 */
export class Migration20261126000600_global_alert_rules extends Migration {
  override name = 'Migration20261126000600_global_alert_rules';

  override up(): void | Promise<void> {
    this.addSql(`alter table "alert_rules" alter column "brand_id" drop not null;`);
    this.addSql(
      `alter table "alert_rules" add constraint "alert_rules_global_metric_check" ` +
        `check ("brand_id" is not null or "metric_field" in ('failure_rate_percent', 'queue_depth'));`,
    );
    this.addSql(`create index "alert_rules_global_created_at_index" on "alert_rules" ("created_at") where "brand_id" is null;`);
    this.addSql(`alter table "alert_events" alter column "brand_id" drop not null;`);
    this.addSql(`create index "alert_events_occurred_at_index" on "alert_events" ("occurred_at" desc, "id" desc);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index if exists "alert_events_occurred_at_index";`);
    this.addSql(`drop index if exists "alert_rules_global_created_at_index";`);
    // Global rules and their events cannot exist without a brand: they go with the rollback.
    this.addSql(`delete from "alert_deliveries" where "event_id" in (select "id" from "alert_events" where "brand_id" is null);`);
    this.addSql(`delete from "alert_events" where "brand_id" is null;`);
    this.addSql(`delete from "alert_rules" where "brand_id" is null;`);
    this.addSql(`alter table "alert_events" alter column "brand_id" set not null;`);
    this.addSql(`alter table "alert_rules" drop constraint if exists "alert_rules_global_metric_check";`);
    this.addSql(`alter table "alert_rules" alter column "brand_id" set not null;`);
  }
}
