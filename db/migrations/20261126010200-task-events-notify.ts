import { Migration } from '@mikro-orm/migrations';

/**
 * Every change of a task's status is announced on the `task_events` channel, so the API's WebSockets (api/realtime/)
 * push it without polling. The database announces it rather than the writers because the mirror has several writers
 * (the API's pending row, the workflow's seq-guarded upserts, the reconciler) and a trigger cannot be forgotten by one
 * of them.
 *
 * - AFTER ... FOR EACH ROW fires only for rows actually written: an upsert refused by the `seq` guard updates no row,
 *   `insert ... on conflict do nothing` inserts none, so neither announces anything.
 * - The WHEN clause leaves out updates that keep the status (a newer seq rewriting the same status, progress,
 *   `reconciled_at` bookkeeping).
 * - Progress alone is not announced. A transaction that notifies takes PostgreSQL's global notify lock at commit and
 *   holds it through its WAL flush, so notifying commits run one at a time (measured here with 8 writers: 280 instead
 *   of 1,900 inserts/s; bench/ws-latency.bench.ts). Status changes are a few per task; progress is written every
 *   PROGRESS_WRITE_INTERVAL_MS by every running activity and would make that ceiling a function of running tasks.
 *   The current progress rides along in each status event.
 * - NOTIFY is delivered at commit and in commit order, so a listener sees a task's `running` before its `completed`.
 * - The payload stays under 2 kB (ids, varchar columns of at most 200 characters, numbers, a timestamp), far below
 *   NOTIFY's 8000 bytes. `changed_at` is the time of the row change, so a listener can measure its delivery latency.
 * - `set local durable_tasks.task_events = 'off'` silences both triggers for one transaction (see
 *   db/repositories/task-events.repository.ts silenceTaskEvents): bulk loads of synthetic or historical rows.
 */
export class Migration20261126010200_task_events_notify extends Migration {
  override name = 'Migration20261126010200_task_events_notify';

  override up(): void | Promise<void> {
    this.addSql(`create function tasks_notify_event() returns trigger language plpgsql as $$
      begin
        perform pg_notify('task_events', json_build_object(
          'task_id', new.task_id,
          'id', new.id,
          'brand_id', new.brand_id,
          'status', new.status,
          'previous_status', case when tg_op = 'UPDATE' then old.status end,
          'progress', new.progress_percentage,
          'task_type', new.task_type,
          'name', new.name,
          'seq', new.seq,
          'changed_at', to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        )::text);
        return null;
      end
    $$;`);
    this.addSql(`create trigger tasks_notify_insert after insert on tasks for each row
      when (current_setting('durable_tasks.task_events', true) is distinct from 'off')
      execute function tasks_notify_event();`);
    this.addSql(`create trigger tasks_notify_update after update of status on tasks for each row
      when (old.status is distinct from new.status and current_setting('durable_tasks.task_events', true) is distinct from 'off')
      execute function tasks_notify_event();`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists tasks_notify_update on tasks;`);
    this.addSql(`drop trigger if exists tasks_notify_insert on tasks;`);
    this.addSql(`drop function if exists tasks_notify_event();`);
  }
}
