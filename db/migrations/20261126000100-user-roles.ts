import { Migration } from '@mikro-orm/migrations';

/**
 * users.is_admin becomes users.role: `admin` (everything), `admin_viewer` (reads every admin route, changes
 * nothing) or `user` (brand members only). A third value did not fit a boolean.
 */
export class Migration20261126000100_user_roles extends Migration {
  override name = 'Migration20261126000100_user_roles';

  override up(): void | Promise<void> {
    this.addSql(`alter table "users" add column "role" varchar(16) not null default 'user';`);
    this.addSql(`alter table "users" add constraint "users_role_check" check ("role" in ('user', 'admin', 'admin_viewer'));`);
    this.addSql(`update "users" set "role" = 'admin' where "is_admin";`);
    this.addSql(`alter table "users" drop column "is_admin";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "users" add column "is_admin" boolean not null default false;`);
    this.addSql(`update "users" set "is_admin" = true where "role" = 'admin';`);
    this.addSql(`alter table "users" drop constraint "users_role_check";`);
    this.addSql(`alter table "users" drop column "role";`);
  }
}
