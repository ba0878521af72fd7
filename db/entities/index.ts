import { AlertDelivery, AlertEvent, AlertRule } from './alert.entity';
import { AuditLog } from './audit-log.entity';
import { Brand } from './brand.entity';
import { BrandMembership } from './brand-membership.entity';
import { IdempotencyKey } from './idempotency-key.entity';
import { JobCheckpoint } from './job-checkpoint.entity';
import { PersistentJob } from './persistent-job.entity';
import { PersistentJobItem } from './persistent-job-item.entity';
import { CalendarEvent, PeriodicTask, PeriodicTaskCalendar, ScheduleManualTrigger, TaskCalendar } from './periodic-task.entity';
import { ActivityExecution, MetricRollup, TaskMetrics } from './task-metrics.entity';
import { Task } from './task.entity';
import { User } from './user.entity';

export { ActivityExecution, MetricRollup, TaskMetrics };
export { AlertDelivery, AlertEvent, AlertRule };
export { CalendarEvent, PeriodicTask, PeriodicTaskCalendar, ScheduleManualTrigger, TaskCalendar };
export { AuditLog, Brand, BrandMembership, IdempotencyKey, JobCheckpoint, PersistentJob, PersistentJobItem, Task, User };
export const ALL_ENTITIES = [Brand, User, BrandMembership, Task, IdempotencyKey, AuditLog, PersistentJob, JobCheckpoint, PersistentJobItem, PeriodicTask, TaskCalendar, PeriodicTaskCalendar, CalendarEvent, ScheduleManualTrigger, ActivityExecution, TaskMetrics, MetricRollup, AlertRule, AlertEvent, AlertDelivery];
