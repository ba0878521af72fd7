import { Migration } from '@mikro-orm/migrations';

/**
 * API keys and the request rate-limit counters of the public API v1.
 * - `api_keys`: a key is `dtk_<prefix>_<secret>`; only the public `prefix` (unique, shown in lists) and the sha256 of
 *   the secret are stored. Scoped to one brand and a role; revoked or expired keys stay for the audit trail.
 * - `rate_limits`: the counters of rate-limiter-flexible's RateLimiterPostgres (its own column layout: key, points,
 *   expire in epoch ms), one row per caller and window, shared by every API process. UNLOGGED: a counter write is on
 *   the path of every request and skips the WAL; after a crash the table is empty, which only resets the budgets.
 *   Created here rather than by the library at start-up (schema changes go through migrations only).
 */
export class Migration20261126010100_api_keys extends Migration {
  override name = 'Migration20261126010100_api_keys';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "api_keys" ("id" serial primary key, "name" varchar(100) not null, "prefix" varchar(16) not null, ` +
        `"key_hash" char(64) not null, "brand_id" int not null, "role" varchar(16) not null default 'user', ` +
        `"created_by_id" int not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, ` +
        `"expires_at" timestamptz null, "revoked_at" timestamptz null);`,
    );
    this.addSql(`alter table "api_keys" add constraint "api_keys_prefix_unique" unique ("prefix");`);
    this.addSql(
      `alter table "api_keys" add constraint "api_keys_role_check" check ("role" in ('user', 'admin', 'admin_viewer', 'worker'));`,
    );
    this.addSql(
      `alter table "api_keys" add constraint "api_keys_brand_id_foreign" foreign key ("brand_id") references "brands" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "api_keys" add constraint "api_keys_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on delete cascade;`,
    );
    // Lists: a user's own keys, an admin's view of a brand's keys.
    this.addSql(`create index "api_keys_created_by_id_index" on "api_keys" ("created_by_id");`);
    this.addSql(`create index "api_keys_brand_id_index" on "api_keys" ("brand_id");`);

    this.addSql(`create unlogged table "rate_limits" ("key" varchar(255) primary key, "points" int not null default 0, "expire" bigint);`);
    // The library sweeps rows expired an hour ago every five minutes by `expire`.
    this.addSql(`create index "rate_limits_expire_index" on "rate_limits" ("expire");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "rate_limits";`);
    this.addSql(`drop table if exists "api_keys" cascade;`);
  }
}
