import { PersistentJobService } from '../api/services/persistent-job.service';
import { AUTO_RESUME_BY_SCHEDULE, JobMaintenanceService, systemActor, type AutoResumeReport } from '../api/services/job-maintenance.service';
import type { ActivityDeps } from './deps';

export interface AutoResumeJobsInput {
  /** Restrict to these brands (tests, manual runs); the schedule passes none: every brand. */
  brandIds?: number[];
  dryRun?: boolean;
}

export function createJobMaintenanceActivities(deps: ActivityDeps) {
  const jobs = new PersistentJobService({ orm: deps.orm, jobs: deps.jobs, config: deps.config });
  const maintenance = new JobMaintenanceService({ orm: deps.orm, jobs });
  return {
    /**
     * The auto-resume schedule's pass: resumes jobs with `auto_resume` that can resume now, through the same rules
     * as `POST .../resume/`, audited with actor null and `{by: 'auto-resume schedule'}`. A job a pass already
     * resumed is running on a retry of this activity, so a retry does not resume it twice.
     */
    async autoResumeJobs(input: AutoResumeJobsInput): Promise<AutoResumeReport> {
      return maintenance.autoResume({
        brandIds: input.brandIds,
        dryRun: input.dryRun ?? false,
        actorFor: systemActor,
        auditDetails: { ...AUTO_RESUME_BY_SCHEDULE },
      });
    },
  };
}
