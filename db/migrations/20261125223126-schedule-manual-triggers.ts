import { Migration } from '@mikro-orm/migrations';

/** Runs asked for through the API (execute-now, execute-ready): such a firing is never judged late. */
export class Migration20261125223126_schedule_manual_triggers extends Migration {
  override name = 'Migration20261125223126_schedule_manual_triggers';

  override up(): void | Promise<void> {
    this.addSql(`create table "schedule_manual_triggers" ("id" bigserial primary key, "schedule_id" varchar(64) not null, "requested_at" timestamptz not null);`);
    this.addSql(`create index "schedule_manual_triggers_schedule_id_requested_at_index" on "schedule_manual_triggers" ("schedule_id", "requested_at");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "schedule_manual_triggers" cascade;`);
  }

}
