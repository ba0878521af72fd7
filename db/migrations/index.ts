import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125191457_initial_schema } from './20261125191457-initial-schema';
import { Migration20261125201612_persistent_jobs } from './20261125201612-persistent-jobs';
import { Migration20261125213000_drop_task_is_resumable } from './20261125213000-drop-task-is-resumable';
import { Migration20261125214126_scheduling } from './20261125214126-scheduling';
import { Migration20261125223126_schedule_manual_triggers } from './20261125223126-schedule-manual-triggers';
import { Migration20261125224109_task_metrics } from './20261125224109-task-metrics';
import { Migration20261125224501_alert_rules } from './20261125224501-alert-rules';
import { Migration20261125225204_workers } from './20261125225204-workers';
import { Migration20261125231000_metric_rollups_daily } from './20261125231000-metric-rollups-daily';
import { Migration20261125235500_drop_task_has_metrics } from './20261125235500-drop-task-has-metrics';
import { Migration20261126000100_user_roles } from './20261126000100-user-roles';
import { Migration20261126000200_admin_jobs } from './20261126000200-admin-jobs';
import { Migration20261126000300_audit_chain } from './20261126000300-audit-chain';
import { Migration20261126000400_user_passwords } from './20261126000400-user-passwords';
import { Migration20261126000500_admin_bulk_actions } from './20261126000500-admin-bulk-actions';
import { Migration20261126000600_global_alert_rules } from './20261126000600-global-alert-rules';
import { Migration20261126010000_api_v1 } from './20261126010000-api-v1';
import { Migration20261126010100_api_keys } from './20261126010100-api-keys';
import { Migration20261126010200_task_events_notify } from './20261126010200-task-events-notify';
import { Migration20261126011000_rollup_cancelled } from './20261126011000-rollup-cancelled';
import { Migration20261126020000_pipeline } from './20261126020000-pipeline';

/** Every committed migration, in order. `node dist/db/migrate.js create <name>` writes a new file; add it here. */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261125191457_initial_schema', class: Migration20261125191457_initial_schema },
  { name: 'Migration20261125201612_persistent_jobs', class: Migration20261125201612_persistent_jobs },
  { name: 'Migration20261125213000_drop_task_is_resumable', class: Migration20261125213000_drop_task_is_resumable },
  { name: 'Migration20261125214126_scheduling', class: Migration20261125214126_scheduling },
  { name: 'Migration20261125223126_schedule_manual_triggers', class: Migration20261125223126_schedule_manual_triggers },
  { name: 'Migration20261125224109_task_metrics', class: Migration20261125224109_task_metrics },
  { name: 'Migration20261125224501_alert_rules', class: Migration20261125224501_alert_rules },
  { name: 'Migration20261125225204_workers', class: Migration20261125225204_workers },
  { name: 'Migration20261125231000_metric_rollups_daily', class: Migration20261125231000_metric_rollups_daily },
  { name: 'Migration20261125235500_drop_task_has_metrics', class: Migration20261125235500_drop_task_has_metrics },
  { name: 'Migration20261126000100_user_roles', class: Migration20261126000100_user_roles },
  { name: 'Migration20261126000200_admin_jobs', class: Migration20261126000200_admin_jobs },
  { name: 'Migration20261126000300_audit_chain', class: Migration20261126000300_audit_chain },
  { name: 'Migration20261126000400_user_passwords', class: Migration20261126000400_user_passwords },
  { name: 'Migration20261126000500_admin_bulk_actions', class: Migration20261126000500_admin_bulk_actions },
  { name: 'Migration20261126000600_global_alert_rules', class: Migration20261126000600_global_alert_rules },
  { name: 'Migration20261126010000_api_v1', class: Migration20261126010000_api_v1 },
  { name: 'Migration20261126010100_api_keys', class: Migration20261126010100_api_keys },
  { name: 'Migration20261126010200_task_events_notify', class: Migration20261126010200_task_events_notify },
  { name: 'Migration20261126011000_rollup_cancelled', class: Migration20261126011000_rollup_cancelled },
  { name: 'Migration20261126020000_pipeline', class: Migration20261126020000_pipeline },
  // @migrations-end (helpers: add yours above this line)
];
