import type { EntityManager } from '@mikro-orm/postgresql';

/** The channel the `tasks` triggers notify (db/migrations/20261126010200-task-events-notify.ts). */
export const TASK_EVENTS_CHANNEL = 'task_events';

/**
 * Silences the task event triggers until the end of the current transaction (`em` must be inside one). For bulk loads
 * of synthetic or historical rows (benchmark seeding): a statement inserting 100,000 tasks would otherwise hold 100,000
 * notifications in the writing backend's memory until commit, then push them through every API process's LISTEN
 * connection to subscribers who have no use for them.
 */
export async function silenceTaskEvents(em: EntityManager): Promise<void> {
  await em.execute(`set local durable_tasks.task_events = 'off'`);
}
