import { Migration } from '@mikro-orm/migrations';

/**
 * Password login for the dashboard (POST /auth/login):
 * - `users.password_hash`: `scrypt$N$r$p$salt$hash` (base64url salt and hash), null = no password login;
 * - `login_attempts`: failed-login counters per username and per client IP in fixed windows. They live in
 *   PostgreSQL, not in process memory, so several API processes enforce one limit.
 */
export class Migration20261126000400_user_passwords extends Migration {
  override name = 'Migration20261126000400_user_passwords';

  override up(): void | Promise<void> {
    this.addSql(`alter table "users" add column "password_hash" text null;`);
    this.addSql(
      `create table "login_attempts" ("scope" varchar(8) not null, "key" varchar(160) not null, ` +
        `"window_start" timestamptz not null, "failures" int not null default 0, primary key ("scope", "key"), ` +
        `constraint "login_attempts_scope_check" check ("scope" in ('user', 'ip')));`,
    );
    // Expired windows are swept by age.
    this.addSql(`create index "login_attempts_window_start_index" on "login_attempts" ("window_start");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "login_attempts";`);
    this.addSql(`alter table "users" drop column "password_hash";`);
  }
}
