import { Migration } from '@mikro-orm/migrations';

/**
 * The audit trail becomes a hash chain that the database builds itself, so every insert path (insertAudit, the
 * periodic-task CTE, a psql session) is chained and no application code can forget it.
 *
 * Canonical text of a row (the one definition; db/repositories/audit.repository.ts `verifyAuditChain` recomputes
 * it in TypeScript from the same fields rendered by PostgreSQL and must agree with it):
 *
 *   prev_hash|id|occurred_at|actor_id|actor_name|actor_role|brand_id|action|target_type|target_id|details|before|after|request_id|ip
 *
 * - each field is PostgreSQL's text output: `id::text`, `actor_id::text`, `brand_id::text`, jsonb as `::text`
 *   (jsonb output is normalised: key order and spacing do not depend on how the row was written), and
 *   `occurred_at` as `to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` (UTC, microseconds,
 *   independent of the session's TimeZone);
 * - SQL NULL is the empty string;
 * - inside a field `\` is written `\\` and `|` is written `\|`, so no value can move a separator and shift the
 *   fields around it without changing the text;
 * - hash = lower-case hex of sha256 over the UTF-8 bytes of that text; the first row's prev_hash is 64 zeros.
 *
 * Chain order is id order: the BEFORE INSERT trigger takes a transaction-level advisory lock, then assigns the id
 * from the sequence and reads the previous row under that lock, so two interleaved transactions can never take the
 * same predecessor (the second waits for the first to commit or roll back, then reads its row). The column default
 * of `id` is dropped: an id comes only from the trigger, and an insert that bypasses it (triggers disabled) fails.
 * A unique index on prev_hash makes a fork impossible even for a transaction whose snapshot predates its lock
 * (REPEATABLE READ): it would reuse a predecessor and be refused.
 *
 * UPDATE, DELETE and TRUNCATE are refused by triggers (the API connects as the table owner; locally it is even a
 * superuser, on whom grants would not bind, hence triggers rather than REVOKE). A superuser can still disable
 * triggers; `verify` is what detects what such a session changed.
 */
export class Migration20261126000300_audit_chain extends Migration {
  override name = 'Migration20261126000300_audit_chain';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "audit_log" add column "actor_name" varchar(150) null, add column "actor_role" varchar(16) null, ` +
        `add column "ip" varchar(64) null, add column "before" jsonb null, add column "after" jsonb null, ` +
        `add column "prev_hash" char(64) null, add column "hash" char(64) null;`,
    );

    this.addSql(
      `create function audit_log_field(value text) returns text language sql immutable parallel safe as ` +
        `$$ select replace(replace(coalesce(value, ''), '\\', '\\\\'), '|', '\\|') $$;`,
    );
    this.addSql(`create function audit_log_hash(r audit_log) returns char(64) language sql stable parallel safe as $$
      select encode(sha256(convert_to(concat_ws('|',
        audit_log_field(r.prev_hash::text),
        audit_log_field(r.id::text),
        audit_log_field(to_char(r.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
        audit_log_field(r.actor_id::text),
        audit_log_field(r.actor_name::text),
        audit_log_field(r.actor_role::text),
        audit_log_field(r.brand_id::text),
        audit_log_field(r.action::text),
        audit_log_field(r.target_type::text),
        audit_log_field(r.target_id::text),
        audit_log_field(r.details::text),
        audit_log_field(r.before::text),
        audit_log_field(r.after::text),
        audit_log_field(r.request_id::text),
        audit_log_field(r.ip::text)), 'UTF8')), 'hex')
    $$;`);

    // Backfill the rows written before the chain, in id order. Only this migration may rewrite them: the
    // append-only trigger is off for the backfill and back on right after, in the same transaction.
    this.addSql(`alter table "audit_log" disable trigger "audit_log_no_update";`);
    this.addSql(`do $$
      declare
        r audit_log;
        previous char(64) := repeat('0', 64);
      begin
        for r in select * from audit_log order by id loop
          r.prev_hash := previous;
          r.hash := audit_log_hash(r);
          update audit_log set prev_hash = r.prev_hash, hash = r.hash where id = r.id;
          previous := r.hash;
        end loop;
      end $$;`);
    this.addSql(`alter table "audit_log" enable trigger "audit_log_no_update";`);
    this.addSql(`alter table "audit_log" alter column "prev_hash" set not null, alter column "hash" set not null;`);
    this.addSql(`alter table "audit_log" alter column "id" drop default;`);

    // 7022629598041763687 = the ASCII bytes of "auditlog": the one lock every audit insert takes.
    this.addSql(`create function audit_log_chain() returns trigger language plpgsql as $$
      declare
        previous char(64);
      begin
        perform pg_advisory_xact_lock(7022629598041763687);
        NEW.id := nextval('audit_log_id_seq'::regclass);
        NEW.occurred_at := coalesce(NEW.occurred_at, clock_timestamp());
        select a.hash into previous from audit_log a order by a.id desc limit 1;
        NEW.prev_hash := coalesce(previous, repeat('0', 64));
        NEW.hash := audit_log_hash(NEW);
        return NEW;
      end $$;`);
    this.addSql(`create trigger "audit_log_chain" before insert on "audit_log" for each row execute function audit_log_chain();`);
    this.addSql(`create trigger "audit_log_no_truncate" before truncate on "audit_log" for each statement execute function audit_log_append_only();`);

    this.addSql(`create unique index "audit_log_prev_hash_unique" on "audit_log" ("prev_hash");`);
    // GET /admin/audit: every filter pages by id desc (keyset).
    this.addSql(`create index "audit_log_occurred_at_idx" on "audit_log" ("occurred_at");`);
    this.addSql(`create index "audit_log_actor_id_idx" on "audit_log" ("actor_id", "id");`);
    this.addSql(`create index "audit_log_actor_name_idx" on "audit_log" ("actor_name", "id");`);
    // varchar_pattern_ops: `action = ?` and the prefix filter `action like 'task.%'` use the same index.
    this.addSql(`create index "audit_log_action_idx" on "audit_log" ("action" varchar_pattern_ops, "id");`);
    this.addSql(`create index "audit_log_target_idx" on "audit_log" ("target_type", "target_id", "id");`);
  }

  override down(): void | Promise<void> {
    for (const index of ['audit_log_target_idx', 'audit_log_action_idx', 'audit_log_actor_name_idx', 'audit_log_actor_id_idx', 'audit_log_occurred_at_idx', 'audit_log_prev_hash_unique']) {
      this.addSql(`drop index if exists "${index}";`);
    }
    this.addSql(`drop trigger if exists "audit_log_no_truncate" on "audit_log";`);
    this.addSql(`drop trigger if exists "audit_log_chain" on "audit_log";`);
    this.addSql(`drop function if exists audit_log_chain();`);
    this.addSql(`alter table "audit_log" alter column "id" set default nextval('audit_log_id_seq'::regclass);`);
    this.addSql(`drop function if exists audit_log_hash(audit_log);`);
    this.addSql(`drop function if exists audit_log_field(text);`);
    this.addSql(
      `alter table "audit_log" drop column "hash", drop column "prev_hash", drop column "after", drop column "before", ` +
        `drop column "ip", drop column "actor_role", drop column "actor_name";`,
    );
  }
}
