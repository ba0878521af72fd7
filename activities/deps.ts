import type { MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../api/config';
import type { JobWorkflowGateway } from '../api/temporal/job-workflows';
import type { ScheduleGateway } from '../api/temporal/schedules';
import type { TaskWorkflowGateway } from '../api/temporal/task-workflows';

/** What activities may touch, built once by the worker and passed in (no module-level singletons). */
export interface ActivityDeps {
  orm: MikroORM;
  config: AppConfig;
  tasks: TaskWorkflowGateway;
  /** Starts and signals persistent job runs (the auto-resume schedule resumes jobs through it). */
  jobs: JobWorkflowGateway;
  /** Reads Schedules: a firing refreshes its schedule's next run time; the reconciler compares Schedules and rows. */
  schedules: ScheduleGateway;
}
